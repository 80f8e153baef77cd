import type { NewFrame, StartedRun } from '../catalog/types.ts';
import { isSxError, SxError } from '../errors.ts';
import { ResultsStore } from '../results/results-store.ts';
import { FramePool } from './frame-pool.ts';
import { addSeconds } from './frame-products.ts';
import { checkTiersWritable, prepare, type Prepared } from './prepare.ts';
import { OWNER, isAlive } from '../process-owner.ts';
import { recoverExperiment, removeEmptyFolders } from './recover.ts';
import { runDirName } from './run-dir.ts';
import { RunFrames } from './run-frames.ts';
import type { IngestOptions, IngestResult } from './types.ts';
import { frameBytes, type PixelArray } from '../pixels.ts';

export type { BadFile, IngestOptions, IngestResult, SkippedFrame, WrittenContainer } from './types.ts';


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
    frames: 0, alreadyRecorded: prepared.alreadyRecorded, labelled: 0, hits: 0, indexed: 0, rules: {}, gateTimeouts: 0, unlabelledKept: 0, rawBytes: 0, storedBytes: 0,
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

async function ingestFrames(options: IngestOptions, prepared: Prepared, run: StartedRun, result: IngestResult, pool: FramePool, total: number): Promise<void> {
  const { catalog, facility, signal } = options;
  const frames = new RunFrames({
    catalog, facility, run, policy: prepared.policy, facts: prepared.facts, labelling: prepared.labelling, result, pool,
    largestFrame: Math.max(...prepared.sources.map(({ source }) => frameBytes(source))), stageSeconds: options.stageSeconds,
  });
  const stopped = () => signal?.aborted === true;
  const interrupted = () => new SxError('interrupted', `interrupted: ${result.frames} frame(s) of run ${run.number} were recorded; run the same command again to continue where it stopped`);
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
        await frames.admit(rawBytes);
        const location = source.locate(index);
        let pixels: PixelArray | undefined;
        if (!location) {
          try {
            const start = performance.now();
            pixels = source.read(index);
            addSeconds(options.stageSeconds, 'read+decode (h5wasm, main thread)', start);
          } catch (err) {
            frames.cancel(rawBytes);
            if (!isSxError(err)) throw err;
            result.skipped.push({ file: source.file, event, error: err.message });
            continue;
          }
        }
        const frame: NewFrame = { source: source.file, event, width: source.width, height: source.height, pixelType: source.pixelType, rawBytes };
        await frames.add(frame, shape, location ? { location } : { pixels: pixels! });
      }
    }
    await frames.finish(options.onStatus, stopped);
    if (stopped()) throw interrupted();
  } catch (err) {
    await frames.abort();
    throw err;
  }
}
