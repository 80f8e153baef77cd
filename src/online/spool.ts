// The spool: images the memory queue could not hold, on the staging tier. Each image is written
// with what makes it frames again (its series, image id, channels, codec and the experiment it
// was for), and a segment is removed only when every image in it is recorded in the catalog, so
// that what a killed process leaves behind is replayed by the next stream started on its host.
//
// A segment: the magic, then per image [u32 LE header length][header JSON][each frame's chunk].
import { closeSync, ftruncateSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { ContainerCodecId } from '../../codecs/registry.ts';
import type { NewExperiment } from '../catalog/types.ts';
import type { PixelType } from '../pixels.ts';
import { isPidAlive } from '../process-owner.ts';
import type { StreamImage } from './stream-events.ts';

/** The experiment a spooled image was received for: the command line's, and the one its start's user_data named. */
export interface SpoolOrigin {
  experiment: NewExperiment;
  named?: string;
}

interface ImageHeader {
  series: string;
  seriesId: number;
  imageId: number;
  origin: SpoolOrigin;
  frames: { channel: string; width: number; height: number; pixelType: PixelType; codec?: ContainerCodecId; unsupported?: string; length: number }[];
}

const MAGIC = Buffer.from('SXSPOOL1');
/** Segments are closed at this size; a closed one goes once all its images are recorded. */
const SEGMENT_BYTES = 256 << 20;
const HOST = hostname();
const SEGMENT_NAME = /^spool-(.+)-(\d+)-r?\d+\.bin$/;

interface Segment {
  path: string;
  fd: number;
  size: number;
  /** Images written to it and not yet recorded. */
  unrecorded: number;
}

/** Where a spooled image is: its segment and each frame's chunk in it. */
export interface SpoolRef {
  segment: Segment;
  chunks: { offset: number; length: number }[];
  bytes: number;
}

function writeAll(fd: number, bytes: Uint8Array, at: number): void {
  let written = 0;
  while (written < bytes.byteLength) written += writeSync(fd, bytes, written, bytes.byteLength - written, at + written);
}

function readAll(fd: number, length: number, at: number, path: string): Uint8Array {
  const bytes = new Uint8Array(length);
  let read = 0;
  while (read < length) {
    const n = readSync(fd, bytes, read, length - read, at + read);
    if (n === 0) throw new Error(`spool ${path}: ends before the ${length} bytes at ${at}`);
    read += n;
  }
  return bytes;
}

export class Spool {
  private segments: Segment[] = [];
  private number = 0;
  /** Bytes of images written and not yet recorded. */
  bytes = 0;

  constructor(readonly dir: string) {}

  /** Writes the image (throws what the disk says: ENOSPC ...); the caller reads it back with `read`. */
  write(image: StreamImage, origin: SpoolOrigin): SpoolRef {
    let segment = this.segments.at(-1);
    if (!segment || segment.size >= SEGMENT_BYTES) segment = this.open();
    const header: ImageHeader = {
      series: image.series, seriesId: image.seriesId, imageId: image.imageId, origin,
      frames: image.frames.map((f) => ({ channel: f.channel, width: f.width, height: f.height, pixelType: f.pixelType, ...(f.chunk ? { codec: f.chunk.codec } : { unsupported: f.unsupported }), length: f.chunk?.bytes.byteLength ?? 0 })),
    };
    const json = Buffer.from(JSON.stringify(header));
    const start = segment.size;
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32LE(json.byteLength);
    try {
      writeAll(segment.fd, prefix, start);
      writeAll(segment.fd, json, start + 4);
      let at = start + 4 + json.byteLength;
      const chunks = image.frames.map((f) => {
        const bytes = f.chunk?.bytes ?? new Uint8Array(0);
        writeAll(segment.fd, bytes, at);
        at += bytes.byteLength;
        return { offset: at - bytes.byteLength, length: bytes.byteLength };
      });
      segment.size = at;
      segment.unrecorded += 1;
      const bytes = at - start;
      this.bytes += bytes;
      return { segment, chunks, bytes };
    } catch (err) {
      // An image half written is not left for a replay to stumble on.
      ftruncateSync(segment.fd, start);
      throw err;
    }
  }

  /** The image's pixels back (its frames as `image` describes them). */
  read(image: StreamImage, ref: SpoolRef): StreamImage {
    const frames = image.frames.map((frame, i) => {
      const { offset, length } = ref.chunks[i];
      return frame.chunk ? { ...frame, chunk: { codec: frame.chunk.codec, bytes: readAll(ref.segment.fd, length, offset, ref.segment.path) } } : frame;
    });
    return { ...image, frames };
  }

  /** The image is recorded (or will never be): its segment goes once it holds no other and is closed. */
  recorded(ref: SpoolRef): void {
    ref.segment.unrecorded -= 1;
    this.bytes -= ref.bytes;
    if (ref.segment.unrecorded === 0 && (ref.segment !== this.segments.at(-1) || ref.segment.size >= SEGMENT_BYTES)) this.remove(ref.segment);
  }

  /** Closes the spool: segments whose images are all recorded are removed; the paths of the others are returned (left for a replay). */
  close(): string[] {
    const left: string[] = [];
    for (const s of this.segments) {
      if (s.unrecorded === 0) rmSync(s.path, { force: true });
      else left.push(s.path);
      closeSync(s.fd);
    }
    this.segments = [];
    return left;
  }

  private open(): Segment {
    mkdirSync(this.dir, { recursive: true });
    const last = this.segments.at(-1);
    if (last?.unrecorded === 0) this.remove(last);
    const path = join(this.dir, `spool-${HOST}-${process.pid}-${++this.number}.bin`);
    const fd = openSync(path, 'w+');
    writeAll(fd, MAGIC, 0);
    const segment = { path, fd, size: MAGIC.byteLength, unrecorded: 0 };
    this.segments.push(segment);
    return segment;
  }

  private remove(segment: Segment): void {
    closeSync(segment.fd);
    rmSync(segment.path, { force: true });
    this.segments.splice(this.segments.indexOf(segment), 1);
  }
}

/** Segments left in `dir` by stream processes of this host that are no longer running, oldest first. */
export function deadSegments(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const dead = names.filter((name) => {
    const m = SEGMENT_NAME.exec(name);
    return m !== null && m[1] === HOST && !isPidAlive(Number(m[2]));
  });
  return dead.map((name) => join(dir, name)).map((path) => ({ path, at: statSync(path).mtimeMs })).sort((a, b) => a.at - b.at || a.path.localeCompare(b.path)).map((s) => s.path);
}

let claims = 0;

/** Takes a dead process's segment for this one (a rename: of two processes starting at once, one gets it); undefined if another did. */
export function claimSegment(path: string, dir: string): string | undefined {
  const claimed = join(dir, `spool-${HOST}-${process.pid}-r${++claims}.bin`);
  try {
    renameSync(path, claimed);
    return claimed;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export type SpooledRecord = { image: StreamImage; origin: SpoolOrigin } | { truncated: string };

/**
 * The images of a segment in the order they were spooled. A segment cut short (the process was
 * killed while it wrote) ends with `{ truncated }`, as does one that is not a spool segment.
 */
export function* readSegment(path: string): Generator<SpooledRecord> {
  const fd = openSync(path, 'r');
  try {
    const size = statSync(path).size;
    if (size < MAGIC.byteLength || !Buffer.from(readAll(fd, MAGIC.byteLength, 0, path)).equals(MAGIC)) {
      yield { truncated: `${path}: not a spool segment of this version (no ${MAGIC.toString()} at its start)` };
      return;
    }
    let at = MAGIC.byteLength;
    while (at < size) {
      if (at + 4 > size) break;
      const length = Buffer.from(readAll(fd, 4, at, path)).readUInt32LE(0);
      if (at + 4 + length > size) break;
      let header: ImageHeader;
      try {
        header = JSON.parse(Buffer.from(readAll(fd, length, at + 4, path)).toString()) as ImageHeader;
      } catch {
        yield { truncated: `${path}: the image header at byte ${at} does not parse` };
        return;
      }
      at += 4 + length;
      const chunkBytes = header.frames.reduce((n, f) => n + f.length, 0);
      if (at + chunkBytes > size) break;
      const frames = header.frames.map(({ length: n, codec, unsupported, ...shape }) => {
        const bytes = readAll(fd, n, at, path);
        at += n;
        return codec ? { ...shape, chunk: { codec, bytes } } : { ...shape, unsupported };
      });
      yield { image: { kind: 'image', series: header.series, seriesId: header.seriesId, imageId: header.imageId, frames }, origin: header.origin };
    }
    if (at < size) yield { truncated: `${path}: the last image, at byte ${at}, was cut short (its process was killed while writing it)` };
  } finally {
    closeSync(fd);
  }
}
