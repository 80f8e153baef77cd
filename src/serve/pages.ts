// The web view's own pages: the experiment list and a policy comparison. An experiment's report
// page is the HTML report itself (src/report/html.ts).
import { formatBytes } from '../bytes.ts';
import { formatMicro, formatMoney } from '../cost/money.ts';
import type { PolicyComparisonRow } from '../report/policy-comparison.ts';
import { escapeHtml, htmlPage, raw, table } from '../report/html.ts';

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
  const a = (path: string, text: string) => raw(`<a href="${escapeHtml(link(path))}">${escapeHtml(text)}</a>`);
  const body = rows.length === 0
    ? '<p>No experiments to show.</p>'
    : table(['experiment', 'proposal', 'frames', 'kept', 'cost to date', ''], rows.map((r) => {
      const name = encodeURIComponent(r.name);
      return [a(`/experiments/${name}`, r.name), r.proposal ?? '', r.frames, formatBytes(r.storedBytes), formatMicro(r.costToDate, r.currency), a(`/experiments/${name}/policies`, 'policies')];
    }));
  return htmlPage('sxarchive: experiments', `<h1>Experiments</h1>${body}<p><a href="${escapeHtml(link('/api/experiments'))}">as JSON</a></p>`);
}

export function policyComparisonPage(experiment: string, currency: string, rows: readonly PolicyComparisonRow[], link: Link): string {
  const money = (r: PolicyComparisonRow) => `${formatMoney(r.money, currency)}${r.foreverPerYear > 0 ? ` + ${formatMoney(r.foreverPerYear, currency)}/yr forever` : ''}`;
  const comparison = table(['policy', 'version', 'frames kept', 'kept', 'cost over the retention', 'hits dropped'],
    rows.map((r) => [r.policy, r.version, r.framesKept, formatBytes(r.keptBytes), money(r), r.hitsDropped]));
  const name = encodeURIComponent(experiment);
  return htmlPage(`sxarchive: policies on ${experiment}`, `<h1>Policies on ${escapeHtml(experiment)}</h1>
<p>What each policy would keep of the experiment's frames, by their labels, and what keeping it would cost (a dry-run: nothing is changed).</p>
${comparison}
<p><a href="${escapeHtml(link(`/experiments/${name}`))}">the experiment's report</a> · <a href="${escapeHtml(link(`/api/experiments/${name}/policies`))}">as JSON</a> · <a href="${escapeHtml(link('/'))}">all experiments</a></p>`);
}
