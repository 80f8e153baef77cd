// What the engine and the dry-run decide on, made from the catalog's rows (src/catalog/frames.ts):
// experiment metadata, frame labels, the byte-estimate inputs and the policies already recorded
// for a frame. Read-only: nothing here writes to the catalog.
import { basename, resolve } from 'node:path';
import type { Catalog } from '../catalog/catalog.ts';
import type { ContainerForm } from '../catalog/types.ts';
import type { FrameDecisionRow, FrameRow } from '../catalog/frames.ts';
import { SxError } from '../errors.ts';
import { DEFAULT_COMPRESSION_RATIO, type ProductEstimates } from './estimates.ts';
import { formKey } from './forms.ts';
import type { ExperimentFacts, FrameFacts } from './types.ts';

/** What the facts are read from: the experiment by name, and its frames. */
export type FrameFactsSource = Pick<Catalog, 'getExperiment' | 'frames'>;

const bool = (v: number | null) => (v === null ? null : v !== 0);

function toFacts(experiment: string, row: FrameRow): FrameFacts {
  return {
    frameId: row.id, experiment, source: row.source, event: row.event,
    hit: bool(row.hit), nPeaks: row.n_peaks, indexed: bool(row.indexed), nCrystals: row.n_crystals, resolution: row.resolution,
    rawBytes: row.raw_bytes, width: row.width, height: row.height, pixelType: row.pixel_type,
  };
}

/** An experiment's catalog id and the metadata policies test; an unknown name is a usage error. */
export function readExperimentFacts(catalog: Pick<FrameFactsSource, 'getExperiment'>, name: string): { id: number; facts: ExperimentFacts } {
  const exp = catalog.getExperiment(name);
  return { id: exp.id, facts: { name: exp.name, facility: exp.facility, proposal: exp.proposal, sampleTags: exp.sampleTags } };
}

/**
 * Every frame of an experiment with its labels, in catalog order, one at a time (an experiment
 * may have millions). Do not write to the catalog while iterating.
 *
 * @example
 * for (const f of iterateFrameFacts(catalog, exp.id, exp.facts.name)) console.log(f.hit);
 */
export function* iterateFrameFacts(catalog: Pick<FrameFactsSource, 'frames'>, experimentId: number, experimentName: string): Generator<FrameFacts> {
  const keys = new Map<ContainerForm, string>();
  const keyOf = (form: ContainerForm) => keys.get(form) ?? keys.set(form, formKey(form)).get(form)!;
  for (const { frame, kept } of catalog.frames.framesWithShares(experimentId)) {
    yield kept.length > 0 ? { ...toFacts(experimentName, frame), kept: kept.map((k) => ({ form: keyOf(k.form), bytes: k.bytes })) } : toFacts(experimentName, frame);
  }
}

/**
 * The inputs of the byte estimates: the lossless ratio measured on the experiment's raw
 * containers (raw bytes of the frames they hold / their bytes; DEFAULT_COMPRESSION_RATIO when
 * there are none) and the stored reflection bytes of every frame with results.
 */
export function readProductEstimates(catalog: Pick<FrameFactsSource, 'frames'>, experimentId: number): ProductEstimates {
  const { rawContainerBytes, rawFrameBytes, intensities } = catalog.frames.estimateInputs(experimentId);
  const measured = rawContainerBytes > 0 && rawFrameBytes > 0;
  return {
    compressionRatio: measured ? rawFrameBytes / rawContainerBytes : DEFAULT_COMPRESSION_RATIO,
    compressionRatioMeasured: measured,
    intensitiesBytes: new Map(intensities.map((r) => [r.frameId, r.bytes])),
  };
}

export interface FoundFrame {
  facts: FrameFacts;
  run: number;
}

/**
 * One frame of an experiment, named by its catalog id, `file//event` (the source path as
 * recorded, or relative to the working directory, followed by the event: `run7.h5//17`) or
 * `basename//event`. A name that fits several frames is refused with the candidates.
 */
export function findFrame(catalog: Pick<FrameFactsSource, 'frames'>, experimentId: number, experimentName: string, spec: string): FoundFrame {
  if (/^[0-9]+$/.test(spec)) {
    const row = catalog.frames.frameById(experimentId, Number(spec));
    if (!row) throw new SxError('usage', `experiment "${experimentName}" has no frame with id ${spec}`);
    return { facts: toFacts(experimentName, row), run: row.run };
  }
  if (!spec.includes('//')) {
    throw new SxError('usage', `Expected FRAME to be a frame id, file//event or basename//event (e.g. run7.h5//17) but received ${JSON.stringify(spec)}`);
  }
  // Events are CrystFEL's notation ("//17", "ev_1//", "//"): every frame whose event ends the
  // spec is a candidate; what is left before it must name the frame's file.
  const matches = catalog.frames.framesWithEventEnding(experimentId, spec).filter((row) => {
    const file = spec.slice(0, spec.length - row.event.length);
    return row.source === file || resolve(file) === row.source || basename(row.source) === file || row.source.endsWith(`/${file}`);
  });
  if (matches.length === 0) throw new SxError('usage', `experiment "${experimentName}" has no frame ${spec}`);
  if (matches.length > 1) {
    const exact = matches.filter((row) => row.source + row.event === spec);
    if (exact.length === 1) return { facts: toFacts(experimentName, exact[0]), run: exact[0].run };
    const listed = matches.slice(0, 5).map((m) => `${m.id} (${m.source}${m.event}, run ${m.run})`).join(', ');
    throw new SxError('usage', `${spec} names ${matches.length} frames of experiment "${experimentName}": ${listed}${matches.length > 5 ? ', ...' : ''}; name one by its id or full path`);
  }
  return { facts: toFacts(experimentName, matches[0]), run: matches[0].run };
}

export type RecordedDecision = Pick<FrameDecisionRow, 'rule' | 'product' | 'codec' | 'tier' | 'container' | 'decidedAt'>;

export interface RecordedPolicy {
  name: string;
  version: number;
  contentHash: string;
  text: string;
  decisions: RecordedDecision[];
}

/** The policies that decided a frame, most recent decision first, with their recorded decisions. */
export function readRecordedPolicies(catalog: Pick<FrameFactsSource, 'frames'>, frameId: number): RecordedPolicy[] {
  const byPolicy = new Map<number, RecordedPolicy>();
  for (const r of catalog.frames.frameDecisions(frameId)) {
    let p = byPolicy.get(r.policyId);
    if (!p) byPolicy.set(r.policyId, (p = { name: r.name, version: r.version, contentHash: r.contentHash, text: r.text, decisions: [] }));
    p.decisions.push({ rule: r.rule, product: r.product, codec: r.codec, tier: r.tier, container: r.container, decidedAt: r.decidedAt });
  }
  return [...byPolicy.values()];
}
