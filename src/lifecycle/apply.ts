// `policy apply`: an archived experiment re-decided under another policy. The plan (what
// `--dry-run` prints) is worked out from the catalog alone; the run carries out the same plan
// in three resumable phases:
//   writing   the reductions the policy asks for are made from the kept raw data, each new
//             container read back and recorded with its frames' pending decisions;
//   switch    one transaction puts the new decisions in force (the old ones stay, superseded);
//   dropping  copies nothing in force refers to any more are deleted, as expiry deletes.
// Nothing is dropped before every new container is written, verified and recorded.
import { APPLIED } from '../catalog/reports.ts';
import type { ApplyCatalog, ApplicationBefore, CurrentDecision, ExperimentContainer, PendingDecision } from '../catalog/apply.ts';
import { formatBytes } from '../bytes.ts';
import { SxError } from '../errors.ts';
import { CATALOG_PRODUCTS, writerKey } from '../ingest/product-writers.ts';
import { decide, isPending } from '../policy/engine.ts';
import { estimateProductBytes } from '../policy/estimates.ts';
import { formKey } from '../policy/forms.ts';
import { iterateFrameFacts, readExperimentFacts, readProductEstimates } from '../policy/facts.ts';
import type { KeepSpec, Policy } from '../policy/types.ts';
import type { LifecycleContext } from './context.ts';
import { removeUnrecorded, writeDerived, type DeriveFrame, type DeriveGroup, type DeriveSink } from './derive.ts';
import { deleteCopies } from './expire.ts';
import { describeLifecycle, positionAt } from './schedule.ts';

export interface ApplyPlan {
  experiment: string;
  policy: { name: string; version: number; contentHash: string; file: string };
  /** The unfinished application this run continues, and its phase. */
  resumes: { id: number; state: 'writing' | 'dropping' } | null;
  frames: number;
  /** Frames decided by this policy already (left as they are). */
  alreadyDecided: number;
  /** Frames per rule of the new policy. */
  rules: Record<string, number>;
  /** Containers kept as they are (the policy asks for exactly what they hold); `lifecycle` when theirs changes. */
  keep: { containerId: number; path: string; product: string; bytes: number; lifecycle?: string }[];
  /** Containers to write, per form: frames, the tier they go to, bytes estimated. */
  write: { product: string; codec: string; params: Record<string, number>; tier: string; lifecycle: string; frames: number; containers: number; fromContainers: number; estimatedBytes: number }[];
  /** Containers nothing keeps any more: deleted once the new ones are recorded. */
  drop: { containerId: number; path: string; product: string; bytes: number }[];
  /** Products whose new lifecycle has already ended for these frames (counted from when their data was archived): not written. */
  ended: number;
  before: { containers: number; bytes: number };
  after: { containers: number; bytes: number; estimated: boolean };
}

/** What the run did. */
export interface ApplySummary extends ApplyPlan {
  application: number;
  written: { containers: number; bytes: number };
  dropped: { containers: number; bytes: number };
  failed: { path: string; tier: string; reason: string }[];
  interrupted: boolean;
  removedUnrecorded: number;
}

/** Frame and what the new policy keeps of it, as the plan works it out. */
interface Worked {
  plan: ApplyPlan;
  experimentId: number;
  policyId: number | undefined;
  /** Decisions that need no new container: labels, catalog products, containers kept as they are. */
  pending: PendingDecision[];
  groups: DeriveGroup[];
  relifed: { containerId: number; lifecycle: KeepSpec['lifecycle'] }[];
}

const day = (iso: string) => iso.slice(0, 10);

/**
 * Works out what applying `policy` to the experiment does. Refuses (before anything is
 * written) when it asks for a reduction of frames whose raw data is gone or was never kept.
 */
