import { verify, type VerifySummary } from '../../lifecycle/verify.ts';
import { withLifecycle, type GlobalOptions } from '../context.ts';
import { formatBytes, printJson, table } from '../format.ts';

export interface VerifyCliOptions {
  tier?: string;
  experiment?: string;
  sample?: number;
  json?: boolean;
}

export async function run(globals: GlobalOptions, opts: VerifyCliOptions): Promise<void> {
  const summary = await withLifecycle(globals, 'verify', { progress: !opts.json }, (ctx) => {
    if (opts.tier !== undefined) ctx.tiers.get(opts.tier); // an unknown tier is refused before any work
    return verify(ctx, { tier: opts.tier, experiment: opts.experiment, sample: opts.sample });
  });
  if (opts.json) printJson(summary);
  else printSummary(summary);
  process.exitCode = summary.findings.length > 0 ? 1 : summary.interrupted ? 130 : 0;
}

function printSummary(s: VerifySummary): void {
  console.log(`checked ${s.checked.copies} copy(ies), ${formatBytes(s.checked.bytes)}: ${s.findings.length === 0 ? 'every one matches the catalog' : `${s.findings.length} finding(s)`}`);
  if (s.findings.length > 0) {
    console.log(table(['finding', 'tier', 'location', 'detail', 'repair'], s.findings.map((f) => [f.kind, f.tier, f.location, f.detail, f.repairedFrom ? `re-copied from ${f.repairedFrom}` : f.kind === 'orphaned' ? '-' : 'no good copy elsewhere: kept as it is'])));
  }
  if (s.repaired > 0) console.log(`${s.repaired} bad copy(ies) repaired from a good copy; the repairs are recorded`);
  if (s.interrupted) console.error('stopped by a signal: run verify again to check the rest');
}
