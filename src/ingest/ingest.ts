import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, closeSync, fsyncSync, readFileSync, realpathSync, rmSync, writeSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Catalog } from '../catalog/catalog.ts';
import { checkExperimentName, metadataChanges } from '../catalog/catalog.ts';
import type { NewExperiment, NewFrame } from '../catalog/types.ts';
import type { Facility } from '../config/facility.ts';
import { frameLayoutOf } from '../core/label-files.ts';
import { LabelPool } from '../core/label-pool.ts';
import { buildPixelMap, type PixelMap } from '../core/pixel-map.ts';
import { checkPeakFinderParams, DEFAULT_PEAKFINDER_PARAMS, type PeakFinderParams } from '../core/peakfinder8.ts';
import { isSxError, SxError } from '../errors.ts';
import { parseGeometry, type Geometry } from '../formats/crystfel-geometry.ts';
import { checkApplies } from '../policy/engine.ts';
import { loadPolicy, resolvePolicyFile } from '../policy/load.ts';
import type { ExperimentFacts, Policy } from '../policy/types.ts';
import { ResultsStore } from '../results/results-store.ts';
import type { PixelArray } from '../store/hdf5.ts';
import { BatchWriter, type InFlight, type ResultLookup } from './batch-writer.ts';
import { openFrameSource, type FrameLayout, type FrameSource } from './hdf5-source.ts';
import { CATALOG_PRODUCTS, checkContainerCodecs } from './product-writers.ts';
import { OWNER, isAlive, recoverExperiment } from './recover.ts';
import { runDirName } from './run-dir.ts';
import type { BadFile, IngestResult } from './types.ts';

export type { BadFile, IngestResult, SkippedFrame, WrittenContainer } from './types.ts';

export interface IngestOptions {
  files: string[];
  experiment: NewExperiment;
  geometryFile?: string;
  /** Where the frames are in each file; default: the geometry's data path, else the known paths and NXmx series. */
  layout?: FrameLayout;
  /** Peak-finder settings over the defaults; frames are labelled when a geometry is given. */
  peakFinder?: Partial<PeakFinderParams>;
  /** Retention policy: a shipped name or a file; default the facility's `ingest.policy`. */
  policy?: string;
  facility: Facility;
  catalog: Catalog;
  onFrame?: (done: number, total: number) => void;
  /** What ingest is doing when it is not reading frames (waiting for indexing results). */
  onStatus?: (text: string) => void;
  /** Aborted (SIGINT, SIGTERM): the current batch is dropped, the run is marked interrupted. */
  signal?: AbortSignal;
}

interface Labelling {
  geometryFile: string;
  geometryText: string;
  geometry: Geometry;
  map: PixelMap;
  layout: FrameLayout;
  params: PeakFinderParams;
}

/** Everything ingest checked before writing anything. */
interface Prepared {
  policy: Policy;
  experiment: NewExperiment;
  facts: ExperimentFacts;
  labelling?: Labelling;
  sources: { source: FrameSource; recorded: Set<string> }[];
  badFiles: BadFile[];
  alreadyRecorded: number;
}

function readLabelling(geometryFile: string, params: PeakFinderParams): Labelling {
  const file = resolve(geometryFile);
  let geometryText: string;
  try {
    geometryText = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SxError('usage', `${file}: cannot read geometry: ${(err as Error).message}`, { cause: err });
  }
  const geometry = parseGeometry(geometryText, file);
  return { geometryFile: file, geometryText, geometry, map: buildPixelMap(geometry), layout: frameLayoutOf(geometry), params };
}

/** Absolute, with links resolved, so one file is one source whatever path names it; two names for one file are refused. */
function resolveFiles(files: string[]): { paths: string[]; bad: BadFile[] } {
  const seen = new Map<string, string>();
  const bad: BadFile[] = [];
  for (const given of files) {
    let path: string;
    try {
      path = realpathSync(resolve(given));
    } catch (err) {
      bad.push({ file: resolve(given), error: `cannot open: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}` });
      continue;
    }
    const first = seen.get(path);
    if (first !== undefined) throw new SxError('usage', `${given} is given twice${first === given ? '' : ` (as ${first} too)`}; expected each file once`);
    seen.set(path, given);
  }
  return { paths: [...seen.keys()], bad };
}

