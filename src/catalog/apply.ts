// The catalog side of `policy apply` (migration 009): an experiment's containers and current
// decisions, the application's own rows, and the switch of every frame's decisions to the new
// policy in one transaction.
import type { SqlDatabase } from './sql.ts';
import { recountRuleTotals } from './run-totals.ts';
import { prepared } from './statements.ts';
import type { ContainerForm, DerivedContainer, LifecycleSpan } from './types.ts';

export type ApplicationState = 'writing' | 'dropping' | 'done';

export interface Application {
  id: number;
  experimentId: number;
  policyId: number;
  policy: string;
  state: ApplicationState;
  owner: string | null;
  before: ApplicationBefore;
  summary: Record<string, unknown> | null;
  createdAt: string;
  switchedAt: string | null;
  finishedAt: string | null;
}

/** What the experiment held when an application started. */
export interface ApplicationBefore {
  containers: number;
  bytes: number;
  /** "name vN" of the policies its frames were decided by. */
  policies: string[];
}

export interface ExperimentContainer {
  id: number;
  path: string;
  product: string;
  codec: string;
  nFrames: number;
  bytes: number;
  createdAt: string;
  lifecycle: LifecycleSpan[] | null;
  form: ContainerForm | null;
  applicationId: number | null;
  /** Whether a copy holds its data now (active or verified). */
  live: boolean;
  /** When its last copy was deleted (null while one holds data, or if none ever was). */
  deletedAt: string | null;
}

/** A frame's decision that is in force (not superseded by an application). */
export interface CurrentDecision {
  frameId: number;
  policyId: number;
  policy: string;
  rule: string;
  product: string;
  containerId: number | null;
  containerIndex: number | null;
}

/** A decision an application will put in force at its switch. */
export interface PendingDecision {
  frameId: number;
  rule: string;
  product: string;
  codec: string;
  tier: string;
  containerId: number | null;
  containerIndex: number | null;
}

interface ApplicationRow {
  id: number;
  experiment_id: number;
  policy_id: number;
  policy: string;
  state: ApplicationState;
  owner: string | null;
  before: string;
  summary: string | null;
  created_at: string;
  switched_at: string | null;
  finished_at: string | null;
}

const toApplication = (r: ApplicationRow): Application => ({
  id: r.id, experimentId: r.experiment_id, policyId: r.policy_id, policy: r.policy, state: r.state, owner: r.owner,
  before: JSON.parse(r.before) as ApplicationBefore, summary: r.summary === null ? null : (JSON.parse(r.summary) as Record<string, unknown>),
  createdAt: r.created_at, switchedAt: r.switched_at, finishedAt: r.finished_at,
});

const APPLICATION_SELECT = `SELECT a.*, p.name || ' v' || p.version AS policy FROM applications a JOIN policies p ON p.id = a.policy_id`;

const now = () => new Date().toISOString();

/**
 * An open catalog holds one as `catalog.apply`.
 *
 * @example catalog.apply.applications(exp.id).map((a) => [a.policy, a.state])
 */
export class ApplyCatalog {
  constructor(private readonly db: SqlDatabase) {}

  /** The experiment's application that has not finished (writing or dropping), if any. */
  unfinished(experimentId: number): Application | undefined {
    const row = prepared(this.db, `${APPLICATION_SELECT} WHERE a.experiment_id = ? AND a.state != 'done' ORDER BY a.id DESC LIMIT 1`).get(experimentId) as ApplicationRow | undefined;
    return row && toApplication(row);
  }

  /** Every application of the experiment, oldest first (reports show what each saved). */
  applications(experimentId: number): Application[] {
    return (prepared(this.db, `${APPLICATION_SELECT} WHERE a.experiment_id = ? ORDER BY a.id`).all(experimentId) as ApplicationRow[]).map(toApplication);
  }

  /** Every container of the experiment, with whether a copy holds its data now. */
  containers(experimentId: number): ExperimentContainer[] {
    const rows = prepared(this.db, `SELECT c.id, c.path, c.product, c.codec, c.n_frames AS nFrames, c.bytes, c.created_at AS createdAt, c.lifecycle, c.form,
                       c.application_id AS applicationId,
                       EXISTS (SELECT 1 FROM placements p WHERE p.container_id = c.id AND p.state IN ('active', 'verified')) AS live,
                       (SELECT MAX(d.deleted_at) FROM deletions d WHERE d.container_id = c.id AND d.state = 'deleted') AS deletedAt
                FROM containers c WHERE c.experiment_id = ? ORDER BY c.id`)
      .all(experimentId) as (Omit<ExperimentContainer, 'lifecycle' | 'form' | 'live'> & { lifecycle: string | null; form: string | null; live: number })[];
    return rows.map((r) => ({
      ...r,
      lifecycle: r.lifecycle === null ? null : (JSON.parse(r.lifecycle) as LifecycleSpan[]),
      form: r.form === null ? null : (JSON.parse(r.form) as ContainerForm),
      live: r.live !== 0,
    }));
  }

