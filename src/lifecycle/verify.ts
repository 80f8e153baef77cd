// Verification: every copy is read back and its SHA-256 compared with the catalog's; objects on
// a tier that the catalog does not know are reported as orphans. A bad copy with a good copy
// elsewhere is re-copied from the good one, and the repair recorded.
import { randomInt } from 'node:crypto';
import { basename, dirname } from 'node:path';
import type { LivePlacement } from '../catalog/lifecycle.ts';
import { PARTIAL_SUFFIX } from '../tiers/filesystem.ts';
import { digestCopy, type LifecycleContext } from './context.ts';
import { TransferRunner, type TransferTally } from './migrate.ts';

export interface VerifyOptions {
  tier?: string;
  experiment?: string;
  /** Check this fraction of the copies, drawn at random (orphans are then not looked for). */
  sample?: number;
}

export interface Finding {
  kind: 'corrupt' | 'missing' | 'orphaned';
  tier: string;
  location: string;
  experiment?: string;
  container?: string;
  detail: string;
  /** Re-copied from a good copy on this tier. */
  repairedFrom?: string;
}

export interface VerifySummary {
  jobId: number;
  checked: { copies: number; bytes: number };
  findings: Finding[];
  repaired: number;
  /** Bad copies with no good copy anywhere: kept as they are (they may be partly readable). */
  unrepairable: number;
  interrupted: boolean;
}

type Outcome = { ok: true } | { ok: false; kind: 'corrupt' | 'missing'; detail: string };

async function check(ctx: LifecycleContext, p: LivePlacement, onBytes?: (n: number) => void): Promise<Outcome> {
  try {
    const got = await digestCopy(ctx.tiers, p, onBytes);
    if (got.sha256 === p.sha256 && got.bytes === p.bytes) return { ok: true };
    return { ok: false, kind: 'corrupt', detail: `reads back as ${got.bytes} bytes with SHA-256 ${got.sha256}; the catalog has ${p.bytes} bytes, ${p.sha256}` };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.code === 'ENOENT' || e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404) return { ok: false, kind: 'missing', detail: 'not on the tier' };
    throw err;
  }
}

/** Keys on a tier that the catalog accounts for: its live copies, copies being written, and (tape) its aggregates. */
function knownKeys(ctx: LifecycleContext, tier: string): Set<string> {
  const keys = new Set<string>();
  for (const p of ctx.store.livePlacements({ tier })) keys.add(p.aggregateName ?? p.path);
  for (const agg of ctx.store.aggregates({ tier })) {
    if (agg.state === 'closed' || agg.state === 'open') keys.add(agg.name);
  }
  for (const w of ctx.store.writingPlacements()) if (w.tier === tier) keys.add(w.key);
  // What unfinished copies are writing: a fs tier's partial name of each known key.
  for (const key of [...keys]) keys.add(`${dirname(key) === '.' ? '' : `${dirname(key)}/`}.${basename(key)}${PARTIAL_SUFFIX}`);
  return keys;
}

