// POSIX tar (pax) files of regular files, the format of tape aggregates: any stock `tar` reads
// them, and each member's data sits at a byte offset a recall can read on its own.
// node-tar encodes the header blocks; the layout (blocks, data, padding, end) is ours.
import { createHash } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { Header, Pax } from 'tar';
import { SxError } from '../errors.ts';
import { HashThread } from './sha256-threads.ts';
import { ChecksumError } from './types.ts';

export const BLOCK = 512;
/** Large copy buffers keep the copy near the speed of `cp`; four of them keep reads, writes and both hashes busy at once. */
const CHUNK = 4 << 20;
const SLOTS = 4;
const ZEROS = Buffer.alloc(2 * BLOCK);

/** A member as written or read: `offset` is where its data starts in the tar file. */
export interface TarMember {
  name: string;
  offset: number;
  bytes: number;
  sha256: string;
}

/** What the caller knows of a file (the catalog's record): a copy that differs is refused. */
export interface ExpectedFile {
  bytes: number;
  sha256: string;
}

function padding(bytes: number): number {
  return (BLOCK - (bytes % BLOCK)) % BLOCK;
}

/** Whole seconds: what a ustar header holds, so pax never needs to carry a fraction. */
function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

/**
 * The header block(s) of a regular file: one ustar block, preceded by a pax extended header
 * when the name or size does not fit ustar (names past 100/255 bytes, non-ASCII names, sizes of
 * 8 GiB and more, which the ustar block then holds in GNU base-256).
 *
 * @example encodeHeader('lyso/run-0001/raw-00001.h5', 12_000_000, new Date()) // 512 bytes
 */
export function encodeHeader(name: string, bytes: number, mtime: Date): Buffer {
  const when = wholeSeconds(mtime);
  const block = Buffer.alloc(BLOCK);
  const needPax = new Header({ path: name, mode: 0o644, uid: 0, gid: 0, size: bytes, mtime: when, type: 'File', uname: '', gname: '' }).encode(block);
  return needPax ? Buffer.concat([new Pax({ path: name, size: bytes, mtime: when }).encode(), block]) : block;
}

/** A positional write to its end: a regular file may take fewer bytes per call (a disk filling up). */
async function writeAll(out: FileHandle, data: Uint8Array, at: number): Promise<void> {
  for (let done = 0; done < data.length;) {
    done += (await out.write(data, done, data.length - done, at + done)).bytesWritten;
  }
}

/** Names a stock tar extracts where they say: relative, no `..`, no empty parts. */
function checkName(name: string): void {
  if (name === '' || name.startsWith('/') || name.includes('\0') || name.split('/').some((part) => part === '..' || part === '')) {
    throw new SxError('store', `expected a relative tar member name without '..' or empty parts but received ${JSON.stringify(name)}`);
  }
}

/**
 * Writes a tar file member by member, hashing each member and the whole file on the way.
 * One operation at a time; after a failure that wrote part of a member the file is unusable
 * and only abort() is accepted.
 *
 * @example
 * const tar = await TarWriter.create('/mnt/tape/.agg-000001.tar.partial');
 * const m = await tar.addFile('lyso/run-0001/raw-00001.h5', '/data/hdd/lyso/run-0001/raw-00001.h5');
 * const { bytes, sha256 } = await tar.finish();
 */
export class TarWriter {
  readonly path: string;
  readonly #out: FileHandle;
  readonly #shared = new SharedArrayBuffer(CHUNK * SLOTS);
  readonly #slots = Array.from({ length: SLOTS }, (_, i) => Buffer.from(this.#shared, i * CHUNK, CHUNK));
  /** SHA-256 of the whole tar file, on a second thread: hashing every byte twice (member and file) on one thread would halve the copy speed. */
  readonly #fileHash = new HashThread(this.#shared);
  #position = 0;
  #state: 'ready' | 'busy' | 'finished' | 'aborted' = 'ready';
  #broken?: string;
  #current?: Promise<unknown>;

  private constructor(path: string, out: FileHandle) {
    this.path = path;
    this.#out = out;
  }

  /** Creates (or truncates: a killed writer's leftover) the file at `path`. */
  static async create(path: string): Promise<TarWriter> {
    return new TarWriter(path, await open(path, 'w'));
  }

  /** Bytes written so far. */
  get bytes(): number {
    return this.#position;
  }

