import { iterateFrameFacts, readExperimentFacts, readProductEstimates } from '../../policy/facts.ts';
import { loadPolicy, resolvePolicyFile } from '../../policy/load.ts';
import { planRetention, type PlanLost, type RetentionPlan } from '../../policy/plan.ts';
import { withCatalog, type GlobalOptions } from '../context.ts';
import { formatBytes, formatMoney, printJson, table } from '../format.ts';
import { describePolicy, formatDays, LOST_LINES } from '../render/policy-text.ts';

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