export function planApply(ctx: Pick<LifecycleContext, 'catalog' | 'facility'>, policy: Policy, experiment: string, now = new Date()): Worked {
  const apply = ctx.catalog.apply;
  const exp = readExperimentFacts(ctx.catalog, experiment);
  const policyId = apply.policyId(policy.contentHash);
  const unfinished = apply.unfinished(exp.id);
  const containers = new Map(apply.containers(exp.id).map((c) => [c.id, c]));
  const current = new Map<number, CurrentDecision[]>();
  for (const d of apply.currentDecisions(exp.id)) {
    const list = current.get(d.frameId);
    if (list) list.push(d);
    else current.set(d.frameId, [d]);
  }
  const estimates = readProductEstimates(ctx.catalog, exp.id);
  const plan: ApplyPlan = {
    experiment, policy: { name: policy.name, version: policy.version, contentHash: policy.contentHash, file: policy.file },
    resumes: unfinished && (unfinished.state === 'writing' || unfinished.state === 'dropping') ? { id: unfinished.id, state: unfinished.state } : null,
    frames: 0, alreadyDecided: 0, rules: {}, keep: [], write: [], drop: [], ended: 0,
    before: { containers: 0, bytes: 0 }, after: { containers: 0, bytes: 0, estimated: false },
  };
  for (const c of containers.values()) if (c.live && c.applicationId !== unfinished?.id) (plan.before.containers += 1, plan.before.bytes += c.bytes);
  const worked: Worked = { plan, experimentId: exp.id, policyId, pending: [], groups: [], relifed: [] };
  if (plan.resumes?.state === 'dropping') return finishPlan(worked, apply, containers, new Set());

  // Per frame: what the new policy keeps, and from which container each product can come.
  const missing = new Map<string, number>();
  const reuse = new Map<number, { key: string; keep: KeepSpec; frames: { frameId: number; rule: string; index: number; cur: CurrentDecision[] }[] }>();
  const rejected = new Set<number>();
  const derive = new Map<string, { keep: KeepSpec; frames: (DeriveFrame & { created: string; bytes: number })[] }>();
  const addDerive = (keep: KeepSpec, frameId: number, rule: string, cur: CurrentDecision[], estimate: number, shape: string) => {
    const raw = cur.map((d) => d.containerId === null ? undefined : containers.get(d.containerId)).find((c) => c?.product === 'raw' && c.live);
    if (!raw) {
      const gone = cur.map((d) => d.containerId === null ? undefined : containers.get(d.containerId)).find((c) => c?.product === 'raw');
      const why = gone ? `raw of %n frames expired on ${gone.deletedAt ? day(gone.deletedAt) : 'an unknown date'}` : `raw of %n frames was not kept (${[...new Set(cur.map((d) => `rule ${d.rule} of ${d.policy}`))].join(', ') || 'no decision'})`;
      missing.set(`${keep.product}: ${why}`, (missing.get(`${keep.product}: ${why}`) ?? 0) + 1);
      return;
    }
    const index = cur.find((d) => d.containerId === raw.id)!.containerIndex!;
    const key = `${writerKey(keep)}:${shape}`;
    const group = derive.get(key) ?? { keep, frames: [] };
    group.frames.push({ frameId, rule, containerId: raw.id, index, created: raw.createdAt, bytes: estimate });
    derive.set(key, group);
  };
  const pendingRow = (d: PendingDecision) => worked.pending.push(d);
  const frameRules = new Map<number, string>();
  const shapes = new Map<number, { shape: string; estimate: (k: KeepSpec) => number }>();
  for (const facts of iterateFrameFacts(ctx.catalog, exp.id, exp.facts.name)) {
    plan.frames += 1;
    const cur = current.get(facts.frameId) ?? [];
    if (policyId !== undefined && cur.length > 0 && cur.every((d) => d.policyId === policyId)) {
      plan.alreadyDecided += 1;
      continue;
    }
    const decision = decide(policy, exp.facts, facts, { now });
    if (isPending(decision)) throw new Error(`policy ${policy.name}: frame ${facts.frameId} still waits without a frame time`);
    plan.rules[decision.rule] = (plan.rules[decision.rule] ?? 0) + 1;
    frameRules.set(facts.frameId, decision.rule);
    const shape = `${facts.width}x${facts.height}:${facts.pixelType}`;
    shapes.set(facts.frameId, { shape, estimate: (k) => estimateProductBytes(k, facts, estimates) });
    const archived = cur.map((d) => (d.containerId === null ? undefined : containers.get(d.containerId))).filter((c): c is ExperimentContainer => c !== undefined);
    const since = archived.map((c) => c.createdAt).sort()[0] ?? now.toISOString();
    for (const keep of decision.keep) {
      const tier = keep.lifecycle[0]?.tier ?? 'catalog';
      if (CATALOG_PRODUCTS.has(keep.product)) {
        pendingRow({ frameId: facts.frameId, rule: decision.rule, product: keep.product, codec: keep.codec.id, tier, containerId: null, containerIndex: null });
        continue;
      }
      if ('ended' in positionAt(keep.lifecycle, new Date(since), now)) {
        plan.ended += 1;
        continue;
      }
      const same = cur.find((d) => {
        const c = d.containerId === null ? undefined : containers.get(d.containerId);
        return c?.live === true && c.form !== null && formKey(c.form) === formKey(keep);
      });
      if (same) {
        const entry = reuse.get(same.containerId!) ?? { key: writerKey(keep), keep, frames: [] };
        if (entry.key !== writerKey(keep)) rejected.add(same.containerId!);
        entry.frames.push({ frameId: facts.frameId, rule: decision.rule, index: same.containerIndex!, cur });
        reuse.set(same.containerId!, entry);
        continue;
      }
      addDerive(keep, facts.frameId, decision.rule, cur, estimateProductBytes(keep, facts, estimates), shape);
    }
  }
  // A container is kept as it is only if every frame in it is kept in its form, under one lifecycle.
  for (const [containerId, entry] of reuse) {
    const c = containers.get(containerId)!;
    if (!rejected.has(containerId) && entry.frames.length === c.nFrames) {
      for (const f of entry.frames) pendingRow({ frameId: f.frameId, rule: f.rule, product: entry.keep.product, codec: entry.keep.codec.id, tier: entry.keep.lifecycle[0].tier, containerId, containerIndex: f.index });
      const changed = JSON.stringify(c.lifecycle) !== JSON.stringify(entry.keep.lifecycle);
      if (changed) worked.relifed.push({ containerId, lifecycle: entry.keep.lifecycle });
      plan.keep.push({ containerId, path: c.path, product: c.product, bytes: c.bytes, ...(changed ? { lifecycle: describeLifecycle(entry.keep.lifecycle) } : {}) });
      continue;
    }
    for (const f of entry.frames) {
      const s = shapes.get(f.frameId)!;
      addDerive(entry.keep, f.frameId, f.rule, f.cur, s.estimate(entry.keep), s.shape);
    }
  }
  const rows = new Map<number, number>();
  for (const d of worked.pending) rows.set(d.frameId, (rows.get(d.frameId) ?? 0) + 1);
  for (const g of derive.values()) for (const f of g.frames) rows.set(f.frameId, (rows.get(f.frameId) ?? 0) + 1);
  // Frames that keep nothing (or whose lifecycles have ended) keep their labels.
  for (const [frameId, rule] of frameRules) {
    if ((rows.get(frameId) ?? 0) === 0) worked.pending.push({ frameId, rule, product: 'labels', codec: 'none', tier: 'catalog', containerId: null, containerIndex: null });
  }
  if (missing.size > 0 && plan.resumes === null) {
    const lines = [...missing].map(([what, n]) => `  ${what.replace('%n', n.toLocaleString('en-US'))}`);
    throw new SxError('usage', `policy ${policy.name} v${policy.version} asks for products of experiment "${experiment}" that cannot be made from what is kept:\n${lines.join('\n')}\nnothing was changed; reductions are made from the kept raw data`);
  }
  for (const g of derive.values()) {
    const createdAt = g.frames.map((f) => f.created).sort()[0];
    const at = positionAt(g.keep.lifecycle, new Date(createdAt), now);
    if ('ended' in at) continue;
    const tier = ctx.facility.stagingTier(at.tier);
    worked.groups.push({ keep: g.keep, tier, step: at.step, validUntil: tier === at.tier && at.until ? at.until.toISOString() : tier === at.tier ? null : now.toISOString(), createdAt, frames: g.frames });
    plan.write.push({
      product: g.keep.product, codec: g.keep.codec.id, params: g.keep.params, tier, lifecycle: describeLifecycle(g.keep.lifecycle), frames: g.frames.length,
      containers: Math.ceil(g.frames.length / ctx.facility.config.containers.max_frames),
      fromContainers: new Set(g.frames.map((f) => f.containerId)).size, estimatedBytes: Math.round(g.frames.reduce((n, f) => n + f.bytes, 0)),
    });
  }
  const kept = new Set([...plan.keep.map((k) => k.containerId)]);
  // Containers referred to by frames this application leaves alone stay too.
  const untouched = new Set<number>();
  for (const [frameId, list] of current) if (!frameRules.has(frameId)) for (const d of list) if (d.containerId !== null) untouched.add(d.containerId);
  return finishPlan(worked, apply, containers, new Set([...kept, ...untouched]));
}

