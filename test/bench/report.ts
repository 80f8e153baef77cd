// The report stages of `npm run bench`: one experiment's report over 10 M frames in 10,000
// containers, then the facility report over that experiment and 1,000 small ones in the same
// catalog. Each is timed once on a fresh read-only connection, as `sxarchive report` runs it.
import type Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCatalog, type BatchContainer, type BatchDecision, type Catalog, type NewFrame } from '../../src/catalog/catalog.ts';
import { insertFramesForBenchmark } from '../../src/catalog/facility-report.ts';
import type { LifecycleSpan } from '../../src/catalog/types.ts';
import { loadFacility, type Facility } from '../../src/config/facility.ts';
import { buildExperimentReport } from '../../src/report/experiment-report.ts';
import { buildFacilityReport } from '../../src/report/facility-report.ts';
import type { Emit, Target } from './lifecycle.ts';

const BIG_CONTAINERS = 10_000;
const BIG_FRAMES_PER_CONTAINER = 1_000;
const EXPERIMENTS = 1_000;
/** Per small experiment: runs, and frames per run (hits kept raw, the rest as peaks: two containers a run). */
const RUNS = 3;
const RUN_FRAMES = 100;
const FRAME_BYTES = 2068 * 2162 * 2;
const LIFECYCLE: LifecycleSpan[] = [{ tier: 'hdd', days: 30 }, { tier: 'tape', days: null }];

const FACILITY_YAML = `facility: bench
currency: EUR
tiers:
  hdd:  { kind: filesystem, path: tiers/hdd, price_per_tb_year: 10, price_per_object: 0.0001 }
  tape: { kind: tape, path: tiers/tape, price_per_tb_year: 10, retrieval_per_tb: 20, min_duration_days: 365 }
containers: { max_frames: 1000 }
ingest: { tier: hdd, policy: keep-all }
beamtime_price_per_hour: 2000
`;

const round = (x: number, digits = 1) => Number(x.toFixed(digits));
const seconds = (since: number) => (performance.now() - since) / 1000;

function container(experimentId: number, path: string, product: string, nFrames: number, bytes: number): BatchContainer {
  return { container: { experimentId, path, product, codec: 'none', nFrames, bytes, sha256: '0'.repeat(64), lifecycle: LIFECYCLE }, tier: 'hdd', location: `/bench/${path}`, validUntil: null };
}

/** The 10 M-frame experiment: its containers through recordBatch, its frames and decisions in bulk. */
function fillBig(catalog: Catalog, policyId: number): void {
  const exp = catalog.ensureExperiment({ name: 'big', proposal: 'P-BIG', facility: 'beamline-1' });
  const run = catalog.createRun(exp.id);
  const containers = Array.from({ length: BIG_CONTAINERS }, (_, i) => container(exp.id, `big/raw-${i}.h5`, 'raw', BIG_FRAMES_PER_CONTAINER, BIG_FRAMES_PER_CONTAINER * FRAME_BYTES / 2));
  const { containerIds } = catalog.recordBatch({ runId: run.id, experimentId: exp.id, policyId, frames: [], containers, decisions: [] });
  insertFramesForBenchmark(catalog, { runId: run.id, policyId, containerIds, framesPerContainer: BIG_FRAMES_PER_CONTAINER, rawBytes: FRAME_BYTES });
}

