// An ingest worker thread: reads, decodes and labels the frames it is sent, holds each until the
// main thread has decided it, then makes its kept products' stored chunks (or drops it).
import { parentPort } from 'node:worker_threads';
import { Labeller } from '../core/labels.ts';
import { isSxError } from '../errors.ts';
import type { FrameLabels } from '../core/labels.ts';
import { addSeconds, Buffers, heldPixels, makeProduct, fetchFrame, outputBuffers, SourceFiles, storedFrame, type HeldFrame, type StageSeconds } from './frame-products.ts';
import type { WorkerReply, WorkerRequest } from './frame-pool.ts';
import type { PixelType } from '../pixels.ts';
import type { GroupMaxima } from '../group-maxima.ts';

/** Set by the `setup` request, before any frame: without a geometry frames are not labelled. */
let labeller: Labeller | undefined;
let staticMask: Uint8Array | undefined;
const port = parentPort!;
const files = new SourceFiles();
const held = new Map<number, { frame: HeldFrame; where: string }>();
const seconds: StageSeconds = {};
const buffers = new Buffers();

/** One buffer of group maxima, reused: a frame's maxima serve its labelling only, which follows its read at once. */
let maxima: GroupMaxima | undefined;
function maximaFor(at: { width: number; height: number; pixelType: PixelType }): GroupMaxima | undefined {
  const spec = labeller?.maximaFor(at.pixelType);
  if (!spec) return undefined;
  const count = Math.ceil((at.width * at.height) / spec.group);
  if (maxima?.values.length !== count || maxima.group !== spec.group || maxima.cap !== spec.cap) maxima = { ...spec, values: new Uint16Array(count) };
  return maxima;
}

/** A frame's buffers go back for the next frames, except those transferred to the main thread. */
function release(frame: HeldFrame, transferred: readonly ArrayBufferLike[] = []): void {
  for (const buffer of [frame.pixels.buffer, frame.stored?.bytes.buffer]) if (buffer && !transferred.includes(buffer)) buffers.give(buffer as ArrayBuffer);
}

/** The peak columns are posted (transferred) to the main thread: the worker keeps copies for peaks-only. */
function postLabels(id: number, labels: FrameLabels): void {
  const p = labels.peaks;
  const reply: WorkerReply = { type: 'loaded', id, labels };
  port.postMessage(reply, [p.fs.buffer, p.ss.buffer, p.panel.buffer, p.intensity.buffer, p.snr.buffer, p.npix.buffer, ...(p.maxValue ? [p.maxValue.buffer] : [])] as ArrayBuffer[]);
}

function copyPeaks(labels: FrameLabels): FrameLabels['peaks'] {
  const p = labels.peaks;
  return { ...p, fs: p.fs.slice(), ss: p.ss.slice(), panel: p.panel.slice(), intensity: p.intensity.slice(), snr: p.snr.slice(), npix: p.npix.slice(), ...(p.maxValue ? { maxValue: p.maxValue.slice() } : {}) };
}

async function handle(request: WorkerRequest): Promise<void> {
  switch (request.type) {
    case 'setup': {
      const labelling = request.data.labelling;
      labeller = labelling && new Labeller(labelling.map, labelling.params);
      staticMask = labelling?.map.bad;
      return;
    }
    case 'load': {
      let frame: HeldFrame;
      try {
        if (request.location) frame = fetchFrame(files, request.location, seconds, buffers, maximaFor(request))
        else if (request.stored) frame = storedFrame(request.stored, request, seconds, buffers, maximaFor(request));
        else frame = heldPixels(request.pixels!, request.width, request.height);
      } catch (err) {
        // A frame the file cannot give (damaged, missing chunk) is skipped; anything else (no addon, a bug) stops the run.
        if (isSxError(err, 'input')) port.postMessage({ type: 'unreadable', id: request.id, error: err.message } satisfies WorkerReply);
        else port.postMessage({ type: 'failed', id: request.id, error: (err as Error).message } satisfies WorkerReply);
        return;
      }
      held.set(request.id, { frame, where: request.where });
      if (!labeller) {
        port.postMessage({ type: 'loaded', id: request.id } satisfies WorkerReply);
        return;
      }
      let labels: FrameLabels;
      const start = performance.now();
      try {
        labels = labeller.label(frame.pixels, request.where, frame.maxima);
        addSeconds(seconds, 'label (peakfinder8)', start);
      } catch (err) {
        // A frame that cannot be labelled (or decoded) stays held: the policy's unlabelled rule keeps it.
        port.postMessage({ type: 'loaded', id: request.id, labelError: (err as Error).message } satisfies WorkerReply);
        return;
      }
      frame.peaks = copyPeaks(labels);
      postLabels(request.id, labels);
      return;
    }
    case 'make': {
      const entry = held.get(request.id);
      held.delete(request.id);
      if (!entry) {
        port.postMessage({ type: 'failed', id: request.id, error: `frame ${request.id} is not held by this worker` } satisfies WorkerReply);
        return;
      }
      try {
        const outputs = [];
        for (const product of request.products) outputs.push(await makeProduct(entry.frame, product, staticMask, entry.where, seconds));
        const transfer = outputBuffers(outputs);
        port.postMessage({ type: 'made', id: request.id, outputs } satisfies WorkerReply, transfer);
        release(entry.frame, transfer);
      } catch (err) {
        port.postMessage({ type: 'failed', id: request.id, error: (err as Error).message, usage: (err as { tag?: string }).tag === 'usage' } satisfies WorkerReply);
      }
      return;
    }
    case 'drop': {
      const entry = held.get(request.id);
      held.delete(request.id);
      if (entry) release(entry.frame);
      return;
    }
    case 'recycle':
      for (const buffer of request.buffers) buffers.give(buffer);
      return;
    case 'close':
      held.clear();
      files.close();
      port.postMessage({ type: 'closed', id: request.id, seconds } satisfies WorkerReply);
  }
}

// One request at a time, in order: a frame's `make` always follows its `load`.
let queue = Promise.resolve();
port.on('message', (request: WorkerRequest) => {
  queue = queue.then(() => handle(request)).catch((err: Error) => {
    port.postMessage({ type: 'failed', id: request.id, error: err.message } satisfies WorkerReply);
  });
});
