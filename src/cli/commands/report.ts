import { buildExperimentReport, type ExperimentReport } from '../../report/experiment-report.ts';
import { withCatalog } from '../context.ts';
import { formatBytes, formatMoney, printJson, table } from '../format.ts';
import type { GlobalOptions } from '../main.ts';

export function renderReport(r: ExperimentReport): string {
  const lines = [
    `experiment ${r.experiment}${r.proposal ? `  proposal ${r.proposal}` : ''}${r.facility ? `  facility ${r.facility}` : ''}`,
    r.sampleTags.length ? `sample tags: ${r.sampleTags.join(', ')}` : undefined,
    r.labelled > 0 || r.indexed > 0 ? `labels: ${r.labelled} frames labelled, ${r.hits} hits (${r.frames > 0 ? ((100 * r.hits) / r.frames).toFixed(1) : 0} %), ${r.indexed} indexed` : undefined,
    `${r.runs} run(s), ${r.frames} frames, ${formatBytes(r.rawBytes)} raw -> ${formatBytes(r.storedBytes)} kept in ${r.containers} container(s) (${r.reduction.toFixed(2)}x smaller)`,
    table(
      ['tier', 'containers', 'bytes', `price/TB/yr`, 'cost/year'],
      r.tiers.map((t) => [t.tier, t.containers, formatBytes(t.bytes), formatMoney(t.pricePerTbYear, r.currency), formatMoney(t.costPerYear, r.currency)]),
    ),
    r.expired.containers > 0 ? `expired: ${r.expired.containers} container(s), ${formatBytes(r.expired.bytes)} deleted at the end of their lifecycle (last on ${r.expired.lastDeletedAt?.slice(0, 10)}); their labels and decisions stay` : undefined,
    `storage cost: ${formatMoney(r.costPerYear, r.currency)} per year (keeping every frame raw and uncompressed on ${r.rawTier}: ${formatMoney(r.rawOnHddCostPerYear, r.currency)} per year)`,
  ];
  return lines.filter((l) => l !== undefined).join('\n');
}

export async function run(globals: GlobalOptions, name: string, opts: { json?: boolean }): Promise<void> {
  const report = await withCatalog(globals, (facility, catalog) => buildExperimentReport(catalog, facility.config, name), { readonly: true });
  if (opts.json) return printJson(report);
  console.log(renderReport(report));
}