function finishPlan(worked: Worked, apply: ApplyCatalog, containers: Map<number, ExperimentContainer>, stays: Set<number>): Worked {
  const { plan } = worked;
  const switched = plan.resumes?.state === 'dropping';
  const dropIds = switched
    ? new Set(apply.unreferencedCopies(worked.experimentId).map((c) => c.containerId))
    // Before the switch, what this application has written so far is part of what comes after.
    : new Set([...containers.values()].filter((c) => c.live && !stays.has(c.id) && (plan.resumes === null || c.applicationId !== plan.resumes.id)).map((c) => c.id));
  for (const id of dropIds) {
    const c = containers.get(id)!;
    plan.drop.push({ containerId: id, path: c.path, product: c.product, bytes: c.bytes });
  }
  const live = [...containers.values()].filter((c) => c.live && !dropIds.has(c.id));
  plan.after.containers = live.length + plan.write.reduce((n, w) => n + w.containers, 0);
  plan.after.bytes = live.reduce((n, c) => n + c.bytes, 0) + plan.write.reduce((n, w) => n + w.estimatedBytes, 0);
  plan.after.estimated = plan.write.length > 0;
  return worked;
}

/**
 * Applies `policy` to an archived experiment (see the file comment). Safe to run again: a run
 * killed in any phase is continued by the next one with the same policy; another policy is
 * refused until it has finished.
 */