export async function verify(ctx: LifecycleContext, options: VerifyOptions = {}): Promise<VerifySummary> {
  ctx.store.closeDeadJobs(ctx.isAlive);
  const jobId = ctx.store.startJob('verify', { ...options }, ctx.owner);
  const summary: VerifySummary = { jobId, checked: { copies: 0, bytes: 0 }, findings: [], repaired: 0, unrepairable: 0, interrupted: false };
  try {
    const tally: TransferTally = { moved: { containers: 0, bytes: 0 }, paused: [], failed: [], aggregates: [], interrupted: false };
    const runner = new TransferRunner(ctx, tally);
    // Repairs a killed verify left unfinished are finished first.
    await runner.run(ctx.store.activeTransfers().filter((t) => t.kind === 'repair'));

    let copies = ctx.store.livePlacements({ ...(options.tier ? { tier: options.tier } : {}), ...(options.experiment ? { experiment: options.experiment } : {}) });
    if (options.sample !== undefined) copies = copies.filter(() => randomInt(1_000_000) < options.sample! * 1_000_000);
    const total = copies.reduce((n, p) => n + p.bytes, 0);
    ctx.onProgress?.(0, total);
    const good = new Map<number, LivePlacement>();
    const bad: { i: number; p: LivePlacement; outcome: Exclude<Outcome, { ok: true }> }[] = [];
    // Two copies are read back at a time, so their hashing uses both cores.
    const reading = new Map<number, number>();
    const progress = () => ctx.onProgress?.(summary.checked.bytes + [...reading.values()].reduce((a, b) => a + b, 0), total);
    let next = 0;
    const lane = async () => {
      for (let i = next++; i < copies.length; i = next++) {
        if (ctx.signal?.aborted) {
          summary.interrupted = true;
          return;
        }
        const p = copies[i];
        const outcome = await check(ctx, p, (n) => {
          reading.set(i, n);
          progress();
        });
        reading.delete(i);
        summary.checked.copies += 1;
        summary.checked.bytes += p.bytes;
        progress();
        if (outcome.ok) {
          ctx.store.markVerified(p.placementId);
          good.set(p.containerId, p);
        } else bad.push({ i, p, outcome });
      }
    };
    const lanes = await Promise.allSettled([lane(), lane()]);
    const failed = lanes.find((l) => l.status === 'rejected');
    if (failed) throw failed.reason;
    bad.sort((a, b) => a.i - b.i);

    for (const { p, outcome } of bad) {
      const finding: Finding = { kind: outcome.kind, tier: p.tier, location: p.location, experiment: p.experiment, container: p.path, detail: outcome.detail };
      summary.findings.push(finding);
      const source = good.get(p.containerId) ?? (await goodCopyElsewhere(ctx, p));
      let repairedBy: number | undefined;
      if (source && !summary.interrupted) {
        const [id] = ctx.store.planTransfers(jobId, [{ kind: 'repair', containerId: p.containerId, sourcePlacementId: source.placementId, destTier: p.tier, destStep: p.step, replacesPlacementId: p.placementId }]);
        if (id !== undefined) {
          await runner.run([ctx.store.transfer(id)]);
          if (ctx.store.transfer(id).state === 'trimmed') {
            repairedBy = id;
            finding.repairedFrom = source.tier;
            summary.repaired += 1;
          }
        }
      }
      if (repairedBy === undefined) summary.unrepairable += 1;
      ctx.store.recordFinding(jobId, { tier: p.tier, kind: outcome.kind, containerId: p.containerId, placementId: p.placementId, location: p.location, detail: outcome.detail, repairedBy });
    }

    if (options.sample === undefined && !summary.interrupted) {
      for (const tier of options.tier ? [options.tier] : ctx.tiers.names) {
        const known = knownKeys(ctx, tier);
        const driver = ctx.tiers.get(tier).driver;
        for await (const o of driver.list(options.experiment ? `${options.experiment}/` : '')) {
          if (known.has(o.key)) continue;
          const detail = `${o.bytes} bytes that the catalog does not know (left alone: look before deleting it)`;
          summary.findings.push({ kind: 'orphaned', tier, location: driver.locate(o.key), detail });
          ctx.store.recordFinding(jobId, { tier, kind: 'orphaned', location: driver.locate(o.key), detail });
        }
      }
    }
  } catch (err) {
    ctx.store.finishJob(jobId, 'failed', { checked: summary.checked, findings: summary.findings.length }, (err as Error).message);
    throw err;
  }
  const state = summary.interrupted ? 'interrupted' : summary.findings.length > 0 ? 'failed' : 'complete';
  ctx.store.finishJob(jobId, state, { checked: summary.checked, findings: summary.findings.length, repaired: summary.repaired, unrepairable: summary.unrepairable });
  return summary;
}

/** Another copy of the container (outside the tiers or experiment checked) that reads back right. */
async function goodCopyElsewhere(ctx: LifecycleContext, bad: LivePlacement): Promise<LivePlacement | undefined> {
  for (const other of ctx.store.livePlacements({ containerId: bad.containerId })) {
    if (other.placementId === bad.placementId) continue;
    if ((await check(ctx, other)).ok) return other;
  }
  return undefined;
}
