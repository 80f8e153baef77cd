// The experiment report as one HTML file to mail or archive beside the data: nothing loaded from
// elsewhere, no script, charts drawn beforehand as inline SVG. Totals carry their exact values
// (micro-units of the currency, bytes) in <data data-total=... value=...> for machines.
import { formatBytes } from '../bytes.ts';
import { formatMicro, formatMoney } from '../cost/money.ts';
import { costByYearChart, framesByRuleChart, keptBytesChart } from './charts.ts';
import { formatHours, type TierCostRow } from './experiment-cost.ts';
import type { ExperimentReport } from './experiment-report.ts';

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for element content and quoted attribute values alike. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** Markup already escaped (or made here); anything else put into a page goes through escapeHtml. */
export interface Html {
  html: string;
}
export type Cell = string | number | Html;

export const raw = (html: string): Html => ({ html });
const cell = (c: Cell) => (typeof c === 'object' ? c.html : escapeHtml(String(c)));
const money = formatMicro;

/** A total shown for people, its exact value kept for machines (tests compare it with the JSON report). */
function total(key: string, value: number, text: string): Html {
  return raw(`<data data-total="${escapeHtml(key)}" value="${value}">${escapeHtml(text)}</data>`);
}

/** A table whose text cells are escaped here; `raw` cells (links, totals) are markup already. */
export function table(head: string[], rows: Cell[][], foot?: Cell[]): string {
  const tr = (cells: Cell[], tag: 'td' | 'th') => `<tr>${cells.map((c) => `<${tag}>${cell(c)}</${tag}>`).join('')}</tr>`;
  return `<table><thead>${tr(head, 'th')}</thead><tbody>${rows.map((r) => tr(r, 'td')).join('')}</tbody>${foot ? `<tfoot>${tr(foot, 'th')}</tfoot>` : ''}</table>`;
}

/** `name` marks the chart for tests and stylesheets; the SVG is ECharts' own escaped text. */
function figure(name: string, caption: string, svg: string): string {
  return `<figure data-chart="${name}"><figcaption>${escapeHtml(caption)}</figcaption>${svg}</figure>`;
}


function summary(r: ExperimentReport): string {
  const item = (term: string, value: Cell) => `<dt>${escapeHtml(term)}</dt><dd>${cell(value)}</dd>`;
  const share = (n: number) => (r.frames > 0 ? ` (${((100 * n) / r.frames).toFixed(1)} %)` : '');
  return `<dl>${[
    item('proposal', r.proposal ?? 'none'),
    item('facility', r.facility ?? 'none'),
    item('sample tags', r.sampleTags.length ? raw(r.sampleTags.map((t) => `<span class="tag">${escapeHtml(t)}</span>`).join(' ')) : 'none'),
    item('runs', r.runs),
    item('frames', r.frames),
    item('labelled', `${r.labelled}${share(r.labelled)}`),
    item('hits', `${r.hits}${share(r.hits)}`),
    item('indexed', `${r.indexed}${share(r.indexed)}`),
    item('collected (raw)', total('raw-bytes', r.rawBytes, formatBytes(r.rawBytes))),
    item('kept', raw(`${total('kept-bytes', r.storedBytes, formatBytes(r.storedBytes)).html} in ${r.containers} container(s)`)),
    item('reduction', r.reduction > 0 ? `${r.reduction.toFixed(2)}× smaller` : 'nothing kept'),
  ].join('')}</dl>${r.expired.containers > 0
    ? `<p>Expired: ${r.expired.containers} container(s), ${escapeHtml(formatBytes(r.expired.bytes))} deleted at the end of their lifecycle (last on ${escapeHtml(r.expired.lastDeletedAt?.slice(0, 10) ?? '')}); their labels and decisions stay.</p>`
    : ''}${r.applications.map((a) => `<p>Policy ${escapeHtml(a.policy)} applied (replacing ${escapeHtml(a.replaced.join(', ') || 'no decisions')}): ${a.after
      ? escapeHtml(`${formatBytes(a.before.bytes)} → ${formatBytes(a.after.bytes)} kept on ${a.finishedAt?.slice(0, 10) ?? ''}, saves ${formatBytes(a.savedBytes ?? 0)}`)
      : escapeHtml(`unfinished (${a.state})`)}.</p>`).join('')}`;
}

function kept(r: ExperimentReport): string {
  return `<section><h2>What is kept</h2>${figure('kept-bytes', 'Collected against kept, per product (log scale)', keptBytesChart(r))}${table(
    ['product', 'containers', 'frames', 'kept'],
    r.products.map((p) => [p.product, p.containers, p.frames, formatBytes(p.bytes)]),
  )}</section>`;
}

function rules(r: ExperimentReport): string {
  return `<section><h2>Frames per rule</h2>${figure('frames-by-rule', 'Frames each rule decided, and those keeping data', framesByRuleChart(r))}${table(
    ['rule', 'frames', 'raw', 'kept frames', 'kept'],
    r.rules.map((x) => [x.rule, x.frames, formatBytes(x.rawBytes), x.keptFrames, formatBytes(x.keptBytes)]),
  )}</section>`;
}

