// The facility report on one real data dir holding three experiments: each row is what the
// experiment's own report says, totals and groups add up, --since filters, and the CSV reads
// back. Also the run and rule totals (migration 007) the reports read instead of counting rows.
import test, { type ExecutionContext } from 'ava';
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { openCatalog, type BatchDecision, type NewFrame } from '../../src/catalog/catalog.ts';
import { countExperimentFrames, framesByRule } from '../../src/catalog/reports.ts';
import { loadFacility } from '../../src/config/facility.ts';
import { buildExperimentReport } from '../../src/report/experiment-report.ts';
import { buildFacilityReport, facilityReportCsv, renderFacilityReport, type FacilityReport } from '../../src/report/facility-report.ts';
import { simulate } from '../../src/simulate/simulate.ts';
import { tempDir } from '../helpers/tmp.ts';
import { HOUR_MS, facilityYaml, later, makeArchive, type Archive } from '../lifecycle/helpers.ts';

const POLICY = `policy: hdd-then-tape
version: 1
rules:
  - name: hits
    when: { hit: true }
    keep: [{ product: raw, lifecycle: [hdd: 1h, tape: 365d] }]
  - name: rest
    keep: [{ product: peaks, lifecycle: [hdd: 1h, tape: forever] }]
`;
// Prices scaled up (1 EUR per kB-year) so that kB-sized containers cost whole euros.
const TIERS = `  hdd:  { kind: filesystem, path: tiers/hdd, price_per_tb_year: 1000000000, price_per_object: 0.001 }
  tape: { kind: tape, path: tiers/tape, price_per_tb_year: 1000000000, retrieval_per_tb: 20, min_duration_days: 200, aggregate_size: 100MB }`;
const PROPOSAL = 'MX-1, "beam" A';
const DAY_MS = 86_400_000;

/** lyso (two runs) and thaum under PROPOSAL, old without one and backdated to 2020; migrated to tape, lyso recalled. */
async function facilityArchive(t: ExecutionContext): Promise<Archive> {
  const a = await makeArchive(t, { facility: facilityYaml(TIERS), policy: POLICY, runs: 2 });
  for (const [name, seed] of [['thaum', 11], ['old', 21]] as const) {
    const sim = await simulate({ detector: 'tiny', frames: 8, hitRate: 0.5, seed, out: join(a.dir, `${name}.h5`) });
    const r = a.cli('ingest', sim.out, '--experiment', name, '--geometry', join(a.dir, 'tiny.geom'), '--policy', join(a.dir, 'policy.yaml'), '--min-peaks', '10');
    t.is(r.code, 0, r.stderr);
  }
  for (const name of ['lyso', 'thaum']) t.is(a.cli('experiment', 'set', name, '--proposal', PROPOSAL).code, 0);
  const db = new Database(a.catalog);
  db.prepare("UPDATE experiments SET created_at = '2020-01-01T00:00:00.000Z' WHERE name IN ('old', 'thaum')").run();
  db.prepare("UPDATE runs SET started_at = '2020-01-01T00:00:00.000Z' WHERE experiment_id = (SELECT id FROM experiments WHERE name = 'old')").run();
  db.close();
  t.is(a.cli('migrate', '--as-of', later(1.5 * HOUR_MS)).code, 0);
  const recall = a.cli('recall', 'lyso', '--to', join(a.dir, 'recalled'));
  t.is(recall.code, 0, recall.stderr);
  return a;
}

function open(t: ExecutionContext, a: Archive) {
  const catalog = openCatalog(a.catalog, { readonly: true });
  t.teardown(() => catalog.close());
  return { catalog, config: loadFacility(a.data).config };
}

const SUMMED = ['frames', 'hits', 'rawBytes', 'keptBytes', 'costToDate', 'projected', 'foreverPerYear'] as const;
const sum = (rows: readonly Record<(typeof SUMMED)[number], number>[], f: (typeof SUMMED)[number]) => rows.reduce((n, r) => n + r[f], 0);

/** RFC 4180 as written: quoted fields with doubled quotes, CRLF after every line. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch !== '"') field += ch;
      else if (text[i + 1] === '"') field += text[i++];
      else quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') [row, field] = [[...row, field], ''];
    else if (ch === '\r' && text[i + 1] === '\n') {
      rows.push([...row, field]);
      [row, field] = [[], ''];
      i++;
    } else field += ch;
  }
  return rows;
}

/** A CSV amount (currency units, exactly six decimals) back in micro-units. */
function micro(amount: string): number {
  if (!/^\d+\.\d{6}$/.test(amount)) throw new Error(`expected an amount with six decimals but found ${amount}`);
  return Number(amount.replace('.', ''));
}

