import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { SxError } from '../errors.ts';
import type { FrameLabels } from './labels.ts';
import type { PeakFinderParams } from './peakfinder8.ts';
import type { PixelArray } from '../pixels.ts';

export interface LabelWorkerData {
  geometryFile: string;
  params: PeakFinderParams;
}

const WORKER_ENTRY = new URL('./ts-worker.js', import.meta.url);
const WORKER_MODULE = new URL('./label-worker.ts', import.meta.url).href;
export interface LabelRequest {
  id: number;
  frame: PixelArray;
  where: string;
}
export type LabelResponse = { id: number; labels: FrameLabels } | { id: number; error: string };

interface Pending {
  resolve: (labels: FrameLabels) => void;
  reject: (err: Error) => void;
}

/**
 * Labels frames on all cores. The caller reads each frame once (it also goes into a container)
 * and hands its buffer over; each worker keeps its own pixel map.
 */
export class LabelPool {
  private readonly workers: { worker: Worker; busy: number }[];
  private readonly pending = new Map<number, Pending & { worker: number }>();
  private nextId = 0;
  private failure: Error | undefined;

  constructor(data: LabelWorkerData, size = availableParallelism()) {
    this.workers = Array.from({ length: Math.max(1, size) }, (_, index) => {
      const worker = new Worker(WORKER_ENTRY, { workerData: { ...data, module: WORKER_MODULE } });
      worker.on('message', (r: LabelResponse) => this.settle(r));
      worker.on('error', (err) => this.fail(new SxError('input', `labelling worker ${index}: ${err.message}`, { cause: err })));
      return { worker, busy: 0 };
    });
  }

  get size(): number {
    return this.workers.length;
  }

  /**
   * Labels `frame`. A frame that owns its whole buffer is transferred, not copied: the caller
   * must not use it afterwards.
   */
  label(frame: PixelArray, where: string): Promise<FrameLabels> {
    if (this.failure) return Promise.reject(this.failure);
    const own = frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength ? frame : frame.slice();
    const index = this.workers.reduce((best, w, i) => (w.busy < this.workers[best].busy ? i : best), 0);
    const id = this.nextId++;
    const slot = this.workers[index];
    slot.busy += 1;
    return new Promise<FrameLabels>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker: index });
      const request: LabelRequest = { id, frame: own, where };
      slot.worker.postMessage(request, [own.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }

  private settle(r: LabelResponse): void {
    const p = this.pending.get(r.id);
    if (!p) return;
    this.pending.delete(r.id);
    this.workers[p.worker].busy -= 1;
    if ('error' in r) p.reject(new SxError('input', r.error));
    else p.resolve(r.labels);
  }

  // A worker that dies (e.g. a bad geometry) fails every frame it had and every later one.
  private fail(err: Error): void {
    this.failure ??= err;
    for (const [id, p] of this.pending) {
      p.reject(err);
      this.pending.delete(id);
    }
  }
}
