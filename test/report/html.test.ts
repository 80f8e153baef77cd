// The HTML report opened in a real browser (Debian's headless Chromium): it loads nothing but
// itself, runs no script, shows the JSON report's totals and draws its three charts, and shows
// user-supplied text (proposal, sample tags, rule and tier names) as text.
import test, { type ExecutionContext } from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openCatalog } from '../../src/catalog/catalog.ts';
import { loadFacility } from '../../src/config/facility.ts';
import { costByYearChart, framesByRuleChart, keptBytesChart } from '../../src/report/charts.ts';
import { buildExperimentReport, type ExperimentReport } from '../../src/report/experiment-report.ts';
import { escapeHtml, renderReportHtml } from '../../src/report/html.ts';
import { facilityYaml, later, makeArchive, type Archive } from '../lifecycle/helpers.ts';
import { launchChromium, watchedPage } from '../helpers/chromium.ts';
import { tempDir } from '../helpers/tmp.ts';

const POLICY = `policy: html-report
version: 1
rules:
  - name: hits
    when: { hit: true }
    keep:
      - { product: raw, lifecycle: [hdd: 1h, tape: 365d] }
      - { product: peaks, lifecycle: [hdd: 2y] }
  - name: blanks
    keep:
      - { product: binned, factor: 2, lifecycle: [hdd: 30d] }
`;
// Prices scaled up (1 EUR per kB-year) so that the test's kB-sized containers cost whole euros.
const TIERS = `  hdd:  { kind: filesystem, path: tiers/hdd, price_per_tb_year: 1000000000, price_per_object: 0.001 }
  tape: { kind: tape, path: tiers/tape, price_per_tb_year: 1000000000, retrieval_per_tb: 20, min_duration_days: 200, aggregate_size: 100MB }`;

const PROPOSAL = '<script>alert(1)</script>';
const SAMPLE_TAG = '<img src=x onerror=alert(2)>';

/** Every total the page should carry, by its data-total key, from the JSON report. */
function expectedTotals(r: ExperimentReport): Record<string, number> {
  const c = r.cost;
  return {
    'raw-bytes': r.rawBytes,
    'kept-bytes': r.storedBytes,
    'to-date': c.toDate.total,
    ...Object.fromEntries(c.toDate.tiers.map((t) => [`to-date:${t.tier}`, t.total])),
    projected: c.projected.total,
    ...Object.fromEntries(c.projected.tiers.map((t) => [`projected:${t.tier}`, t.total])),
    ...(c.projected.foreverPerYear > 0 ? { 'forever-per-year': c.projected.foreverPerYear } : {}),
    'raw-everything': c.rawEverything.total,
    lifetime: c.lifetime,
    beamtime: c.beamtime.cost,
  };
}

/**
 * Writes `html` to a file and opens it in Chromium; `watch` holds what a self-contained page must
 * not do: log errors, open dialogs, request anything (`requests`: all but the file itself).
 */
async function openHtml(t: ExecutionContext, html: string) {
  const file = join(tempDir(t), 'report.html');
  writeFileSync(file, html);
  const url = pathToFileURL(file).href;
  const { page, watch } = await watchedPage(await launchChromium(t));
  await page.goto(url, { waitUntil: 'load' });
  return { page, seen: { ...watch, requests: watch.requests.filter((r) => r !== url) } };
}

async function reportOf(a: Archive, asOf: Date): Promise<ExperimentReport> {
  const facility = loadFacility(a.data);
  const catalog = openCatalog(facility.catalogLocation);
  try {
    return buildExperimentReport(catalog, facility.config, 'lyso', asOf);
  } finally {
    catalog.close();
  }
}

test('the HTML report of a real archive loads nothing, shows the JSON totals, draws three charts and shows a script proposal as text', async (t) => {
  const a = await makeArchive(t, { facility: facilityYaml(TIERS), policy: POLICY, runs: 2 });
  t.is(a.cli('migrate', '--as-of', later(1.5 * 3_600_000)).code, 0);
  const set = a.cli('experiment', 'set', 'lyso', '--proposal', PROPOSAL, '--sample-tag', SAMPLE_TAG, '--sample-tag', 'lysozyme & co');
  t.is(set.code, 0, set.stderr);
  const asOf = new Date(Date.now() + 30 * 86_400_000);
  const json = a.json<ExperimentReport>('report', 'lyso', '--as-of', asOf.toISOString());
  t.true(json.products.length >= 2 && json.rules.length === 2 && json.cost.byYearPerTier.length === 2, 'products, both rules and both tiers to draw');

  const { page, seen } = await openHtml(t, renderReportHtml(await reportOf(a, asOf)));
  t.deepEqual(seen, { consoleErrors: [], dialogs: [], failedRequests: [], requests: [] });
  t.is(await page.locator('script').count(), 0);

  const totals = await page.$$eval('[data-total]', (els) => els.map((e) => [e.getAttribute('data-total'), Number(e.getAttribute('value'))]));
  t.is(totals.length, new Set(totals.map(([key]) => key)).size, 'each total once');
  t.deepEqual(Object.fromEntries(totals), expectedTotals(json));

  // Shapes drawn for the data: filled, with an area, outside the legend and the clip paths.
  const shapes = (name: string) => page.$$eval(`figure[data-chart="${name}"] > svg path`, (paths) => paths.filter((p) => {
    const box = (p as SVGGraphicsElement).getBBox();
    const fill = p.getAttribute('fill');
    return !p.closest('defs') && p.getAttribute('ecmeta_ssr_type') !== 'legend' && fill !== 'none' && fill !== '#fff' && p.getAttribute('fill-opacity') !== '0' && box.width * box.height > 0;
  }).length);
  const nonZero = (values: number[]) => values.filter((v) => v > 0).length;
  t.is(await shapes('cost-by-year'), json.cost.byYearPerTier.length, 'an area per tier');
  t.is(await shapes('kept-bytes'), 1 + nonZero(json.products.map((p) => p.bytes)), 'a bar for the raw bytes and one per product');
  t.is(await shapes('frames-by-rule'), nonZero(json.rules.flatMap((x) => [x.frames, x.keptFrames])), 'a bar per rule for its frames and its kept frames');
  for (const name of ['cost-by-year', 'kept-bytes', 'frames-by-rule']) {
    const box = await page.locator(`figure[data-chart="${name}"] > svg`).boundingBox();
    t.true(box !== null && box.width > 400 && box.height > 100, `${name} is an inline <svg> taking room on the page`);
  }
  const ruleChart = await page.textContent('figure[data-chart="frames-by-rule"] svg');
  t.true(ruleChart!.includes('hits') && ruleChart!.includes('blanks'), 'the rules are named on their chart');

  const body = (await page.textContent('body'))!;
  t.true(body.includes(PROPOSAL), 'the proposal shows as the text it is');
  t.true(body.includes(SAMPLE_TAG) && body.includes('lysozyme & co'), 'so do the sample tags');
  t.is(await page.locator('img').count(), 0);
});