test('each experiment row is what its own report says, and totals and groups add up to the micro-euro', async (t) => {
  const a = await facilityArchive(t);
  const { catalog, config } = open(t, a);
  const asOf = new Date(Date.now() + 30 * DAY_MS);
  const r = buildFacilityReport(catalog, config, { asOf });
  t.deepEqual(r.experiments.map((e) => e.experiment), ['lyso', 'old', 'thaum']);
  for (const row of r.experiments) {
    const one = buildExperimentReport(catalog, config, row.experiment, asOf);
    t.deepEqual(row, {
      experiment: one.experiment, proposal: one.proposal, facility: one.facility, createdAt: catalog.getExperiment(row.experiment).createdAt,
      runs: one.runs, frames: one.frames, labelled: one.labelled, hits: one.hits, indexed: one.indexed, rawBytes: one.rawBytes,
      containers: one.containers, keptBytes: one.storedBytes, reduction: one.reduction,
      costToDate: one.cost.toDate.total, projected: one.cost.projected.total, foreverPerYear: one.cost.projected.foreverPerYear,
    }, row.experiment);
    t.true(row.costToDate > 0 && row.projected > 0 && row.foreverPerYear > 0, 'every experiment has copies on both tiers, some kept forever');
  }
  t.is(r.experiments.find((e) => e.experiment === 'lyso')!.runs, 2);
  t.deepEqual(r.totals, { ...r.totals, experiments: 3, ...Object.fromEntries(SUMMED.map((f) => [f, sum(r.experiments, f)])) });
  t.is(r.totals.reduction, r.totals.rawBytes / r.totals.keptBytes);
  t.is(r.groups, null);
  t.deepEqual(r.unpricedTiers, []);

  const byProposal = buildFacilityReport(catalog, config, { asOf, by: 'proposal' });
  t.deepEqual(byProposal.experiments, r.experiments);
  t.deepEqual(byProposal.totals, r.totals);
  if (byProposal.groups?.by !== 'proposal') return t.fail('expected groups per proposal');
  t.deepEqual(byProposal.groups.rows.map((g) => [g.key, g.experiments]), [[PROPOSAL, 2], [null, 1]], 'experiments without a proposal last');
  for (const g of byProposal.groups.rows) {
    const members = r.experiments.filter((e) => e.proposal === g.key);
    for (const f of SUMMED) t.is(g[f], sum(members, f), `${g.key} ${f}`);
  }
  for (const f of SUMMED) t.is(sum(byProposal.groups.rows, f), r.totals[f], `groups add up to the totals: ${f}`);

  const byFacility = buildFacilityReport(catalog, config, { asOf, by: 'facility' });
  if (byFacility.groups?.by !== 'facility') return t.fail('expected groups per facility');
  t.deepEqual(byFacility.groups.rows.map((g) => [g.key, g.experiments, g.costToDate]), [[null, 3, r.totals.costToDate]], 'no experiment names a facility');

  const byTier = buildFacilityReport(catalog, config, { asOf, by: 'tier' });
  if (byTier.groups?.by !== 'tier') return t.fail('expected groups per tier');
  const reports = r.experiments.map((e) => buildExperimentReport(catalog, config, e.experiment, asOf));
  t.deepEqual(byTier.groups.rows.map((x) => x.tier), ['hdd', 'tape']);
  for (const x of byTier.groups.rows) {
    const on = reports.flatMap((one) => one.tiers.filter((u) => u.tier === x.tier));
    t.is(x.bytes, on.reduce((n, u) => n + u.bytes, 0), `${x.tier}: bytes held as each experiment report counts them`);
    t.is(x.containers, on.reduce((n, u) => n + u.containers, 0));
    t.is(x.costToDate, reports.reduce((n, one) => n + (one.cost.toDate.tiers.find((c) => c.tier === x.tier)?.total ?? 0), 0));
    t.is(x.projected, reports.reduce((n, one) => n + (one.cost.projected.tiers.find((c) => c.tier === x.tier)?.total ?? 0), 0));
  }
  t.true(byTier.groups.rows.find((x) => x.tier === 'tape')!.bytes > 0, 'the data is on tape by now');
  t.is(byTier.groups.rows.reduce((n, x) => n + x.costToDate, 0), r.totals.costToDate);
  t.is(byTier.groups.rows.reduce((n, x) => n + x.projected, 0), r.totals.projected);

  const text = renderFacilityReport(byProposal);
  t.regex(text, /^facility local: 3 experiment\(s\); cost as of \d{4}-\d{2}-\d{2}/);
  t.true(text.includes(PROPOSAL) && text.includes('(none)') && text.includes('total'));
});

