import { iterateFrameFacts, readExperimentFacts, readProductEstimates } from '../../policy/facts.ts';
import { loadPolicy, resolvePolicyFile } from '../../policy/load.ts';
import { planRetention, type PlanLost, type RetentionPlan } from '../../policy/plan.ts';
import { withCatalog } from '../context.ts';
import { formatBytes, formatMoney, printJson, table } from '../format.ts';
import type { GlobalOptions } from '../main.ts';

/** `14d`, `2y`, `forever`. */
export function formatDays(days: number | null): string {
  if (days === null) return 'forever';
  if (days > 0 && days % 365 === 0) return `${days / 365}y`;
  return `${Number(days.toFixed(2))}d`;
}

export function describePolicy(p: RetentionPlan['policy']): string {
  return `${p.name} v${p.version} (${p.file}, sha256 ${p.contentHash.slice(0, 12)})`;
}

/** The money of a plan: over the finite steps, plus per year for what is kept forever. */
export function formatCost(money: number, foreverPerYear: number, currency: string): string {
  const parts = [formatMoney(money, currency)];
  if (foreverPerYear !== 0) parts.push(`${formatMoney(foreverPerYear, currency)}/yr forever`);
  return parts.join(' + ');
}

export const LOST_LINES: Record<keyof PlanLost, string> = {
  hitsDropped: 'hits dropped entirely (labels only)',
  hitsNotKeptRaw: 'hits not kept raw',
  unindexedHitsNotKeptRaw: 'unindexed hits not kept raw',
  indexedWithoutIntensities: 'indexed frames without intensities',
  labelsOnly: 'frames keeping labels only',
};

export function renderPlan(p: RetentionPlan): string {
  const c = p.currency;
  const ratio = `lossless ratio ${p.compressionRatio.toFixed(2)} (${p.compressionRatioMeasured ? "measured on the experiment's containers" : 'assumed: no containers to measure'})`;
  const lines = [
    `policy ${describePolicy(p.policy)} on experiment ${p.experiment}: ${p.frames} frames, ${formatBytes(p.rawBytes)} raw; ${ratio}`,
    table(
      ['product', 'rule', 'tier', 'for', 'frames', 'bytes', 'cost'],
      p.rows.map((r) => [
        r.product, r.rule, r.tier,
        r.billedDays !== null && r.billedDays !== r.days ? `${formatDays(r.days)} (billed ${formatDays(r.billedDays)})` : formatDays(r.days),
        r.frames,
        `${formatBytes(r.bytes)}${r.estimated ? ' estimated' : ''}`,
        r.forever ? `${formatMoney(r.perYear, c)}/yr forever` : formatMoney(r.money, c),
      ]),
    ),
    `total: ${formatBytes(p.totals.keptBytes)} kept (${p.totals.framesKept} of ${p.frames} frames keep data); ` +
      `cost ${formatMoney(p.totals.money, c)} over the retention (longest ${formatDays(p.totals.longestDays)})` +
      (p.totals.copyAndReadCharges > 0 ? `, of which ${formatMoney(p.totals.copyAndReadCharges, c)} per object, retrieval and egress` : '') +
      (p.totals.forever ? ` + ${formatMoney(p.totals.foreverPerYear, c)} per year for what is kept forever` : ''),
    `keeping everything raw on ${p.keepAllRaw.tier} ${p.keepAllRaw.forever ? 'forever' : `for ${formatDays(p.keepAllRaw.days)}`}: ${formatBytes(p.keepAllRaw.bytes)} estimated, ` +
      (p.keepAllRaw.forever ? `${formatMoney(p.keepAllRaw.perYear, c)} per year` : formatMoney(p.keepAllRaw.money, c)),
    table(['rule', 'frames', 'via override', 'via gate timeout', 'kept'], p.rules.map((r) => [r.rule, r.frames, r.viaOverride, r.viaGate, formatBytes(r.keptBytes)])),
    'lost:',
    ...Object.entries(LOST_LINES).map(([key, text]) => `  ${p.lost[key as keyof PlanLost]} ${text}`),
  ];
  if (p.unlabelled > 0) lines.push(`${p.unlabelled} frame(s) have no labels and take the unlabelled rule (when in doubt, keep)`);
  if (p.gateTimedOut > 0) lines.push(`${p.gateTimedOut} frame(s) have no indexing result and take the gate's on_timeout rule`);
  lines.push('estimates (ratio = lossless ratio above):', ...Object.entries(p.estimates).map(([product, f]) => `  ${product} = ${f}`));
  return lines.join('\n');
}

export async function run(globals: GlobalOptions, policyFile: string, experiment: string, opts: { json?: boolean }): Promise<void> {
  const plan = await withCatalog(globals, (facility, catalog) => {
    const policy = loadPolicy(resolvePolicyFile(policyFile), facility.config);
    const exp = readExperimentFacts(catalog, experiment);
    const estimates = readProductEstimates(catalog, exp.id);
    return planRetention(policy, exp.facts, iterateFrameFacts(catalog, exp.id, exp.facts.name), facility.config, estimates);
  }, { readonly: true });
  if (opts.json) return printJson(plan);
  console.log(renderPlan(plan));
}
