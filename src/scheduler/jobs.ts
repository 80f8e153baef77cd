// One scheduled run of a lifecycle job, as of the moment it starts. Each run opens the catalog
// and the tiers for itself and closes them after: a daemon that runs for months then holds no
// database handle between runs (a catalog restored or moved under it is seen by the next run),
// picks up a schema migration a newer sxarchive has applied, re-reads S3 credentials files, and
// a catalog it cannot open fails that run alone.
import { openCatalog } from '../catalog/catalog.ts';
import type { Facility } from '../config/facility.ts';
import type { LifecycleContext } from '../lifecycle/context.ts';
import { expire, type ExpireSummary } from '../lifecycle/expire.ts';
import { migrate, type MigrateSummary } from '../lifecycle/migrate.ts';
import { verify, type VerifySummary } from '../lifecycle/verify.ts';
import { OWNER, isAlive } from '../process-owner.ts';
import { Tiers } from '../tiers/open.ts';
import type { JobName, JobState } from './daemon.ts';

interface Summaries {
  migrate: MigrateSummary;
  expire: ExpireSummary;
  verify: VerifySummary;
}

export type FinishedJob = { [J in JobName]: { job: J; state: JobState; summary: Summaries[J] } }[JobName];

const JOBS: { [J in JobName]: (ctx: LifecycleContext, asOf: Date) => Promise<Summaries[J]> } = {
  migrate: (ctx, asOf) => migrate(ctx, { asOf }),
  expire: (ctx, asOf) => expire(ctx, { asOf }),
  // Verification is not as of a time: it checks every copy there is.
  verify: (ctx) => verify(ctx),
};

/**
 * Runs `job` once over the whole archive. Its state is the one the job recorded in the catalog's
 * jobs table, so the daemon's log and `sxarchive`'s job records never disagree.
 */
export async function runJob(facility: Facility, job: JobName, signal: AbortSignal): Promise<FinishedJob> {
  const catalog = openCatalog(facility.catalogLocation);
  try {
    const store = catalog.lifecycle;
    const ctx: LifecycleContext = { facility, catalog, store, tiers: await Tiers.open(facility), owner: OWNER, isAlive, signal };
    const summary = await JOBS[job](ctx, new Date());
    const state = store.jobState(summary.jobId) as JobState;
    return { job, state, summary } as FinishedJob;
  } finally {
    catalog.close();
  }
}
