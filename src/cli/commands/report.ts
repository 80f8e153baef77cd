import { buildExperimentReport, type ExperimentReport } from '../../report/experiment-report.ts';
import { buildFacilityReport, facilityReportCsv, renderFacilityReport, type FacilityGroupBy, type FacilityReport } from '../../report/facility-report.ts';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SxError } from '../../errors.ts';
import { experimentReportCsv } from '../../report/experiment-csv.ts';
import { writeAtomically } from '../../store/atomic.ts';
import { withCatalog, type GlobalOptions } from '../context.ts';
import { renderReport } from '../render/report-text.ts';
import { formatBytes } from '../format.ts';

export interface ReportOptions {
  all?: boolean;
  since?: Date;
  by?: FacilityGroupBy;
  json?: boolean;
  format?: 'text' | 'json' | 'csv' | 'html';
  out?: string;
  asOf?: Date;
}

async function render(report: ExperimentReport, format: NonNullable<ReportOptions['format']>): Promise<string> {
  if (format === 'json') return `${JSON.stringify(report, null, 2)}\n`;
  if (format === 'csv') return experimentReportCsv(report);
  if (format === 'html') return (await import('../../report/html.ts')).renderReportHtml(report);
  return `${renderReport(report)}\n`;
}

function facilityReportText(report: FacilityReport, format: NonNullable<ReportOptions['format']>): string {
  if (format === 'json') return `${JSON.stringify(report, null, 2)}\n`;
  if (format === 'csv') return facilityReportCsv(report);
  if (format === 'html') throw new SxError('usage', 'report --all comes as text, json or csv; the HTML report is per experiment (sxarchive serve lists them all)');
  return `${renderFacilityReport(report)}\n`;
}

export async function run(globals: GlobalOptions, name: string | undefined, opts: ReportOptions): Promise<void> {
  if (opts.json && opts.format !== undefined && opts.format !== 'json') throw new SxError('usage', `--json and --format ${opts.format} ask for two formats; give one`);
  if (opts.all && name !== undefined) throw new SxError('usage', `give an experiment or --all, not both (received ${name} and --all)`);
  if (!opts.all && name === undefined) throw new SxError('usage', 'which experiment? give its name, or --all for every experiment (sxarchive experiments lists them)');
  if (!opts.all && (opts.since !== undefined || opts.by !== undefined)) throw new SxError('usage', '--since and --by go with --all');
  const format = opts.json ? 'json' : opts.format ?? 'text';
  const asOf = opts.asOf ?? new Date();
  const text = await withCatalog(globals, async (facility, catalog) => name === undefined
    ? facilityReportText(buildFacilityReport(catalog, facility.config, { asOf, since: opts.since, by: opts.by }), format)
    : render(buildExperimentReport(catalog, facility.config, name, asOf), format), { readonly: true });
  if (opts.out === undefined) return void process.stdout.write(text);
  const written = await writeAtomically(resolve(opts.out), (tmp) => writeFile(tmp, text));
  console.error(`wrote ${written.path} (${formatBytes(written.bytes)})`);
}
