// Reads what the engine and the dry-run decide on from the catalog: experiment metadata,
// frame labels, the byte-estimate inputs and the policies already recorded for a frame.
// Read-only: nothing here writes to the catalog.
import { basename, resolve } from 'node:path';
import type { Catalog } from '../catalog/catalog.ts';
import type { ContainerForm } from '../catalog/types.ts';
import { SxError } from '../errors.ts';
import { DEFAULT_COMPRESSION_RATIO, type ProductEstimates } from './estimates.ts';
import { formKey } from './forms.ts';
import type { ExperimentFacts, FrameFacts } from './types.ts';

interface FrameRow {
  id: number;
  source: string;
  event: string;
  width: number;
  height: number;
  pixel_type: string;
  raw_bytes: number;
  hit: number | null;
  n_peaks: number | null;
  indexed: number | null;
  n_crystals: number | null;
  resolution: number | null;
  run: number;
}

const FRAME_COLUMNS = `f.id, f.source, f.event, f.width, f.height, f.pixel_type, f.raw_bytes, f.hit, f.n_peaks, f.indexed, f.n_crystals, f.resolution, r.number AS run`;

const bool = (v: number | null) => (v === null ? null : v !== 0);

function toFacts(experiment: string, row: FrameRow): FrameFacts {
  return {
    frameId: row.id, experiment, source: row.source, event: row.event,
    hit: bool(row.hit), nPeaks: row.n_peaks, indexed: bool(row.indexed), nCrystals: row.n_crystals, resolution: row.resolution,
    rawBytes: row.raw_bytes, width: row.width, height: row.height, pixelType: row.pixel_type,
  };
}