  /** The decisions in force for the experiment's frames, by frame. */
  currentDecisions(experimentId: number): IterableIterator<CurrentDecision> {
    return prepared(this.db, `SELECT d.frame_id AS frameId, d.policy_id AS policyId, p.name || ' v' || p.version AS policy, d.rule, d.product,
                       d.container_id AS containerId, d.container_index AS containerIndex
                FROM decisions d JOIN policies p ON p.id = d.policy_id JOIN frames f ON f.id = d.frame_id JOIN runs r ON r.id = f.run_id
                WHERE r.experiment_id = ? AND d.superseded_by IS NULL ORDER BY d.frame_id, d.id`)
      .iterate(experimentId) as IterableIterator<CurrentDecision>;
  }

  /** Whether a frame of the experiment had a decision under this policy that was superseded since. */
  hadPolicyBefore(experimentId: number, policyId: number): boolean {
    return prepared(this.db, `SELECT 1 FROM decisions d JOIN frames f ON f.id = d.frame_id JOIN runs r ON r.id = f.run_id
                WHERE r.experiment_id = ? AND d.policy_id = ? AND d.superseded_by IS NOT NULL LIMIT 1`)
      .get(experimentId, policyId) !== undefined;
  }

  /** The id of a policy version the catalog has recorded, by its content hash. */
  policyId(contentHash: string): number | undefined {
    return (prepared(this.db, 'SELECT id FROM policies WHERE content_hash = ?').get(contentHash) as { id: number } | undefined)?.id;
  }

  /** Live copies of the experiment's containers that no decision in force refers to (what an application drops). */
  unreferencedCopies(experimentId: number): { containerId: number; placementId: number }[] {
    return prepared(this.db, `SELECT c.id AS containerId, p.id AS placementId FROM containers c JOIN placements p ON p.container_id = c.id
                WHERE c.experiment_id = ? AND p.state IN ('active', 'verified')
                  AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.container_id = c.id AND d.superseded_by IS NULL)
                  AND NOT EXISTS (SELECT 1 FROM pending_decisions q WHERE q.container_id = c.id)
                ORDER BY c.id, p.id`)
      .all(experimentId) as { containerId: number; placementId: number }[];
  }

  /** What else is at work on the experiment: ingest runs, unfinished transfers of its containers, unfinished recalls. */
  busy(experimentId: number): { runs: { number: number; owner: string | null }[]; transfers: number; recalls: number } {
    const runs = prepared(this.db, "SELECT number, owner FROM runs WHERE experiment_id = ? AND state = 'running'").all(experimentId) as { number: number; owner: string | null }[];
    const { transfers } = prepared(this.db, `SELECT COUNT(*) AS transfers FROM transfers t JOIN containers c ON c.id = t.container_id
                                           WHERE c.experiment_id = ? AND t.state IN ('planned', 'copying', 'verifying', 'committed', 'paused')`).get(experimentId) as { transfers: number };
    const { recalls } = prepared(this.db, "SELECT COUNT(*) AS recalls FROM recalls WHERE experiment_id = ? AND state IN ('queued', 'restoring', 'staging')").get(experimentId) as { recalls: number };
    return { runs, transfers, recalls };
  }

  /** A new application, writing, with the decisions that need no new container (labels, catalog products, containers kept as they are). */
  start(experimentId: number, policyId: number, owner: string, before: ApplicationBefore, decisions: readonly PendingDecision[]): number {
    return this.db.transaction(() => {
      const id = Number(prepared(this.db, "INSERT INTO applications (experiment_id, policy_id, state, owner, before, created_at) VALUES (?, ?, 'writing', ?, ?, ?)")
        .run(experimentId, policyId, owner, JSON.stringify(before), now()).lastInsertRowid);
      this.addPending(id, decisions);
      return id;
    }).immediate();
  }