test('--since keeps experiments created then or later, or with a run started then or later', async (t) => {
  const a = await facilityArchive(t);
  const { catalog, config } = open(t, a);
  const asOf = new Date();
  const all = buildFacilityReport(catalog, config, { asOf });
  const since = buildFacilityReport(catalog, config, { asOf, since: new Date('2025-01-01T00:00:00Z'), by: 'tier' });
  t.deepEqual(since.experiments.map((e) => e.experiment), ['lyso', 'thaum'], 'thaum was created in 2020 but ran now; old did both in 2020');
  t.deepEqual(since.experiments, all.experiments.filter((e) => e.experiment !== 'old'));
  t.is(since.since, '2025-01-01T00:00:00.000Z');
  t.is(since.totals.costToDate, sum(since.experiments, 'costToDate'));
  if (since.groups?.by !== 'tier') return t.fail('expected groups per tier');
  t.is(since.groups.rows.reduce((n, x) => n + x.costToDate, 0), since.totals.costToDate, 'the tiers count the chosen experiments only');
  t.deepEqual(buildFacilityReport(catalog, config, { asOf, since: new Date(Date.now() + DAY_MS) }).experiments, []);
  t.regex(renderFacilityReport(since), /2 experiment\(s\) created or with a run since 2025-01-01/);
});

test('the CSV has a header and a line per row, quotes what needs it, and reads back to the same integers', async (t) => {
  const a = await facilityArchive(t);
  const { catalog, config } = open(t, a);
  const asOf = new Date(Date.now() + 30 * DAY_MS);
  const r = buildFacilityReport(catalog, config, { asOf });
  const csv = facilityReportCsv(r);
  t.true(csv.endsWith('\r\n'));
  t.true(csv.includes(',"MX-1, ""beam"" A",'), 'the proposal with a comma and quotes is quoted, its quotes doubled');
  const [head, ...rows] = parseCsv(csv);
  t.deepEqual(head, ['experiment', 'proposal', 'facility', 'created_at', 'runs', 'frames', 'labelled', 'hits', 'indexed', 'raw_bytes', 'containers', 'kept_bytes', 'reduction', 'cost_to_date', 'projected', 'forever_per_year', 'currency']);
  t.is(rows.length, r.experiments.length);
  const read = rows.map((cells) => Object.fromEntries(head.map((h, i) => [h, cells[i]])));
  for (const [i, e] of r.experiments.entries()) {
    const x = read[i];
    t.deepEqual([x.experiment, x.proposal, x.facility, x.created_at, x.currency], [e.experiment, e.proposal ?? '', '', e.createdAt, 'EUR']);
    t.deepEqual([x.runs, x.frames, x.hits, x.raw_bytes, x.kept_bytes].map(Number), [e.runs, e.frames, e.hits, e.rawBytes, e.keptBytes]);
    t.is(Number(x.reduction), e.reduction);
    t.deepEqual([micro(x.cost_to_date), micro(x.projected), micro(x.forever_per_year)], [e.costToDate, e.projected, e.foreverPerYear], 'money exact to the micro-euro');
  }

  const grouped = parseCsv(facilityReportCsv(buildFacilityReport(catalog, config, { asOf, by: 'proposal' })));
  t.deepEqual(grouped.map((g) => g.slice(0, 2)), [['proposal', 'experiments'], [PROPOSAL, '2'], ['', '1']]);
  const tiers = parseCsv(facilityReportCsv(buildFacilityReport(catalog, config, { asOf, by: 'tier' })));
  t.deepEqual(tiers[0], ['tier', 'containers', 'bytes', 'cost_to_date', 'projected', 'currency']);
  t.is(tiers.slice(1).reduce((n, x) => n + micro(x[3]), 0), r.totals.costToDate);
});

test('an empty catalog reports no experiments and zero totals', (t) => {
  const catalog = openCatalog(join(tempDir(t), 'catalog.sqlite'));
  t.teardown(() => catalog.close());
  const r: FacilityReport = buildFacilityReport(catalog, loadFacility(tempDir(t)).config, { asOf: new Date(), by: 'tier' });
  t.deepEqual([r.experiments, r.groups?.rows, r.totals.experiments, r.totals.costToDate, r.totals.reduction], [[], [], 0, 0, 0]);
  t.is(facilityReportCsv(r), 'tier,containers,bytes,cost_to_date,projected,currency\r\n');
});

// What the reports counted row by row before migration 007: the totals must say the same.
const rowByRowFrames = `SELECT COUNT(*) AS frames, COALESCE(SUM(f.raw_bytes), 0) AS rawBytes, COUNT(f.hit) AS labelled,
                               COALESCE(SUM(f.hit = 1), 0) AS hits, COALESCE(SUM(f.indexed = 1), 0) AS indexed
                        FROM frames f JOIN runs r ON r.id = f.run_id WHERE r.experiment_id = ?`;
