import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkExperimentName, type Catalog, type NewExperiment, type NewFrame } from '../catalog/catalog.ts';
import type { Facility } from '../config/facility.ts';
import { isSxError, SxError } from '../errors.ts';
import { frameLayoutOf } from '../core/label-files.ts';
import { LabelPool } from '../core/label-pool.ts';
import { encodePeaks } from '../core/peak-blob.ts';
import { DEFAULT_PEAKFINDER_PARAMS, type PeakFinderParams } from '../core/peakfinder8.ts';
import { parseGeometry } from '../formats/crystfel-geometry.ts';
import { writeAtomically } from '../store/atomic.ts';
import { CxiContainerWriter } from '../store/cxi-container.ts';
import type { Compression, PixelArray } from '../store/hdf5.ts';
import { openFrameSource, type FrameLayout, type FrameSource } from './hdf5-source.ts';

/** Until the policy engine lands, ingest keeps everything under this shipped policy. */
export const KEEP_ALL_POLICY_FILE = fileURLToPath(new URL('../../policies/keep-all.yaml', import.meta.url));
const KEEP_ALL = { name: 'keep-all', version: 2, rule: 'keep-all', product: 'raw' };

export interface IngestOptions {
  files: string[];
  experiment: NewExperiment;
  geometryFile?: string;
  /** Where the frames are in each file; default: the geometry's data path, else the known paths and NXmx series. */
  layout?: FrameLayout;
  /** Peak-finder settings over the defaults; frames are labelled when a geometry is given. */
  peakFinder?: Partial<PeakFinderParams>;
  facility: Facility;
  catalog: Catalog;
  onFrame?: (done: number, total: number) => void;
}

export interface WrittenContainer {
  path: string;
  frames: number;
  bytes: number;
  sha256: string;
}

export interface IngestResult {
  experiment: string;
  run: number;
  /** Frames archived (and recorded in the catalog). */
  frames: number;
  labelled: number;
  hits: number;
  rawBytes: number;
  storedBytes: number;
  containers: WrittenContainer[];
  /** Frames that could not be read: not archived. */
  skipped: SkippedFrame[];
  /** Frames archived without labels because the core could not label them (e.g. a geometry that does not fit). */
  unlabelled: SkippedFrame[];
}

interface FrameRef {
  source: FrameSource;
  index: number;
}

