import { readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { checkExperimentName, type Catalog, type NewExperiment, type NewFrame } from '../catalog/catalog.ts';
import type { Facility } from '../config/facility.ts';
import { frameLayoutOf } from '../core/label-files.ts';
import { LabelPool } from '../core/label-pool.ts';
import { buildPixelMap } from '../core/pixel-map.ts';
import { DEFAULT_PEAKFINDER_PARAMS, type PeakFinderParams } from '../core/peakfinder8.ts';
import { isSxError, SxError } from '../errors.ts';
import { parseGeometry, type Geometry } from '../formats/crystfel-geometry.ts';
import { checkApplies } from '../policy/engine.ts';
import { loadPolicy, resolvePolicyFile } from '../policy/load.ts';
import type { ExperimentFacts } from '../policy/types.ts';
import { ResultsStore } from '../results/results-store.ts';
import type { PixelArray } from '../store/hdf5.ts';
import { openFrameSource, type FrameLayout, type FrameSource } from './hdf5-source.ts';
import { BatchWriter, type InFlight, type ResultLookup } from './batch-writer.ts';
import { checkContainerCodecs } from './product-writers.ts';

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
}

export interface WrittenContainer {
  path: string;
  product: string;
  tier: string;
  frames: number;
  bytes: number;
  sha256: string;
}

function once<T>(make: () => T): () => T {
  let value: { made: T } | undefined;
  return () => (value ??= { made: make() }).made;
}

/** A frame ingest could not read (not archived) or label (archived without labels): reported, never fatal. */
export interface SkippedFrame {
  file: string;
  event: string;
  error: string;
}

export interface IngestResult {
  experiment: string;
  run: number;
  policy: { name: string; version: number; contentHash: string };
  /** Frames recorded in the catalog (every readable frame; labels are always kept). */
  frames: number;
  labelled: number;
  hits: number;
  /** Frames per rule that decided them. */
  rules: Record<string, number>;
  rawBytes: number;
  storedBytes: number;
  containers: WrittenContainer[];
  skipped: SkippedFrame[];
  unlabelled: SkippedFrame[];
}

interface Labelling {
  geometryFile: string;
  geometryText: string;
  geometry: Geometry;
  layout: FrameLayout;
  pool: LabelPool;
  params: PeakFinderParams;
}

function startLabelling(geometryFile: string, params: PeakFinderParams): Labelling {
  const file = resolve(geometryFile);
  let geometryText: string;
  try {
    geometryText = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SxError('input', `${file}: cannot read geometry: ${(err as Error).message}`, { cause: err });
  }
  const geometry = parseGeometry(geometryText, file);
  return { geometryFile: file, geometryText, geometry, layout: frameLayoutOf(geometry), pool: new LabelPool({ geometryFile: file, params }), params };
}

/**
 * Indexing results in the catalog (import-stream, possibly still following) for a frame: by
 * file and event, else by file name and event when only one file of that name has one.
 */
function resultLookup(catalog: Catalog, experimentId: number): ResultLookup {
  const query = catalog.db.prepare('SELECT source, indexed, n_crystals FROM results WHERE experiment_id = ? AND event = ? AND indexed IS NOT NULL');
  return (source, event) => {
    const rows = query.all(experimentId, event) as { source: string; indexed: number; n_crystals: number | null }[];
    const exact = rows.find((r) => r.source === source);
    const named = rows.filter((r) => basename(r.source) === basename(source));
    const r = exact ?? (named.length === 1 ? named[0] : undefined);
    return r && { indexed: r.indexed === 1, nCrystals: r.n_crystals ?? 0 };
  };
}

/**
 * Records every readable frame of `files` in the catalog, labels it (with a geometry, on all
 * cores) and keeps what the retention policy decides, in containers on the tiers its lifecycle
 * starts on. Under a results-gated rule a frame without its indexing result waits (in memory,
 * up to MAX_PENDING_BYTES) until the result reaches the catalog (import-stream --follow) or the
 * gate's timeout passes, then takes the gate's timeout rule. Each batch's containers
 * are complete on disk (fsynced, checksummed) before the catalog records them with their frames
 * and decisions, in one transaction.
 */
export async function ingest(options: IngestOptions): Promise<IngestResult> {
  const { catalog, facility } = options;
  checkExperimentName(options.experiment.name);
  const policy = loadPolicy(resolvePolicyFile(options.policy ?? facility.config.ingest.policy), facility.config);
  checkContainerCodecs(policy);
  const labelling = options.geometryFile === undefined ? undefined : startLabelling(options.geometryFile, { ...DEFAULT_PEAKFINDER_PARAMS, ...options.peakFinder });
  const sources: FrameSource[] = [];
  try {
    const layout = options.layout ?? labelling?.layout;
    for (const file of options.files) sources.push(await openFrameSource(resolve(file), layout));
    const policyId = catalog.registerPolicy(policy.name, policy.version, policy.text, policy.contentHash);
    const experiment = catalog.ensureExperiment({
      ...options.experiment,
      metadata: { ...options.experiment.metadata, ...(labelling ? { geometry_file: labelling.geometryFile } : {}) },
    });
    const experimentFacts: ExperimentFacts = { name: experiment.name, facility: experiment.facility, proposal: experiment.proposal, sampleTags: experiment.sampleTags };
    checkApplies(policy, experimentFacts);
    const run = catalog.createRun(experiment.id, {
      policy: { name: policy.name, version: policy.version, content_hash: policy.contentHash },
      ...(labelling ? { geometry_file: labelling.geometryFile, peakfinder8: labelling.params } : {}),
    });
    const results = resultLookup(catalog, experiment.id);
    const result: IngestResult = {
      experiment: experiment.name, run: run.number, policy: { name: policy.name, version: policy.version, contentHash: policy.contentHash },
      frames: 0, labelled: 0, hits: 0, rules: {}, rawBytes: 0, storedBytes: 0, containers: [], skipped: [], unlabelled: [],
    };
    const sequences = new Map<string, number>();
    const writerContext = {
      tierPath: facility.tierPath,
      runDir: join(experiment.name, `run-${String(run.number).padStart(4, '0')}`),
      nextSequence: (product: string) => {
        const n = (sequences.get(product) ?? 0) + 1;
        sequences.set(product, n);
        return n;
      },
      geometryText: labelling?.geometryText,
      geometry: labelling?.geometry,
      staticMask: labelling && once(() => buildPixelMap(labelling.geometry).bad),
    };
    const batch = new BatchWriter(catalog, run.id, policyId, policy, experimentFacts, writerContext, result, results);
    const total = sources.reduce((n, s) => n + s.count, 0);
    const maxFrames = facility.config.containers.max_frames;
    const window: InFlight[] = [];
    const windowSize = labelling ? 2 * labelling.pool.size : 1;
    let done = 0;
    try {
      for (const source of sources) {
        for (let index = 0; index < source.count; index++) {
          const event = source.event(index);
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
          if (labelling) item.labels = labelling.pool.label(pixels.slice(), `${source.file} event ${event}`).catch((err: Error) => ({ file: source.file, event, error: err.message }));
          window.push(item);
          if (window.length >= windowSize) await batch.add(window.shift()!);
          await batch.settlePending();
          if (batch.size >= maxFrames) await batch.flush();
        }
      }
      while (window.length > 0) await batch.add(window.shift()!);
      await batch.drainPending();
      await batch.flush();
    } catch (err) {
      await batch.abort();
      throw err;
    }
    new ResultsStore(catalog, experiment.id).linkNewFrames();
    return result;
  } finally {
    for (const s of sources) s.close();
    await labelling?.pool.close();
  }
}
