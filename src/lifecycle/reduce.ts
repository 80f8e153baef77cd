// Lifecycles that reduce the data with age: when a container's lifecycle reaches a step with
// `as`, its frames are read from it, written in that form (each new container read back), and
// recorded in one transaction that also points the frames' decisions at the new container and
// plans the old one's deletion; only then is the old copy deleted.
import { dirname, basename } from 'node:path';
import type { KeepSpec } from '../policy/types.ts';
import type { LifecycleContext } from './context.ts';
import { removeUnrecorded, writeDerived, type DeriveSink } from './derive.ts';
import { deleteCopies } from './expire.ts';
import type { PlannedReduction } from './plan.ts';
import { containerLifecycle } from './plan.ts';
import { stepEnd } from './schedule.ts';

export interface ReductionTally {
  reduced: { containers: number; bytesBefore: number; bytesAfter: number };
  failed: { path: string; tier: string; reason: string }[];
}

/**
 * Carries out planned reductions one container at a time. A failure leaves the source as it
 * was (kept, and planned again next pass) and is reported; a pass killed anywhere leaves either
 * the old container alone or the new one recorded with the old one's deletion planned.
 */
export async function reduceContainers(ctx: LifecycleContext, jobId: number, reductions: readonly PlannedReduction[], tally: ReductionTally): Promise<void> {
  for (const r of reductions) {
    if (ctx.signal?.aborted) return;
    try {
      await reduceOne(ctx, jobId, r, tally);
    } catch (err) {
      tally.failed.push({ path: r.path, tier: r.from.tier, reason: `reducing to ${r.form.product}: ${(err as Error).message}` });
    }
  }
}

async function reduceOne(ctx: LifecycleContext, jobId: number, r: PlannedReduction, tally: ReductionTally): Promise<void> {
  const source = r.from;
  const lifecycle = source.lifecycle!;
  const frames = ctx.store.containerFrames(r.containerId);
  const tier = ctx.facility.stagingTier(r.toTier);
  const staged = tier !== r.toTier;
  const keep = { ...(r.form as Pick<KeepSpec, 'product' | 'codec' | 'params'>), lifecycle } as KeepSpec;
  const known = containerLifecycle(ctx.store, ctx.facility.config, source);
  // Beside the source, named after it and the step: a retry after a crash overwrites its own leftover.
  const dir = `${dirname(source.path)}/${basename(source.path, '.h5')}.step${r.toStep}`;
  let made = 0;
  const sink: DeriveSink = {
    experimentId: source.experimentId, dir, maxFrames: Number.MAX_SAFE_INTEGER,
    recorded: () => new Set(),
    record: (c, members) => {
      ctx.store.recordReduction(r.containerId, c, members, { jobId, policy: known.policy, rules: known.rules, lifecycleEnd: r.due });
      made += c.bytes;
    },
  };
  const until = stepEnd(lifecycle, new Date(source.createdAt), r.toStep);
  // What a killed pass left there (a temporary file, a container it did not record) goes first.
  await removeUnrecorded(ctx, sink);
  await writeDerived(ctx, sink, {
    keep, tier, step: r.toStep, createdAt: source.createdAt,
    // Staged on the ingest tier for a tape or S3 step: due to move at once.
    validUntil: staged ? new Date().toISOString() : until?.toISOString() ?? null,
    frames: frames.map((f) => ({ frameId: f.frameId, rule: f.rule, containerId: r.containerId, index: f.index })),
  }, () => {});
  const planned = new Set(ctx.store.activeDeletions().filter((d) => d.containerId === r.containerId).map((d) => d.id));
  const deleted = await deleteCopies({ ...ctx, onProgress: undefined }, ctx.store.activeDeletions().filter((d) => planned.has(d.id)));
  tally.failed.push(...deleted.failed);
  tally.reduced.containers += 1;
  tally.reduced.bytesBefore += source.bytes;
  tally.reduced.bytesAfter += made;
}