  /**
   * Appends the file at `source` as member `name`, with its size and modification time. With
   * `expected`, a size that differs is refused before anything is written, and data whose
   * SHA-256 differs throws ChecksumError after it was written (the tar file is then unusable).
   */
  async addFile(name: string, source: string, expected?: ExpectedFile): Promise<TarMember> {
    checkName(name);
    return this.#run(name, async () => {
      const src = await open(source, 'r');
      try {
        const { size, mtime } = await src.stat();
        if (expected && size !== expected.bytes) {
          throw new ChecksumError(`${source} holds ${size} bytes, expected ${expected.bytes} (the catalog's size); it was not added to ${this.path}`);
        }
        await this.#put(encodeHeader(name, size, mtime));
        const offset = this.#position;
        const sha256 = await this.#copy(src, source, size);
        await this.#put(ZEROS.subarray(0, padding(size)));
        if (expected && sha256 !== expected.sha256) {
          throw new ChecksumError(`${source} read with SHA-256 ${sha256} while writing it into ${this.path}, expected ${expected.sha256} (the catalog's)`);
        }
        return { name, offset, bytes: size, sha256 };
      } finally {
        await src.close();
      }
    });
  }

  /** Appends `data` as member `name`, dated now. */
  async addBuffer(name: string, data: Buffer): Promise<TarMember> {
    checkName(name);
    return this.#run(name, async () => {
      await this.#put(encodeHeader(name, data.length, new Date()));
      const offset = this.#position;
      await this.#put(data);
      await this.#put(ZEROS.subarray(0, padding(data.length)));
      return { name, offset, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
    });
  }

  /** Writes the end-of-archive blocks and closes the file (not fsynced: the caller decides). */
  async finish(): Promise<{ bytes: number; sha256: string }> {
    const done = await this.#run('the end-of-archive blocks', async () => {
      await this.#put(ZEROS);
      return { bytes: this.#position, sha256: await this.#fileHash.digest() };
    });
    this.#state = 'finished';
    await this.#release();
    return done;
  }

  /** Closes and removes the file; after finish() it only releases what is still held. */
  async abort(): Promise<void> {
    await this.#current?.catch(() => {});
    const finished = this.#state === 'finished';
    this.#state = 'aborted';
    await this.#release();
    if (!finished) await rm(this.path, { force: true });
  }

  async #release(): Promise<void> {
    await Promise.allSettled([this.#out.close(), this.#fileHash.close()]);
  }

  async #run<T>(what: string, step: () => Promise<T>): Promise<T> {
    if (this.#state !== 'ready' || this.#broken !== undefined) {
      const why = this.#broken !== undefined ? `it failed earlier (${this.#broken})` : this.#state === 'busy' ? 'another member is being written' : `it is ${this.#state}`;
      throw new SxError('store', `cannot write ${what} into ${this.path}: ${why}`);
    }
    this.#state = 'busy';
    const start = this.#position;
    const running = step();
    this.#current = running;
    try {
      return await running;
    } catch (err) {
      if (this.#position !== start) this.#broken = (err as Error).message;
      throw err;
    } finally {
      if (this.#state === 'busy') this.#state = 'ready';
    }
  }

  /** Writes a small buffer at the end; the position moves first, so a failed write marks the file broken. */
  async #put(data: Buffer): Promise<void> {
    if (data.length === 0) return;
    const at = this.#position;
    this.#position += data.length;
    this.#fileHash.add(data);
    await writeAll(this.#out, data, at);
  }

  /**
   * Copies `size` bytes of `src` to the end, returning their SHA-256. Each chunk is read ahead
   * while earlier ones are still being written and hashed by the file's hash.
   */
  async #copy(src: FileHandle, source: string, size: number): Promise<string> {
    const hash = createHash('sha256');
    const start = this.#position;
    this.#position += size;
    const inUse: Promise<unknown>[] = [];
    const readInto = (slot: number, from: number) => src.read(this.#slots[slot], 0, Math.min(CHUNK, size - from), from);
    let reading = size > 0 ? readInto(0, 0) : undefined;
    try {
      for (let done = 0, i = 0; done < size; i++) {
        const slot = i % SLOTS;
        const { bytesRead } = await reading!;
        if (bytesRead === 0) throw new SxError('store', `${source} ended at ${done} bytes while writing it into ${this.path}, expected ${size}: it changed during the copy`);
        const at = done;
        done += bytesRead;
        reading = undefined;
        if (done < size) {
          await inUse[(i + 1) % SLOTS];
          reading = readInto((i + 1) % SLOTS, done);
        }
        const chunk = this.#slots[slot].subarray(0, bytesRead);
        const written = Promise.all([writeAll(this.#out, chunk, start + at), this.#fileHash.addShared(slot * CHUNK, bytesRead)]);
        written.catch(() => {}); // awaited later, before the slot is reused or the copy returns
        inUse[slot] = written;
        hash.update(chunk);
      }
      await Promise.all(inUse);
    } finally {
      // Nothing may still read into or write from the buffers once the copy returns, even on failure.
      await Promise.allSettled([reading, ...inUse]);
    }
    return hash.digest('hex');
  }
}

/** A member as a tar file holds it; `data` only for members a listing was asked to keep. */
export interface TarEntry extends TarMember {
  mtime: Date;
  data?: Buffer;
}

export interface ListTarOptions {
  /** Members whose bytes to return as `data` (small ones, such as a manifest). */
  keep?: (name: string) => boolean;
}

/** Exact reads from a stream of chunks, counting the position. */
class ByteReader {
  position = 0;
  readonly #chunks: AsyncIterator<Buffer>;
  #head: Buffer = Buffer.alloc(0);

  constructor(source: AsyncIterable<Buffer>) {
    this.#chunks = source[Symbol.asyncIterator]();
  }

  /** The next `n` bytes as they arrive, in pieces; fewer than `n` only at the end of the stream. */
  async *pieces(n: number): AsyncGenerator<Buffer> {
    while (n > 0) {
      if (this.#head.length === 0) {
        const next = await this.#chunks.next();
        if (next.done) return;
        this.#head = next.value;
        continue;
      }
      const piece = this.#head.subarray(0, n);
      this.#head = this.#head.subarray(piece.length);
      this.position += piece.length;
      n -= piece.length;
      yield piece;
    }
  }

  async read(n: number): Promise<Buffer> {
    const parts = [];
    for await (const piece of this.pieces(n)) parts.push(piece);
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  async close(): Promise<void> {
    await this.#chunks.return?.();
  }
}

/**
 * Every regular file in a tar stream, in order, with the offset of its data and the SHA-256
 * of its bytes: enough to check a tar file against what was written into it. Reads the
 * stream to its end-of-archive blocks; pax headers are applied, other member types refused.
 *
 * @example
 * for await (const m of listTar(createReadStream(file), file)) console.log(m.name, m.offset, m.bytes);
 */
export async function* listTar(source: AsyncIterable<Buffer>, what: string, options: ListTarOptions = {}): AsyncGenerator<TarEntry> {
  const reader = new ByteReader(source);
  const exact = async (n: number, part: string) => {
    const at = reader.position;
    const bytes = await reader.read(n);
    if (bytes.length < n) throw new SxError('store', `${what} ends at byte ${at + bytes.length} inside ${part}; expected ${n} bytes more from byte ${at}: the tar file is truncated`);
    return bytes;
  };
  let extended: Pax | undefined;
  let global: Pax | undefined;
  try {
    for (;;) {
      const at = reader.position;
      const block = await exact(BLOCK, 'a header block');
      if (block.every((b) => b === 0)) {
        if (!(await exact(BLOCK, 'the end-of-archive blocks')).every((b) => b === 0)) {
          throw new SxError('store', `${what}: a zero block at byte ${at} is followed by data; expected the second end-of-archive block`);
        }
        return;
      }
      const header = new Header(block, 0, extended, global);
      if (!header.cksumValid) throw new SxError('store', `${what}: the block at byte ${at} is not a tar header (bad checksum)`);
      const bytes = header.size ?? 0;
      if (header.type === 'ExtendedHeader' || header.type === 'GlobalExtendedHeader') {
        const body = (await exact(bytes + padding(bytes), 'a pax header')).subarray(0, bytes).toString('utf8');
        if (header.type === 'ExtendedHeader') extended = Pax.parse(body, extended);
        else global = Pax.parse(body, global, true);
        continue;
      }
      if (header.type !== 'File' && header.type !== 'OldFile') {
        throw new SxError('store', `${what}: member ${JSON.stringify(header.path)} at byte ${at} is a ${header.type}; expected regular files (and pax headers), as sxarchive writes them`);
      }
      // node-tar's decode puts a ustar prefix before a pax path; the pax path is the whole name.
      const name = extended?.path ?? header.path ?? '';
      const offset = reader.position;
      const hash = createHash('sha256');
      const kept: Buffer[] | undefined = options.keep?.(name) ? [] : undefined;
      let got = 0;
      for await (const piece of reader.pieces(bytes)) {
        hash.update(piece);
        kept?.push(piece);
        got += piece.length;
      }
      if (got < bytes) throw new SxError('store', `${what} ends at byte ${offset + got} inside member ${JSON.stringify(name)}; expected ${bytes} bytes from byte ${offset}: the tar file is truncated`);
      await exact(padding(bytes), `the padding of member ${JSON.stringify(name)}`);
      extended = undefined;
      yield { name, offset, bytes, sha256: hash.digest('hex'), mtime: header.mtime ?? new Date(0), ...(kept ? { data: Buffer.concat(kept) } : {}) };
    }
  } finally {
    await reader.close();
  }
}
