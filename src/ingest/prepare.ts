// Everything ingest checks before it writes anything: a refused ingest leaves the catalog and
// the tiers as they were.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, realpathSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkExperimentName } from '../catalog/catalog.ts';
import type { NewExperiment } from '../catalog/types.ts';
import type { Facility } from '../config/facility.ts';
import { frameLayoutOf } from '../frames/frame-layout.ts';
import { buildPixelMap, type PixelMap } from '../core/pixel-map.ts';
import { checkPeakFinderParams, DEFAULT_PEAKFINDER_PARAMS, type PeakFinderParams } from '../core/peakfinder8.ts';
import { isSxError, SxError } from '../errors.ts';
import { parseGeometry, readGeometryText, type Geometry } from '../formats/crystfel-geometry.ts';
import { checkApplies } from '../policy/engine.ts';
import { loadPolicy, resolvePolicyFile } from '../policy/load.ts';
import type { ExperimentFacts, Policy } from '../policy/types.ts';
import { openFrameSource, type FrameLayout, type FrameSource } from '../frames/hdf5-source.ts';
import { CATALOG_PRODUCTS, checkContainerCodecs } from './product-writers.ts';
import type { BadFile, IngestOptions } from './types.ts';

export interface Labelling {
  geometryFile: string;
  geometryText: string;
  geometry: Geometry;
  map: PixelMap;
  layout: FrameLayout;
  params: PeakFinderParams;
}

/** Everything ingest checked before writing anything. */
export interface Prepared {
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
    // Bounded (MAX_TEXT_FILE_BYTES): a data file given as the geometry is refused, not parsed whole.
    geometryText = readGeometryText(file);
  } catch (err) {
    throw new SxError('usage', (err as Error).message, { cause: err });
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
export function checkTiersWritable(policy: Policy, facility: Facility, experiment: string): void {
  const tiers = new Set<string>();
  for (const rule of [...policy.rules, policy.unlabelled]) {
    for (const keep of rule.keep) if (!CATALOG_PRODUCTS.has(keep.product)) tiers.add(facility.stagingTier(keep.lifecycle[0].tier));
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

export type RunOptions = Pick<IngestOptions, 'catalog' | 'facility' | 'experiment' | 'policy' | 'peakFinder' | 'geometryFile'>;

/** The checks of a run that need no frames: experiment name and metadata, policy (and its applies_to), codecs, peak-finder settings, geometry. */
export function prepareRun(options: RunOptions): Pick<Prepared, 'policy' | 'labelling' | 'facts'> {
  const { catalog, facility } = options;
  checkExperimentName(options.experiment.name);
  const policy = loadPolicy(resolvePolicyFile(options.policy ?? facility.config.ingest.policy), facility.config);
  checkContainerCodecs(policy);
  const params = checkPeakFinderParams({ ...DEFAULT_PEAKFINDER_PARAMS, ...options.peakFinder });
  const labelling = options.geometryFile === undefined ? undefined : readLabelling(options.geometryFile, params);
  return { policy, labelling, facts: experimentFacts(catalog, options.experiment, policy) };
}

/** The experiment as a run would record it (refused here, before anything is written; startRun checks again inside its transaction), checked against the policy's applies_to. */
export function experimentFacts(catalog: RunOptions['catalog'], experiment: NewExperiment, policy: Policy): ExperimentFacts {
  const preview = catalog.previewExperiment(experiment);
  const facts: ExperimentFacts = { name: preview.name, facility: preview.facility, proposal: preview.proposal, sampleTags: preview.sampleTags };
  checkApplies(policy, facts);
  return facts;
}

/**
 * Every check that can fail before data is touched: experiment name and metadata, policy (and
 * its applies_to), codecs, peak-finder settings, geometry against the data, the files. Writes
 * nothing; the catalog is only read.
 */
export async function prepare(options: IngestOptions): Promise<Prepared> {
  const { catalog } = options;
  const { policy, labelling, facts } = prepareRun(options);
  const existing = catalog.findExperiment(options.experiment.name);

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
      const [only] = prepared.badFiles;
      if (prepared.badFiles.length === 1) throw new SxError('input', `${only.file}: ${only.error}`);
      throw new SxError('input', `no frames could be read from any of the ${prepared.badFiles.length} files:\n${prepared.badFiles.map((b) => `  ${b.file}: ${b.error}`).join('\n')}`);
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
