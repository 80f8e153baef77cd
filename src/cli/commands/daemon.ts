import { join } from 'node:path';
import { FACILITY_FILE, loadFacility } from '../../config/facility.ts';
import { SxError } from '../../errors.ts';
import { runDaemon } from '../../scheduler/daemon.ts';
import { runJob, type FinishedJob } from '../../scheduler/jobs.ts';
import type { GlobalOptions } from '../context.ts';
import { exitCode as migrateExitCode } from './migrate.ts';

/** The exit code `sxarchive migrate`, `expire` or `verify` gives for such a run. */
function exitCode(run: FinishedJob): number {
  switch (run.job) {
    case 'migrate': return migrateExitCode(run.summary);
    case 'expire': return run.summary.failed.length > 0 ? 1 : run.summary.interrupted ? 130 : 0;
    case 'verify': return run.summary.findings.length > 0 ? 1 : run.summary.interrupted ? 130 : 0;
  }
}

/**
 * Runs the facility's schedules until SIGTERM or SIGINT, printing one JSON line per event. The
 * configuration is read once, here: a changed facility.yaml takes effect on restart, so the
 * schedules and the tiers a run uses always come from the same file.
 */
export async function run(globals: GlobalOptions, _opts: Record<string, never>): Promise<void> {
  const facility = loadFacility(globals.dataDir);
  const schedules = facility.config.schedules;
  if (Object.values(schedules).every((expr) => expr === undefined)) {
    throw new SxError('usage', `${join(facility.dataDir, FACILITY_FILE)} has no schedules: add cron expressions for the daemon to run, e.g. schedules: { migrate: "0 * * * *", expire: "30 2 * * *", verify: "0 4 * * 0" }`);
  }
  const stop = new AbortController();
  // The first signal stops the daemon after the running job's current step; a second one
  // meets Node's default handler and ends it at once (the next run resumes what it left).
  const onSignal = (signal: NodeJS.Signals) => {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    stop.abort(signal);
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  await runDaemon({
    schedules,
    run: async (job, signal) => {
      const finished = await runJob(facility, job, signal);
      return { state: finished.state, exitCode: exitCode(finished), summary: finished.summary };
    },
    log: (record) => process.stdout.write(`${JSON.stringify(record)}\n`),
    stop: stop.signal,
    debug: globals.debug,
  });
}
