// A migration pass: every container whose lifecycle step has ended is copied to its next tier,
// verified there by checksum, committed, and only then removed from where it was. Each step is
// one catalog transaction, so a pass killed anywhere resumes on the next run.
import { LEASE_MS, type Transfer } from '../catalog/lifecycle.ts';
import { formatBytes } from '../bytes.ts';
import { SxError } from '../errors.ts';
import type { OpenAggregate } from '../tiers/tape.ts';
import { ChecksumError, TierFullError } from '../tiers/types.ts';
import { digestCopy, dropAggregateIfEmpty, isNoSpace, localCopy, type LifecycleContext } from './context.ts';
import { CORRUPT_SOURCE_REASON as CORRUPT_SOURCE, containerLifecycle, planLifecycle, type HeldContainer, type LifecyclePlan } from './plan.ts';
import { deleteCopies } from './expire.ts';
import type { ReductionTally } from './reduce.ts';
import { stepEnd } from './schedule.ts';

export interface PausedTier {
  tier: string;
  containers: number;
  bytesNeeded: number;
  freeBytes: number;
  message: string;
}

/** What a run of transfers did (a migration pass, or verify's repairs). */
export interface TransferTally {
  moved: { containers: number; bytes: number };
  paused: PausedTier[];
  failed: { path: string; tier: string; reason: string }[];
  aggregates: { tier: string; name: string; members: number; bytes: number }[];
  interrupted: boolean;
}

export interface MigrateSummary extends TransferTally {
  jobId: number;
  asOf: string;
  /** Containers whose lifecycle reached a step with another form: reduced, the old copies deleted. */
  reduced: ReductionTally['reduced'];
  resumed: number;
  held: HeldContainer[];
  /** What a killed pass left and this one cleaned up first. */
  recovered: { aggregates: number; jobs: number };
}

export interface MigrateOptions {
  asOf: Date;
  experiment?: string;
}

/** Aggregates whose writer died: their partial files go, their members fail (sources untouched) and are planned again. */
export async function recoverAggregates(ctx: LifecycleContext): Promise<number> {
  let n = 0;
  for (const agg of ctx.store.aggregates({ state: 'open' })) {
    if (agg.owner !== null && ctx.isAlive(agg.owner)) continue;
    const tier = ctx.tiers.get(agg.tier);
    if (tier.kind === 'tape') await tier.tape.discard(agg.name);
    ctx.store.failAggregate(agg.id, `interrupted: its writer ${agg.owner} is gone`);
    n += 1;
  }
  // Closed aggregates none of whose members hold data any more (a pass died after trimming the last).
  for (const agg of ctx.store.aggregates({ state: 'closed' })) await dropAggregateIfEmpty(ctx, agg);
  // Multipart uploads a killed pass began: older than a lease, so no live process still sends them.
  for (const name of ctx.tiers.names) {
    const driver = ctx.tiers.get(name).driver as Partial<{ abortAbandonedUploads(olderThanMs: number): Promise<unknown[]> }>;
    try {
      await driver.abortAbandonedUploads?.(LEASE_MS);
    } catch (err) {
      ctx.onStatus?.(`could not clean up old uploads on ${name}: ${(err as Error).message}`);
    }
  }
  return n;
}

/** The plan a pass would carry out now (what `migrate --dry-run` prints). */
export function planMigration(ctx: Pick<LifecycleContext, 'store' | 'facility'>, options: MigrateOptions): LifecyclePlan {
  return planLifecycle(ctx.store, ctx.facility.config, { asOf: options.asOf, experiment: options.experiment, kind: 'migrate' });
}

interface OpenTapeAggregate {
  id: number;
  name: string;
  writer: OpenAggregate;
  members: Transfer[];
}

/**
 * Carries transfers through their states: copy (into a tape aggregate, or as one object),
 * verify, commit, then trim the source (a repair: retire the bad copy it replaces).
 */
export class TransferRunner {
  private readonly ctx: LifecycleContext;
  private readonly summary: TransferTally;
  private readonly free = new Map<string, number | undefined>();
  private readonly full = new Map<string, PausedTier>();
  private readonly open = new Map<string, OpenTapeAggregate>();
  private readonly turns = new Map<string, Promise<unknown>>();
  private readonly leased = new Set<number>();
  private done = 0;
  private total = 0;

