import { basename, join } from 'node:path';
import type { Catalog } from '../catalog/catalog.ts';
import type { NewFrame, StartedRun } from '../catalog/types.ts';
import { isSxError, SxError } from '../errors.ts';
import { ResultsStore } from '../results/results-store.ts';
import { BatchWriter, type InFlight, type ResultLookup } from './batch-writer.ts';
import { describeUnreadable, FramePool } from './frame-pool.ts';
import { addSeconds } from './frame-products.ts';
import { checkTiersWritable, prepare, type Prepared } from './prepare.ts';
import { OWNER, isAlive } from '../process-owner.ts';
import { recoverExperiment, removeEmptyFolders } from './recover.ts';
import { runDirName } from './run-dir.ts';
import type { IngestOptions, IngestResult } from './types.ts';
import { PIXEL_BYTES, type PixelArray, type PixelType } from '../pixels.ts';

export type { BadFile, IngestOptions, IngestResult, SkippedFrame, WrittenContainer } from './types.ts';


/**
 * Indexing results in the catalog (import-stream, possibly still following) for a frame: by
 * file and event, else by file name and event when only one file of that name has one.
 */
function resultLookup(catalog: Catalog, experimentId: number): ResultLookup {
  return (source, event) => {
    const rows = catalog.indexingResults(experimentId, event);
    const exact = rows.find((r) => r.source === source);
    const named = rows.filter((r) => basename(r.source) === basename(source));
    const r = exact ?? (named.length === 1 ? named[0] : undefined);
    return r && { indexed: r.indexed, nCrystals: r.nCrystals };
  };
}

const secondsLeft = (until: Date) => Math.max(0, Math.ceil((until.getTime() - Date.now()) / 1000));

/**
 * Records every readable frame of `files` in the catalog, labels it (with a geometry, on all
 * cores) and keeps what the retention policy decides, in containers on the tiers its lifecycle
 * starts on.
 *
 * Safe to run again: frames the experiment has recorded already are skipped, so a killed or
 * failed ingest run again continues where it stopped; what a dead run left behind is cleaned
 * up first. Everything is checked before anything is written: a refused ingest leaves the
 * catalog as it was. Each batch's containers are written to temporary names, read back, fsynced,
 * checksummed and renamed before the catalog records them with their frames and decisions, in
 * one transaction; a write error drops the batch (its files removed) and fails the run. A frame
 * that cannot be labelled is kept by the policy's unlabelled rule (raw by default). Under a
 * results-gated rule a frame waits (in memory, up to MAX_PENDING_BYTES) for its indexing result
 * until the gate's timeout, then takes the gate's timeout rule.
 */
export async function ingest(options: IngestOptions): Promise<IngestResult> {
  const { catalog, facility } = options;
  // Started first: the workers load their modules while the run is prepared.
  const pool = new FramePool();
  let prepared: Prepared;
  try {
    prepared = await prepare(options);
  } catch (err) {
    await pool.close();
    throw err;
  }
  const { policy, labelling } = prepared;
  const result: IngestResult = {
    experiment: options.experiment.name, run: null, state: 'complete', policy: { name: policy.name, version: policy.version, contentHash: policy.contentHash },
    frames: 0, alreadyRecorded: prepared.alreadyRecorded, labelled: 0, hits: 0, rules: {}, gateTimeouts: 0, unlabelledKept: 0, rawBytes: 0, storedBytes: 0,
    containers: [], skipped: [], unlabelled: [], badFiles: prepared.badFiles, recovery: { runs: [], removedFiles: 0, removedBytes: 0 },
  };
  try {
    const total = prepared.sources.reduce((n, s) => n + s.source.count, 0);
    if (prepared.alreadyRecorded === total) return result;
    checkTiersWritable(policy, facility, options.experiment.name);
    result.recovery = recoverExperiment(catalog, facility, options.experiment.name);
    const run = catalog.startRun(
      {
        experiment: options.experiment,
        policy: { name: policy.name, version: policy.version, text: policy.text, contentHash: policy.contentHash },
        labelling: { policy: { name: policy.name, version: policy.version, content_hash: policy.contentHash }, ...(labelling ? { geometry_file: labelling.geometryFile, peakfinder8: labelling.params } : {}) },
        sources: prepared.sources.map((s) => s.source.file),
        owner: OWNER,
      },
      isAlive,
    );
    result.run = run.number;
    pool.setup(labelling ? { labelling: { map: labelling.map, params: labelling.params } } : {});
    try {
      await ingestFrames(options, prepared, run, result, pool, total);
    } catch (err) {
      const state = isSxError(err, 'interrupted') ? 'interrupted' : 'failed';
      try {
        if (catalog.finishRun(run.id, state, summaryOf(result, err), run.createdExperiment).removed) removeEmptyFolders(facility, run.experiment.name, runDirName(run.number));
      } catch {
        // The catalog may be what failed (a full disk): the run stays 'running' and the next
        // ingest closes it as dead; the error to report is the first one.
      }
      throw err;
    }
    result.state = result.skipped.length + result.unlabelled.length + result.badFiles.length > 0 ? 'partial' : 'complete';
    catalog.finishRun(run.id, result.state, summaryOf(result), run.createdExperiment);
    new ResultsStore(catalog, run.experiment.id).linkNewFrames();
    return result;
  } finally {
    for (const { source } of prepared.sources) source.close();
    const seconds = await pool.close();
    if (options.stageSeconds) for (const [stage, s] of Object.entries(seconds)) options.stageSeconds[stage] = (options.stageSeconds[stage] ?? 0) + s;
  }
}

