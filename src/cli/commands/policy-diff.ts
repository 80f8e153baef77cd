import { iterateFrameFacts, readExperimentFacts, readProductEstimates } from '../../policy/facts.ts';
import { loadPolicy, resolvePolicyFile } from '../../policy/load.ts';
import { diffRetention, type PlanLost, type RetentionDiff } from '../../policy/plan.ts';
import { withCatalog, type GlobalOptions } from '../context.ts';
import { formatBytes, formatMoney, printJson, table } from '../format.ts';
import { describePolicy, formatCost, LOST_LINES } from '../render/policy-text.ts';

const signed = (text: string, n: number) => (n > 0 ? `+${text}` : text);

export function renderDiff(d: RetentionDiff): string {
  const c = d.currency;
  const bytes = (n: number) => signed(n < 0 ? `-${formatBytes(-n)}` : formatBytes(n), n);
  const money = (n: number) => signed(formatMoney(n, c), n);
  const lines = [
    `A: ${describePolicy(d.a.policy)}`,
    `B: ${describePolicy(d.b.policy)}`,
    `experiment ${d.experiment}: ${d.a.frames} frames, ${formatBytes(d.a.rawBytes)} raw (sizes of reduced products are estimated)`,
    table(
      ['product', 'tier', 'frames A', 'frames B', 'bytes A', 'bytes B', 'bytes B-A', 'cost A', 'cost B', 'cost B-A'],
      d.rows.map((r) => [
        r.product, r.tier, r.a.frames, r.b.frames, formatBytes(r.a.bytes), formatBytes(r.b.bytes), bytes(r.difference.bytes),
        formatCost(r.a.money, r.a.foreverPerYear, c), formatCost(r.b.money, r.b.foreverPerYear, c),
        r.difference.foreverPerYear !== 0 ? `${money(r.difference.money)}, ${money(r.difference.foreverPerYear)}/yr forever` : money(r.difference.money),
      ]),
    ),
    table(
      ['', 'A', 'B', 'B-A'],
      [
        ['kept bytes', formatBytes(d.a.totals.keptBytes), formatBytes(d.b.totals.keptBytes), bytes(d.difference.keptBytes)],
        ['frames keeping data', d.a.totals.framesKept, d.b.totals.framesKept, signed(String(d.difference.framesKept), d.difference.framesKept)],
        ['cost over the retention', formatMoney(d.a.totals.money, c), formatMoney(d.b.totals.money, c), money(d.difference.money)],
        ['cost per year, forever', formatMoney(d.a.totals.foreverPerYear, c), formatMoney(d.b.totals.foreverPerYear, c), money(d.difference.foreverPerYear)],
        ...Object.entries(LOST_LINES).map(([key, text]) => {
          const k = key as keyof PlanLost;
          return [text, d.a.lost[k], d.b.lost[k], signed(String(d.difference.lost[k]), d.difference.lost[k])];
        }),
      ],
    ),
  ];
  if (d.changes.length === 0) lines.push(`every frame gets the same rule and products under A and B (${d.unchangedFrames} frames)`);
  else {
    lines.push(`${d.changedFrames} frame(s) change rule or products, ${d.unchangedFrames} do not:`);
    lines.push(table(['rule A', 'rule B', 'frames'], d.changes.map((x) => [x.from, x.to, x.frames])));
  }
  return lines.join('\n');
}

export async function run(globals: GlobalOptions, fileA: string, fileB: string, experiment: string, opts: { json?: boolean }): Promise<void> {
  const diff = await withCatalog(globals, (facility, catalog) => {
    const a = loadPolicy(resolvePolicyFile(fileA), facility.config);
    const b = loadPolicy(resolvePolicyFile(fileB), facility.config);
    const exp = readExperimentFacts(catalog, experiment);
    const estimates = readProductEstimates(catalog, exp.id);
    return diffRetention(a, b, exp.facts, iterateFrameFacts(catalog, exp.id, exp.facts.name), facility.config, estimates);
  }, { readonly: true });
  if (opts.json) return printJson(diff);
  console.log(renderDiff(diff));
}
