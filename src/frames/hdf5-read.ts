import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { SxError } from '../errors.ts';
import { loadH5, type H5File } from '../store/hdf5.ts';

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
// Enough for the start of every superblock version (v0/v1 place the EOF address furthest in).
const SUPERBLOCK_HEAD = 64;

/** The h5wasm module, as `loadH5` returns it. */
export type H5 = Awaited<ReturnType<typeof loadH5>>;
type H5Module = Awaited<H5['ready']>;
let h5Module: H5Module | undefined;

/**
 * Runs `fn` with h5wasm's throwing error handler: a failed HDF5 call throws an Error holding
 * HDF5's error stack instead of printing HDF5-DIAG lines to stderr and carrying on. The
 * default (printing) handler is put back afterwards, because the rest of sxarchive is written
 * for it; h5wasm is synchronous, so nothing else runs in between.
 */
export function withHdf5Errors<T>(fn: () => T): T {
  if (h5Module === undefined) throw new Error('withHdf5Errors called before openHdf5File loaded h5wasm');
  h5Module.activate_throwing_error_handler();
  try {
    return fn();
  } finally {
    h5Module.deactivate_throwing_error_handler();
  }
}

/**
 * The most specific line of an HDF5 error stack ("truncated file: eof = ...", "can't read
 * data"), or the error's own message when it is not one.
 */
export function hdf5Reason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const steps = [...message.matchAll(/#\d+: .*? in \w+\(\): (.*)$/gm)].map((m) => m[1].trim());
  return steps.length > 0 ? steps[steps.length - 1] : message.split('\n')[0];
}

function readHead(file: string, length: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(length);
    const n = readSync(fd, head, 0, length, 0);
    return head.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

function readAddress(head: Buffer, at: number, size: number): number | undefined {
  if (at + size > head.length) return undefined;
  if (size === 8) {
    const value = head.readBigUInt64LE(at);
    return value === 0xffffffffffffffffn || value > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(value);
  }
  if (size === 4) return head.readUInt32LE(at);
  if (size === 2) return head.readUInt16LE(at);
  return undefined;
}

/**
 * Where the superblock says the file ends (base address + end-of-file address), or undefined
 * if the superblock is not one this reader knows. Lets us name a truncated file as such
 * rather than pass on HDF5's "unable to open file".
 */
export function superblockEnd(head: Buffer): number | undefined {
  if (head.length < 16 || !head.subarray(0, 8).equals(HDF5_SIGNATURE)) return undefined;
  const version = head[8];
  if (version === 0 || version === 1) {
    const offsets = head[13];
    const base = version === 0 ? 24 : 28;
    const start = readAddress(head, base, offsets);
    const eof = readAddress(head, base + 2 * offsets, offsets);
    return start === undefined || eof === undefined ? undefined : start + eof;
  }
  if (version === 2 || version === 3) {
    const offsets = head[9];
    const start = readAddress(head, 12, offsets);
    const eof = readAddress(head, 12 + 2 * offsets, offsets);
    return start === undefined || eof === undefined ? undefined : start + eof;
  }
  return undefined;
}

/**
 * Opens `file` read-only with h5wasm, turning each way it can fail into one clear
 * SxError('input') that starts with the file name: missing, a folder, not HDF5, truncated,
 * or refused by HDF5 (with HDF5's most specific reason).
 *
 * @example
 * const { h5, file } = await openHdf5File('run7_master.h5');
 */
export async function openHdf5File(file: string): Promise<{ h5: H5; file: H5File }> {
  let size: number;
  try {
    const info = statSync(file);
    if (info.isDirectory()) throw new SxError('input', `${file}: is a folder, not an HDF5 file`);
    size = info.size;
  } catch (err) {
    if (err instanceof SxError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new SxError('input', code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot read: ${(err as Error).message}`, { cause: err });
  }
  const head = readHead(file, SUPERBLOCK_HEAD);
  // HDF5 also allows a user block before the signature, but detector and CXI files don't use one.
  if (head.length < 8 || !head.subarray(0, 8).equals(HDF5_SIGNATURE)) {
    throw new SxError('input', `${file}: not an HDF5 file (no HDF5 signature at byte 0)`);
  }
  const end = superblockEnd(head);
  if (end !== undefined && size < end) {
    throw new SxError('input', `${file}: truncated HDF5 file: ${size} bytes on disk but the file says it ends at byte ${end} (an interrupted write or copy?)`);
  }
  const h5 = await loadH5();
  h5Module ??= await h5.ready;
  try {
    return { h5, file: withHdf5Errors(() => new h5.File(file, 'r')) };
  } catch (err) {
    throw new SxError('input', `${file}: cannot open as HDF5: ${hdf5Reason(err)}`, { cause: err });
  }
}
