// What `policy dry-run` says the policy in force costs is what the report, reading the ledger,
// says keeping the experiment costs over its lifecycles: both price with the ledger's code.
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sxarchive, sxarchiveJson } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

// Prices scaled up (1 EUR per kB-year) so the test's kB-sized containers cost whole euros.
const FACILITY = `facility: local
currency: EUR
tiers:
  hdd:  { kind: filesystem, path: tiers/hdd, price_per_tb_year: 1000000000, price_per_object: 0.5, retrieval_per_tb: 2000000000 }
  tape: { kind: tape, path: tiers/tape, price_per_tb_year: 300000000, price_per_object: 0.25, min_duration_days: 365 }
containers: { max_frames: 1000 }
ingest: { tier: hdd, policy: keep-all }
beamtime_price_per_hour: 2000
`;
const POLICY = `policy: hits-then-tape
version: 1
rules:
  - name: hits
    when: { hit: true }
    keep: [{ product: raw, lifecycle: [hdd: 30d, tape: 400d] }]
  - name: blanks
    keep: []
`;

test('a dry-run of the policy in force prices the experiment as the report projects it, to the micro-euro', (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  t.is(sxarchive(['--data-dir', data, 'init']).code, 0);
  writeFileSync(join(data, 'facility.yaml'), FACILITY);
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  const h5 = join(dir, 'run.h5');
  const geom = join(dir, 'tiny.geom');
  sxarchiveJson(['simulate', '--detector', 'tiny', '--frames', '24', '--hit-rate', '0.5', '--seed', '3', '--out', h5, '--geometry-out', geom]);
  sxarchiveJson(['--data-dir', data, 'ingest', h5, '--experiment', 'e', '--geometry', geom, '--policy', join(dir, 'policy.yaml'), '--min-peaks', '10']);

  const plan = sxarchiveJson<{ totals: { money: number; copyAndReadCharges: number; foreverPerYear: number }; compressionRatioMeasured: boolean; rows: { rule: string; tier: string; money: number }[] }>(
    ['--data-dir', data, 'policy', 'dry-run', join(dir, 'policy.yaml'), 'e']);
  const report = sxarchiveJson<{ containers: number; cost: { lifetime: number; toDate: { total: number }; projected: { total: number; foreverPerYear: number } } }>(['--data-dir', data, 'report', 'e']);
  t.is(report.containers, 1, 'the hits; the blanks keep their labels only');
  t.true(plan.compressionRatioMeasured, 'the dry-run sizes the products from the containers written');
  t.true(report.cost.lifetime > 1_000_000, 'several euros: the comparison is not of zeros');
  // The report splits the step under way at the moment it runs (to date, and from now on), each
  // part rounded down; the dry-run prices the step whole: one micro-euro apart when the two parts'
  // fractions add up past one, which depends on the container's bytes and the second it runs.
  t.true(Math.abs(Math.round(plan.totals.money * 1e6) - report.cost.lifetime) <= report.containers, `dry-run ${plan.totals.money}, report ${report.cost.lifetime}`);
  // Per object: the container put on hdd (0.5) and on tape (0.25); the move reads it out of hdd at 2 EUR per kB.
  const bytes = sxarchiveJson<{ storedBytes: number }>(['--data-dir', data, 'report', 'e']).storedBytes;
  t.is(Math.round(plan.totals.copyAndReadCharges * 1e6), 750_000 + Math.floor((bytes * 2e15) / 1e12));
  t.is(plan.totals.foreverPerYear, 0);
  t.is(report.cost.projected.foreverPerYear, 0);
});

test('with two lifecycles (hits to tape, blanks in zstd on hdd), the dry-run of the policy in force sizes each product by its containers: still the report', (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  t.is(sxarchive(['--data-dir', data, 'init']).code, 0);
  writeFileSync(join(data, 'facility.yaml'), FACILITY);
  writeFileSync(join(dir, 'policy.yaml'), POLICY.replace('  - name: blanks\n    keep: []\n', '  - name: blanks\n    keep: [{ product: raw, codec: zstd, lifecycle: [hdd: 90d] }]\n'));
  const h5 = join(dir, 'run.h5');
  const geom = join(dir, 'tiny.geom');
  sxarchiveJson(['simulate', '--detector', 'tiny', '--frames', '24', '--hit-rate', '0.5', '--seed', '3', '--out', h5, '--geometry-out', geom]);
  sxarchiveJson(['--data-dir', data, 'ingest', h5, '--experiment', 'e', '--geometry', geom, '--policy', join(dir, 'policy.yaml'), '--min-peaks', '10']);
  const plan = sxarchiveJson<{ totals: { money: number } }>(['--data-dir', data, 'policy', 'dry-run', join(dir, 'policy.yaml'), 'e']);
  const report = sxarchiveJson<{ containers: number; products: { product: string }[]; cost: { lifetime: number } }>(['--data-dir', data, 'report', 'e']);
  t.is(report.containers, 2, 'the hits and the blanks, each in a container of its own form');
  // The report rounds a copy's storage down twice (to date, and from now on), the dry-run once: a micro-euro per copy at most.
  t.true(Math.abs(Math.round(plan.totals.money * 1e6) - report.cost.lifetime) <= report.containers, `dry-run ${plan.totals.money}, report ${report.cost.lifetime}`);
  t.true(report.cost.lifetime > 100_000_000);
});
