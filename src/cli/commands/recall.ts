import { recall, type RecallSummary } from '../../lifecycle/recall.ts';
import { withLifecycle, type GlobalOptions } from '../context.ts';
import { formatBytes, printJson } from '../format.ts';
import { EXIT_PARTIAL } from '../exit-codes.ts';

export interface RecallCliOptions {
  to: string;
  frames?: string;
  product?: string;
  json?: boolean;
}

export async function run(globals: GlobalOptions, experiment: string, opts: RecallCliOptions): Promise<void> {
  const summary = await withLifecycle(globals, 'recall', { progress: !opts.json }, (ctx) => {
    const exp = ctx.catalog.getExperiment(experiment);
    return recall(ctx, { experiment, experimentId: exp.id, to: opts.to, frames: opts.frames, product: opts.product });
  });
  if (opts.json) printJson(summary);
  else printSummary(summary);
  if (summary.restoring.length > 0 || summary.unavailable.length > 0) process.exitCode = EXIT_PARTIAL;
}

function printSummary(s: RecallSummary): void {
  console.log(`recalled ${s.frames} frame(s) in ${s.containers.length} container(s), ${formatBytes(s.containers.reduce((n, c) => n + c.bytes, 0))}, into ${s.dest}${s.resumed ? ' (resumed an earlier recall)' : ''}`);
  console.log(`frame list for CrystFEL: ${s.list}`);
  for (const r of s.tapeReads) console.log(`  read ${r.aggregate} on ${r.tier} once: ${r.members} container(s), ${formatBytes(r.bytes)} from offset ${r.offset}`);
  for (const u of s.unavailable) console.error(`not recalled: ${u.frame}: ${u.why}`);
  if (s.restoring.length > 0) console.error(`restore requested from the archive storage class for ${s.restoring.join(', ')}: run the same recall again when it is done (hours to days)`);
}
