// An expiry pass: the data of containers whose whole lifecycle has ended is deleted. Labels and
// decisions stay in the catalog, with a record of what was deleted, when, and by which rule.
import type { Deletion } from '../catalog/lifecycle.ts';
import { SxError } from '../errors.ts';
import { dropAggregateIfEmpty, type LifecycleContext } from './context.ts';
import { planLifecycle, type HeldContainer, type LifecyclePlan } from './plan.ts';

export interface ExpireSummary {
  jobId: number;
  asOf: string;
  deleted: { containers: number; bytes: number };
  failed: { path: string; tier: string; reason: string }[];
  held: HeldContainer[];
  interrupted: boolean;
}

export interface ExpireOptions {
  asOf: Date;
  experiment?: string;
}

/** The deletions a pass would carry out (what `expire --dry-run` prints). */
export function planExpiry(ctx: Pick<LifecycleContext, 'store' | 'facility'>, options: ExpireOptions): LifecyclePlan {
  return planLifecycle(ctx.store, ctx.facility.config, { asOf: options.asOf, experiment: options.experiment, kind: 'expire' });
}

/**
 * Deletes what has reached the end of its lifecycle by `asOf`. A later date than now is refused:
 * that would delete data its policy still keeps (the dry-run shows what a later date brings).
 */
export async function expire(ctx: LifecycleContext, options: ExpireOptions): Promise<ExpireSummary> {
  if (options.asOf.getTime() > Date.now() + 60_000) {
    throw new SxError('usage', `expire --as-of ${options.asOf.toISOString()} is in the future: that would delete data its policy still keeps; use it with --dry-run to see what that date brings`);
  }
  ctx.store.closeDeadJobs(ctx.isAlive);
  const plan = planExpiry(ctx, options);
  const jobId = ctx.store.startJob('expire', { asOf: plan.asOf, ...(options.experiment ? { experiment: options.experiment } : {}) }, ctx.owner);
  const summary: ExpireSummary = { jobId, asOf: plan.asOf, deleted: { containers: 0, bytes: 0 }, failed: [], held: plan.held, interrupted: false };
  try {
    for (const d of plan.deletions) {
      ctx.store.planDeletion(jobId, {
        containerId: d.containerId, placementId: d.placement.placementId, tier: d.placement.tier, location: d.placement.location,
        bytes: d.bytes, sha256: d.placement.sha256, policy: d.policy, rules: d.rules, lifecycleEnd: d.lifecycleEnd,
      });
    }
    const planned = new Set(plan.deletions.map((d) => d.placement.placementId));
    // Deletions a killed pass left unfinished are carried out too: their lifecycle had ended then.
    const work = ctx.store.activeDeletions().filter((d) => planned.has(d.placementId) || options.experiment === undefined);
    const done = await deleteCopies(ctx, work);
    summary.deleted = done.deleted;
    summary.failed = done.failed;
    summary.interrupted = done.interrupted;
  } catch (err) {
    ctx.store.finishJob(jobId, 'failed', { ...summary, held: summary.held.length }, (err as Error).message);
    throw err;
  }
  ctx.store.finishJob(jobId, summary.interrupted ? 'interrupted' : summary.failed.length > 0 ? 'failed' : 'complete', { ...summary, held: summary.held.length });
  return summary;
}

/**
 * Carries out planned deletions (each under its lease): the copy is deleted from its tier, then
 * its placement becomes expired with the deletion record complete. A tape member goes with its
 * aggregate, once the aggregate's last member has. Stops between copies when asked to.
 */
export async function deleteCopies(ctx: LifecycleContext, work: readonly Deletion[]): Promise<Pick<ExpireSummary, 'deleted' | 'failed' | 'interrupted'>> {
  const result: Pick<ExpireSummary, 'deleted' | 'failed' | 'interrupted'> = { deleted: { containers: 0, bytes: 0 }, failed: [], interrupted: false };
  const total = work.reduce((n, d) => n + d.bytes, 0);
  let done = 0;
  ctx.onProgress?.(0, total);
  for (const d of work) {
    if (ctx.signal?.aborted) {
      result.interrupted = true;
      break;
    }
    if (!ctx.store.takeLease('deletions', d.id, ctx.owner, ctx.isAlive)) continue;
    const placement = ctx.store.placement(d.placementId);
    try {
      if (placement && (placement.stateNow === 'active' || placement.stateNow === 'verified')) {
        ctx.store.markDeleting(d.id);
        const tier = ctx.tiers.get(placement.tier);
        // A tape member cannot be cut out of its tar file: the aggregate goes when its last member does.
        if (tier.kind !== 'tape') await tier.driver.delete(placement.path);
      }
      ctx.store.markDeleted(d.id);
      if (placement?.aggregateId != null && placement.aggregateName !== null) await dropAggregateIfEmpty(ctx, { id: placement.aggregateId, name: placement.aggregateName, tier: placement.tier });
      result.deleted.containers += 1;
      result.deleted.bytes += d.bytes;
    } catch (err) {
      const reason = (err as Error).message;
      ctx.store.failDeletion(d.id, reason);
      result.failed.push({ path: placement?.path ?? d.location, tier: d.tier, reason });
    }
    done += d.bytes;
    ctx.onProgress?.(done, total);
  }
  return result;
}
