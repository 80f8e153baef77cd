import type { Server } from 'node:http';
import { join } from 'node:path';
import { FACILITY_FILE, loadFacility } from '../../config/facility.ts';
import { SxError } from '../../errors.ts';
import { runDaemon } from '../../scheduler/daemon.ts';
import { runJob, type FinishedJob } from '../../scheduler/jobs.ts';
import type { PeakFinderParams } from '../../core/peakfinder8.ts';
import { serveMetrics, streamRegistry } from '../../online/metrics.ts';
import { newCounters, runStream } from '../../online/online.ts';
import { withCatalog, type GlobalOptions } from '../context.ts';
import { exitCode as migrateExitCode } from './migrate.ts';
import { isClean, streamOptions, type StreamCliOptions } from './stream.ts';

/** The exit code `sxarchive migrate`, `expire` or `verify` gives for such a run. */
function exitCode(run: FinishedJob): number {
  switch (run.job) {
    case 'migrate': return migrateExitCode(run.summary);
    case 'expire': return run.summary.failed.length > 0 ? 1 : run.summary.interrupted ? 130 : 0;
    case 'verify': return run.summary.findings.length > 0 ? 1 : run.summary.interrupted ? 130 : 0;
  }
}

/**
 * Runs the facility's schedules until SIGTERM or SIGINT, and with --connect receives the detector
 * stream as `sxarchive stream` does, printing one JSON line per event. The configuration is read
 * once, here: a changed facility.yaml takes effect on restart, so the schedules and the tiers a run
 * uses always come from the same file.
 */
export async function run(globals: GlobalOptions, opts: DaemonCliOptions, peakFinder: Partial<PeakFinderParams>): Promise<void> {
  const facility = loadFacility(globals.dataDir);
  const schedules = facility.config.schedules;
  if (opts.connect === undefined && Object.values(schedules).every((expr) => expr === undefined)) {
    throw new SxError('usage', `${join(facility.dataDir, FACILITY_FILE)} has no schedules: add cron expressions for the daemon to run, e.g. schedules: { migrate: "0 * * * *", expire: "30 2 * * *", verify: "0 4 * * 0" }, or give it a detector stream to receive (--connect)`);
  }
  if (opts.connect !== undefined && opts.experiment === undefined) throw new SxError('usage', '--connect needs --experiment: the experiment each series is recorded in (unless its start message names one)');
  const stop = new AbortController();
  // The first signal stops the daemon after the running job's current step; a second one
  // meets Node's default handler and ends it at once (the next run resumes what it left).
  const onSignal = (signal: NodeJS.Signals) => {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    stop.abort(signal);
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  const log = (record: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(record)}\n`);
  const beside = opts.connect === undefined ? undefined : receive(globals, { ...opts, connect: opts.connect, experiment: opts.experiment! }, peakFinder, stop, log);
  await runDaemon({
    schedules,
    run: async (job, signal) => {
      const finished = await runJob(facility, job, signal);
      return { state: finished.state, exitCode: exitCode(finished), summary: finished.summary };
    },
    log,
    stop: stop.signal,
    beside,
    debug: globals.debug,
  });
  if (await beside === false) process.exitCode = 1;
}

export type DaemonCliOptions = Omit<StreamCliOptions, 'connect' | 'experiment' | 'series' | 'json'> & { connect?: string; experiment?: string };

/**
 * The detector stream beside the schedules, until the daemon stops: one JSON line per series. A
 * stream that fails stops the daemon (false): a daemon that no longer receives must not look alive.
 */
async function receive(globals: GlobalOptions, opts: StreamCliOptions, peakFinder: Partial<PeakFinderParams>, stop: AbortController, log: (record: Record<string, unknown>) => void): Promise<boolean> {
  const counters = newCounters();
  let server: Server | undefined;
  try {
    if (opts.metrics) server = await serveMetrics(streamRegistry(counters), opts.metrics);
    await withCatalog(globals, (facility, catalog) => {
      log({ stream: 'receiving', at: new Date().toISOString(), connect: opts.connect, format: opts.format, ...(opts.metrics ? { metrics: `http://${opts.metrics}/metrics` } : {}) });
      return runStream({
        ...streamOptions(opts, peakFinder), facility, catalog, signal: stop.signal, counters,
        onStatus: (text) => log({ stream: 'status', at: new Date().toISOString(), message: text }),
        onSeries: (summary) => log({ stream: 'series', at: new Date().toISOString(), clean: isClean(summary), ...summary }),
      });
    });
    return true;
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    log({ stream: 'failed', at: new Date().toISOString(), error: error.message, ...(globals.debug ? { stack: error.stack } : {}) });
    stop.abort('stream failed');
    return false;
  } finally {
    server?.close();
  }
}