  /** The application is this process's now, unless its owner is another process still alive. */
  takeOver(id: number, owner: string, isAlive: (owner: string) => boolean): boolean {
    return this.db.transaction(() => {
      const row = prepared(this.db, 'SELECT owner FROM applications WHERE id = ?').get(id) as { owner: string | null };
      if (row.owner !== null && row.owner !== owner && isAlive(row.owner)) return false;
      prepared(this.db, 'UPDATE applications SET owner = ? WHERE id = ?').run(owner, id);
      return true;
    }).immediate();
  }

  /** Decisions the application has recorded already, as `frameId:product`. */
  pendingKeys(id: number): Set<string> {
    const rows = prepared(this.db, 'SELECT frame_id AS frameId, product FROM pending_decisions WHERE application_id = ?').all(id) as { frameId: number; product: string }[];
    return new Set(rows.map((r) => `${r.frameId}:${r.product}`));
  }

  /** Paths of the containers the application has recorded. */
  writtenPaths(id: number): Set<string> {
    return new Set((prepared(this.db, 'SELECT path FROM containers WHERE application_id = ?').all(id) as { path: string }[]).map((r) => r.path));
  }

  /** A container the application wrote and read back: the container, its verified copy and its frames' pending decisions, together. */
  recordDerived(id: number, c: DerivedContainer, decisions: readonly Omit<PendingDecision, 'containerId'>[]): number {
    return this.db.transaction(() => {
      const at = now();
      const containerId = Number(prepared(this.db, `INSERT INTO containers (experiment_id, path, product, codec, n_frames, bytes, sha256, created_at, lifecycle, form, application_id)
                  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(c.experimentId, c.path, c.product, c.codec, c.nFrames, c.bytes, c.sha256, c.createdAt, JSON.stringify(c.lifecycle), JSON.stringify(c.form), id).lastInsertRowid);
      prepared(this.db, `INSERT INTO placements (container_id, tier, location, valid_from, valid_until, state, step, verified_at) VALUES (?, ?, ?, ?, ?, 'verified', ?, ?)`)
        .run(containerId, c.tier, c.location, at, c.validUntil, c.step, at);
      this.addPending(id, decisions.map((d) => ({ ...d, containerId })));
      return containerId;
    }).immediate();
  }

  /**
   * Puts the application's decisions in force, in one transaction: they become decisions of
   * its policy, the frames' earlier decisions are marked superseded by it, containers it keeps
   * under another lifecycle get theirs, and the rule totals are counted again.
   */
  switchDecisions(id: number, relifed: readonly { containerId: number; lifecycle: LifecycleSpan[] }[]): void {
    this.db.transaction(() => {
      const app = prepared(this.db, 'SELECT experiment_id AS experimentId, policy_id AS policyId FROM applications WHERE id = ?').get(id) as { experimentId: number; policyId: number };
      const at = now();
      prepared(this.db, `UPDATE decisions SET superseded_by = ? WHERE superseded_by IS NULL
                       AND frame_id IN (SELECT frame_id FROM pending_decisions WHERE application_id = ?)`).run(id, id);
      prepared(this.db, `INSERT INTO decisions (frame_id, policy_id, rule, product, codec, tier, container_id, container_index, decided_at)
                       SELECT frame_id, ?, rule, product, codec, tier, container_id, container_index, ? FROM pending_decisions WHERE application_id = ?
                       ORDER BY frame_id`).run(app.policyId, at, id);
      prepared(this.db, 'DELETE FROM pending_decisions WHERE application_id = ?').run(id);
      const setLifecycle = prepared(this.db, 'UPDATE containers SET lifecycle = ? WHERE id = ?');
      for (const r of relifed) setLifecycle.run(JSON.stringify(r.lifecycle), r.containerId);
      recountRuleTotals(this.db, app.experimentId);
      prepared(this.db, "UPDATE applications SET state = 'dropping', switched_at = ? WHERE id = ?").run(at, id);
    }).immediate();
  }

  finish(id: number, summary: Record<string, unknown>): void {
    prepared(this.db, "UPDATE applications SET state = 'done', summary = ?, finished_at = ?, owner = NULL WHERE id = ?").run(JSON.stringify(summary), now(), id);
  }

  private addPending(id: number, decisions: readonly PendingDecision[]): void {
    const insert = prepared(this.db, `INSERT OR IGNORE INTO pending_decisions (application_id, frame_id, rule, product, codec, tier, container_id, container_index)
                                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
    for (const d of decisions) insert.run(id, d.frameId, d.rule, d.product, d.codec, d.tier, d.containerId, d.containerIndex);
  }
}