function tiers(r: ExperimentReport): string {
  const m = (amount: number) => formatMoney(amount, r.currency);
  return `<section><h2>Tiers now</h2>${table(
    ['tier', 'containers', 'bytes', 'price/TB/yr', 'cost/year'],
    r.tiers.map((t) => [t.tier, t.containers, formatBytes(t.bytes), m(t.pricePerTbYear), m(t.costPerYear)]),
    ['storage cost', '', '', '', m(r.costPerYear)],
  )}<p>Keeping every frame raw and uncompressed on ${escapeHtml(r.rawTier)}: ${escapeHtml(m(r.rawOnHddCostPerYear))} per year.</p></section>`;
}

/** A ledger's table, each tier's total and the overall one under `key` (`to-date`, `projected`). */
function ledger(key: string, rows: TierCostRow[], sum: number, currency: string): string {
  const m = (micro: number) => money(micro, currency);
  return table(
    ['tier', 'storage', 'per object', 'early deletion', 'retrieval', 'egress', 'total'],
    rows.map((t) => [t.tier, m(t.storage), m(t.objects), m(t.earlyDeletion), m(t.retrieval), m(t.egress), total(`${key}:${t.tier}`, t.total, m(t.total))]),
    ['total', '', '', '', '', '', total(key, sum, m(sum))],
  );
}

function cost(r: ExperimentReport): string {
  const c = r.cost;
  const m = (micro: number) => money(micro, c.currency);
  const t = (key: string, micro: number) => total(key, micro, m(micro)).html;
  const verdict = c.storingCostsMoreFromYear === null
    ? `keeping the data stays cheaper than measuring again for at least ${c.byYear.length} years`
    : `storing costs more than measuring again from year ${c.storingCostsMoreFromYear} on`;
  return `<section><h2>Cost</h2>
${figure('cost-by-year', `Cumulative cost per tier, ${c.currency}, by year since the data was taken`, costByYearChart(r))}
<h3>To date (as of ${escapeHtml(c.asOf.slice(0, 10))})</h3>${ledger('to-date', c.toDate.tiers, c.toDate.total, c.currency)}
<h3>Projected to the end of every lifecycle</h3>${ledger('projected', c.projected.tiers, c.projected.total, c.currency)}
${c.projected.foreverPerYear > 0 ? `<p>Then ${t('forever-per-year', c.projected.foreverPerYear)} per year for what is kept forever.</p>` : ''}
${c.unpricedTiers.length ? `<p class="note">facility.yaml has no prices for tier(s) ${escapeHtml(c.unpricedTiers.join(', '))}, which hold copies of this experiment; they count as free here.</p>` : ''}
<h3>Kept raw instead</h3>
<p>Keeping all ${escapeHtml(formatBytes(c.rawEverything.bytes))} raw on ${escapeHtml(c.rawEverything.tier)} for the same ${c.rawEverything.years.toFixed(1)} years would cost ${t('raw-everything', c.rawEverything.total)}${c.savingFactor > 0 ? `: <strong>${c.savingFactor.toFixed(1)}×</strong> what this policy keeps costs over its lifecycles` : ''}.</p>
<h3>Store versus re-measure</h3>
<p>${escapeHtml(formatHours(c.beamtime.hours))} of beamtime at ${escapeHtml(m(c.beamtime.pricePerHour))}/h = ${t('beamtime', c.beamtime.cost)}; keeping the data costs ${t('lifetime', c.lifetime)} over its lifecycles${c.lifetimeAtHorizon ? ` (what is kept forever: its first ${c.byYear.length} years)` : ''}.</p>
<p class="verdict">${escapeHtml(verdict[0].toUpperCase() + verdict.slice(1))}.</p>
</section>`;
}

const STYLE = `body{font:15px/1.45 system-ui,sans-serif;color:#222;max-width:960px;margin:2em auto;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid #ccc}h3{margin-bottom:.3em}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1.2em}dt{color:#555}dd{margin:0}
.tag{background:#eef;border-radius:3px;padding:0 .4em}
table{border-collapse:collapse;margin:.6em 0}th,td{border:1px solid #ddd;padding:.25em .6em;text-align:right}
th:first-child,td:first-child{text-align:left}thead th,tfoot th{background:#f4f4f4}
figure{margin:1em 0}figcaption{color:#555;font-size:.9em}svg{max-width:100%;height:auto;display:block}
.verdict{font-weight:bold}.note{color:#a60}`;

/**
 * A page of sxarchive's: `title` is text, `body` markup made with escapeHtml. The policy lets
 * the page load nothing and run nothing, whatever a name in it might say.
 */
export function htmlPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

/**
 * @example
 * writeFileSync('lyso.html', renderReportHtml(buildExperimentReport(catalog, facility.config, 'lyso')));
 */
export function renderReportHtml(report: ExperimentReport): string {
  return htmlPage(`sxarchive report: ${report.experiment}`, `<h1>Experiment ${escapeHtml(report.experiment)}</h1>
<p>sxarchive report as of ${escapeHtml(report.cost.asOf)}; money in ${escapeHtml(report.currency)}.</p>
${summary(report)}
${kept(report)}
${rules(report)}
${tiers(report)}
${cost(report)}`);
}
