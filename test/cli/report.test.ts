// `report` and `experiments` count every container with a current placement, whatever its end.
import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCatalog } from '../../src/catalog/catalog.ts';
import { loadFacility } from '../../src/config/facility.ts';
import { buildExperimentReport, type ExperimentReport } from '../../src/report/experiment-report.ts';
import { sxarchive, sxarchiveJson } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

interface ExperimentRow {
  name: string;
  containers: number;
  tiers: { tier: string; containers: number; bytes: number }[];
  storedBytes: number;
  costPerYear: number;
}

/** 12 tiny frames, half hits, ingested as experiment `hits` under hits-only into a fresh data dir. */
function ingestHits(t: ExecutionContext) {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const h5 = join(dir, 'run1.h5');
  const geom = join(dir, 'tiny.geom');
  sxarchiveJson(['simulate', '--detector', 'tiny', '--frames', '12', '--hit-rate', '0.5', '--seed', '4', '--out', h5, '--geometry-out', geom]);
  const ingested = sxarchiveJson<{ hits: number; storedBytes: number; containers: unknown[] }>([
    '--data-dir', data, 'ingest', h5, '--experiment', 'hits', '--geometry', geom, '--policy', 'hits-only',
  ]);
  return { dir, data, ingested };
}

test('a hits-only experiment (placements ending with their 5-year step) shows its container, tier and cost', (t) => {
  const { data, ingested } = ingestHits(t);
  t.true(ingested.hits > 0, 'the run has hits to keep');
  t.is(ingested.containers.length, 1);
  const expectedCost = (ingested.storedBytes / 1e12) * 10;

  const report = sxarchiveJson<ExperimentReport>(['--data-dir', data, 'report', 'hits']);
  t.like(report, { containers: 1, storedBytes: ingested.storedBytes });
  t.deepEqual(report.tiers.map((x) => [x.tier, x.containers, x.bytes]), [['hdd', 1, ingested.storedBytes]]);
  t.true(report.costPerYear > 0);
  t.true(Math.abs(report.costPerYear - expectedCost) < 1e-15);

  const [row] = sxarchiveJson<ExperimentRow[]>(['--data-dir', data, 'experiments']);
  t.like(row, { name: 'hits', containers: 1, storedBytes: ingested.storedBytes });
  t.deepEqual(row.tiers.map((x) => [x.tier, x.containers, x.bytes]), [['hdd', 1, ingested.storedBytes]]);
  t.true(Math.abs(row.costPerYear - expectedCost) < 1e-15);

  const text = sxarchive(['--data-dir', data, 'report', 'hits']);
  t.is(text.code, 0);
  t.regex(text.stdout, /│ hdd\s+│ 1 /);
  t.notRegex(text.stdout, /storage cost: 0\.00 EUR/);

  // The placement ends with the 5-year step: from then on nothing is on a tier, nor paid for.
  const facility = loadFacility(data);
  const catalog = openCatalog(facility.catalogLocation);
  t.teardown(() => catalog.close());
  const year = 365 * 86_400_000;
  t.is(buildExperimentReport(catalog, facility.config, 'hits', new Date(Date.now() + 4.9 * year)).tiers.length, 1);
  const after = buildExperimentReport(catalog, facility.config, 'hits', new Date(Date.now() + 5.1 * year));
  t.deepEqual(after.tiers, []);
  t.is(after.costPerYear, 0);
  t.is(after.containers, 1, 'the container stays in the catalog');
  t.deepEqual(buildExperimentReport(catalog, facility.config, 'hits', new Date(Date.now() - 60_000)).tiers, [], 'nor before it was placed');

  // A facility whose disk tier is not called hdd compares with its ingest tier, not with nothing.
  const { hdd, ...others } = facility.config.tiers;
  const disk = { ...facility.config, tiers: { ...others, disk: { ...hdd, price_per_tb_year: 7 } }, ingest: { ...facility.config.ingest, tier: 'disk' } };
  const onDisk = buildExperimentReport(catalog, disk, 'hits');
  t.is(onDisk.rawTier, 'disk');
  t.true(Math.abs(onDisk.rawOnHddCostPerYear - (report.rawBytes / 1e12) * 7) < 1e-15);
});

test('report --format csv and json carry the same numbers, --out writes the file, per product and per rule', (t) => {
  const { dir, data } = ingestHits(t);
  sxarchive(['--data-dir', data, 'experiment', 'set', 'hits', '--proposal', 'p,"1"']);
  const report = sxarchiveJson<ExperimentReport>(['--data-dir', data, 'report', 'hits']);
  const hits = report.rules.find((r) => r.rule === 'hits')!;
  t.true(hits.frames > 0 && hits.keptFrames === hits.frames);
  t.is(report.rules.reduce((n, r) => n + r.frames, 0), 12, 'every frame is decided by one rule');
  t.is(report.rules.reduce((n, r) => n + r.keptBytes, 0), report.storedBytes, 'the kept bytes shared out by frame add up to the containers');
  t.deepEqual(report.products.map((p) => [p.product, p.containers, p.frames, p.bytes]), [['raw', 1, hits.frames, report.storedBytes]]);

  const out = join(dir, 'report.csv');
  const csv = sxarchive(['--data-dir', data, 'report', 'hits', '--format', 'csv', '--out', out]);
  t.is(csv.code, 0, csv.stderr);
  t.is(csv.stdout, '');
  t.regex(csv.stderr, /wrote .*report\.csv/);
  const lines = readFileSync(out, 'utf8').split('\r\n');
  t.is(lines[0], 'section,item,field,value');
  t.true(lines.includes('experiment,hits,proposal,"p,""1"""'), 'a proposal with a comma and quotes is quoted');
  t.true(lines.includes(`experiment,hits,frames,12`));
  t.true(lines.includes(`rule,hits,keptBytes,${hits.keptBytes}`));
  const total = report.cost.toDate.total;
  t.true(lines.includes(`cost_to_date,,total,${Math.floor(total / 1e6)}.${String(total % 1e6).padStart(6, '0')}`));
  const both = sxarchive(['--data-dir', data, 'report', 'hits', '--json', '--format', 'csv']);
  t.is(both.code, 2);
  t.regex(both.stderr, /two formats/);

  // The facility: the same numbers summed over every experiment (here one).
  const all = sxarchiveJson<{ experiments: { experiment: string; costToDate: number }[]; totals: { frames: number; keptBytes: number } }>(['--data-dir', data, 'report', '--all']);
  t.like(all.totals, { frames: 12, keptBytes: report.storedBytes });
  t.deepEqual(all.experiments.map((e) => e.experiment), ['hits']);
  const allCsv = sxarchive(['--data-dir', data, 'report', '--all', '--by', 'proposal', '--format', 'csv']);
  t.regex(allCsv.stdout, /^proposal,experiments,frames,/);
  t.true(allCsv.stdout.includes('\r\n"p,""1""",1,12,'), allCsv.stdout);
  for (const [args, message] of [[['--all', '--format', 'html'], /per experiment/], [[], /which experiment\?/], [['hits', '--all'], /not both/], [['hits', '--by', 'tier'], /go with --all/]] as const) {
    const r = sxarchive(['--data-dir', data, 'report', ...args]);
    t.is(r.code, 2, args.join(' '));
    t.regex(r.stderr, message);
  }
});