  constructor(ctx: LifecycleContext, summary: TransferTally) {
    this.ctx = ctx;
    this.summary = summary;
  }

  /** Transfers planned again during the run (the good members of an aggregate dropped for a corrupt one). */
  private readonly again: Transfer[] = [];

  async run(transfers: Transfer[]): Promise<void> {
    this.total = transfers.reduce((n, t) => n + (this.ctx.store.placement(t.sourcePlacementId)?.bytes ?? 0), 0);
    this.ctx.onProgress?.(0, this.total);
    const queue = [...transfers];
    const lane = async () => {
      for (let t = queue.shift() ?? this.again.shift(); t !== undefined; t = queue.shift() ?? this.again.shift()) {
        if (this.ctx.signal?.aborted) {
          this.summary.interrupted = true;
          return;
        }
        if (!this.ctx.store.takeLease('transfers', t.id, this.ctx.owner, this.ctx.isAlive)) continue;
        this.leased.add(t.id);
        await this.step(this.ctx.store.transfer(t.id));
      }
    };
    // Leases last LEASE_MS; a pass holds its transfers' (a tape member's until its aggregate closes) for as long as it runs.
    const renewal = setInterval(() => this.ctx.store.renewLeases('transfers', this.leased, this.ctx.owner), LEASE_MS / 3);
    renewal.unref();
    try {
      // Every lane finishes its step before the aggregates close, even when another failed.
      const lanes = await Promise.allSettled(Array.from({ length: LANES }, lane));
      const failed = lanes.find((l) => l.status === 'rejected');
      if (failed) throw failed.reason;
    } finally {
      // The end of a pass closes every aggregate it began, so it leaves only complete tar files.
      try {
        for (const tier of [...this.open.keys()]) await this.closeAggregate(tier);
      } finally {
        clearInterval(renewal);
      }
    }
  }

  private async step(t: Transfer): Promise<void> {
    // Another pass finished it between our plan and our lease: its move is that pass's, not ours.
    if (t.state === 'trimmed' || t.state === 'failed') return;
    const source = this.ctx.store.placement(t.sourcePlacementId);
    if (!source) return this.ctx.store.fail(t.id, 'its source copy is not in the catalog');
    const tier = this.ctx.tiers.get(t.destTier);
    const bytes = source.bytes;
    try {
      if (t.state === 'planned' || t.state === 'paused' || t.state === 'copying') {
        if (source.stateNow !== 'active' && source.stateNow !== 'verified') return this.ctx.store.fail(t.id, `its source copy on ${source.tier} is ${source.stateNow}`);
        if (this.full.has(t.destTier)) return this.pauseForRoom(t, bytes);
        // One copy at a time per destination (sequential writes); the read-back checks run beside it.
        const copied = await this.inTurn(t.destTier, async () => {
          if (this.full.has(t.destTier) || !(await this.hasRoom(t.destTier, bytes))) {
            this.pauseForRoom(t, bytes);
            return false;
          }
          if (tier.kind === 'tape') {
            await this.addToAggregate(t, source);
            return false;
          }
          this.ctx.store.startCopy(t.id, { tier: t.destTier, location: tier.driver.locate(source.path), step: t.destStep });
          const local = await localCopy(this.ctx, source);
          try {
            await tier.driver.put(source.path, local.file, { sha256: source.sha256, signal: this.ctx.signal, onProgress: (n) => this.ctx.onProgress?.(this.done + n, this.total) });
          } finally {
            await local.done();
          }
          this.useRoom(t.destTier, bytes);
          this.ctx.store.markVerifying(t.id);
          return true;
        });
        if (!copied) return;
        t = this.ctx.store.transfer(t.id);
      }
      if (t.state === 'verifying') await this.verifyAndCommit(t);
      t = this.ctx.store.transfer(t.id);
      if (t.state === 'committed') await this.trimSource(t);
      if (this.ctx.store.transfer(t.id).state === 'trimmed') {
        this.summary.moved.containers += 1;
        this.summary.moved.bytes += bytes;
      }
    } catch (err) {
      // Stopped by a signal mid-copy: the transfer stays as it is, and the next pass resumes it.
      if (this.ctx.signal?.aborted) {
        this.summary.interrupted = true;
        return;
      }
      if (err instanceof TierFullError || isNoSpace(err)) {
        this.free.set(t.destTier, err instanceof TierFullError ? err.freeBytes : 0);
        return this.pauseForRoom(t, bytes);
      }
      const reason = (err as Error).message;
      this.ctx.store.fail(t.id, reason);
      this.summary.failed.push({ path: source.path, tier: t.destTier, reason });
      if (!(err instanceof SxError) && !(err as NodeJS.ErrnoException).code) throw err;
    } finally {
      this.done += bytes;
      this.ctx.onProgress?.(this.done, this.total);
    }
  }