const rowByRowRules = `WITH d AS (
                         SELECT d.frame_id, d.rule, f.raw_bytes, MAX(d.product != 'labels') AS kept,
                                SUM(CASE WHEN c.id IS NULL THEN 0 ELSE CAST(c.bytes AS REAL) / c.n_frames END) AS keptBytes
                         FROM runs r JOIN frames f ON f.run_id = r.id JOIN decisions d ON d.frame_id = f.id
                         LEFT JOIN containers c ON c.id = d.container_id WHERE r.experiment_id = ? GROUP BY d.frame_id, d.rule)
                       SELECT rule, COUNT(*) AS frames, SUM(raw_bytes) AS rawBytes, SUM(kept) AS keptFrames, CAST(ROUND(SUM(keptBytes)) AS INTEGER) AS keptBytes
                       FROM d GROUP BY rule ORDER BY frames DESC, rule`;

test('run and rule totals: filled in by the migration, kept by the triggers, equal to counting row by row', (t) => {
  const path = join(tempDir(t), 'catalog.sqlite');
  const text = 'totals test policy';
  /** Three frames: one kept twice (raw and peaks) under `hits`, one labels only, one kept raw; two containers. */
  const record = (catalog: ReturnType<typeof openCatalog>, experiment: string, offset: number) => {
    const exp = catalog.ensureExperiment({ name: experiment });
    const run = catalog.createRun(exp.id);
    const policyId = catalog.registerPolicy('totals', 1, text, createHash('sha256').update(text).digest('hex'));
    const frames: NewFrame[] = [0, 1, 2].map((i) => ({ source: '/d/r.h5', event: `//${offset + i}`, width: 4, height: 2, pixelType: 'uint16', rawBytes: 16 + i, labels: i === 1 ? undefined : { hit: i === 0, nPeaks: 3, resolution: null, peaks: Buffer.alloc(0) } }));
    const lifecycle = [{ tier: 'hdd', days: 1 }];
    const containers = [0, 1].map((i) => ({ container: { experimentId: exp.id, path: `${experiment}/${offset}-${i}.h5`, product: i === 0 ? 'raw' : 'peaks', codec: 'none', nFrames: i === 0 ? 2 : 1, bytes: 1001 + i, sha256: 'x', lifecycle }, tier: 'hdd', location: `/x/${experiment}/${offset}-${i}`, validUntil: null }));
    const decisions: BatchDecision[] = [
      { frame: 0, rule: 'hits', product: 'raw', codec: 'none', tier: 'hdd', container: 0, containerIndex: 0 },
      { frame: 0, rule: 'hits', product: 'peaks', codec: 'none', tier: 'hdd', container: 1, containerIndex: 0 },
      { frame: 1, rule: 'rest', product: 'labels', codec: 'none', tier: 'catalog' },
      { frame: 2, rule: 'rest', product: 'raw', codec: 'none', tier: 'hdd', container: 0, containerIndex: 1 },
    ];
    return { exp, ids: catalog.recordBatch({ runId: run.id, experimentId: exp.id, policyId, frames, containers, decisions }).frameIds };
  };
  // A catalog from before migration 007: its rows written, its totals not there yet.
  const old = openCatalog(path);
  const { exp } = record(old, 'lyso', 0);
  old.db.exec(`DROP TRIGGER frames_totals_labels; DROP TRIGGER decisions_totals_insert; DROP TABLE run_frame_totals; DROP TABLE rule_totals;
               DELETE FROM schema_migrations WHERE version = 7`);
  old.close();

  const catalog = openCatalog(path);
  t.teardown(() => catalog.close());
  const check = (id: number, what: string) => {
    t.deepEqual(countExperimentFrames(catalog, id), catalog.db.prepare(rowByRowFrames).get(id), `frames, ${what}`);
    t.deepEqual(framesByRule(catalog, id), catalog.db.prepare(rowByRowRules).all(id), `rules, ${what}`);
  };
  check(exp.id, 'filled in by the migration');
  t.deepEqual(framesByRule(catalog, exp.id).map((r) => [r.rule, r.frames, r.keptFrames]), [['rest', 2, 1], ['hits', 1, 1]], 'a frame kept twice counts once');
  const { ids } = record(catalog, 'lyso', 10);
  const other = record(catalog, 'thaum', 0).exp;
  check(exp.id, 'a second run recorded');
  check(other.id, 'another experiment');
  // Imported results label frames afterwards.
  catalog.db.prepare('UPDATE frames SET indexed = 1, hit = COALESCE(hit, 1) WHERE id = ?').run(ids[1]);
  catalog.db.prepare('UPDATE frames SET indexed = 0 WHERE id = ?').run(ids[0]);
  check(exp.id, 'labels imported later');
  t.deepEqual(countExperimentFrames(catalog, exp.id), { frames: 6, rawBytes: 2 * (16 + 17 + 18), labelled: 5, hits: 3, indexed: 1 });
});
