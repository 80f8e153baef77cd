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
 * Writes `finalPath` so that it either appears complete or not at all: `write` fills a
 * temporary name in the same folder, which is fsynced, checksummed and renamed into place,
 * then the folder is fsynced so the rename survives a power cut. A failed write leaves
 * nothing behind.
 */
export async function writeAtomically(finalPath: string, write: (tmpPath: string) => Promise<void> | void): Promise<WrittenFile> {
  const dir = dirname(finalPath);
  await mkdir(dir, { recursive: true });
  const tmpPath = join(dir, `.${basename(finalPath)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  try {
    await write(tmpPath);
    await fsyncPath(tmpPath);
    const sha256 = await sha256File(tmpPath);
    const { size } = await stat(tmpPath);
    await rename(tmpPath, finalPath);
    await fsyncPath(dir);
    return { path: finalPath, bytes: size, sha256 };
  } catch (err) {
    await rm(tmpPath, { force: true });
    throw err;
  }
}
