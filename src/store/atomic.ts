import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface WrittenFile {
  path: string;
  bytes: number;
  /** Hex SHA-256 of the bytes on disk, read back after fsync. */
  sha256: string;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20 })) hash.update(chunk);
  return hash.digest('hex');
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * A file that either appears complete at `finalPath` or not at all: it is written under a
 * temporary name in the same folder; `commit` fsyncs, checksums and renames it into place and
 * fsyncs the folder so the rename survives a power cut; `abort` removes it.
 */
export class AtomicFile {
  readonly finalPath: string;
  readonly tmpPath: string;

  private constructor(finalPath: string) {
    this.finalPath = finalPath;
    this.tmpPath = join(dirname(finalPath), `.${basename(finalPath)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  }

  static async create(finalPath: string): Promise<AtomicFile> {
    await mkdir(dirname(finalPath), { recursive: true });
    return new AtomicFile(finalPath);
  }

  async commit(): Promise<WrittenFile> {
    await fsyncPath(this.tmpPath);
    const sha256 = await sha256File(this.tmpPath);
    const { size } = await stat(this.tmpPath);
    await rename(this.tmpPath, this.finalPath);
    await fsyncPath(dirname(this.finalPath));
    return { path: this.finalPath, bytes: size, sha256 };
  }

  async abort(): Promise<void> {
    await rm(this.tmpPath, { force: true });
  }
}

/** Writes `finalPath` atomically (see AtomicFile): `write` fills the temporary name. */
export async function writeAtomically(finalPath: string, write: (tmpPath: string) => Promise<void> | void): Promise<WrittenFile> {
  const file = await AtomicFile.create(finalPath);
  try {
    await write(file.tmpPath);
    return await file.commit();
  } catch (err) {
    await file.abort();
    throw err;
  }
}
