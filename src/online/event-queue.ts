// Between the socket and the pipeline: received events in order, bounded in memory. The socket
// is read at the detector's pace whatever the pipeline does (a detector whose receiver stalls
// loses frames inside itself), so when the memory is full an image's pixels go to a spool on the
// staging tier and come back when the pipeline reaches them; when the spool is full too the image
// is dropped, and its place in the queue says so, so that its series counts it.
import { Spool, type SpoolOrigin, type SpoolRef } from './spool.ts';
import type { StreamEvent, StreamImage } from './stream-events.ts';

export type DropReason = 'queue-full' | 'spool-full' | 'spool-error';

/**
 * What the pipeline takes: an event (pixels back in memory; a spooled image's `recorded` is
 * called once its frames are in the catalog), images dropped, or a message that did not decode.
 */
export type QueueEntry =
  | { kind: 'event'; event: StreamEvent; spooled?: { recorded: () => void } }
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

type Held =
  | { kind: 'event'; event: StreamEvent; bytes: number; spool?: SpoolRef }
  | { kind: 'dropped'; series: string; images: number; frames: number; reason: DropReason }
  | { kind: 'undecodable'; error: string };

const imageBytes = (image: StreamImage) => image.frames.reduce((n, f) => n + (f.chunk?.bytes.byteLength ?? 0), 0);

export class EventQueue {
  private readonly entries: Held[] = [];
  private head = 0;
  private memoryBytes = 0;
  private memoryImages = 0;
  private spooledImages = 0;
  private readonly spooler: Spool | undefined;
  private wake: (() => void) | undefined;
  private closed = false;
  /** The error the spool last failed with (a full disk), for the log. */
  spoolError: string | undefined;

  constructor(private readonly limits: QueueLimits) {
    this.spooler = limits.spoolDir === undefined ? undefined : new Spool(limits.spoolDir);
  }

  /** Images waiting, in memory and in the spool, and their bytes. */
  get depth(): { images: number; bytes: number; spooledImages: number; spooledBytes: number } {
    return { images: this.memoryImages + this.spooledImages, bytes: this.memoryBytes, spooledImages: this.spooledImages, spooledBytes: this.spooler?.bytes ?? 0 };
  }

  /** Queues an event; an image past the memory limits is spooled (with `origin`) or dropped. Returns where it went. */
  push(event: StreamEvent, origin: SpoolOrigin): 'memory' | 'spooled' | DropReason {
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
    const spooled = this.spool(event, origin);
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
    if (held.event.kind !== 'image') return { kind: 'event', event: held.event };
    if (!held.spool) {
      this.memoryBytes -= held.bytes;
      this.memoryImages -= 1;
      return { kind: 'event', event: held.event };
    }
    const ref = held.spool;
    this.spooledImages -= 1;
    return { kind: 'event', event: this.spooler!.read(held.event, ref), spooled: { recorded: () => this.spooler!.recorded(ref) } };
  }

  /** No more events will come: `shift` returns what is left, then undefined. */
  close(): void {
    this.closed = true;
    this.wake?.();
  }

  /** After the pipeline has stopped: removes the spool files whose images are all recorded; returns those left (their images are replayed at the next start). */
  dispose(): string[] {
    return this.spooler?.close() ?? [];
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

  private spool(image: StreamImage, origin: SpoolOrigin): SpoolRef | DropReason {
    if (!this.spooler) return 'queue-full';
    if (this.spooler.bytes + imageBytes(image) > this.limits.spoolBytes) return 'spool-full';
    try {
      const ref = this.spooler.write(image, origin);
      this.spooledImages += 1;
      return ref;
    } catch (err) {
      this.spoolError = (err as Error).message;
      return (err as NodeJS.ErrnoException).code === 'ENOSPC' ? 'spool-full' : 'spool-error';
    }
  }
}

function withoutPixels(image: StreamImage): StreamImage {
  return { ...image, frames: image.frames.map((f) => (f.chunk ? { ...f, chunk: { codec: f.chunk.codec, bytes: new Uint8Array(0) } } : f)) };
}
