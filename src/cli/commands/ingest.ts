import type { PeakFinderParams } from '../../core/peakfinder8.ts';
import { ingest } from '../../ingest/ingest.ts';
import { withCatalog } from '../context.ts';
import { formatBytes, printJson } from '../format.ts';
import type { GlobalOptions } from '../main.ts';
import { startProgress } from '../progress.ts';

export interface IngestCliOptions {
  experiment: string;
  geometry?: string;
  proposal?: string;
  facility?: string;
  sampleTag: string[];
  policy?: string;
  json?: boolean;
}

export async function run(globals: GlobalOptions, files: string[], opts: IngestCliOptions, peakFinder: Partial<PeakFinderParams>): Promise<void> {
  const progress = startProgress('ingest', !opts.json && process.stderr.isTTY === true);
  const result = await withCatalog(globals, (facility, catalog) =>
    ingest({
      files,
      experiment: { name: opts.experiment, proposal: opts.proposal, facility: opts.facility, sampleTags: opts.sampleTag },
      geometryFile: opts.geometry,
      peakFinder,
      policy: opts.policy,
      facility,
      catalog,
      onFrame: (done, total) => progress.update(done, total),
    }),
  ).finally(() => progress.stop());
  for (const s of result.skipped) console.error(`skipped ${s.file} event ${s.event}: ${s.error}`);
  for (const s of result.unlabelled) console.error(`not labelled ${s.file} event ${s.event}: ${s.error}`);
  if (opts.json) return printJson(result);
  console.log(`experiment ${result.experiment} run ${result.run}: ${result.frames} frames, ${formatBytes(result.rawBytes)} raw -> ${formatBytes(result.storedBytes)} kept in ${result.containers.length} container(s)`);
  console.log(`policy ${result.policy.name} v${result.policy.version}: ${Object.entries(result.rules).map(([rule, n]) => `${rule} ${n}`).join(', ')}`);
  if (opts.geometry) console.log(`labelled ${result.labelled} frames: ${result.hits} hits`);
  if (result.skipped.length > 0) console.log(`${result.skipped.length} unreadable frame(s) skipped`);
  for (const c of result.containers) console.log(`  ${c.tier} ${c.product} ${c.path}  ${c.frames} frames  ${formatBytes(c.bytes)}  sha256 ${c.sha256.slice(0, 16)}…`);
}