/** An experiment's catalog id and the metadata policies test; an unknown name is a usage error. */
export function readExperimentFacts(catalog: Catalog, name: string): { id: number; facts: ExperimentFacts } {
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
export function* iterateFrameFacts(catalog: Catalog, experimentId: number, experimentName: string): Generator<FrameFacts> {
  const rows = catalog.db
    .prepare(`SELECT ${FRAME_COLUMNS} FROM frames f JOIN runs r ON r.id = f.run_id WHERE r.experiment_id = ? ORDER BY f.id`)
    .iterate(experimentId) as IterableIterator<FrameRow>;
  // Beside them, in the same order, each frame's share of the containers that hold it now.
  const shares = catalog.db
    .prepare(`SELECT d.frame_id AS frameId, c.form, CAST(c.bytes AS REAL) / c.n_frames AS bytes
              FROM decisions d JOIN frames f ON f.id = d.frame_id JOIN runs r ON r.id = f.run_id JOIN containers c ON c.id = d.container_id
              WHERE r.experiment_id = ? AND d.superseded_by IS NULL AND c.form IS NOT NULL
                AND EXISTS (SELECT 1 FROM placements p WHERE p.container_id = c.id AND p.state IN ('active', 'verified'))
              ORDER BY d.frame_id`)
    .iterate(experimentId) as IterableIterator<{ frameId: number; form: string; bytes: number }>;
  const keys = new Map<string, string>();
  const keyOf = (form: string) => keys.get(form) ?? keys.set(form, formKey(JSON.parse(form) as ContainerForm)).get(form)!;
  let share = shares.next();
  for (const row of rows) {
    while (!share.done && share.value.frameId < row.id) share = shares.next();
    const kept: { form: string; bytes: number }[] = [];
    for (; !share.done && share.value.frameId === row.id; share = shares.next()) kept.push({ form: keyOf(share.value.form), bytes: share.value.bytes });
    yield kept.length > 0 ? { ...toFacts(experimentName, row), kept } : toFacts(experimentName, row);
  }
}

/**
 * The inputs of the byte estimates: the lossless ratio measured on the experiment's raw
 * containers (raw bytes of the frames they hold / their bytes; DEFAULT_COMPRESSION_RATIO when
 * there are none) and the stored reflection bytes of every frame with results.
 */
export function readProductEstimates(catalog: Catalog, experimentId: number): ProductEstimates {
  const db = catalog.db;
  const { containerBytes } = db
    .prepare(`SELECT COALESCE(SUM(bytes), 0) AS containerBytes FROM containers WHERE experiment_id = ? AND product = 'raw'`)
    .get(experimentId) as { containerBytes: number };
  const { rawBytes } = db
    .prepare(`SELECT COALESCE(SUM(f.raw_bytes), 0) AS rawBytes FROM decisions d
              JOIN containers c ON c.id = d.container_id JOIN frames f ON f.id = d.frame_id
              WHERE c.experiment_id = ? AND c.product = 'raw'`)
    .get(experimentId) as { rawBytes: number };
  const measured = containerBytes > 0 && rawBytes > 0;
  const rows = db
    .prepare('SELECT frame_id AS frameId, intensities_bytes AS bytes FROM results WHERE experiment_id = ? AND frame_id IS NOT NULL')
    .all(experimentId) as { frameId: number; bytes: number }[];
  return {
    compressionRatio: measured ? rawBytes / containerBytes : DEFAULT_COMPRESSION_RATIO,
    compressionRatioMeasured: measured,
    intensitiesBytes: new Map(rows.map((r) => [r.frameId, r.bytes])),
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
export function findFrame(catalog: Catalog, experimentId: number, experimentName: string, spec: string): FoundFrame {
  const db = catalog.db;
  if (/^[0-9]+$/.test(spec)) {
    const row = db.prepare(`SELECT ${FRAME_COLUMNS} FROM frames f JOIN runs r ON r.id = f.run_id WHERE f.id = ? AND r.experiment_id = ?`).get(Number(spec), experimentId) as FrameRow | undefined;
    if (!row) throw new SxError('usage', `experiment "${experimentName}" has no frame with id ${spec}`);
    return { facts: toFacts(experimentName, row), run: row.run };
  }
  if (!spec.includes('//')) {
    throw new SxError('usage', `Expected FRAME to be a frame id, file//event or basename//event (e.g. run7.h5//17) but received ${JSON.stringify(spec)}`);
  }
  // Events are CrystFEL's notation ("//17", "ev_1//", "//"): every frame whose event ends the
  // spec is a candidate; what is left before it must name the frame's file.
  const candidates = db
    .prepare(`SELECT ${FRAME_COLUMNS} FROM frames f JOIN runs r ON r.id = f.run_id
              WHERE r.experiment_id = ? AND length(f.event) < length(?) AND substr(?, length(?) - length(f.event) + 1) = f.event
              ORDER BY f.id`)
    .all(experimentId, spec, spec, spec) as FrameRow[];
  const matches = candidates.filter((row) => {
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

export interface RecordedDecision {
  rule: string;
  product: string;
  codec: string;
  tier: string;
  container: string | null;
  decidedAt: string;
}

export interface RecordedPolicy {
  name: string;
  version: number;
  contentHash: string;
  text: string;
  decisions: RecordedDecision[];
}

/** The policies that decided a frame, most recent decision first, with their recorded decisions. */
export function readRecordedPolicies(catalog: Catalog, frameId: number): RecordedPolicy[] {
  const rows = catalog.db
    .prepare(`SELECT p.id AS policyId, p.name, p.version, p.content_hash AS contentHash, p.text,
                     d.rule, d.product, d.codec, d.tier, c.path AS container, d.decided_at AS decidedAt
              FROM decisions d JOIN policies p ON p.id = d.policy_id LEFT JOIN containers c ON c.id = d.container_id
              WHERE d.frame_id = ? ORDER BY d.decided_at DESC, d.id DESC`)
    .all(frameId) as (Omit<RecordedPolicy, 'decisions'> & RecordedDecision & { policyId: number })[];
  const byPolicy = new Map<number, RecordedPolicy>();
  for (const r of rows) {
    let p = byPolicy.get(r.policyId);
    if (!p) byPolicy.set(r.policyId, (p = { name: r.name, version: r.version, contentHash: r.contentHash, text: r.text, decisions: [] }));
    p.decisions.push({ rule: r.rule, product: r.product, codec: r.codec, tier: r.tier, container: r.container, decidedAt: r.decidedAt });
  }
  return [...byPolicy.values()];
}