/** Splits frames into containers: at most `maxFrames` each, and one frame shape and type per container. */
function planContainers(sources: FrameSource[], maxFrames: number): FrameRef[][] {
  const groups: FrameRef[][] = [];
  let current: FrameRef[] = [];
  const shapeOf = (s: FrameSource) => `${s.height}x${s.width}:${s.pixelType}`;
  for (const source of sources) {
    for (let index = 0; index < source.count; index++) {
      if (current.length === maxFrames || (current.length > 0 && shapeOf(current[0].source) !== shapeOf(source))) {
        groups.push(current);
        current = [];
      }
      current.push({ source, index });
    }
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/** A frame ingest could not read: counted, reported and skipped; the others go on. */
export interface SkippedFrame {
  file: string;
  event: string;
  error: string;
}

interface Labelling {
  geometryFile: string;
  geometryText: string;
  layout: FrameLayout;
  pool: LabelPool;
  params: PeakFinderParams;
}

function startLabelling(geometryFile: string, params: PeakFinderParams): Labelling {
  const file = resolve(geometryFile);
  const geometryText = readGeometryText(file);
  return { geometryFile: file, geometryText, layout: frameLayoutOf(parseGeometry(geometryText, file)), pool: new LabelPool({ geometryFile: file, params }), params };
}

/**
 * Records every frame of `files` in the catalog and keeps them all, raw, in CXI containers on
 * the facility's ingest tier. With a geometry, frames are also labelled (peakfinder8) on all
 * cores as they pass. Each container is complete on disk (fsynced, checksummed) before the
 * catalog learns of it and its frames.
 */
export async function ingest(options: IngestOptions): Promise<IngestResult> {
  const { catalog, facility } = options;
  checkExperimentName(options.experiment.name);
  const labelling = options.geometryFile === undefined ? undefined : startLabelling(options.geometryFile, { ...DEFAULT_PEAKFINDER_PARAMS, ...options.peakFinder });
  const sources: FrameSource[] = [];
  try {
    const layout = options.layout ?? labelling?.layout;
    for (const file of options.files) sources.push(await openFrameSource(resolve(file), layout));
    const tier = facility.config.ingest.tier;
    const compression = facility.config.ingest.compression as Compression;
    const policyText = readFileSync(KEEP_ALL_POLICY_FILE, 'utf8');
    const policyId = catalog.registerPolicy(KEEP_ALL.name, KEEP_ALL.version, policyText, createHash('sha256').update(policyText).digest('hex'));
    const experiment = catalog.ensureExperiment({
      ...options.experiment,
      metadata: { ...options.experiment.metadata, ...(labelling ? { geometry_file: labelling.geometryFile } : {}) },
    });
    const run = catalog.createRun(experiment.id, labelling && { geometry_file: labelling.geometryFile, peakfinder8: labelling.params });
    const groups = planContainers(sources, facility.config.containers.max_frames);
    const total = groups.reduce((n, g) => n + g.length, 0);
    const result: IngestResult = { experiment: experiment.name, run: run.number, frames: 0, labelled: 0, hits: 0, rawBytes: 0, storedBytes: 0, containers: [], skipped: [], unlabelled: [] };
    let done = 0;

    for (const [seq, group] of groups.entries()) {
      const first = group[0].source;
      const relPath = join(experiment.name, `run-${String(run.number).padStart(4, '0')}`, `${KEEP_ALL.product}-${String(seq + 1).padStart(5, '0')}.h5`);
      const location = join(facility.tierPath(tier), relPath);
      const frames: NewFrame[] = [];
      const labels: Promise<void>[] = [];
      const written = await writeAtomically(location, async (tmpPath) => {
        const writer = await CxiContainerWriter.create(tmpPath, {
          height: first.height, width: first.width, pixelType: first.pixelType, compression, product: KEEP_ALL.product, geometry: labelling?.geometryText,
        });
        try {
          for (const { source, index } of group) {
            const event = source.event(index);
            done += 1;
            options.onFrame?.(done, total);
            let pixels: PixelArray;
            try {
              pixels = source.read(index);
            } catch (err) {
              if (!isSxError(err)) throw err;
              result.skipped.push({ file: source.file, event, error: err.message });
              continue;
            }
            writer.append(pixels, { source: source.file, event });
            const frame: NewFrame = { source: source.file, event, width: source.width, height: source.height, pixelType: source.pixelType, rawBytes: pixels.byteLength };
            frames.push(frame);
            if (labelling) {
              labels.push(labelFrame(labelling.pool, pixels, frame, result));
              // Bounded work in flight: reading must not run ahead of labelling by more than a few frames.
              if (labels.length >= 2 * labelling.pool.size) await labels.shift();
            }
          }
        } finally {
          writer.close();
        }
        await Promise.all(labels);
      });
      if (frames.length === 0) {
        // Every frame of this container was unreadable: keep no empty container.
        rmSync(location);
        continue;
      }
      catalog.recordContainer({
        runId: run.id,
        frames,
        container: { experimentId: experiment.id, path: relPath, product: KEEP_ALL.product, codec: compression, nFrames: frames.length, bytes: written.bytes, sha256: written.sha256 },
        tier,
        location,
        policyId,
        rule: KEEP_ALL.rule,
      });
      result.frames += frames.length;
      result.rawBytes += frames.reduce((n, f) => n + f.rawBytes, 0);
      result.storedBytes += written.bytes;
      result.containers.push({ path: location, frames: frames.length, bytes: written.bytes, sha256: written.sha256 });
    }
    return result;
  } finally {
    for (const s of sources) s.close();
    await labelling?.pool.close();
  }
}

/** Labels one archived frame; a frame the core cannot label is still archived, without labels. */
async function labelFrame(pool: LabelPool, pixels: PixelArray, frame: NewFrame, result: IngestResult): Promise<void> {
  try {
    const labels = await pool.label(pixels, `${frame.source} event ${frame.event}`);
    frame.labels = { hit: labels.hit, nPeaks: labels.nPeaks, resolution: labels.resolution, peaks: encodePeaks(labels.peaks) };
    result.labelled += 1;
    if (labels.hit) result.hits += 1;
  } catch (err) {
    if (!isSxError(err)) throw err;
    result.unlabelled.push({ file: frame.source, event: frame.event, error: err.message });
  }
}

function readGeometryText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new SxError('input', `${file}: cannot read geometry: ${(err as Error).message}`, { cause: err });
  }
}
