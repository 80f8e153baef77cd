// The catalog side of lifecycles: live placements, transfers between tiers, tape aggregates,
// deletions and jobs. Every state change is one transaction, so a crash leaves each row in
// one state or the next, never between; leases keep two processes off one container.
import type { SqlDatabase } from './sql.ts';
import { prepared } from './statements.ts';
import type { ContainerForm, DerivedContainer, LifecycleSpan } from './types.ts';

export interface LivePlacement {
  placementId: number;
  containerId: number;
  experimentId: number;
  experiment: string;
  /** The container's key on every tier: `experiment/run-0001/raw-00001.h5`. */
  path: string;
  product: string;
  bytes: number;
  sha256: string;
  /** null for a container recorded before lifecycles were (see LifecycleSource.containerRules). */
  lifecycle: LifecycleSpan[] | null;
  /** What it holds as its policy said it; null for a container recorded before migration 009. */
  form: ContainerForm | null;
  createdAt: string;
  tier: string;
  location: string;
  step: number;
  state: 'active' | 'verified';
  validUntil: string | null;
  aggregateId: number | null;
  aggregateName: string | null;
  memberOffset: number | null;
}

export type TransferState = 'planned' | 'copying' | 'verifying' | 'committed' | 'trimmed' | 'failed' | 'paused';
export type TransferKind = 'migrate' | 'repair';

export interface Transfer {
  id: number;
  jobId: number | null;
  kind: TransferKind;
  containerId: number;
  sourcePlacementId: number;
  destTier: string;
  destStep: number;
  destPlacementId: number | null;
  /** A repair's bad copy, retired once the new one is committed. */
  replacesPlacementId: number | null;
  state: TransferState;
  reason: string | null;
  leaseOwner: string | null;
  leaseUntil: string | null;
}

export interface Aggregate {
  id: number;
  tier: string;
  name: string;
  state: 'open' | 'closed' | 'failed' | 'deleted';
  owner: string | null;
  bytes: number | null;
  sha256: string | null;
  members: number;
}

export type DeletionState = 'planned' | 'deleting' | 'deleted' | 'failed';

export interface Deletion {
  id: number;
  containerId: number;
  placementId: number;
  tier: string;
  location: string;
  bytes: number;
  state: DeletionState;
  leaseOwner: string | null;
  leaseUntil: string | null;
}

export interface NewDeletion {
  containerId: number;
  placementId: number;
  tier: string;
  location: string;
  bytes: number;
  sha256: string;
  policy: string | null;
  rules: string[];
  lifecycleEnd: string;
}

export interface KeptFrame {
  frameId: number;
  source: string;
  event: string;
  product: string;
  containerId: number;
  containerIndex: number;
  path: string;
}

export type JobKind = 'migrate' | 'expire' | 'verify' | 'recall' | 'apply';

/** How long a lease holds without renewal: a process on another host that stops renewing loses its containers after this. */
export const LEASE_MS = 10 * 60_000;

const now = () => new Date().toISOString();

interface PlacementRow {
  placementId: number; containerId: number; experimentId: number; experiment: string; path: string; product: string; bytes: number;
  sha256: string; lifecycle: string | null; form: string | null; createdAt: string; tier: string; location: string; step: number; state: 'active' | 'verified';
  validUntil: string | null; aggregateId: number | null; aggregateName: string | null; memberOffset: number | null;
}

const PLACEMENT_COLUMNS = `p.id AS placementId, c.id AS containerId, e.id AS experimentId, e.name AS experiment, c.path, c.product, c.bytes, c.sha256,
  c.lifecycle, c.form, c.created_at AS createdAt, p.tier, p.location, p.step, p.state, p.valid_until AS validUntil,
  p.aggregate_id AS aggregateId, a.name AS aggregateName, p.member_offset AS memberOffset`;
const PLACEMENT_FROM = `placements p JOIN containers c ON c.id = p.container_id JOIN experiments e ON e.id = c.experiment_id
  LEFT JOIN aggregates a ON a.id = p.aggregate_id`;

