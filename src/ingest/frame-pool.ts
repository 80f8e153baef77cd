// The ingest workers, seen from the main thread: a frame is loaded (read, decoded, labelled) by
// one worker, which holds it until the frame is decided, then makes its products' stored chunks
// or drops it. The pixels never come back to the main thread.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { FrameLabels } from '../core/labels.ts';
import type { PeakFinderParams } from '../core/peakfinder8.ts';
import type { PixelMap } from '../core/pixel-map.ts';
import { SxError } from '../errors.ts';
import type { FrameLocation } from '../frames/frame-part.ts';
import type { PixelArray, PixelType } from '../pixels.ts';
import type { ContainerCodecId } from '../../codecs/registry.ts';
import type { ProductOutput, ProductRequest, StageSeconds } from './frame-products.ts';

export interface FrameWorkerData {
  /** Without it frames are only read and decoded (ingest without --geometry). The map's arrays are in shared memory (buildPixelMap), so the workers use one copy. */
  labelling?: { map: PixelMap; params: PeakFinderParams };
}

/** A frame as one chunk in one of the container codecs (as a detector stream sends it), not decoded yet. */
export interface StoredChunk {
  codec: ContainerCodecId;
  bytes: Uint8Array;
}

export type WorkerRequest =
  | { type: 'setup'; id: number; data: FrameWorkerData }
  | { type: 'load'; id: number; where: string; location?: FrameLocation; pixels?: PixelArray; stored?: StoredChunk; width: number; height: number; pixelType: PixelType }
  | { type: 'make'; id: number; products: ProductRequest[] }
  | { type: 'drop'; id: number }
  | { type: 'recycle'; id: number; buffers: ArrayBuffer[] }
  | { type: 'close'; id: number };

export type WorkerReply =
  | { type: 'loaded'; id: number; labels?: FrameLabels; labelError?: string }
  | { type: 'unreadable'; id: number; error: string }
  | { type: 'made'; id: number; outputs: ProductOutput[] }
  | { type: 'failed'; id: number; error: string; usage?: boolean }
  | { type: 'closed'; id: number; seconds: StageSeconds };

/** What loading a frame gave: its labels, why it has none, or why it could not be read. */
export type Loaded = { labels?: FrameLabels; labelError?: string } | { unreadable: string };

/** A frame held by one worker. */
export interface HeldHandle {
  readonly id: number;
  readonly worker: number;
}

/** A frame a worker could not read, named as the main thread's reader names one. */
export function describeUnreadable(loaded: Promise<Loaded>, source: string, event: string, at: FrameLocation): Promise<Loaded> {
  const from = at.file === source ? at.path : `${at.file}:${at.path}`;
  return loaded.then((l) => ('unreadable' in l ? { unreadable: `${source} event ${event}: cannot read frame from ${from}: ${l.unreadable.replace(`${at.file}: `, '')}` } : l));
}

/** `view` alone in its buffer (copied if it shares one), so that the buffer can be transferred. */
function whole<T extends PixelArray | Uint8Array>(view: T): T {
  return view.byteOffset === 0 && view.byteLength === view.buffer.byteLength ? view : (view.slice() as T);
}

const WORKER_ENTRY = new URL('../core/ts-worker.js', import.meta.url);
const WORKER_MODULE = new URL('./frame-worker.ts', import.meta.url).href;

interface Waiting {
  resolve: (reply: WorkerReply) => void;
  reject: (err: Error) => void;
  worker: number;
}

/**
 * One worker per core. Each frame goes to the worker with the fewest frames in hand; its
 * later requests go to the same worker, which answers them in order. The workers start at once
 * (loading their modules takes them ~0.3 s) and are told what they label with by `setup`, so
 * that they start while the run is being prepared.
 */
export class FramePool {
  private readonly workers: { worker: Worker; held: number }[];
  private readonly waiting = new Map<string, Waiting>();
  private nextId = 0;
  private failure: Error | undefined;
  /** Whether any frame was loaded: if not, there is nothing to close or count. */
  private used = false;

  constructor(size = availableParallelism()) {
    this.workers = Array.from({ length: Math.max(1, size) }, (_, index) => {
      const worker = new Worker(WORKER_ENTRY, { workerData: { module: WORKER_MODULE } });
      worker.on('message', (reply: WorkerReply) => this.settle(index, reply));
      worker.on('error', (err) => this.fail(new SxError('input', `ingest worker ${index}: ${err.message}`, { cause: err })));
      return { worker, held: 0 };
    });
  }

  get size(): number {
    return this.workers.length;
  }

