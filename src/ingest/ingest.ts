import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Catalog, NewExperiment, NewFrame } from '../catalog/catalog.ts';
import type { Facility } from '../config/facility.ts';
import { SxError } from '../errors.ts';
import { writeAtomically } from '../store/atomic.ts';
import { CxiContainerWriter } from '../store/cxi-container.ts';
import type { Compression } from '../store/hdf5.ts';
import { openFrameSource, type FrameLayout, type FrameSource } from './hdf5-source.ts';

/** Until the policy engine lands, ingest keeps everything under this shipped policy. */
export const KEEP_ALL_POLICY_FILE = fileURLToPath(new URL('../../policies/keep-all.yaml', import.meta.url));
const KEEP_ALL = { name: 'keep-all', version: 1, rule: 'keep-all', product: 'raw' };

export interface IngestOptions {
  files: string[];
  experiment: NewExperiment;
  geometryFile?: string;
  /** Where the frames are in each file (a geometry panel's data/dims); default: the known paths and NXmx series. */
  layout?: FrameLayout;
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
  frames: number;
  rawBytes: number;
  storedBytes: number;
  containers: WrittenContainer[];
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

function checkExperimentName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new SxError('usage', `Expected an experiment name of letters, digits, '.', '_' or '-' (it names folders) but received ${JSON.stringify(name)}`);
  }
}

/**
 * Records every frame of `files` in the catalog and keeps them all, raw, in CXI containers on
 * the facility's ingest tier. Each container is complete on disk (fsynced, checksummed) before
 * the catalog learns of it and its frames.
 */
export async function ingest(options: IngestOptions): Promise<IngestResult> {
  const { catalog, facility } = options;
  checkExperimentName(options.experiment.name);
  const geometry = options.geometryFile === undefined ? undefined : readGeometry(options.geometryFile);
  const sources: FrameSource[] = [];
  try {
    for (const file of options.files) sources.push(await openFrameSource(resolve(file), options.layout));
    const tier = facility.config.ingest.tier;
    const compression = facility.config.ingest.compression as Compression;
    const policyText = readFileSync(KEEP_ALL_POLICY_FILE, 'utf8');
    const policyId = catalog.registerPolicy(KEEP_ALL.name, KEEP_ALL.version, policyText, createHash('sha256').update(policyText).digest('hex'));
    const experiment = catalog.ensureExperiment({
      ...options.experiment,
      metadata: { ...options.experiment.metadata, ...(options.geometryFile ? { geometry_file: resolve(options.geometryFile) } : {}) },
    });
    const run = catalog.createRun(experiment.id);
    const groups = planContainers(sources, facility.config.containers.max_frames);
    const total = groups.reduce((n, g) => n + g.length, 0);
    const result: IngestResult = { experiment: experiment.name, run: run.number, frames: 0, rawBytes: 0, storedBytes: 0, containers: [] };

    for (const [seq, group] of groups.entries()) {
      const first = group[0].source;
      const relPath = join(experiment.name, `run-${String(run.number).padStart(4, '0')}`, `${KEEP_ALL.product}-${String(seq + 1).padStart(5, '0')}.h5`);
      const location = join(facility.tierPath(tier), relPath);
      const frames: NewFrame[] = [];
      const written = await writeAtomically(location, async (tmpPath) => {
        const writer = await CxiContainerWriter.create(tmpPath, {
          height: first.height, width: first.width, pixelType: first.pixelType, compression, product: KEEP_ALL.product, geometry,
        });
        try {
          for (const { source, index } of group) {
            const pixels = source.read(index);
            writer.append(pixels, { source: source.file, event: source.event(index) });
            frames.push({ source: source.file, event: source.event(index), width: source.width, height: source.height, pixelType: source.pixelType, rawBytes: pixels.byteLength });
            result.frames += 1;
            options.onFrame?.(result.frames, total);
          }
        } finally {
          writer.close();
        }
      });
      catalog.recordContainer({
        runId: run.id,
        frames,
        container: { experimentId: experiment.id, path: relPath, product: KEEP_ALL.product, codec: compression, nFrames: frames.length, bytes: written.bytes, sha256: written.sha256 },
        tier,
        location,
        policyId,
        rule: KEEP_ALL.rule,
      });
      result.rawBytes += frames.reduce((n, f) => n + f.rawBytes, 0);
      result.storedBytes += written.bytes;
      result.containers.push({ path: location, frames: frames.length, bytes: written.bytes, sha256: written.sha256 });
    }
    return result;
  } finally {
    for (const s of sources) s.close();
  }
}

function readGeometry(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new SxError('input', `${file}: cannot read geometry: ${(err as Error).message}`, { cause: err });
  }
}
