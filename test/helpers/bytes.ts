import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { Readable } from 'node:stream';

/** Writes `bytes` random bytes to `path`; returns them and their SHA-256. */
export function writeRandom(path: string, bytes: number): { bytes: Buffer; sha256: string } {
  const data = randomBytes(bytes);
  writeFileSync(path, data);
  return { bytes: data, sha256: createHash('sha256').update(data).digest('hex') };
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