/** A report with hostile names in every place a name goes, as an older or edited catalog could hold. */
function hostileReport(rule: string, tier: string, product: string): ExperimentReport {
  const ledgerRow = { tier, storage: 1_500_000, objects: 2000, earlyDeletion: 0, retrieval: 0, egress: 0, total: 1_502_000 };
  const years = Array.from({ length: 30 }, (_, i) => 1_502_000 * Math.min(i + 1, 5));
  return {
    experiment: 'lyso', proposal: null, facility: null, sampleTags: [], runs: 1, frames: 10, labelled: 10, hits: 4, indexed: 0,
    rawBytes: 2_600_000, storedBytes: 130_000, reduction: 20, containers: 2, applications: [],
    products: [{ product, containers: 1, frames: 4, bytes: 120_000 }, { product: 'binned', containers: 1, frames: 6, bytes: 10_000 }],
    rules: [{ rule, frames: 4, rawBytes: 1_040_000, keptFrames: 4, keptBytes: 120_000 }, { rule: 'blanks', frames: 6, rawBytes: 1_560_000, keptFrames: 6, keptBytes: 10_000 }],
    tiers: [{ tier, containers: 2, bytes: 130_000, pricePerTbYear: 10, costPerYear: 1.3e-6 }],
    currency: 'EUR', costPerYear: 1.3e-6, rawOnHddCostPerYear: 2.6e-5, rawTier: tier,
    expired: { containers: 0, bytes: 0, lastDeletedAt: null },
    cost: {
      currency: 'EUR', minorUnit: 'micro', asOf: '2026-03-01T00:00:00.000Z',
      toDate: { total: 1_502_000, tiers: [ledgerRow] },
      projected: { total: 6_008_000, tiers: [{ ...ledgerRow, storage: 6_008_000, objects: 0, total: 6_008_000 }], foreverPerYear: 0 },
      lifetime: 7_510_000, lifetimeAtHorizon: false, unpricedTiers: [tier],
      beamtime: { hours: 0.5, source: 'runs', pricePerHour: 2_000_000_000, cost: 1_000_000_000, from: '2026-02-01T00:00:00.000Z', to: '2026-02-01T00:30:00.000Z' },
      byYear: years, byYearPerTier: [{ tier, byYear: years }],
      rawEverything: { tier, bytes: 2_600_000, years: 5, total: 150_000_000 }, savingFactor: 20, storingCostsMoreFromYear: null,
    },
  };
}

test('rule, tier and product names go into the charts and tables as text, never as markup', async (t) => {
  const rule = '<script>alert("rule")</script>';
  const tier = `<svg onload=alert('tier')>`;
  const product = '<img src=x onerror=alert(5)>';
  const r = hostileReport(rule, tier, product);
  for (const [svg, name] of [[framesByRuleChart(r), rule], [costByYearChart(r), tier], [keptBytesChart(r), product]] as const) {
    t.false(/<(script|img)|<svg[^>]*onload/i.test(svg.replace(/^<svg [^>]*>/, '')), 'no markup from the names');
    t.true(svg.includes(escapeHtml(name)), `${name} escaped in the SVG`);
  }

  const { page, seen } = await openHtml(t, renderReportHtml(r));
  t.deepEqual(seen, { consoleErrors: [], dialogs: [], failedRequests: [], requests: [] });
  t.is(await page.locator('script, img, svg svg').count(), 0);
  t.true((await page.textContent('figure[data-chart="frames-by-rule"] svg'))!.includes(rule));
  t.true((await page.textContent('figure[data-chart="cost-by-year"] svg'))!.includes(tier));
  t.true((await page.textContent('figure[data-chart="kept-bytes"] svg'))!.includes(product));
  const body = (await page.textContent('body'))!;
  for (const name of [rule, tier, product]) t.true(body.includes(name), `${name} shows as text`);
});
