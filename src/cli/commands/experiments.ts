import { buildExperimentReport } from '../../report/experiment-report.ts';
import { withCatalog, type GlobalOptions } from '../context.ts';
import { formatBytes, formatMoney, printJson, table } from '../format.ts';

export async function run(globals: GlobalOptions, opts: { json?: boolean }): Promise<void> {
  const reports = await withCatalog(globals, (facility, catalog) =>
    catalog.listExperiments().map((e) => buildExperimentReport(catalog, facility.config, e.name)),
  { readonly: true });
  if (opts.json) {
    return printJson(reports.map((r) => ({ name: r.experiment, proposal: r.proposal, facility: r.facility, sampleTags: r.sampleTags, runs: r.runs, frames: r.frames, rawBytes: r.rawBytes, storedBytes: r.storedBytes, containers: r.containers, tiers: r.tiers, costPerYear: r.costPerYear, currency: r.currency })));
  }
  if (reports.length === 0) {
    console.log('no experiments yet: add one with `sxarchive ingest FILES --experiment NAME`');
    return;
  }
  console.log(table(
    ['experiment', 'proposal', 'facility', 'runs', 'frames', 'raw', 'stored', 'cost/year'],
    reports.map((r) => [r.experiment, r.proposal ?? '', r.facility ?? '', r.runs, r.frames, formatBytes(r.rawBytes), formatBytes(r.storedBytes), formatMoney(r.costPerYear, r.currency)]),
  ));
}