function summaryOf(result: IngestResult, err?: unknown): Record<string, unknown> {
  return {
    frames: result.frames, skipped: result.skipped.length, unlabelled: result.unlabelled.length, bad_files: result.badFiles.length,
    gate_timeouts: result.gateTimeouts, stored_bytes: result.storedBytes, ...(err ? { error: (err as Error).message } : {}),
  };
}

/** Bytes of frames read but not yet made into their products (or held by the gate): at least a window's worth. */
const IN_FLIGHT_BYTES = 512 << 20;

const frameBytes = (s: { width: number; height: number; pixelType: PixelType }) => s.width * s.height * PIXEL_BYTES[s.pixelType];

/** Bytes in flight: `acquire` waits until they fit (one frame always fits when none is in flight). */
class InFlightBytes {
  private used = 0;
  private waiters: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.limit;
  }

  async acquire(bytes: number): Promise<void> {
    while (!this.fits(bytes)) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.used += bytes;
  }

  release(bytes: number): void {
    this.used -= bytes;
    for (const wake of this.waiters.splice(0)) wake();
  }
}

async function ingestFrames(options: IngestOptions, prepared: Prepared, run: StartedRun, result: IngestResult, pool: FramePool, total: number): Promise<void> {
  const { catalog, facility, signal } = options;
  const { labelling } = prepared;
  const results = resultLookup(catalog, run.experiment.id);
  const sequences = new Map<string, number>();
  const window: InFlight[] = [];
  // Frames queued per worker: enough that none runs dry while the main thread finishes a batch's
  // containers (~0.1 s at a time); large frames are held back by the byte budget first.
  const windowSize = 8 * pool.size;
  const budget = new InFlightBytes(Math.max(IN_FLIGHT_BYTES, (2 * pool.size + 3) * Math.max(...prepared.sources.map(({ source }) => frameBytes(source)))));
  const batch = new BatchWriter({
    catalog,
    run: { id: run.id, experimentId: run.experiment.id },
    policyId: run.policyId,
    policy: prepared.policy,
    experiment: prepared.facts,
    result,
    results,
    writers: {
      tierPath: facility.tierPath,
      writeTier: facility.stagingTier,
      runDir: join(run.experiment.name, runDirName(run.number)),
      nextSequence: (product: string) => {
        const n = (sequences.get(product) ?? 0) + 1;
        sequences.set(product, n);
        return n;
      },
      geometryText: labelling?.geometryText,
      geometry: labelling?.geometry,
    },
    pool,
    seconds: options.stageSeconds,
    settled: (item) => budget.release(item.frame.rawBytes),
  });
  const stopped = () => signal?.aborted === true;
  const interrupted = () => new SxError('interrupted', `interrupted: ${result.frames} frame(s) of run ${run.number} were recorded; run the same command again to continue where it stopped`);
  const maxFrames = facility.config.containers.max_frames;
  let done = prepared.alreadyRecorded;
  try {
    for (const { source, recorded } of prepared.sources) {
      const shape = { width: source.width, height: source.height, pixelType: source.pixelType };
      const rawBytes = frameBytes(source);
      for (let index = 0; index < source.count; index++) {
        const event = source.event(index);
        if (recorded.has(event)) continue;
        if (stopped()) throw interrupted();
        options.onFrame?.(++done, total);
        // Bounded in bytes: the oldest frames are decided (and their products made) before more are read.
        while (!budget.fits(rawBytes) && window.length > 0) await batch.add(window.shift()!);
        await budget.acquire(rawBytes);
        const location = source.locate(index);
        let pixels: PixelArray | undefined;
        if (!location) {
          try {
            const start = performance.now();
            pixels = source.read(index);
            addSeconds(options.stageSeconds, 'read+decode (h5wasm, main thread)', start);
          } catch (err) {
            budget.release(rawBytes);
            if (!isSxError(err)) throw err;
            result.skipped.push({ file: source.file, event, error: err.message });
            continue;
          }
        }
        const where = `${source.file} event ${event}`;
        const { handle, loaded } = pool.load({ where, width: source.width, height: source.height, ...(location ? { location } : { pixels }) });
        const frame: NewFrame = { source: source.file, event, width: source.width, height: source.height, pixelType: source.pixelType, rawBytes };
        frame.results = results(source.file, event);
        const named = location ? describeUnreadable(loaded, source.file, event, location) : loaded;
        // Awaited in order by the batch; if the run fails first, the frames behind it must not count as unhandled.
        named.catch(() => undefined);
        const item: InFlight = { frame, meta: { source: source.file, event }, shape, handle, loaded: named, arrived: new Date() };
        // The gate's timeout runs from when the worker has read (and labelled) the frame, not from when it was queued.
        named.then(() => (item.arrived = new Date()), () => undefined);
        window.push(item);
        if (window.length >= windowSize) await batch.add(window.shift()!);
        await batch.settlePending();
        if (batch.size >= maxFrames) await batch.flushInBackground();
      }
    }
    while (window.length > 0) {
      await batch.add(window.shift()!);
      if (batch.size >= maxFrames) await batch.flushInBackground();
    }
    await batch.drainPending(() => {
      const w = batch.waiting;
      if (w) options.onStatus?.(`waiting for the indexing results of ${w.frames} frame(s) (import-stream writes them), at most ${secondsLeft(w.until)} s more`);
    }, stopped);
    if (stopped()) throw interrupted();
    await batch.flush();
  } catch (err) {
    await batch.abort();
    throw err;
  }
}
