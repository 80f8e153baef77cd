// A tier on a local or mounted file system (hdd, ssd; also a tape tier's LTFS mount point).
import { createReadStream, createWriteStream, statfsSync } from 'node:fs';
import { copyFile, mkdir, open, opendir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { formatBytes } from '../bytes.ts';
import { SxError } from '../errors.ts';
import { sha256File, type FileDigest } from './sha256-threads.ts';
import { TierFullError, type ByteRange, type PutOptions, type TierDriver, type TierObject, type TierSpace, type TransferOptions } from './types.ts';

/** Suffix of a file being written: it becomes its key only by the rename that completes it. */
export const PARTIAL_SUFFIX = '.partial';

/** The one temporary name of `path`: a resumed copy overwrites what a killed one left. */
export function partialPath(path: string): string {
  return join(dirname(path), `.${basename(path)}${PARTIAL_SUFFIX}`);
}

export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Free bytes of the file system holding `path` (or its nearest existing parent). */
export function fileSystemFree(path: string): number | undefined {
  for (let dir = path; ; dir = dirname(dir)) {
    try {
      const s = statfsSync(dir);
      return s.bavail * s.bsize;
    } catch {
      if (dirname(dir) === dir) return undefined;
    }
  }
}

/**
 * Copies a local file by the kernel (fs.copyFile: copy_file_range, else sendfile), never through
 * this process's buffers: on a busy machine that is over twice the speed of a read/write stream
 * pipeline. A copy cannot be stopped part way, so `signal` is honoured once it returns, and
 * progress is reported once, at the end.
 */
async function copyLocalFile(from: string, tmp: string, options: TransferOptions): Promise<void> {
  options.signal?.throwIfAborted();
  // copyFile opens an existing file for writing, and a killed copy may have left a read-only one (it takes the source's mode).
  await rm(tmp, { force: true });
  await copyFile(from, tmp);
  options.signal?.throwIfAborted();
  options.onProgress?.((await stat(tmp)).size);
}

/**
 * Copies `from` to `to` through the partial name: the bytes are written, fsynced, renamed into
 * place and the folder fsynced, so `to` is complete or absent after any crash.
 */
export async function copyFileDurably(from: string | Readable, to: string, options: TransferOptions = {}): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  const tmp = partialPath(to);
  try {
    if (typeof from === 'string') {
      await copyLocalFile(from, tmp, options);
    } else {
      let done = 0;
      if (options.onProgress) {
        from.on('data', (chunk: Buffer) => {
          done += chunk.length;
          options.onProgress!(done);
        });
      }
      await pipeline(from, createWriteStream(tmp), { signal: options.signal });
    }
    await fsyncPath(tmp);
    await rename(tmp, to);
    await fsyncPath(dirname(to));
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Keys are container paths relative to the tier's folder: no absolute paths, no `..`. */
function checkKey(key: string): void {
  if (key === '' || key.startsWith('/') || key.split('/').some((part) => part === '..' || part === '')) {
    throw new SxError('store', `expected a relative object key without '..' but received ${JSON.stringify(key)}`);
  }
}

export class FilesystemTier implements TierDriver {
  readonly kind = 'filesystem' as const;
  readonly name: string;
  readonly root: string;
  readonly capacity?: number;

  constructor(name: string, root: string, capacity?: number) {
    this.name = name;
    this.root = root;
    this.capacity = capacity;
  }

  locate(key: string): string {
    checkKey(key);
    return join(this.root, key);
  }

  async put(key: string, file: string, options: PutOptions): Promise<void> {
    const to = this.locate(key);
    const { size } = await stat(file);
    const existing = (await this.stat(key))?.bytes ?? 0;
    // Without a quota the file system's free space is the whole answer: no listing of the tier per copy.
    const space = this.capacity === undefined ? { freeBytes: fileSystemFree(this.root) } : await this.space();
    if (space.freeBytes !== undefined && size - existing > space.freeBytes) {
      const limit = this.capacity !== undefined ? `capacity ${formatBytes(this.capacity)}, ` : '';
      throw new TierFullError(this.name, size, space.freeBytes, `tier ${this.name} (${this.root}) is full: ${key} needs ${formatBytes(size)}, ${limit}${formatBytes(space.freeBytes)} free`);
    }
    await copyFileDurably(file, to, options);
  }

  async get(key: string, file: string, options: TransferOptions = {}): Promise<void> {
    await copyFileDurably(this.locate(key), file, options);
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const path = this.locate(key);
    await stat(path); // a missing object fails here, not later inside the stream
    if (range && range.length === 0) return Readable.from([]); // createReadStream has no empty range
    return createReadStream(path, range ? { start: range.offset, end: range.offset + range.length - 1, highWaterMark: 4 << 20 } : { highWaterMark: 4 << 20 });
  }

  digest(key: string, range?: ByteRange, onProgress?: (bytes: number) => void): Promise<FileDigest> {
    return sha256File(this.locate(key), range, onProgress);
  }

  async stat(key: string): Promise<TierObject | undefined> {
    try {
      const s = await stat(this.locate(key));
      return s.isFile() ? { key, bytes: s.size } : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.locate(key);
    await rm(path, { force: true });
    await rm(partialPath(path), { force: true });
    try {
      await fsyncPath(dirname(path));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  /** Every file under the tier's folder, partial ones included (they are a killed copy's). */
  async *list(prefix = ''): AsyncIterable<TierObject> {
    const start = prefix === '' ? this.root : join(this.root, prefix);
    let dir;
    try {
      dir = await opendir(start, { recursive: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for await (const entry of dir) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      const s = await stat(path).catch(() => undefined);
      if (s) yield { key: relative(this.root, path).split(sep).join('/'), bytes: s.size };
    }
  }

  async space(): Promise<TierSpace> {
    let usedBytes = 0;
    for await (const o of this.list()) usedBytes += o.bytes;
    const fsFree = fileSystemFree(this.root);
    if (this.capacity === undefined) return { usedBytes, ...(fsFree !== undefined ? { freeBytes: fsFree } : {}) };
    const quotaFree = Math.max(0, this.capacity - usedBytes);
    return { usedBytes, capacityBytes: this.capacity, freeBytes: fsFree === undefined ? quotaFree : Math.min(quotaFree, fsFree) };
  }
}