export async function applyPolicy(ctx: LifecycleContext, policy: Policy, experiment: string): Promise<ApplySummary> {
  const apply = ctx.catalog.apply;
  const exp = ctx.catalog.getExperiment(experiment);
  const unfinished = apply.unfinished(exp.id);
  if (unfinished && unfinished.policy !== `${policy.name} v${policy.version}`) {
    throw new SxError('usage', `experiment "${experiment}" has an unfinished application of policy ${unfinished.policy} (application ${unfinished.id}, ${unfinished.state}); run sxarchive policy apply with that policy again to finish it first`);
  }
  if (unfinished && !apply.takeOver(unfinished.id, ctx.owner, ctx.isAlive)) {
    throw new SxError('usage', `experiment "${experiment}": policy ${unfinished.policy} is being applied by ${unfinished.owner}, which is still running`);
  }
  if (!unfinished) refuseBusy(apply, exp.id, experiment, ctx.isAlive);
  const worked = planApply(ctx, policy, experiment);
  const { plan } = worked;
  const summary: ApplySummary = { ...plan, application: unfinished?.id ?? 0, written: { containers: 0, bytes: 0 }, dropped: { containers: 0, bytes: 0 }, failed: [], interrupted: false, removedUnrecorded: 0 };
  if (!unfinished) {
    if (plan.frames === plan.alreadyDecided) return summary;
    // A frame has one decision per policy version and product: a version it had before cannot be put back.
    if (worked.policyId !== undefined && apply.hadPolicyBefore(exp.id, worked.policyId)) {
      throw new SxError('usage', `experiment "${experiment}" was under ${policy.name} v${policy.version} before; to put it back, give the policy a new version`);
    }
    const id = ctx.catalog.registerPolicy(policy.name, policy.version, policy.text, policy.contentHash);
    const before: ApplicationBefore = { containers: plan.before.containers, bytes: plan.before.bytes, policies: policiesInForce(apply, exp.id) };
    summary.application = apply.start(exp.id, id, ctx.owner, before, worked.pending);
  }
  const application = summary.application;
  const target: DeriveSink = {
    experimentId: exp.id, dir: `${experiment}/apply-${String(application).padStart(4, '0')}`, maxFrames: ctx.facility.config.containers.max_frames,
    recorded: () => apply.writtenPaths(application),
    record: (c, members) => apply.recordDerived(application, c, members),
  };
  if (apply.unfinished(exp.id)!.state === 'writing') {
    summary.removedUnrecorded = await removeUnrecorded(ctx, target);
    const done = apply.pendingKeys(summary.application);
    const total = worked.groups.reduce((n, g) => n + g.frames.length, 0);
    let frames = 0;
    ctx.onProgress?.(0, total);
    for (const group of worked.groups) {
      const todo = group.frames.filter((f) => !done.has(`${f.frameId}:${group.keep.product}`));
      frames += group.frames.length - todo.length;
      if (todo.length === 0) continue;
      const written = await writeDerived(ctx, target, { ...group, frames: todo }, () => ctx.onProgress?.(++frames, total));
      for (const c of written) (summary.written.containers += 1, summary.written.bytes += c.bytes);
    }
    apply.switchDecisions(summary.application, worked.relifed);
  }
  const jobId = ctx.store.startJob('apply', { experiment, policy: `${policy.name} v${policy.version}`, application: summary.application }, ctx.owner);
  for (const copy of apply.unreferencedCopies(exp.id)) {
    const p = ctx.store.placement(copy.placementId)!;
    ctx.store.planDeletion(jobId, {
      containerId: p.containerId, placementId: p.placementId, tier: p.tier, location: p.location, bytes: p.bytes, sha256: p.sha256,
      policy: `${policy.name} v${policy.version}${APPLIED}`, rules: [...new Set(ctx.store.containerRules(p.containerId).map((r) => r.rule))],
      lifecycleEnd: new Date().toISOString(),
    });
  }
  const ids = new Set(apply.unreferencedCopies(exp.id).map((c) => c.placementId));
  const dropped = await deleteCopies(ctx, ctx.store.activeDeletions().filter((d) => ids.has(d.placementId)));
  summary.dropped = dropped.deleted;
  summary.failed = dropped.failed;
  summary.interrupted = dropped.interrupted;
  const finished = !dropped.interrupted && dropped.failed.length === 0;
  ctx.store.finishJob(jobId, finished ? 'complete' : dropped.interrupted ? 'interrupted' : 'failed', { dropped: summary.dropped, failed: summary.failed.length });
  if (finished) {
    const after = apply.containers(exp.id).filter((c) => c.live);
    summary.after = { containers: after.length, bytes: after.reduce((n, c) => n + c.bytes, 0), estimated: false };
    apply.finish(summary.application, { written: summary.written, dropped: summary.dropped, after: { containers: summary.after.containers, bytes: summary.after.bytes } });
  }
  return summary;
}