  /** Runs `work` after the tier's earlier turns: copies to a tier (a tape tier's aggregate: its members) go one at a time. */
  private inTurn<T>(tier: string, work: () => Promise<T>): Promise<T> {
    const turn = (this.turns.get(tier) ?? Promise.resolve()).then(work);
    this.turns.set(tier, turn.catch(() => {}));
    return turn;
  }

  /** Room on the destination, known once per pass and counted down as copies land. */
  private async hasRoom(tier: string, bytes: number): Promise<boolean> {
    if (!this.free.has(tier)) {
      this.ctx.onStatus?.(`measuring free space on ${tier}`);
      this.free.set(tier, (await this.ctx.tiers.get(tier).driver.space()).freeBytes);
    }
    const free = this.free.get(tier);
    const pending = this.open.get(tier)?.writer.bytes ?? 0;
    return free === undefined || bytes + pending + TAR_OVERHEAD <= free;
  }

  private useRoom(tier: string, bytes: number): void {
    const free = this.free.get(tier);
    if (free !== undefined) this.free.set(tier, free - bytes);
  }

  private pauseForRoom(t: Transfer, bytes: number): void {
    const freeBytes = Math.max(0, (this.free.get(t.destTier) ?? 0) - (this.open.get(t.destTier)?.writer.bytes ?? 0));
    const paused = this.full.get(t.destTier) ?? { tier: t.destTier, containers: 0, bytesNeeded: 0, freeBytes, message: '' };
    paused.containers += 1;
    paused.bytesNeeded += bytes;
    paused.message = `tier ${t.destTier} is full: ${paused.containers} container(s) need ${formatBytes(paused.bytesNeeded)}, ${formatBytes(freeBytes)} free; migration to it is paused (nothing was deleted) and resumes when there is room`;
    this.full.set(t.destTier, paused);
    this.ctx.store.pause(t.id, `tier ${t.destTier} is full: needs ${formatBytes(bytes)}, ${formatBytes(freeBytes)} free`);
    this.summary.paused = [...this.full.values()];
  }

  private async addToAggregate(t: Transfer, source: NonNullable<ReturnType<LifecycleContext['store']['placement']>>): Promise<void> {
    const tier = this.ctx.tiers.get(t.destTier);
    if (tier.kind !== 'tape') throw new Error(`tier ${t.destTier} is not a tape tier`);
    let agg = this.open.get(t.destTier);
    if (!agg) {
      const row = this.ctx.store.createAggregate(t.destTier, this.ctx.owner);
      agg = { id: row.id, name: row.name, writer: await tier.tape.open(row.name), members: [] };
      this.open.set(t.destTier, agg);
    }
    const placementId = this.ctx.store.startCopy(t.id, { tier: t.destTier, location: `${tier.driver.locate(agg.name)}#${source.path}`, step: t.destStep, aggregateId: agg.id });
    const local = await localCopy(this.ctx, source);
    try {
      const member = await agg.writer.add({ key: source.path, file: local.file, sha256: source.sha256, bytes: source.bytes, experiment: source.experiment });
      this.ctx.store.setMemberOffset(placementId, member.offset);
    } catch (err) {
      // A broken aggregate is dropped whole; its members' sources were never touched.
      this.open.delete(t.destTier);
      await agg.writer.abort();
      if (!(err instanceof ChecksumError)) {
        this.ctx.store.failAggregate(agg.id, (err as Error).message);
        throw err;
      }
      // The source copy is not what the catalog says: that container is held for verify (which
      // repairs it from another copy, if there is one); the good members go into a new aggregate now.
      const reason = `${CORRUPT_SOURCE}: ${err.message}; run sxarchive verify`;
      this.ctx.store.fail(t.id, reason);
      this.ctx.store.failAggregate(agg.id, `dropped: ${source.path} was corrupt on ${source.tier}`);
      this.summary.failed.push({ path: source.path, tier: t.destTier, reason });
      const ids = this.ctx.store.planTransfers(t.jobId, agg.members.map((m) => ({ kind: m.kind, containerId: m.containerId, sourcePlacementId: m.sourcePlacementId, destTier: m.destTier, destStep: m.destStep })));
      for (const id of ids) {
        if (!this.ctx.store.takeLease('transfers', id, this.ctx.owner, this.ctx.isAlive)) continue;
        this.leased.add(id);
        this.again.push(this.ctx.store.transfer(id));
      }
      return;
    } finally {
      await local.done();
    }
    agg.members.push(t);
    if (agg.writer.bytes >= tier.tape.aggregateSize) await this.closeAggregate(t.destTier);
  }