function toPlacement(r: PlacementRow): LivePlacement {
  return { ...r, lifecycle: r.lifecycle === null ? null : (JSON.parse(r.lifecycle) as LifecycleSpan[]), form: r.form === null ? null : (JSON.parse(r.form) as ContainerForm) };
}

const TRANSFER_COLUMNS = `id, job_id AS jobId, kind, container_id AS containerId, source_placement_id AS sourcePlacementId, dest_tier AS destTier,
  dest_step AS destStep, dest_placement_id AS destPlacementId, replaces_placement_id AS replacesPlacementId, state, reason, lease_owner AS leaseOwner, lease_until AS leaseUntil`;

/**
 * Lifecycle state in the catalog; an open catalog holds one as `catalog.lifecycle`.
 *
 * @example
 * for (const p of catalog.lifecycle.livePlacements({ experiment: 'lyso' })) console.log(p.tier, p.path);
 */
export class LifecycleCatalog {
  private readonly db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.db = db;
  }

  /** Copies that hold data now (active or verified), optionally of one experiment, tier or container. */
  livePlacements(filter: { experiment?: string; tier?: string; containerId?: number } = {}): LivePlacement[] {
    const where = ["p.state IN ('active', 'verified')"];
    const args: (string | number)[] = [];
    if (filter.experiment !== undefined) (where.push('e.name = ?'), args.push(filter.experiment));
    if (filter.tier !== undefined) (where.push('p.tier = ?'), args.push(filter.tier));
    if (filter.containerId !== undefined) (where.push('c.id = ?'), args.push(filter.containerId));
    const rows = prepared(this.db, `SELECT ${PLACEMENT_COLUMNS} FROM ${PLACEMENT_FROM} WHERE ${where.join(' AND ')} ORDER BY c.id, p.id`).all(...args) as PlacementRow[];
    return rows.map(toPlacement);
  }

  placement(id: number): (LivePlacement & { stateNow: string }) | undefined {
    const row = prepared(this.db, `SELECT ${PLACEMENT_COLUMNS}, p.state AS stateNow FROM ${PLACEMENT_FROM} WHERE p.id = ?`).get(id) as (PlacementRow & { stateNow: string }) | undefined;
    return row && { ...toPlacement(row), stateNow: row.stateNow };
  }

  /** The policies and rules whose decisions put frames into the container (for its lifecycle and deletion record). */
  containerRules(containerId: number): { policy: string; policyText: string; rule: string; product: string }[] {
    return prepared(this.db, `SELECT DISTINCT p.name || ' v' || p.version AS policy, p.text AS policyText, d.rule, d.product
                FROM decisions d JOIN policies p ON p.id = d.policy_id WHERE d.container_id = ? ORDER BY d.rule`)
      .all(containerId) as { policy: string; policyText: string; rule: string; product: string }[];
  }

  /** Fills in the lifecycle of a container recorded before lifecycles were. */
  setContainerLifecycle(containerId: number, lifecycle: LifecycleSpan[]): void {
    prepared(this.db, 'UPDATE containers SET lifecycle = ? WHERE id = ? AND lifecycle IS NULL').run(JSON.stringify(lifecycle), containerId);
  }

  // --- jobs

  startJob(kind: JobKind, params: Record<string, unknown>, owner: string): number {
    const at = now();
    return Number(prepared(this.db, "INSERT INTO jobs (kind, state, params, owner, created_at, updated_at) VALUES (?, 'running', ?, ?, ?, ?)").run(kind, JSON.stringify(params), owner, at, at).lastInsertRowid);
  }

  finishJob(id: number, state: 'complete' | 'partial' | 'failed' | 'interrupted', summary: Record<string, unknown>, error?: string): void {
    const at = now();
    prepared(this.db, 'UPDATE jobs SET state = ?, summary = ?, error = ?, updated_at = ?, finished_at = ? WHERE id = ?').run(state, JSON.stringify(summary), error ?? null, at, at, id);
  }

  jobState(id: number): string {
    return (prepared(this.db, 'SELECT state FROM jobs WHERE id = ?').get(id) as { state: string }).state;
  }

  /** Jobs left 'running' by processes that are gone: closed as interrupted. */
  closeDeadJobs(isAlive: (owner: string) => boolean): number {
    return this.db.transaction(() => {
      const rows = prepared(this.db, "SELECT id, owner FROM jobs WHERE state = 'running'").all() as { id: number; owner: string | null }[];
      const dead = rows.filter((r) => r.owner === null || !isAlive(r.owner));
      const at = now();
      for (const r of dead) prepared(this.db, "UPDATE jobs SET state = 'interrupted', updated_at = ?, finished_at = ? WHERE id = ?").run(at, at, r.id);
      return dead.length;
    }).immediate();
  }

  // --- transfers

  /** Transfers not yet finished (planned, copying, verifying, committed, paused). */
  activeTransfers(): Transfer[] {
    return prepared(this.db, `SELECT ${TRANSFER_COLUMNS} FROM transfers WHERE state IN ('planned', 'copying', 'verifying', 'committed', 'paused') ORDER BY id`).all() as Transfer[];
  }

  transfer(id: number): Transfer {
    return prepared(this.db, `SELECT ${TRANSFER_COLUMNS} FROM transfers WHERE id = ?`).get(id) as Transfer;
  }

  /**
   * Records planned transfers in one transaction. A container that has an unfinished transfer
   * already gets no second one (the unique index); returns the ids of those recorded.
   */
  planTransfers(jobId: number | null, items: { kind: TransferKind; containerId: number; sourcePlacementId: number; destTier: string; destStep: number; replacesPlacementId?: number }[]): number[] {
    const insert = prepared(this.db, `INSERT OR IGNORE INTO transfers (job_id, kind, container_id, source_placement_id, dest_tier, dest_step, replaces_placement_id, state, created_at, updated_at)
                                    VALUES (?, ?, ?, ?, ?, ?, ?, 'planned', ?, ?)`);
    return this.db.transaction(() => {
      const at = now();
      const ids: number[] = [];
      for (const t of items) {
        const info = insert.run(jobId, t.kind, t.containerId, t.sourcePlacementId, t.destTier, t.destStep, t.replacesPlacementId ?? null, at, at);
        if (info.changes > 0) ids.push(Number(info.lastInsertRowid));
      }
      return ids;
    }).immediate();
  }

  /** The container's most recent transfer: its state and reason. */
  lastTransfer(containerId: number): { state: TransferState; reason: string | null } | undefined {
    return prepared(this.db, 'SELECT state, reason FROM transfers WHERE container_id = ? ORDER BY id DESC LIMIT 1').get(containerId) as { state: TransferState; reason: string | null } | undefined;
  }

  /**
   * Takes (or renews) the lease on a transfer or deletion: granted when nobody holds it, this
   * process does, the holder is dead, or its lease ran out.
   */
  takeLease(table: 'transfers' | 'deletions', id: number, owner: string, isAlive: (owner: string) => boolean): boolean {
    return this.db.transaction(() => {
      const row = prepared(this.db, `SELECT lease_owner AS leaseOwner, lease_until AS leaseUntil FROM ${table} WHERE id = ?`).get(id) as { leaseOwner: string | null; leaseUntil: string | null } | undefined;
      if (!row) return false;
      const free = row.leaseOwner === null || row.leaseOwner === owner || row.leaseUntil === null || row.leaseUntil < now() || !isAlive(row.leaseOwner);
      if (!free) return false;
      prepared(this.db, `UPDATE ${table} SET lease_owner = ?, lease_until = ? WHERE id = ?`).run(owner, new Date(Date.now() + LEASE_MS).toISOString(), id);
      return true;
    }).immediate();
  }

  /** Extends the leases `owner` holds on these rows by another LEASE_MS (a copy longer than a lease keeps its work). */
  renewLeases(table: 'transfers' | 'deletions', ids: Iterable<number>, owner: string): void {
    const until = new Date(Date.now() + LEASE_MS).toISOString();
    const renew = prepared(this.db, `UPDATE ${table} SET lease_until = ? WHERE id = ? AND lease_owner = ?`);
    this.db.transaction(() => {
      for (const id of ids) renew.run(until, id, owner);
    }).immediate();
  }

  releaseLease(table: 'transfers' | 'deletions', id: number): void {
    prepared(this.db, `UPDATE ${table} SET lease_owner = NULL, lease_until = NULL WHERE id = ?`).run(id);
  }

  /**
   * planned (or a resumed copying/paused) -> copying, with the destination placement ('writing')
   * recorded before a byte is copied, so a crash leaves a row that names what to clean up.
   */
  startCopy(transferId: number, dest: { tier: string; location: string; step: number; aggregateId?: number }): number {
    return this.db.transaction(() => {
      const t = this.transfer(transferId);
      const at = now();
      let placementId = t.destPlacementId;
      if (placementId === null) {
        placementId = Number(prepared(this.db, `INSERT INTO placements (container_id, tier, location, valid_from, state, step, aggregate_id)
                                              VALUES (?, ?, ?, ?, 'writing', ?, ?)`).run(t.containerId, dest.tier, dest.location, at, dest.step, dest.aggregateId ?? null).lastInsertRowid);
      } else {
        prepared(this.db, "UPDATE placements SET location = ?, aggregate_id = ?, member_offset = NULL, state = 'writing', ended_at = NULL WHERE id = ?").run(dest.location, dest.aggregateId ?? null, placementId);
      }
      prepared(this.db, "UPDATE transfers SET state = 'copying', dest_placement_id = ?, reason = NULL, updated_at = ? WHERE id = ?").run(placementId, at, transferId);
      return placementId;
    }).immediate();
  }

  setMemberOffset(placementId: number, offset: number): void {
    prepared(this.db, 'UPDATE placements SET member_offset = ? WHERE id = ?').run(offset, placementId);
  }

  markVerifying(transferId: number): void {
    prepared(this.db, "UPDATE transfers SET state = 'verifying', updated_at = ? WHERE id = ? AND state = 'copying'").run(now(), transferId);
  }

  /**
   * verifying -> committed: the destination copy was read back with the right checksum and
   * now holds the data (valid over its lifecycle step).
   */
  commit(transferId: number, validUntil: string | null): void {
    this.db.transaction(() => {
      const t = this.transfer(transferId);
      const at = now();
      prepared(this.db, "UPDATE placements SET state = 'verified', verified_at = ?, valid_from = ?, valid_until = ? WHERE id = ?").run(at, at, validUntil, t.destPlacementId);
      prepared(this.db, "UPDATE transfers SET state = 'committed', updated_at = ? WHERE id = ?").run(at, transferId);
    }).immediate();
  }

  /** committed -> trimmed: the source copy is gone (a repair: the bad copy it replaces is retired as failed). */
  trimmed(transferId: number): void {
    this.db.transaction(() => {
      const t = this.transfer(transferId);
      const at = now();
      if (t.kind === 'repair') prepared(this.db, "UPDATE placements SET state = 'failed', ended_at = ? WHERE id = ?").run(at, t.replacesPlacementId);
      else prepared(this.db, "UPDATE placements SET state = 'trimmed', ended_at = ? WHERE id = ?").run(at, t.sourcePlacementId);
      prepared(this.db, "UPDATE transfers SET state = 'trimmed', lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE id = ?").run(at, transferId);
    }).immediate();
  }

  /** -> failed: the destination copy (if begun) is recorded as failed; the source is untouched. */
  fail(transferId: number, reason: string): void {
    this.db.transaction(() => {
      const t = this.transfer(transferId);
      const at = now();
      if (t.destPlacementId !== null) prepared(this.db, "UPDATE placements SET state = 'failed', ended_at = ? WHERE id = ? AND state = 'writing'").run(at, t.destPlacementId);
      prepared(this.db, "UPDATE transfers SET state = 'failed', reason = ?, lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE id = ?").run(reason, at, transferId);
    }).immediate();
  }

  /** -> paused (a full destination): waits for the next pass; a begun destination copy is dropped. */
  pause(transferId: number, reason: string): void {
    this.db.transaction(() => {
      const t = this.transfer(transferId);
      const at = now();
      if (t.destPlacementId !== null) prepared(this.db, "UPDATE placements SET state = 'failed', ended_at = ? WHERE id = ? AND state = 'writing'").run(at, t.destPlacementId);
      prepared(this.db, "UPDATE transfers SET state = 'paused', reason = ?, dest_placement_id = NULL, lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE id = ?").run(reason, at, transferId);
    }).immediate();
  }

  /** A copy read back with the catalog's checksum. */
  markVerified(placementId: number): void {
    prepared(this.db, 'UPDATE placements SET verified_at = ? WHERE id = ?').run(now(), placementId);
  }

  /** Placements being written by unfinished transfers (their partial objects are not orphans). */
  writingPlacements(): { tier: string; key: string }[] {
    return prepared(this.db, `SELECT p.tier, COALESCE(a.name, c.path) AS key FROM placements p JOIN containers c ON c.id = p.container_id
                            LEFT JOIN aggregates a ON a.id = p.aggregate_id WHERE p.state = 'writing'`).all() as { tier: string; key: string }[];
  }

  recordFinding(jobId: number, f: { tier: string; kind: 'corrupt' | 'missing' | 'orphaned'; containerId?: number; placementId?: number; location: string; detail: string; repairedBy?: number }): void {
    prepared(this.db, 'INSERT INTO verify_findings (job_id, tier, kind, container_id, placement_id, location, detail, repaired_by, found_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(jobId, f.tier, f.kind, f.containerId ?? null, f.placementId ?? null, f.location, f.detail, f.repairedBy ?? null, now());
  }

  // --- tape aggregates

  /** A new aggregate on a tape tier, open and owned by this process; its name comes from its id. */
  createAggregate(tier: string, owner: string): Aggregate {
    return this.db.transaction(() => {
      const at = now();
      const id = Number(prepared(this.db, "INSERT INTO aggregates (tier, name, state, owner, created_at) VALUES (?, '', 'open', ?, ?)").run(tier, owner, at).lastInsertRowid);
      const name = `aggregates/${at.slice(0, 7)}/agg-${String(id).padStart(8, '0')}.tar`;
      prepared(this.db, 'UPDATE aggregates SET name = ? WHERE id = ?').run(name, id);
      return this.aggregate(id);
    }).immediate();
  }

  aggregate(id: number): Aggregate {
    return prepared(this.db, 'SELECT id, tier, name, state, owner, bytes, sha256, members FROM aggregates WHERE id = ?').get(id) as Aggregate;
  }

  aggregates(filter: { tier?: string; state?: Aggregate['state'] } = {}): Aggregate[] {
    const where = ['1 = 1'];
    const args: string[] = [];
    if (filter.tier !== undefined) (where.push('tier = ?'), args.push(filter.tier));
    if (filter.state !== undefined) (where.push('state = ?'), args.push(filter.state));
    return prepared(this.db, `SELECT id, tier, name, state, owner, bytes, sha256, members FROM aggregates WHERE ${where.join(' AND ')} ORDER BY id`).all(...args) as Aggregate[];
  }

  /** The aggregate is complete on its target: its members' transfers go on to verifying, in the same transaction. */
  closeAggregate(id: number, bytes: number, sha256: string, members: number): void {
    this.db.transaction(() => {
      const at = now();
      prepared(this.db, "UPDATE aggregates SET state = 'closed', bytes = ?, sha256 = ?, members = ?, closed_at = ? WHERE id = ?").run(bytes, sha256, members, at, id);
      prepared(this.db, `UPDATE transfers SET state = 'verifying', updated_at = ? WHERE state = 'copying'
                       AND dest_placement_id IN (SELECT id FROM placements WHERE aggregate_id = ?)`).run(at, id);
    }).immediate();
  }

  /** An aggregate abandoned (its writer died or failed): its members' transfers fail, their sources untouched. */
  failAggregate(id: number, reason: string): void {
    this.db.transaction(() => {
      const at = now();
      const transfers = prepared(this.db, `SELECT id FROM transfers WHERE state IN ('copying', 'verifying')
                                         AND dest_placement_id IN (SELECT id FROM placements WHERE aggregate_id = ?)`).all(id) as { id: number }[];
      for (const t of transfers) this.fail(t.id, reason);
      prepared(this.db, "UPDATE placements SET state = 'failed', ended_at = ? WHERE aggregate_id = ? AND state = 'writing'").run(at, id);
      prepared(this.db, "UPDATE aggregates SET state = 'failed', reason = ?, closed_at = ? WHERE id = ?").run(reason, at, id);
    }).immediate();
  }

  /** Members of the aggregate that still hold data, or are being written. */
  liveMembers(aggregateId: number): number {
    return (prepared(this.db, "SELECT COUNT(*) AS n FROM placements WHERE aggregate_id = ? AND state IN ('writing', 'active', 'verified')").get(aggregateId) as { n: number }).n;
  }

  markAggregateDeleted(id: number): void {
    prepared(this.db, "UPDATE aggregates SET state = 'deleted', deleted_at = ? WHERE id = ?").run(now(), id);
  }

  // --- deletions (expiry)

  /** Records a planned deletion of a copy, unless one is recorded for it already (a failed one is planned again); returns its id. */
  planDeletion(jobId: number, d: NewDeletion): number {
    return this.db.transaction(() => {
      const existing = prepared(this.db, 'SELECT id, state FROM deletions WHERE placement_id = ?').get(d.placementId) as { id: number; state: DeletionState } | undefined;
      // A deletion that failed before is tried again.
      if (existing?.state === 'failed') prepared(this.db, "UPDATE deletions SET state = 'planned', reason = NULL, job_id = ? WHERE id = ?").run(jobId, existing.id);
      if (existing) return existing.id;
      return Number(prepared(this.db, `INSERT INTO deletions (job_id, container_id, placement_id, tier, location, bytes, sha256, policy, rules, lifecycle_end, state, created_at)
                                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'planned', ?)`)
        .run(jobId, d.containerId, d.placementId, d.tier, d.location, d.bytes, d.sha256, d.policy, JSON.stringify(d.rules), d.lifecycleEnd, now()).lastInsertRowid);
    }).immediate();
  }

  activeDeletions(): Deletion[] {
    return prepared(this.db, `SELECT id, container_id AS containerId, placement_id AS placementId, tier, location, bytes, state, lease_owner AS leaseOwner, lease_until AS leaseUntil
                            FROM deletions WHERE state IN ('planned', 'deleting') ORDER BY id`).all() as Deletion[];
  }

  markDeleting(id: number): void {
    prepared(this.db, "UPDATE deletions SET state = 'deleting' WHERE id = ?").run(id);
  }

  /** The data is gone: the placement becomes 'expired' and the deletion record is complete, together. */
  markDeleted(id: number): void {
    this.db.transaction(() => {
      const at = now();
      const { placementId } = prepared(this.db, 'SELECT placement_id AS placementId FROM deletions WHERE id = ?').get(id) as { placementId: number };
      prepared(this.db, "UPDATE placements SET state = 'expired', ended_at = ? WHERE id = ?").run(at, placementId);
      prepared(this.db, "UPDATE deletions SET state = 'deleted', deleted_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?").run(at, id);
    }).immediate();
  }

  failDeletion(id: number, reason: string): void {
    prepared(this.db, "UPDATE deletions SET state = 'failed', reason = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?").run(reason, id);
  }

  /** Peak lists of the frames that have one (peaks-only needs them). */
  framePeaks(frameIds: readonly number[]): Map<number, Buffer> {
    const get = prepared(this.db, 'SELECT peaks FROM frames WHERE id = ? AND peaks IS NOT NULL');
    const out = new Map<number, Buffer>();
    for (const id of frameIds) {
      const row = get.get(id) as { peaks: Buffer } | undefined;
      if (row) out.set(id, row.peaks);
    }
    return out;
  }

  /** A container's frames by the decisions in force: their rules and where each is in it. */
  containerFrames(containerId: number): { frameId: number; rule: string; index: number }[] {
    return prepared(this.db, `SELECT frame_id AS frameId, rule, container_index AS "index" FROM decisions WHERE container_id = ? AND superseded_by IS NULL ORDER BY container_index`)
      .all(containerId) as { frameId: number; rule: string; index: number }[];
  }

  /**
   * A container reduced from another (a lifecycle step with `as`), in one transaction: the new
   * container and its verified copy; its frames' decisions now name it (product, codec, place);
   * the rule totals count its bytes instead; the source's copies are planned for deletion.
   */
  recordReduction(sourceId: number, c: DerivedContainer, members: readonly { frameId: number; product: string; codec: string; containerIndex: number }[], deletion: { jobId: number; policy: string | null; rules: string[]; lifecycleEnd: string }): number {
    return this.db.transaction(() => {
      const at = now();
      const source = prepared(this.db, 'SELECT bytes, n_frames AS nFrames FROM containers WHERE id = ?').get(sourceId) as { bytes: number; nFrames: number };
      const id = Number(prepared(this.db, `INSERT INTO containers (experiment_id, path, product, codec, n_frames, bytes, sha256, created_at, lifecycle, form) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(c.experimentId, c.path, c.product, c.codec, c.nFrames, c.bytes, c.sha256, c.createdAt, JSON.stringify(c.lifecycle), JSON.stringify(c.form)).lastInsertRowid);
      prepared(this.db, `INSERT INTO placements (container_id, tier, location, valid_from, valid_until, state, step, verified_at) VALUES (?, ?, ?, ?, ?, 'verified', ?, ?)`)
        .run(id, c.tier, c.location, at, c.validUntil, c.step, at);
      // Kept bytes per rule: each frame's share of the new container instead of the old one's.
      const shares = prepared(this.db, `SELECT f.run_id AS runId, d.rule, COUNT(*) AS frames FROM decisions d JOIN frames f ON f.id = d.frame_id
                                      WHERE d.container_id = ? AND d.superseded_by IS NULL GROUP BY f.run_id, d.rule`).all(sourceId) as { runId: number; rule: string; frames: number }[];
      const move = prepared(this.db, 'UPDATE decisions SET product = ?, codec = ?, container_id = ?, container_index = ? WHERE container_id = ? AND frame_id = ? AND superseded_by IS NULL');
      for (const m of members) move.run(m.product, m.codec, id, m.containerIndex, sourceId, m.frameId);
      const adjust = prepared(this.db, 'UPDATE rule_totals SET kept_bytes = kept_bytes + ? WHERE run_id = ? AND rule = ?');
      for (const s of shares) adjust.run(s.frames * (c.bytes / c.nFrames - source.bytes / source.nFrames), s.runId, s.rule);
      const copies = prepared(this.db, "SELECT id, tier, location FROM placements WHERE container_id = ? AND state IN ('active', 'verified')").all(sourceId) as { id: number; tier: string; location: string }[];
      const { sha256 } = prepared(this.db, 'SELECT sha256 FROM containers WHERE id = ?').get(sourceId) as { sha256: string };
      for (const p of copies) {
        this.planDeletion(deletion.jobId, { containerId: sourceId, placementId: p.id, tier: p.tier, location: p.location, bytes: source.bytes, sha256, policy: deletion.policy, rules: deletion.rules, lifecycleEnd: deletion.lifecycleEnd });
      }
      return id;
    }).immediate();
  }

  // --- recalls

  /** The experiment's kept frames in containers, by the decisions in force: which container holds each, and where in it. */
  keptFrames(experimentId: number, product?: string): KeptFrame[] {
    return prepared(this.db, `SELECT f.id AS frameId, f.source, f.event, d.product, d.container_id AS containerId, d.container_index AS containerIndex, c.path
                FROM decisions d JOIN frames f ON f.id = d.frame_id JOIN runs r ON r.id = f.run_id JOIN containers c ON c.id = d.container_id
                WHERE r.experiment_id = ? AND d.container_id IS NOT NULL AND d.superseded_by IS NULL ${product === undefined ? '' : 'AND d.product = ?'}
                ORDER BY c.id, d.container_index`)
      .all(...(product === undefined ? [experimentId] : [experimentId, product])) as KeptFrame[];
  }

  /** When a container's data was deleted at the end of its lifecycle (none if it was not). */
  deletedAt(containerId: number): string | undefined {
    return (prepared(this.db, "SELECT MAX(deleted_at) AS at FROM deletions WHERE container_id = ? AND state = 'deleted'").get(containerId) as { at: string | null }).at ?? undefined;
  }

  /** The unfinished recall of the same request into the same folder, or a new one (queued, with its items). */
  openRecall(jobId: number, experimentId: number, dest: string, request: Record<string, unknown>, items: { containerId: number; placementId: number }[]): { id: number; resumed: boolean } {
    return this.db.transaction(() => {
      const text = JSON.stringify(request);
      const existing = prepared(this.db, "SELECT id FROM recalls WHERE experiment_id = ? AND dest = ? AND request = ? AND state NOT IN ('delivered', 'failed') ORDER BY id DESC").get(experimentId, dest, text) as { id: number } | undefined;
      if (existing) return { id: existing.id, resumed: true };
      const at = now();
      const id = Number(prepared(this.db, "INSERT INTO recalls (job_id, experiment_id, dest, request, state, created_at, updated_at) VALUES (?, ?, ?, ?, 'queued', ?, ?)").run(jobId, experimentId, dest, text, at, at).lastInsertRowid);
      const insert = prepared(this.db, "INSERT INTO recall_items (recall_id, container_id, placement_id, state) VALUES (?, ?, ?, 'queued')");
      for (const item of items) insert.run(id, item.containerId, item.placementId);
      return { id, resumed: false };
    }).immediate();
  }

  recallItems(recallId: number): { id: number; containerId: number; placementId: number; state: string }[] {
    return prepared(this.db, 'SELECT id, container_id AS containerId, placement_id AS placementId, state FROM recall_items WHERE recall_id = ? ORDER BY id').all(recallId) as { id: number; containerId: number; placementId: number; state: string }[];
  }

  setRecallItem(id: number, state: 'restoring' | 'staged' | 'delivered' | 'failed', reason?: string, placementId?: number): void {
    prepared(this.db, 'UPDATE recall_items SET state = ?, reason = ?, placement_id = COALESCE(?, placement_id) WHERE id = ?').run(state, reason ?? null, placementId ?? null, id);
  }

  setRecall(id: number, state: 'restoring' | 'staging' | 'delivered' | 'failed', reason?: string): void {
    prepared(this.db, 'UPDATE recalls SET state = ?, reason = ?, updated_at = ? WHERE id = ?').run(state, reason ?? null, now(), id);
  }

  // --- summaries

  /** Per tier: live containers and their bytes. */
  tierUsage(): { tier: string; containers: number; bytes: number }[] {
    return prepared(this.db, `SELECT p.tier, COUNT(*) AS containers, COALESCE(SUM(c.bytes), 0) AS bytes FROM placements p JOIN containers c ON c.id = p.container_id
                WHERE p.state IN ('active', 'verified') GROUP BY p.tier ORDER BY p.tier`)
      .all() as { tier: string; containers: number; bytes: number }[];
  }

  /** Per tier: unfinished transfers to and from it, and planned deletions on it. */
  pendingByTier(): { tier: string; incoming: number; outgoing: number; paused: number; deletions: number }[] {
    return prepared(this.db, `WITH t AS (SELECT tr.dest_tier AS tier, 1 AS incoming, 0 AS outgoing, CASE WHEN tr.state = 'paused' THEN 1 ELSE 0 END AS paused, 0 AS deletions
                           FROM transfers tr WHERE tr.state IN ('planned', 'copying', 'verifying', 'committed', 'paused')
                           UNION ALL SELECT p.tier, 0, 1, 0, 0 FROM transfers tr JOIN placements p ON p.id = tr.source_placement_id
                           WHERE tr.state IN ('planned', 'copying', 'verifying', 'committed', 'paused')
                           UNION ALL SELECT tier, 0, 0, 0, 1 FROM deletions WHERE state IN ('planned', 'deleting'))
                SELECT tier, SUM(incoming) AS incoming, SUM(outgoing) AS outgoing, SUM(paused) AS paused, SUM(deletions) AS deletions FROM t GROUP BY tier ORDER BY tier`)
      .all() as { tier: string; incoming: number; outgoing: number; paused: number; deletions: number }[];
  }
}