function policiesInForce(apply: ApplyCatalog, experimentId: number): string[] {
  const names = new Set<string>();
  for (const d of apply.currentDecisions(experimentId)) names.add(d.policy);
  return [...names];
}

function refuseBusy(apply: ApplyCatalog, experimentId: number, experiment: string, isAlive: (owner: string) => boolean): void {
  const busy = apply.busy(experimentId);
  const running = busy.runs.filter((r) => r.owner !== null && isAlive(r.owner));
  const what = [
    running.length > 0 ? `ingest run ${running.map((r) => r.number).join(', ')} is running` : '',
    busy.transfers > 0 ? `${busy.transfers} of its containers are being migrated (run sxarchive migrate to finish)` : '',
    busy.recalls > 0 ? `${busy.recalls} recall(s) of it are unfinished` : '',
  ].filter(Boolean);
  if (what.length > 0) throw new SxError('usage', `experiment "${experiment}": ${what.join('; ')}; apply a policy when that is done`);
}

/** `1.2 GB -> 40 MB kept (saves 1.16 GB)`. */
export function describeSaving(before: number, after: number): string {
  return `${formatBytes(before)} -> ${formatBytes(after)} kept (${after <= before ? `saves ${formatBytes(before - after)}` : `adds ${formatBytes(after - before)}`})`;
}
