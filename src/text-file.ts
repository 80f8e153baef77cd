// Small text inputs (policy, facility and geometry files) are read whole and parsed whole: a
// wrong file given by mistake (a data file, a log) must be refused at once, not parsed until
// Node runs out of memory, and a directory must be named as such.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { SxError, type SxErrorTag } from './errors.ts';

/**
 * Largest policy, facility configuration or geometry file read: 1 MiB. The biggest real ones
 * (CrystFEL geometries of multi-module detectors with hundreds of panels) are well under 100 kB.
 */
export const MAX_TEXT_FILE_BYTES = 1 << 20;

const READ_CHUNK_BYTES = 64 * 1024;

export interface TextFileOptions {
  /** What the file should be, for messages: 'a policy file (YAML)'. */
  expected: string;
  tag: SxErrorTag;
  /** The message when the file does not exist (default: `FILE: no such file; expected ...`). */
  missing?: (file: string) => string;
  maxBytes?: number;
}

function describeSize(bytes: number): string {
  return bytes >= 1 << 20 ? `${Number((bytes / (1 << 20)).toFixed(1))} MiB` : `${bytes} bytes`;
}

/**
 * Reads a small UTF-8 text file, failing with an `SxError` that names the file and what was
 * expected when it is missing, a directory, unreadable or larger than `maxBytes`
 * (default MAX_TEXT_FILE_BYTES). The size is checked before reading and while reading, so a
 * pipe or a growing file cannot get past it either.
 *
 * @example
 * const text = readTextFile('policies/hits-only.yaml', { expected: 'a policy file (YAML)', tag: 'usage' });
 */
export function readTextFile(file: string, options: TextFileOptions): string {
  const maxBytes = options.maxBytes ?? MAX_TEXT_FILE_BYTES;
  const fail = (message: string, cause?: unknown): never => {
    throw new SxError(options.tag, message, { cause });
  };
  const tooBig = (size: string) =>
    fail(`${file} is ${size}; expected ${options.expected} of at most ${describeSize(maxBytes)} (is it the right file?)`);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return fail(options.missing?.(file) ?? `${file}: no such file; expected ${options.expected}`, err);
    return fail(`${file}: cannot read: ${(err as Error).message}; expected ${options.expected}`, err);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) fail(`${file} is a directory; expected ${options.expected}`);
    if (stat.isFile() && stat.size > maxBytes) tooBig(`${describeSize(stat.size)} (${stat.size} bytes)`);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.alloc(READ_CHUNK_BYTES);
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      total += n;
      if (total > maxBytes) tooBig(`more than ${describeSize(maxBytes)}`);
      chunks.push(chunk.subarray(0, n));
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } catch (err) {
    if (err instanceof SxError) throw err;
    return fail(`${file}: cannot read: ${(err as Error).message}; expected ${options.expected}`, err);
  } finally {
    closeSync(fd);
  }
}