  /** Closes the tier's open aggregate, then verifies, commits and trims each of its members. */
  private async closeAggregate(tierName: string): Promise<void> {
    const agg = this.open.get(tierName);
    if (!agg) return;
    this.open.delete(tierName);
    let closed;
    try {
      this.ctx.onStatus?.(`closing ${agg.name} on ${tierName}`);
      closed = await agg.writer.close();
    } catch (err) {
      await agg.writer.abort();
      this.ctx.store.failAggregate(agg.id, (err as Error).message);
      if (err instanceof TierFullError || isNoSpace(err)) {
        for (const m of agg.members) this.pauseForRoom(m, this.ctx.store.placement(m.sourcePlacementId)?.bytes ?? 0);
        return;
      }
      for (const m of agg.members) this.summary.failed.push({ path: this.ctx.store.placement(m.sourcePlacementId)?.path ?? '?', tier: tierName, reason: (err as Error).message });
      return;
    }
    this.ctx.store.closeAggregate(agg.id, closed.bytes, closed.sha256, agg.members.length);
    this.useRoom(tierName, closed.bytes);
    this.summary.aggregates.push({ tier: tierName, name: agg.name, members: agg.members.length, bytes: closed.bytes });
    // The members are read back side by side: their hashing runs on every core.
    await Promise.all(agg.members.map(async (m) => {
      const t = this.ctx.store.transfer(m.id);
      const bytes = this.ctx.store.placement(t.sourcePlacementId)?.bytes ?? 0;
      try {
        await this.verifyAndCommit(t);
        if (this.ctx.store.transfer(t.id).state === 'committed') await this.trimSource(this.ctx.store.transfer(t.id));
        if (this.ctx.store.transfer(t.id).state === 'trimmed') {
          this.summary.moved.containers += 1;
          this.summary.moved.bytes += bytes;
        }
      } catch (err) {
        this.ctx.store.fail(t.id, (err as Error).message);
        this.summary.failed.push({ path: this.ctx.store.placement(t.sourcePlacementId)?.path ?? '?', tier: tierName, reason: (err as Error).message });
      }
    }));
  }

  /** verifying -> committed when the destination reads back with the catalog's checksum, else failed (the bad copy removed). */
  private async verifyAndCommit(t: Transfer): Promise<void> {
    const dest = t.destPlacementId === null ? undefined : this.ctx.store.placement(t.destPlacementId);
    if (!dest) return this.ctx.store.fail(t.id, 'its destination copy is not in the catalog');
    this.ctx.onStatus?.(`verifying ${dest.path} on ${dest.tier}`);
    const got = await digestCopy(this.ctx.tiers, dest);
    if (got.sha256 !== dest.sha256 || got.bytes !== dest.bytes) {
      const tier = this.ctx.tiers.get(dest.tier);
      if (tier.kind !== 'tape') await tier.driver.delete(dest.path);
      throw new SxError('store', `tier ${dest.tier}: ${dest.path} read back with SHA-256 ${got.sha256} (${got.bytes} bytes) after copying, expected ${dest.sha256} (${dest.bytes} bytes); the copy was dropped, the source kept`);
    }
    const known = containerLifecycle(this.ctx.store, this.ctx.facility.config, dest);
    const until = known.lifecycle ? stepEnd(known.lifecycle, new Date(dest.createdAt), t.destStep) : null;
    this.ctx.store.commit(t.id, until?.toISOString() ?? null);
  }