  /** What every frame is labelled with (before the first `load`). */
  setup(data: FrameWorkerData): void {
    for (const { worker } of this.workers) worker.postMessage({ type: 'setup', id: this.nextId++, data } satisfies WorkerRequest);
  }

  /**
   * Loads a frame: from where it is stored (`location`), from `pixels` the caller read, or from a
   * `stored` chunk the caller received (their buffer is transferred: the caller must not use
   * them afterwards).
   */
  load(frame: { where: string; width: number; height: number; pixelType: PixelType; location?: FrameLocation; pixels?: PixelArray; stored?: StoredChunk }): { handle: HeldHandle; loaded: Promise<Loaded> } {
    this.used = true;
    const worker = this.workers.reduce((best, w, i) => (w.held < this.workers[best].held ? i : best), 0);
    const handle = { id: this.nextId++, worker };
    this.workers[worker].held += 1;
    const pixels = frame.pixels && whole(frame.pixels);
    const stored = frame.stored && { codec: frame.stored.codec, bytes: whole(frame.stored.bytes) };
    const request: WorkerRequest = {
      type: 'load', id: handle.id, where: frame.where, width: frame.width, height: frame.height, pixelType: frame.pixelType,
      ...(frame.location ? { location: frame.location } : {}), ...(pixels ? { pixels } : {}), ...(stored ? { stored } : {}),
    };
    const transfer = [pixels?.buffer, stored?.bytes.buffer].filter((b) => b !== undefined) as ArrayBuffer[];
    const loaded = this.ask(worker, request, transfer).then((reply): Loaded => {
      if (reply.type === 'unreadable') {
        this.workers[worker].held -= 1;
        return { unreadable: reply.error };
      }
      if (reply.type === 'failed') throw new SxError('store', `${frame.where}: ${reply.error}`);
      if (reply.type !== 'loaded') throw new Error(`ingest worker ${worker}: unexpected reply ${reply.type} to load`);
      return { ...(reply.labels ? { labels: reply.labels } : {}), ...(reply.labelError ? { labelError: reply.labelError } : {}) };
    });
    return { handle, loaded };
  }

  /** Makes the held frame's products, in the order asked, and lets the worker forget it. */
  async make(handle: HeldHandle, products: ProductRequest[]): Promise<ProductOutput[]> {
    try {
      const reply = await this.ask(handle.worker, { type: 'make', id: handle.id, products });
      if (reply.type === 'failed') throw new SxError(reply.usage ? 'usage' : 'store', reply.error);
      if (reply.type !== 'made') throw new Error(`ingest worker ${handle.worker}: unexpected reply ${reply.type} to make`);
      return reply.outputs;
    } finally {
      this.workers[handle.worker].held -= 1;
    }
  }

  /** The frame keeps no product on a tier: the worker forgets it. */
  drop(handle: HeldHandle): void {
    this.workers[handle.worker].held -= 1;
    this.workers[handle.worker].worker.postMessage({ type: 'drop', id: handle.id } satisfies WorkerRequest);
  }

  /**
   * Hands the buffers of a frame's products back to the worker that made them, once they are
   * written (transferred: the caller must not use them afterwards), so the worker fills them
   * again instead of allocating new ones.
   */
  recycle(handle: HeldHandle, buffers: ArrayBuffer[]): void {
    if (this.failure || buffers.length === 0) return;
    this.workers[handle.worker].worker.postMessage({ type: 'recycle', id: this.nextId++, buffers } satisfies WorkerRequest, buffers);
  }

  /** Closes the workers' source files, then the workers; returns the seconds they spent per stage, summed. */
  async close(): Promise<StageSeconds> {
    const seconds: StageSeconds = {};
    if (!this.failure && this.used) {
      const replies = await Promise.allSettled(this.workers.map((_, i) => this.ask(i, { type: 'close', id: this.nextId++ })));
      for (const r of replies) {
        if (r.status !== 'fulfilled' || r.value.type !== 'closed') continue;
        for (const [stage, s] of Object.entries(r.value.seconds)) seconds[stage] = (seconds[stage] ?? 0) + s;
      }
    }
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
    return seconds;
  }

  private ask(worker: number, request: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.set(`${worker}:${request.id}`, { resolve, reject, worker });
      this.workers[worker].worker.postMessage(request, transfer);
    });
  }

  private settle(worker: number, reply: WorkerReply): void {
    const key = `${worker}:${reply.id}`;
    const waiting = this.waiting.get(key);
    if (!waiting) return;
    this.waiting.delete(key);
    waiting.resolve(reply);
  }

  // A worker that dies fails every frame in hand and every later one.
  private fail(err: Error): void {
    this.failure ??= err;
    for (const [key, w] of this.waiting) {
      w.reject(err);
      this.waiting.delete(key);
    }
  }
}