/** 1,000 experiments as ingest records them, a batch per run; ten to a proposal, on two beamlines. */
function fillSmall(catalog: Catalog, policyId: number): void {
  for (let e = 0; e < EXPERIMENTS; e++) {
    const name = `exp-${String(e).padStart(4, '0')}`;
    const exp = catalog.ensureExperiment({ name, proposal: `P-${String(Math.floor(e / 10)).padStart(3, '0')}`, facility: `beamline-${e % 2}` });
    for (let r = 0; r < RUNS; r++) {
      const run = catalog.createRun(exp.id);
      const frames: NewFrame[] = [];
      const decisions: BatchDecision[] = [];
      let hits = 0;
      for (let i = 0; i < RUN_FRAMES; i++) {
        const hit = i % 3 === 0;
        frames.push({ source: `/data/${name}/run-${r}.h5`, event: `//${i}`, width: 2068, height: 2162, pixelType: 'uint16', rawBytes: FRAME_BYTES, labels: { hit, nPeaks: hit ? 40 : 2, resolution: null, peaks: Buffer.alloc(0) } });
        decisions.push(hit
          ? { frame: i, rule: 'hits', product: 'raw', codec: 'none', tier: 'hdd', container: 0, containerIndex: hits++ }
          : { frame: i, rule: 'rest', product: 'peaks', codec: 'none', tier: 'hdd', container: 1, containerIndex: i - hits });
      }
      const containers = [container(exp.id, `${name}/run-${r}/raw.h5`, 'raw', hits, hits * FRAME_BYTES / 2), container(exp.id, `${name}/run-${r}/peaks.h5`, 'peaks', RUN_FRAMES - hits, (RUN_FRAMES - hits) * 2_000)];
      catalog.recordBatch({ runId: run.id, experimentId: exp.id, policyId, frames, containers, decisions });
    }
  }
}

/** Runs `fn` on a fresh read-only connection to the catalog; returns its seconds. */
function timed(facility: Facility, fn: (catalog: Catalog) => void): number {
  const catalog = openCatalog(facility.catalogLocation, { readonly: true });
  try {
    const start = performance.now();
    fn(catalog);
    return seconds(start);
  } finally {
    catalog.close();
  }
}

/** Emits report-experiment and report-facility. */
export async function benchReports(emit: Emit, target: Target): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sxarchive-bench-report-'));
  try {
    const data = join(dir, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'facility.yaml'), FACILITY_YAML);
    const facility = loadFacility(data);
    const catalog = openCatalog(facility.catalogLocation);
    // The bench's own throwaway catalog: no fsync per recorded batch while it is filled.
    (catalog.db as Database.Database).pragma('synchronous = OFF');
    const text = 'bench reports: containers carry their own lifecycle';
    const policyId = catalog.registerPolicy('bench-report', 1, text, createHash('sha256').update(text).digest('hex'));
    let start = performance.now();
    fillBig(catalog, policyId);
    const bigSetup = seconds(start);
    catalog.close();

    const frames = BIG_CONTAINERS * BIG_FRAMES_PER_CONTAINER;
    let reported = 0;
    const one = timed(facility, (c) => (reported = buildExperimentReport(c, facility.config, 'big').frames));
    if (reported !== frames) throw new Error(`expected the report to count ${frames} frames but it counted ${reported}`);
    emit({ stage: 'report-experiment', frames, containers: BIG_CONTAINERS, setup_seconds: round(bigSetup), seconds: round(one, 3), ...target('report-experiment', undefined, round(one, 3), '<', 2, 's') });

    const writer = openCatalog(facility.catalogLocation);
    (writer.db as Database.Database).pragma('synchronous = OFF');
    start = performance.now();
    fillSmall(writer, policyId);
    const smallSetup = seconds(start);
    writer.close();

    let totals = { experiments: 0, frames: 0 };
    const all = timed(facility, (c) => (totals = buildFacilityReport(c, facility.config, { asOf: new Date() }).totals));
    const byTier = timed(facility, (c) => buildFacilityReport(c, facility.config, { asOf: new Date(), by: 'tier' }));
    if (totals.experiments !== EXPERIMENTS + 1) throw new Error(`expected ${EXPERIMENTS + 1} experiments in the facility report but found ${totals.experiments}`);
    emit({
      stage: 'report-facility', experiments: totals.experiments, frames: totals.frames, containers: BIG_CONTAINERS + EXPERIMENTS * RUNS * 2,
      setup_seconds: round(smallSetup), seconds: round(all, 3), by_tier_seconds: round(byTier, 3), ...target('report-facility', undefined, round(all, 3), '<', 2, 's'),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
