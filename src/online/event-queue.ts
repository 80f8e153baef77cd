// Between the socket and the pipeline: received events in order, bounded in memory. The socket
// is read at the detector's pace whatever the pipeline does (a detector whose receiver stalls
// loses frames inside itself), so when the memory is full an image's pixels go to a spool on the
// staging tier and come back when the pipeline reaches them; when the spool is full too the image
// is dropped, and its place in the queue says so, so that its series counts it.
import { closeSync, ftruncateSync, mkdirSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { StreamEvent, StreamImage } from './stream-events.ts';

export type DropReason = 'queue-full' | 'spool-full' | 'spool-error';

/** What the pipeline takes: an event (pixels back in memory), images dropped, or a message that did not decode. */
export type QueueEntry =
  | { kind: 'event'; event: StreamEvent; spooled: boolean }
  | { kind: 'dropped'; series: string; images: number; frames: number; reason: DropReason }
  | { kind: 'undecodable'; error: string };

export interface QueueLimits {
  /** Bytes of images held in memory (their stored chunks). */
  memoryBytes: number;
  /** Images held in memory. */
  memoryImages: number;
  /** Where spool files go; without it, images past the memory limits are dropped. */
  spoolDir?: string;
  /** Bytes the spool may hold. */
  spoolBytes: number;
}

/** A frame chunk's bytes in a spool segment. */
interface SpoolRef {
  segment: Segment;
  offset: number;
  length: number;
}

interface Segment {
  path: string;
  fd: number;
  /** Bytes written. */
  size: number;
  /** Chunks in it not read back yet. */
  pending: number;
}

type Held =
  | { kind: 'event'; event: StreamEvent; bytes: number; spool?: SpoolRef[] }
  | { kind: 'dropped'; series: string; images: number; frames: number; reason: DropReason }
  | { kind: 'undecodable'; error: string };

/** Spool files are written in segments, each removed once the pipeline has read it all. */
const SEGMENT_BYTES = 256 << 20;

const imageBytes = (image: StreamImage) => image.frames.reduce((n, f) => n + (f.chunk?.bytes.byteLength ?? 0), 0);

export class EventQueue {
  private readonly entries: Held[] = [];
  private head = 0;
  private memoryBytes = 0;
  private memoryImages = 0;
  private spoolBytes = 0;
  private spooledImages = 0;
  private segments: Segment[] = [];
  private segmentNumber = 0;
  private wake: (() => void) | undefined;
  private closed = false;
  /** The error the spool last failed with (a full disk), for the log. */
  spoolError: string | undefined;

  constructor(private readonly limits: QueueLimits) {}

  /** Images waiting, in memory and in the spool, and their bytes. */
  get depth(): { images: number; bytes: number; spooledImages: number; spooledBytes: number } {
    return { images: this.memoryImages + this.spooledImages, bytes: this.memoryBytes, spooledImages: this.spooledImages, spooledBytes: this.spoolBytes };
  }

  /** Queues an event; an image past the memory limits is spooled or dropped. Returns where it went. */
  push(event: StreamEvent): 'memory' | 'spooled' | DropReason {
    if (event.kind !== 'image') {
      this.hold({ kind: 'event', event, bytes: 0 });
      return 'memory';
    }
    const bytes = imageBytes(event);
    const fits = this.memoryImages === 0 || (this.memoryImages < this.limits.memoryImages && this.memoryBytes + bytes <= this.limits.memoryBytes);
    if (fits) {
      this.memoryBytes += bytes;
      this.memoryImages += 1;
      this.hold({ kind: 'event', event, bytes });
      return 'memory';
    }
    const spooled = this.spool(event, bytes);
    if (typeof spooled === 'string') {
      this.dropped(event, spooled);
      return spooled;
    }
    this.hold({ kind: 'event', event: withoutPixels(event), bytes, spool: spooled });
    return 'spooled';
  }

  /** A message that did not decode, counted in order with the events around it. */
  undecodable(error: string): void {
    this.hold({ kind: 'undecodable', error });
  }

  /** The next entry, waiting for one; undefined once closed and empty; 'timeout' when `timeoutMs` passes first. */
  async shift(timeoutMs?: number): Promise<QueueEntry | 'timeout' | undefined> {
    while (this.head === this.entries.length) {
      if (this.closed) return undefined;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await new Promise<boolean>((resolve) => {
        this.wake = () => resolve(false);
        if (timeoutMs !== undefined) timer = setTimeout(() => resolve(true), timeoutMs);
      });
      clearTimeout(timer);
      this.wake = undefined;
      if (timedOut) return 'timeout';
    }
    const held = this.entries[this.head];
    this.entries[this.head++] = undefined as unknown as Held;
    // Compacted now and then, not per entry.
    if (this.head > 4096 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
    if (held.kind !== 'event') return held;
    if (held.event.kind !== 'image') return { kind: 'event', event: held.event, spooled: false };
    if (!held.spool) {
      this.memoryBytes -= held.bytes;
      this.memoryImages -= 1;
      return { kind: 'event', event: held.event, spooled: false };
    }
    return { kind: 'event', event: this.unspool(held.event, held.spool, held.bytes), spooled: true };
  }

  /** No more events will come: `shift` returns what is left, then undefined. */
  close(): void {
    this.closed = true;
    this.wake?.();
  }

  /** Removes the spool files (what they held is lost: only after the pipeline has stopped). */
  dispose(): void {
    for (const s of this.segments) removeSegment(s);
    this.segments = [];
  }

  private hold(entry: Held): void {
    this.entries.push(entry);
    this.wake?.();
  }

  // Consecutive drops of one series are one entry: a long overload must not fill memory with them.
  private dropped(image: StreamImage, reason: DropReason): void {
    const last = this.entries.length > this.head ? this.entries[this.entries.length - 1] : undefined;
    if (last?.kind === 'dropped' && last.series === image.series && last.reason === reason) {
      last.images += 1;
      last.frames += image.frames.length;
    } else {
      this.hold({ kind: 'dropped', series: image.series, images: 1, frames: image.frames.length, reason });
    }
  }

  private spool(image: StreamImage, bytes: number): SpoolRef[] | DropReason {
    const dir = this.limits.spoolDir;
    if (dir === undefined) return 'queue-full';
    if (this.spoolBytes + bytes > this.limits.spoolBytes) return 'spool-full';
    let segment = this.segments.at(-1);
    try {
      if (!segment || segment.size >= SEGMENT_BYTES) {
        mkdirSync(dir, { recursive: true });
        const path = join(dir, `spool-${process.pid}-${++this.segmentNumber}.bin`);
        segment = { path, fd: openSync(path, 'w+'), size: 0, pending: 0 };
        this.segments.push(segment);
      }
      const refs: SpoolRef[] = [];
      const start = segment.size;
      try {
        for (const frame of image.frames) {
          const chunk = frame.chunk?.bytes ?? new Uint8Array(0);
          let written = 0;
          while (written < chunk.byteLength) written += writeSync(segment.fd, chunk, written, chunk.byteLength - written, segment.size + written);
          refs.push({ segment, offset: segment.size, length: chunk.byteLength });
          segment.size += chunk.byteLength;
        }
      } catch (err) {
        segment.size = start;
        ftruncateSync(segment.fd, start);
        throw err;
      }
      segment.pending += refs.length;
      this.spoolBytes += bytes;
      this.spooledImages += 1;
      return refs;
    } catch (err) {
      this.spoolError = (err as Error).message;
      return (err as NodeJS.ErrnoException).code === 'ENOSPC' ? 'spool-full' : 'spool-error';
    }
  }

  private unspool(image: StreamImage, refs: SpoolRef[], bytes: number): StreamImage {
    const frames = image.frames.map((frame, i) => {
      const ref = refs[i];
      const chunk = new Uint8Array(ref.length);
      let read = 0;
      while (read < ref.length) {
        const n = readSync(ref.segment.fd, chunk, read, ref.length - read, ref.offset + read);
        if (n === 0) throw new Error(`spool ${ref.segment.path}: ends before the image's ${ref.length} bytes at ${ref.offset}`);
        read += n;
      }
      ref.segment.pending -= 1;
      if (ref.segment.pending === 0 && (ref.segment !== this.segments.at(-1) || ref.segment.size >= SEGMENT_BYTES)) {
        removeSegment(ref.segment);
        this.segments.splice(this.segments.indexOf(ref.segment), 1);
      }
      return frame.chunk ? { ...frame, chunk: { codec: frame.chunk.codec, bytes: chunk } } : frame;
    });
    this.spoolBytes -= bytes;
    this.spooledImages -= 1;
    return { ...image, frames };
  }
}

function withoutPixels(image: StreamImage): StreamImage {
  return { ...image, frames: image.frames.map((f) => (f.chunk ? { ...f, chunk: { codec: f.chunk.codec, bytes: new Uint8Array(0) } } : f)) };
}

function removeSegment(segment: Segment): void {
  closeSync(segment.fd);
  rmSync(segment.path, { force: true });
}
