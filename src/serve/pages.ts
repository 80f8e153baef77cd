// The web view's own pages: the experiment list and a policy comparison. An experiment's report
// page is the HTML report itself (src/report/html.ts).
import { formatBytes } from '../bytes.ts';
import { formatMoney } from '../cost/money.ts';
import type { PolicyComparisonRow } from '../report/policy-comparison.ts';
import { escapeHtml, htmlPage } from '../report/html.ts';

export interface ExperimentListRow {
  name: string;
  proposal: string | null;
  frames: number;
  storedBytes: number;
  /** Micro-units of the currency. */
  costToDate: number;
  currency: string;
}

/** A link to a page of the view, carrying the token the page was opened with. */
export type Link = (path: string) => string;

export function experimentListPage(rows: readonly ExperimentListRow[], link: Link): string {
  const body = rows.length === 0
    ? '<p>No experiments to show.</p>'
    : `<table><thead><tr><th>experiment</th><th>proposal</th><th>frames</th><th>kept</th><th>cost to date</th><th></th></tr></thead><tbody>${rows.map((r) => {
      const name = encodeURIComponent(r.name);
      return `<tr><td><a href="${escapeHtml(link(`/experiments/${name}`))}">${escapeHtml(r.name)}</a></td><td>${escapeHtml(r.proposal ?? '')}</td><td>${r.frames}</td>`
        + `<td>${escapeHtml(formatBytes(r.storedBytes))}</td><td>${escapeHtml(formatMoney(r.costToDate / 1e6, r.currency))}</td>`
        + `<td><a href="${escapeHtml(link(`/experiments/${name}/policies`))}">policies</a></td></tr>`;
    }).join('')}</tbody></table>`;
  return htmlPage('sxarchive: experiments', `<h1>Experiments</h1>${body}<p><a href="${escapeHtml(link('/api/experiments'))}">as JSON</a></p>`);
}

export function policyComparisonPage(experiment: string, currency: string, rows: readonly PolicyComparisonRow[], link: Link): string {
  const money = (r: PolicyComparisonRow) => `${formatMoney(r.money, currency)}${r.foreverPerYear > 0 ? ` + ${formatMoney(r.foreverPerYear, currency)}/yr forever` : ''}`;
  const table = `<table><thead><tr><th>policy</th><th>version</th><th>frames kept</th><th>kept</th><th>cost over the retention</th><th>hits dropped</th></tr></thead><tbody>${rows.map((r) =>
    `<tr><td>${escapeHtml(r.policy)}</td><td>${r.version}</td><td>${r.framesKept}</td><td>${escapeHtml(formatBytes(r.keptBytes))}</td><td>${escapeHtml(money(r))}</td><td>${r.hitsDropped}</td></tr>`).join('')}</tbody></table>`;
  const name = encodeURIComponent(experiment);
  return htmlPage(`sxarchive: policies on ${experiment}`, `<h1>Policies on ${escapeHtml(experiment)}</h1>
<p>What each policy would keep of the experiment's frames, by their labels, and what keeping it would cost (a dry-run: nothing is changed).</p>
${table}
<p><a href="${escapeHtml(link(`/experiments/${name}`))}">the experiment's report</a> · <a href="${escapeHtml(link(`/api/experiments/${name}/policies`))}">as JSON</a> · <a href="${escapeHtml(link('/'))}">all experiments</a></p>`);
}
