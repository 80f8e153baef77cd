// The report's money, from a real catalog: an archive ingested onto hdd, migrated to tape an
// hour and a half later, reported on as of dates before, between and after its lifecycle steps.
import test from 'ava';
import { HOUR_MS, facilityYaml, later, makeArchive, query } from '../lifecycle/helpers.ts';

const POLICY = `policy: hdd-then-tape
version: 1
rules:
  - name: all
    keep: [{ product: raw, lifecycle: [hdd: 1h, tape: 365d] }]
`;
// Prices scaled up (1 EUR per kB-year) so that the test's kB-sized containers cost whole euros.
const TIERS = `  hdd:  { kind: filesystem, path: tiers/hdd, price_per_tb_year: 1000000000, price_per_object: 0.001 }
  tape: { kind: tape, path: tiers/tape, price_per_tb_year: 1000000000, retrieval_per_tb: 20, min_duration_days: 200, aggregate_size: 100MB }`;

interface CostJson {
  cost: {
    toDate: { total: number; tiers: { tier: string; storage: number; objects: number; earlyDeletion: number; retrieval: number; total: number }[] };
    projected: { total: number; foreverPerYear: number };
    lifetime: number;
    byYear: number[];
    beamtime: { hours: number; cost: number };
    storingCostsMoreFromYear: number | null;
  };
}

const YEAR_MS = 365 * 86_400_000;
/** The ledger's storage term, worked out here from the catalog's rows: bytes x ms x 1e9 EUR (in micro-euros) / (1 TB x 1 year), rounded down. */
const stored = (bytes: number, ms: number) => Number((BigInt(bytes) * BigInt(ms) * 10n ** 15n) / (10n ** 12n * BigInt(YEAR_MS)));

test('cost to date, projected and by year follow the copies the catalog records, to the micro-euro', async (t) => {
  const a = await makeArchive(t, { facility: facilityYaml(TIERS), policy: POLICY, runs: 2 });
  const containers = query<{ id: number; bytes: number; created_at: string }>(a, 'SELECT id, bytes, created_at FROM containers ORDER BY id');
  const moved = a.json<{ moved: { containers: number } }>('migrate', '--as-of', later(1.5 * HOUR_MS));
  t.is(moved.moved.containers, containers.length);

  const asOf = new Date(Date.now() + 30 * 86_400_000);
  const r = a.json<CostJson>('report', 'lyso', '--as-of', asOf.toISOString());
  const copies = query<{ tier: string; bytes: number; valid_from: string; ended_at: string | null }>(a, 'SELECT p.tier, c.bytes, p.valid_from, p.ended_at FROM placements p JOIN containers c ON c.id = p.container_id');
  const expect = (tier: string) => copies.filter((c) => c.tier === tier).reduce((n, c) => n + stored(c.bytes, Math.min(c.ended_at ? Date.parse(c.ended_at) : asOf.getTime(), asOf.getTime()) - Date.parse(c.valid_from)), 0);
  const hdd = r.cost.toDate.tiers.find((x) => x.tier === 'hdd')!;
  const tape = r.cost.toDate.tiers.find((x) => x.tier === 'tape')!;
  t.is(hdd.storage, expect('hdd'));
  t.is(hdd.objects, 1000 * containers.length, '0.001 EUR per copy put on hdd');
  t.is(tape.storage, expect('tape'));
  t.is(hdd.retrieval, 0);
  t.is(tape.retrieval, 0, 'nothing was read out of tape yet');
  t.is(r.cost.toDate.total, hdd.total + tape.total);
  const bytes = containers.reduce((n, c) => n + c.bytes, 0);

  // Ahead: the rest of the tape year (longer than tape's 200-day minimum: no early deletion).
  const tapeEnd = Math.max(...containers.map((c) => Date.parse(c.created_at) + HOUR_MS + YEAR_MS));
  t.true(r.cost.projected.total > 0);
  t.is(r.cost.projected.foreverPerYear, 0, 'nothing is kept forever');
  t.is(r.cost.lifetime, r.cost.toDate.total + r.cost.projected.total);
  const after = a.json<CostJson>('report', 'lyso', '--as-of', new Date(tapeEnd + 86_400_000).toISOString());
  t.is(after.cost.projected.total, 0, 'after the lifecycle ends nothing more is owed');
  // The projection follows the lifecycle: tape until an hour and a year after each container was made.
  const ahead = containers.reduce((n, c) => n + stored(c.bytes, Date.parse(c.created_at) + HOUR_MS + YEAR_MS - asOf.getTime()), 0);
  t.is(r.cost.projected.total, ahead);
  t.true(Math.abs(ahead + tape.storage - stored(bytes, YEAR_MS + HOUR_MS)) < stored(bytes, 60_000), 'a year and an hour of tape, less the seconds before the migration ran');
  t.deepEqual(r.cost.byYear.slice(2), r.cost.byYear.slice(2).map(() => r.cost.lifetime), 'from year 3 the cumulative cost stays at the lifetime cost');
  t.true(r.cost.beamtime.hours > 0);
  t.is(r.cost.beamtime.cost, Math.round(r.cost.beamtime.hours * 1e6) * 2000, 'the hours the data took at 2000 EUR/h');
  const firstOver = r.cost.byYear.findIndex((c) => c > r.cost.beamtime.cost);
  t.is(r.cost.storingCostsMoreFromYear, firstOver < 0 ? null : firstOver + 1);

  // A recall reads every container out of tape: 20 EUR per TB retrieved.
  const recall = a.cli('recall', 'lyso', '--to', `${a.dir}/recalled`);
  t.is(recall.code, 0, recall.stderr);
  const recalled = a.json<CostJson>('report', 'lyso', '--as-of', asOf.toISOString());
  t.is(recalled.cost.toDate.tiers.find((x) => x.tier === 'tape')!.retrieval, containers.reduce((n, c) => n + Math.floor((c.bytes * 20e6) / 1e12), 0));
  t.is(recalled.cost.toDate.total, r.cost.toDate.total + recalled.cost.toDate.tiers.find((x) => x.tier === 'tape')!.retrieval);

  const text = a.cli('report', 'lyso', '--as-of', asOf.toISOString());
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /cost to date \(as of \d{4}-\d{2}-\d{2}\): /);
  t.regex(text.stdout, /store versus re-measure: \d+ (s|min|h) of beamtime \(from its runs\) at 2000\.00 EUR\/h/);

  // Beamtime known better than the runs say: set on the experiment, recorded, and used.
  t.is(a.cli('experiment', 'set', 'lyso', '--beamtime-hours', '12').code, 0);
  const set = a.json<CostJson & { cost: { beamtime: { source: string } } }>('report', 'lyso', '--as-of', asOf.toISOString());
  t.like(set.cost.beamtime, { hours: 12, source: 'metadata', cost: 24_000_000_000 });
  t.deepEqual(query<{ field: string; new_value: string }>(a, 'SELECT field, new_value FROM experiment_changes'), [{ field: 'beamtime_hours', new_value: '12' }], 'the change is recorded');
  t.is(a.cli('experiment', 'set', 'lyso', '--beamtime-hours', '-1').code, 2);
});
