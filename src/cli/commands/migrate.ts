import type { LifecyclePlan } from '../../lifecycle/plan.ts';
import { migrate, planMigration, type MigrateSummary } from '../../lifecycle/migrate.ts';
import { withLifecycle, type GlobalOptions } from '../context.ts';
import { formatBytes, printJson, table } from '../format.ts';
import { EXIT_PARTIAL } from '../exit-codes.ts';

export interface LifecycleCliOptions {
  dryRun?: boolean;
  asOf?: Date;
  experiment?: string;
  json?: boolean;
}

export async function run(globals: GlobalOptions, opts: LifecycleCliOptions): Promise<void> {
  const options = { asOf: opts.asOf ?? new Date(), experiment: opts.experiment };
  if (opts.dryRun) {
    const plan = await withLifecycle(globals, 'migrate', { readonly: true, progress: false }, (ctx) => planMigration(ctx, options));
    return opts.json ? printJson(planJson(plan)) : printPlan(plan);
  }
  const summary = await withLifecycle(globals, 'migrate', { progress: !opts.json }, (ctx) => migrate(ctx, options));
  if (opts.json) printJson(summary);
  else printSummary(summary);
  process.exitCode = exitCode(summary);
}

/** 1: a copy failed; 3: a full tier paused some (they resume next pass); 130: stopped by a signal. */
export function exitCode(summary: Pick<MigrateSummary, 'failed' | 'paused' | 'interrupted'>): number {
  if (summary.failed.length > 0) return 1;
  if (summary.interrupted) return 130;
  return summary.paused.length > 0 ? EXIT_PARTIAL : 0;
}

export function planJson(plan: LifecyclePlan) {
  return {
    asOf: plan.asOf,
    reductions: plan.reductions.map((r) => ({ experiment: r.experiment, container: r.path, product: r.product, bytes: r.bytes, from: r.from.tier, to: r.toTier, form: r.form, due: r.due, until: r.until, why: r.why })),
    moves: plan.moves.map((m) => ({ experiment: m.experiment, container: m.path, product: m.product, bytes: m.bytes, from: m.from.tier, to: m.toTier, due: m.due, until: m.until, why: m.why })),
    deletions: plan.deletions.map((d) => ({ experiment: d.experiment, container: d.path, product: d.product, bytes: d.bytes, tier: d.placement.tier, location: d.placement.location, lifecycleEnd: d.lifecycleEnd, policy: d.policy, rules: d.rules, why: d.why })),
    resume: plan.resume.map((t) => ({ transfer: t.id, container: t.containerId, to: t.destTier, state: t.state, reason: t.reason })),
    held: plan.held,
  };
}

function printPlan(plan: LifecyclePlan): void {
  console.log(`migration plan as of ${plan.asOf}`);
  if (plan.resume.length > 0) console.log(`${plan.resume.length} unfinished transfer(s) resume first: ${plan.resume.map((t) => `#${t.id} to ${t.destTier} (${t.state}${t.reason ? `: ${t.reason}` : ''})`).join(', ')}`);
  if (plan.reductions.length > 0) {
    console.log('due to be kept in another form (reduced, read back and recorded, then the old copy deleted):');
    console.log(table(['experiment', 'container', 'from', 'to', 'bytes', 'why'], plan.reductions.map((r) => [r.experiment, r.path, r.from.tier, r.toTier, formatBytes(r.bytes), r.why])));
  }
  if (plan.moves.length === 0) console.log(plan.reductions.length > 0 ? 'nothing else is due to move' : 'nothing is due to move');
  else {
    console.log(table(['experiment', 'container', 'from', 'to', 'bytes', 'why'], plan.moves.map((m) => [m.experiment, m.path, m.from.tier, m.toTier, formatBytes(m.bytes), m.why])));
    const totals = new Map<string, { n: number; bytes: number }>();
    for (const m of plan.moves) {
      const key = `${m.from.tier} -> ${m.toTier}`;
      const t = totals.get(key) ?? { n: 0, bytes: 0 };
      totals.set(key, { n: t.n + 1, bytes: t.bytes + m.bytes });
    }
    for (const [key, t] of totals) console.log(`${key}: ${t.n} container(s), ${formatBytes(t.bytes)}`);
  }
  for (const h of plan.held) console.log(`held: ${h.path} on ${h.tier}: ${h.why}`);
}

function printSummary(s: MigrateSummary): void {
  if (s.recovered.aggregates > 0) console.error(`cleaned up after a stopped migration: ${s.recovered.aggregates} unfinished tape aggregate(s) removed; their containers stay where they were`);
  if (s.reduced.containers > 0) console.log(`reduced ${s.reduced.containers} container(s) as their lifecycle says: ${formatBytes(s.reduced.bytesBefore)} -> ${formatBytes(s.reduced.bytesAfter)}`);
  console.log(`migrated ${s.moved.containers} container(s), ${formatBytes(s.moved.bytes)}${s.resumed > 0 ? ` (${s.resumed} resumed from an earlier pass)` : ''}`);
  for (const a of s.aggregates) console.log(`  tape aggregate ${a.name} on ${a.tier}: ${a.members} container(s), ${formatBytes(a.bytes)}`);
  for (const p of s.paused) console.error(p.message);
  for (const f of s.failed) console.error(`failed: ${f.path} to ${f.tier}: ${f.reason}`);
  for (const h of s.held) console.error(`held: ${h.path} on ${h.tier}: ${h.why}`);
  if (s.interrupted) console.error('stopped by a signal: what was committed stays; run migrate again to continue');
  if (s.moved.containers === 0 && s.reduced.containers === 0 && s.failed.length === 0 && s.paused.length === 0 && !s.interrupted) console.log('nothing to do');
}