  /**
   * committed -> trimmed: the source copy is deleted (a tape member: its aggregate, once no
   * member needs it). A repair keeps its source and retires the bad copy, which the new copy
   * has overwritten (same key) or replaced (a new tape aggregate).
   */
  private async trimSource(t: Transfer): Promise<void> {
    const gone = this.ctx.store.placement(t.kind === 'repair' ? t.replacesPlacementId ?? -1 : t.sourcePlacementId);
    if (!gone) return this.ctx.store.trimmed(t.id);
    const tier = this.ctx.tiers.get(gone.tier);
    if (t.kind === 'migrate' && tier.kind !== 'tape') await tier.driver.delete(gone.path);
    this.ctx.store.trimmed(t.id);
    if (gone.aggregateId !== null && gone.aggregateName !== null) await dropAggregateIfEmpty(this.ctx, { id: gone.aggregateId, name: gone.aggregateName, tier: gone.tier });
  }
}

/** Transfers carried out side by side: while one is copied, two earlier ones are read back on the hashing threads. */
const LANES = 3;

/** Headers, padding and the manifest a member adds to an aggregate beyond its own bytes. */
const TAR_OVERHEAD = 64 * 1024;

/**
 * Runs one migration pass as of `asOf`: cleans up after a killed pass, plans, records the plan
 * as transfers, and carries each out (copy, verify, commit, trim).
 */
export async function migrate(ctx: LifecycleContext, options: MigrateOptions): Promise<MigrateSummary> {
  const jobs = ctx.store.closeDeadJobs(ctx.isAlive);
  const aggregates = await recoverAggregates(ctx);
  let plan = planMigration(ctx, options);
  const jobId = ctx.store.startJob('migrate', { asOf: plan.asOf, ...(options.experiment ? { experiment: options.experiment } : {}) }, ctx.owner);
  const summary: MigrateSummary = {
    jobId, asOf: plan.asOf, moved: { containers: 0, bytes: 0 }, reduced: { containers: 0, bytesBefore: 0, bytesAfter: 0 }, resumed: plan.resume.length, paused: [], failed: [], aggregates: [], held: plan.held,
    recovered: { aggregates, jobs }, interrupted: false,
  };
  try {
    // A killed pass may have recorded a reduction but not deleted what it replaced.
    const replaced = ctx.store.activeDeletions().filter((d) => ctx.store.containerFrames(d.containerId).length === 0);
    if (replaced.length > 0) summary.failed.push(...(await deleteCopies({ ...ctx, onProgress: undefined }, replaced)).failed);
    if (plan.reductions.length > 0) {
      // Loaded only when needed: it brings HDF5 in, which a pass that only copies files does without.
      const { reduceContainers } = await import('./reduce.ts');
      await reduceContainers(ctx, jobId, plan.reductions, summary);
      // The reduced containers move on (to tape, S3) in this pass.
      plan = planMigration(ctx, options);
    }
    for (const m of plan.moves) if (m.from.lifecycle === null) {
      const known = containerLifecycle(ctx.store, ctx.facility.config, m.from);
      if (known.lifecycle) ctx.store.setContainerLifecycle(m.containerId, known.lifecycle);
    }
    ctx.store.planTransfers(jobId, plan.moves.map((m) => ({ kind: 'migrate', containerId: m.containerId, sourcePlacementId: m.from.placementId, destTier: m.toTier, destStep: m.toStep })));
    const experiments = options.experiment === undefined ? undefined : new Set([options.experiment]);
    const work = ctx.store.activeTransfers().filter((t) => t.kind === 'migrate' && (!experiments || experiments.has(ctx.store.placement(t.sourcePlacementId)?.experiment ?? '')));
    await new TransferRunner(ctx, summary).run(work);
  } catch (err) {
    ctx.store.finishJob(jobId, 'failed', { ...summary }, (err as Error).message);
    throw err;
  }
  const state = summary.interrupted ? 'interrupted' : summary.failed.length > 0 ? 'failed' : summary.paused.length > 0 ? 'partial' : 'complete';
  ctx.store.finishJob(jobId, state, { ...summary, held: summary.held.length });
  return summary;
}
