// The experiment report as text, for `report` and the demo.
import { formatHours, type ExperimentCost, type TierCostRow } from '../../report/experiment-cost.ts';
import type { ExperimentReport } from '../../report/experiment-report.ts';
import { formatBytes, formatMicro, formatMoney, table } from '../format.ts';

export function renderReport(r: ExperimentReport): string {
  const lines = [
    `experiment ${r.experiment}${r.proposal ? `  proposal ${r.proposal}` : ''}${r.facility ? `  facility ${r.facility}` : ''}`,
    r.sampleTags.length ? `sample tags: ${r.sampleTags.join(', ')}` : undefined,
    r.labelled > 0 || r.indexed > 0 ? `labels: ${r.labelled} frames labelled, ${r.hits} hits (${r.frames > 0 ? ((100 * r.hits) / r.frames).toFixed(1) : 0} %), ${r.indexed} indexed` : undefined,
    `${r.runs} run(s), ${r.frames} frames, ${formatBytes(r.rawBytes)} raw -> ${formatBytes(r.storedBytes)} kept in ${r.containers} container(s) (${r.reduction.toFixed(2)}x smaller)`,
    r.products.length ? table(['product', 'containers', 'frames', 'kept'], r.products.map((p) => [p.product, p.containers, p.frames, formatBytes(p.bytes)])) : undefined,
    r.rules.length ? table(['rule', 'frames', 'raw', 'kept frames', 'kept'], r.rules.map((x) => [x.rule, x.frames, formatBytes(x.rawBytes), x.keptFrames, formatBytes(x.keptBytes)])) : undefined,
    table(
      ['tier', 'containers', 'bytes', `price/TB/yr`, 'cost/year'],
      r.tiers.map((t) => [t.tier, t.containers, formatBytes(t.bytes), formatMoney(t.pricePerTbYear, r.currency), formatMoney(t.costPerYear, r.currency)]),
    ),
    ...r.applications.map((a) => `policy apply ${a.policy} (replacing ${a.replaced.join(', ') || 'no decisions'}) ${a.after ? `on ${a.finishedAt?.slice(0, 10)}: ${formatBytes(a.before.bytes)} -> ${formatBytes(a.after.bytes)} kept, saves ${formatBytes(a.savedBytes ?? 0)}` : `unfinished (${a.state}): run it again to finish`}`),
    r.expired.containers > 0 ? `expired: ${r.expired.containers} container(s), ${formatBytes(r.expired.bytes)} deleted at the end of their lifecycle (last on ${r.expired.lastDeletedAt?.slice(0, 10)}); their labels and decisions stay` : undefined,
    `storage cost: ${formatMoney(r.costPerYear, r.currency)} per year (keeping every frame raw and uncompressed on ${r.rawTier}: ${formatMoney(r.rawOnHddCostPerYear, r.currency)} per year)`,
    ...renderCost(r.cost),
  ];
  return lines.filter((l) => l !== undefined).join('\n');
}

const money = formatMicro;

function renderCost(c: ExperimentCost): string[] {
  const terms = (t: TierCostRow) => [t.storage, t.objects, t.earlyDeletion, t.retrieval, t.egress, t.total].map((m) => money(m, c.currency));
  const head = ['tier', 'storage', 'per object', 'early deletion', 'retrieval', 'egress', 'total'];
  const verdict = c.storingCostsMoreFromYear === null
    ? `keeping the data stays cheaper than measuring again for at least ${c.byYear.length} years`
    : `storing costs more than measuring again from year ${c.storingCostsMoreFromYear} on`;
  return [
    `cost to date (as of ${c.asOf.slice(0, 10)}): ${money(c.toDate.total, c.currency)}`,
    ...(c.toDate.tiers.length ? [table(head, c.toDate.tiers.map((t) => [t.tier, ...terms(t)]))] : []),
    `projected to the end of every lifecycle: ${money(c.projected.total, c.currency)} more${c.projected.foreverPerYear > 0 ? `, then ${money(c.projected.foreverPerYear, c.currency)} per year for what is kept forever` : ''}`,
    ...(c.projected.tiers.length ? [table(head, c.projected.tiers.map((t) => [t.tier, ...terms(t)]))] : []),
    ...(c.unpricedTiers.length ? [`note: facility.yaml has no prices for tier(s) ${c.unpricedTiers.join(', ')}, which hold copies of this experiment; they count as free here`] : []),
    `keeping all ${formatBytes(c.rawEverything.bytes)} raw on ${c.rawEverything.tier} for the same ${c.rawEverything.years.toFixed(1)} years would cost ${money(c.rawEverything.total, c.currency)}${c.savingFactor > 0 ? ` (${c.savingFactor.toFixed(1)}x what this policy keeps costs)` : ''}`,
    `store versus re-measure: ${formatHours(c.beamtime.hours)} of beamtime (${c.beamtime.source === 'metadata' ? 'as set for the experiment' : 'from its runs'}) at ${money(c.beamtime.pricePerHour, c.currency)}/h = ${money(c.beamtime.cost, c.currency)}; keeping the data costs ${money(c.lifetime, c.currency)} over its lifecycles${c.lifetimeAtHorizon ? ` (what is kept forever: its first ${c.byYear.length} years)` : ''}; ${verdict}`,
  ];
}
