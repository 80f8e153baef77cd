// SHA-256 off the JS thread. Every copy sxarchive makes is read back and hashed (~1 GB/s per
// core), which on one thread would bound migration to a fraction of the disk's speed; here the
// hashing runs on worker threads, one per core, while the main thread keeps copies moving.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { SxError } from '../errors.ts';

// Source text, not a file: the worker runs the same under tsx, the installed bin and plain node,
// and starts without the parent's loaders (execArgv: []), which it does not need.
// Two kinds of work: a running hash fed chunk by chunk (a tar file as it is written), and whole
// files or byte ranges read and hashed here (read-back checks).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const CHUNK = 4 << 20;
const PROGRESS_EVERY = 64 << 20;
const shared = workerData ? new Uint8Array(workerData) : undefined;
let running = createHash('sha256');
let buffer;
function hashFile({ id, file, offset, length }) {
  buffer ??= Buffer.allocUnsafe(CHUNK);
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const end = length === undefined ? Infinity : offset + length;
    let at = offset, reported = 0;
    while (at < end) {
      const n = fs.readSync(fd, buffer, 0, Math.min(CHUNK, end - at), at);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
      at += n;
      if (at - offset - reported >= PROGRESS_EVERY) parentPort.postMessage({ id, progress: (reported = at - offset) });
    }
    return { sha256: hash.digest('hex'), bytes: at - offset };
  } finally {
    fs.closeSync(fd);
  }
}
parentPort.on('message', (m) => {
  if (m.file !== undefined) {
    try {
      parentPort.postMessage({ id: m.id, result: hashFile(m) });
    } catch (err) {
      parentPort.postMessage({ id: m.id, error: { message: err.message, code: err.code } });
    }
    return;
  }
  if (m.bytes) running.update(m.bytes);
  else if (m.length !== undefined) running.update(shared.subarray(m.at, m.at + m.length));
  if (m.digest) {
    parentPort.postMessage({ id: m.id, result: running.digest('hex') });
    running = createHash('sha256');
  } else if (m.id !== undefined) parentPort.postMessage({ id: m.id });
});
`;

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  onProgress?: (bytes: number) => void;
}

interface Reply {
  id: number;
  result?: unknown;
  progress?: number;
  error?: { message: string; code?: string };
}

/**
 * One hashing thread. It keeps the process alive only while a reply is awaited, so a thread
 * nobody closed does not hold the process open.
 */
export class HashThread {
  readonly #worker: Worker;
  readonly #waiting = new Map<number, Waiter>();
  #nextId = 0;
  #failure?: Error;

  /** `shared`: buffers addShared() hashes slices of without copying them. */
  constructor(shared?: SharedArrayBuffer) {
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: shared, execArgv: [] });
    this.#worker.unref();
    this.#worker.on('message', (reply: Reply) => this.#reply(reply));
    this.#worker.on('error', (err) => this.#fail(err));
    this.#worker.on('exit', (code) => this.#fail(new SxError('store', `a SHA-256 thread exited (code ${code})`)));
  }

  /** Whether the thread died (it then refuses all work). */
  get broken(): boolean {
    return this.#failure !== undefined;
  }

  /** Replies awaited: how busy the thread is. */
  get pending(): number {
    return this.#waiting.size;
  }

  /** Adds a copy of `bytes` (small pieces: headers, padding) to the running hash; nothing waits for it. */
  add(bytes: Uint8Array): void {
    this.#worker.postMessage({ bytes });
  }

  /** Adds a slice of the shared buffers; resolves once it is hashed, so the slice may be reused. */
  async addShared(at: number, length: number): Promise<void> {
    await this.#request({ at, length });
  }

  /** The running hash's digest (hex); the running hash starts again. */
  async digest(): Promise<string> {
    return (await this.#request({ digest: true })) as string;
  }

  /** Reads `file` (or `length` bytes of it from `offset`) and hashes it; errors keep their `code` (ENOENT). */
  async hashFile(file: string, range: { offset: number; length?: number } = { offset: 0 }, onProgress?: (bytes: number) => void): Promise<FileDigest> {
    return (await this.#request({ file, ...range }, onProgress)) as FileDigest;
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }

  #request(message: object, onProgress?: (bytes: number) => void): Promise<unknown> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    if (this.#waiting.size === 0) this.#worker.ref();
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject, onProgress });
      this.#worker.postMessage({ ...message, id });
    });
  }

  #reply({ id, result, progress, error }: Reply): void {
    const waiter = this.#waiting.get(id);
    if (!waiter) return;
    if (progress !== undefined) return waiter.onProgress?.(progress);
    this.#waiting.delete(id);
    if (this.#waiting.size === 0) this.#worker.unref();
    if (error) waiter.reject(Object.assign(new Error(error.message), error.code ? { code: error.code } : {}));
    else waiter.resolve(result);
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    for (const waiter of this.#waiting.values()) waiter.reject(err);
    this.#waiting.clear();
    this.#worker.unref();
  }
}

export interface FileDigest {
  sha256: string;
  bytes: number;
}

/** One thread per core, started when first needed and kept for the life of the process. */
let pool: HashThread[] = [];

/**
 * SHA-256 and length of a local file, or of a byte range of it, computed on the least busy of
 * the process's hashing threads: callers that hash several files at once use every core.
 */
export function sha256File(file: string, range?: { offset: number; length?: number }, onProgress?: (bytes: number) => void): Promise<FileDigest> {
  pool = pool.filter((t) => !t.broken);
  if (pool.length < availableParallelism() && pool.every((t) => t.pending > 0)) pool.push(new HashThread());
  const thread = pool.reduce((a, b) => (b.pending < a.pending ? b : a));
  return thread.hashFile(file, range, onProgress);
}