/** The tiers the policy's products start on, each written and removed once, so a tier that cannot take files stops ingest before any frame is read. */
function checkTiersWritable(policy: Policy, facility: Facility, experiment: string): void {
  const tiers = new Set<string>();
  for (const rule of [...policy.rules, policy.unlabelled]) {
    for (const keep of rule.keep) if (!CATALOG_PRODUCTS.has(keep.product)) tiers.add(keep.lifecycle[0].tier);
  }
  for (const tier of tiers) {
    const dir = join(facility.tierPath(tier), experiment);
    const probe = join(dir, `.probe.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
    try {
      mkdirSync(dir, { recursive: true });
      const fd = openSync(probe, 'wx');
      try {
        writeSync(fd, 'sxarchive');
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      rmSync(probe);
    } catch (err) {
      throw new SxError('config', `tier ${tier} (${facility.tierPath(tier)}) cannot take files: ${(err as Error).message}; nothing was read or recorded`, { cause: err });
    }
  }
}

/**
 * Every check that can fail before data is touched: experiment name and metadata, policy (and
 * its applies_to), codecs, peak-finder settings, geometry against the data, the files. Writes
 * nothing; the catalog is only read.
 */
async function prepare(options: IngestOptions): Promise<Prepared> {
  const { catalog, facility } = options;
  checkExperimentName(options.experiment.name);
  const policy = loadPolicy(resolvePolicyFile(options.policy ?? facility.config.ingest.policy), facility.config);
  checkContainerCodecs(policy);
  const params = checkPeakFinderParams({ ...DEFAULT_PEAKFINDER_PARAMS, ...options.peakFinder });
  const labelling = options.geometryFile === undefined ? undefined : readLabelling(options.geometryFile, params);
  const existing = catalog.findExperiment(options.experiment.name);
  if (existing) {
    // Refused here, before anything is written; startRun checks again inside its transaction.
    if (metadataChanges(existing, options.experiment).length > 0) catalog.ensureExperiment(options.experiment);
  }
  const facts: ExperimentFacts = existing
    ? { name: existing.name, facility: existing.facility, proposal: existing.proposal, sampleTags: existing.sampleTags }
    : { name: options.experiment.name, facility: options.experiment.facility ?? null, proposal: options.experiment.proposal ?? null, sampleTags: [...new Set(options.experiment.sampleTags ?? [])] };
  checkApplies(policy, facts);

  const { paths, bad } = resolveFiles(options.files);
  const prepared: Prepared = { policy, experiment: options.experiment, facts, labelling, sources: [], badFiles: bad, alreadyRecorded: 0 };
  try {
    for (const file of paths) {
      let source: FrameSource;
      try {
        source = await openFrameSource(file, options.layout ?? labelling?.layout);
      } catch (err) {
        if (!isSxError(err)) throw err;
        prepared.badFiles.push({ file, error: err.message.startsWith(`${file}: `) ? err.message.slice(file.length + 2) : err.message });
        continue;
      }
      const recorded = existing ? catalog.recordedEvents(existing.id, file) : new Set<string>();
      prepared.sources.push({ source, recorded });
    }
    if (prepared.sources.length === 0) {
      throw new SxError('input', `no frames could be read from ${options.files.length === 1 ? 'the file' : `any of the ${options.files.length} files`}:\n${prepared.badFiles.map((b) => `  ${b.file}: ${b.error}`).join('\n')}`);
    }
    if (labelling) {
      const misfits = prepared.sources.filter(({ source }) => source.width !== labelling.map.width || source.height !== labelling.map.height);
      if (misfits.length > 0) {
        throw new SxError('usage', `${labelling.geometryFile} describes ${labelling.map.width}x${labelling.map.height} pixels (fs x ss), but ${misfits.map(({ source }) => `${source.file} has ${source.width}x${source.height}`).join(', ')}; expected the geometry of the detector that recorded the frames`);
      }
    }
    for (const { source, recorded } of prepared.sources) {
      for (let i = 0; i < source.count; i++) if (recorded.has(source.event(i))) prepared.alreadyRecorded += 1;
    }
    return prepared;
  } catch (err) {
    for (const { source } of prepared.sources) source.close();
    throw err;
  }
}

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
  const prepared = await prepare(options);
  const { policy, labelling } = prepared;
  const result: IngestResult = {
    experiment: options.experiment.name, run: null, state: 'complete', policy: { name: policy.name, version: policy.version, contentHash: policy.contentHash },
    frames: 0, alreadyRecorded: prepared.alreadyRecorded, labelled: 0, hits: 0, rules: {}, gateTimeouts: 0, unlabelledKept: 0, rawBytes: 0, storedBytes: 0,
    containers: [], skipped: [], unlabelled: [], badFiles: prepared.badFiles, recovery: { runs: [], removedFiles: 0, removedBytes: 0 },
  };
  let pool: LabelPool | undefined;
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
    if (labelling) pool = new LabelPool({ geometryFile: labelling.geometryFile, params: labelling.params });
    try {
      await ingestFrames(options, prepared, run, result, pool, total);
    } catch (err) {
      const state = isSxError(err, 'interrupted') ? 'interrupted' : 'failed';
      catalog.finishRun(run.id, state, summaryOf(result, err), run.createdExperiment);
      throw err;
    }
    result.state = result.skipped.length + result.unlabelled.length + result.badFiles.length > 0 ? 'partial' : 'complete';
    catalog.finishRun(run.id, result.state, summaryOf(result), run.createdExperiment);
    new ResultsStore(catalog, run.experiment.id).linkNewFrames();
    return result;
  } finally {
    for (const { source } of prepared.sources) source.close();
    await pool?.close();
  }
}

function summaryOf(result: IngestResult, err?: unknown): Record<string, unknown> {
  return {
    frames: result.frames, skipped: result.skipped.length, unlabelled: result.unlabelled.length, bad_files: result.badFiles.length,
    gate_timeouts: result.gateTimeouts, stored_bytes: result.storedBytes, ...(err ? { error: (err as Error).message } : {}),
  };
}

async function ingestFrames(options: IngestOptions, prepared: Prepared, run: { id: number; number: number; policyId: number; experiment: { id: number; name: string } }, result: IngestResult, pool: LabelPool | undefined, total: number): Promise<void> {
  const { catalog, facility, signal } = options;
  const { labelling } = prepared;
  const results = resultLookup(catalog, run.experiment.id);
  const sequences = new Map<string, number>();
  let staticMask: Uint8Array | undefined;
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
      runDir: join(run.experiment.name, runDirName(run.number)),
      nextSequence: (product: string) => {
        const n = (sequences.get(product) ?? 0) + 1;
        sequences.set(product, n);
        return n;
      },
      geometryText: labelling?.geometryText,
      geometry: labelling?.geometry,
      staticMask: labelling && (() => (staticMask ??= labelling.map.bad)),
    },
  });
  const stopped = () => signal?.aborted === true;
  const interrupted = () => new SxError('interrupted', `interrupted: ${result.frames} frame(s) of run ${run.number} were recorded; run the same command again to continue where it stopped`);
  const maxFrames = facility.config.containers.max_frames;
  const window: InFlight[] = [];
  const windowSize = pool ? 2 * pool.size : 1;
  let done = prepared.alreadyRecorded;
  try {
    for (const { source, recorded } of prepared.sources) {
      for (let index = 0; index < source.count; index++) {
        const event = source.event(index);
        if (recorded.has(event)) continue;
        if (stopped()) throw interrupted();
        options.onFrame?.(++done, total);
        let pixels: PixelArray;
        try {
          pixels = source.read(index);
        } catch (err) {
          if (!isSxError(err)) throw err;
          result.skipped.push({ file: source.file, event, error: err.message });
          continue;
        }
        const frame: NewFrame = { source: source.file, event, width: source.width, height: source.height, pixelType: source.pixelType, rawBytes: pixels.byteLength };
        frame.results = results(source.file, event);
        const item: InFlight = { source: { pixels, width: source.width, height: source.height, pixelType: source.pixelType, meta: { source: source.file, event } }, frame, arrived: new Date() };
        // The worker gets a copy: the pixels are still needed for the products.
        if (pool) item.labels = pool.label(pixels.slice(), `${source.file} event ${event}`).catch((err: Error) => ({ file: source.file, event, error: err.message }));
        window.push(item);
        if (window.length >= windowSize) await batch.add(window.shift()!);
        await batch.settlePending();
        if (batch.size >= maxFrames) await batch.flush();
      }
    }
    while (window.length > 0) await batch.add(window.shift()!);
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
