import { applyPolicy, describeSaving, planApply, type ApplyPlan, type ApplySummary } from '../../lifecycle/apply.ts';
import { loadPolicy, resolvePolicyFile } from '../../policy/load.ts';
import { withLifecycle, type GlobalOptions } from '../context.ts';
import { formatBytes, printJson, table } from '../format.ts';

export async function run(globals: GlobalOptions, policyFile: string, experiment: string, opts: { dryRun?: boolean; json?: boolean }): Promise<void> {
  if (opts.dryRun) {
    const plan = await withLifecycle(globals, 'policy apply', { readonly: true, progress: false }, (ctx) => planApply(ctx, loadPolicy(resolvePolicyFile(policyFile), ctx.facility.config), experiment).plan);
    return opts.json ? printJson(plan) : console.log(renderPlan(plan, 'would'));
  }
  const summary = await withLifecycle(globals, 'policy apply', { progress: !opts.json }, (ctx) => applyPolicy(ctx, loadPolicy(resolvePolicyFile(policyFile), ctx.facility.config), experiment));
  if (opts.json) printJson(summary);
  else printSummary(summary);
  process.exitCode = summary.failed.length > 0 ? 1 : summary.interrupted ? 130 : 0;
}

export function renderPlan(p: ApplyPlan, mood: 'would' | 'did'): string {
  const lines = [`policy ${p.policy.name} v${p.policy.version} on experiment ${p.experiment}: ${p.frames} frames${p.alreadyDecided > 0 ? `, ${p.alreadyDecided} decided by it already` : ''}`];
  if (p.resumes) lines.push(`continues application ${p.resumes.id} (${p.resumes.state === 'writing' ? 'writing its containers' : 'dropping what nothing keeps'})`);
  if (Object.keys(p.rules).length > 0) lines.push(table(['rule', 'frames'], Object.entries(p.rules).map(([rule, n]) => [rule, n])));
  if (p.write.length > 0) {
    lines.push(`${mood === 'would' ? 'to write' : 'written'} (made from the kept raw data, each read back before it is recorded):`);
    lines.push(table(['product', 'codec', 'tier', 'lifecycle', 'frames', 'from', 'bytes'], p.write.map((w) => [
      w.product + (Object.keys(w.params).length > 0 ? ` ${Object.entries(w.params).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''),
      w.codec, w.tier, w.lifecycle, w.frames, `${w.fromContainers} container(s)`, `${formatBytes(w.estimatedBytes)} estimated`,
    ])));
  }
  if (p.keep.length > 0) lines.push(`kept as they are: ${p.keep.length} container(s), ${formatBytes(p.keep.reduce((n, k) => n + k.bytes, 0))}${p.keep.some((k) => k.lifecycle) ? ` (${p.keep.filter((k) => k.lifecycle).length} under a new lifecycle)` : ''}`);
  if (p.drop.length > 0) lines.push(`${mood === 'would' ? 'to delete once the new ones are recorded' : 'deleted after the new ones were recorded'}: ${p.drop.length} container(s), ${formatBytes(p.drop.reduce((n, d) => n + d.bytes, 0))}`);
  if (p.ended > 0) lines.push(`${p.ended} product(s) not written: their new lifecycle, counted from when the data was archived, has ended`);
  lines.push(`${describeSaving(p.before.bytes, p.after.bytes)}${p.after.estimated ? ' (new containers estimated)' : ''}; labels and both policies' decisions stay`);
  return lines.join('\n');
}

function printSummary(s: ApplySummary): void {
  if (s.application === 0) {
    console.log(`experiment ${s.experiment} is decided by policy ${s.policy.name} v${s.policy.version} already: nothing to do`);
    return;
  }
  console.log(renderPlan(s, 'did'));
  console.log(`application ${s.application}: wrote ${s.written.containers} container(s), ${formatBytes(s.written.bytes)}; deleted ${s.dropped.containers} copy(ies), ${formatBytes(s.dropped.bytes)}`);
  if (s.removedUnrecorded > 0) console.log(`removed ${s.removedUnrecorded} file(s) an interrupted run had left unrecorded`);
  for (const f of s.failed) console.error(`failed: ${f.path} on ${f.tier}: ${f.reason} (run the same command again)`);
  if (s.interrupted) console.error('stopped by a signal: run the same command again to continue');
}

