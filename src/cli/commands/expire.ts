import { expire, planExpiry, type ExpireSummary } from '../../lifecycle/expire.ts';
import type { LifecyclePlan } from '../../lifecycle/plan.ts';
import { withLifecycle, type GlobalOptions } from '../context.ts';
import { formatBytes, printJson, table } from '../format.ts';
import { planJson, type LifecycleCliOptions } from './migrate.ts';

export async function run(globals: GlobalOptions, opts: LifecycleCliOptions): Promise<void> {
  const options = { asOf: opts.asOf ?? new Date(), experiment: opts.experiment };
  if (opts.dryRun) {
    const plan = await withLifecycle(globals, 'expire', { readonly: true, progress: false }, (ctx) => planExpiry(ctx, options));
    return opts.json ? printJson(planJson(plan)) : printPlan(plan);
  }
  const summary = await withLifecycle(globals, 'expire', { progress: !opts.json }, (ctx) => expire(ctx, options));
  if (opts.json) printJson(summary);
  else printSummary(summary);
  process.exitCode = summary.failed.length > 0 ? 1 : summary.interrupted ? 130 : 0;
}

function printPlan(plan: LifecyclePlan): void {
  console.log(`expiry plan as of ${plan.asOf}`);
  if (plan.deletions.length === 0) console.log('no lifecycle has ended: nothing to delete');
  else {
    console.log(table(['experiment', 'container', 'tier', 'bytes', 'why'], plan.deletions.map((d) => [d.experiment, d.path, d.placement.tier, formatBytes(d.bytes), d.why])));
    console.log(`${plan.deletions.length} copy(ies), ${formatBytes(plan.deletions.reduce((n, d) => n + d.bytes, 0))} would be deleted; labels and decisions stay`);
  }
  for (const h of plan.held) console.log(`held: ${h.path} on ${h.tier}: ${h.why}`);
}

function printSummary(s: ExpireSummary): void {
  console.log(s.deleted.containers === 0 ? 'no lifecycle has ended: nothing deleted' : `deleted ${s.deleted.containers} copy(ies), ${formatBytes(s.deleted.bytes)}, whose lifecycle ended; labels, decisions and the deletion records stay`);
  for (const f of s.failed) console.error(`failed: ${f.path} on ${f.tier}: ${f.reason}`);
  for (const h of s.held) console.error(`held: ${h.path} on ${h.tier}: ${h.why}`);
  if (s.interrupted) console.error('stopped by a signal: run expire again to continue');
}
