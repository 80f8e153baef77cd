// The scheduler behind `sxarchive daemon`: one cron task per configured job, every event one
// JSON-able record for the log. The daemon carries out one run at a time, whichever job: the
// jobs of one process share its lease owner (`host:pid`), so leases cannot keep them off each
// other's containers (a verify reading a copy that a migrate is trimming would report it
// missing).
import cron, { type Logger, type ScheduledTask } from 'node-cron';
import type { ScheduleName } from '../config/facility.ts';

export type JobName = ScheduleName;
export type JobState = 'complete' | 'partial' | 'failed' | 'interrupted';

/** How a run ended: its state, the exit code its own command would have given, and its summary. */
export interface JobRun {
  state: JobState;
  exitCode: number;
  summary: object;
}

export interface DaemonOptions {
  schedules: Partial<Record<JobName, string>>;
  /** Runs the job once, as of now; `signal` asks it to stop after its current step. */
  run: (job: JobName, signal: AbortSignal) => Promise<JobRun>;
  /** Receives each event (start, run, skip, stop) as one object. */
  log: (record: Record<string, unknown>) => void;
  /** Aborted (with the signal's name as reason) to stop: scheduling ends, the running job is asked to stop and waited for. */
  stop: AbortSignal;
  /** Work running beside the schedules until `stop` (a detector stream): waited for before the daemon says it stopped. */
  beside?: Promise<unknown>;
  /** Failed runs carry their stack trace. */
  debug: boolean;
}

// Overlaps and missed slots are logged as skipped runs instead; errors are node-cron's own.
const cronLogger: Logger = {
  info: () => {},
  warn: () => {},
  debug: () => {},
  error: (message, err) => console.error(`node-cron: ${message instanceof Error ? message.message : message}${err ? `: ${err.message}` : ''}`),
};

/** Runs the schedules until `stop` is aborted and the run in progress has ended. */
export async function runDaemon(options: DaemonOptions): Promise<void> {
  const { log, stop } = options;
  const schedules = Object.fromEntries(Object.entries(options.schedules).filter(([, expr]) => expr !== undefined)) as Record<JobName, string>;
  // A job is here from the moment it fires until its run has ended: waiting for another job's
  // run, or running. It never has two runs, running or waiting.
  const due = new Map<JobName, { started?: Date }>();
  let queue = Promise.resolve();

  const skip = (job: JobName, reason: string) => log({ job, skipped: new Date().toISOString(), reason });
  const skipBusy = (job: JobName) => {
    const started = due.get(job)?.started;
    if (started) return skip(job, `its previous run (started ${started.toISOString()}) is still running`);
    // A run waits only while another job's runs.
    const [running] = [...due].find(([, d]) => d.started !== undefined)!;
    skip(job, `a run of it is already waiting for ${running} to finish`);
  };

  const execute = async (job: JobName): Promise<void> => {
    const started = new Date();
    due.set(job, { started });
    let outcome: Record<string, unknown>;
    try {
      const run = await options.run(job, stop);
      outcome = { state: run.state, exitCode: run.exitCode, summary: run.summary };
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      outcome = { state: 'failed', exitCode: 1, error: error.message, ...(options.debug ? { stack: error.stack } : {}) };
    }
    log({ job, started: started.toISOString(), finished: new Date().toISOString(), ...outcome });
  };

  const fire = (job: JobName): Promise<void> => {
    if (due.has(job)) return Promise.resolve(skipBusy(job));
    due.set(job, {});
    const turn = queue.then(() => (stop.aborted ? skip(job, 'the daemon stopped before its turn') : execute(job))).finally(() => due.delete(job));
    queue = turn;
    return turn;
  };

  const tasks: ScheduledTask[] = Object.entries(schedules).map(([job, expr]) => {
    const task = cron.schedule(expr, () => fire(job as JobName), { name: job, noOverlap: true, logger: cronLogger });
    task.on('execution:overlap', () => skipBusy(job as JobName));
    task.on('execution:missed', (ctx) => skip(job as JobName, `its time ${ctx.date.toISOString()} passed while the process was suspended or busy`));
    return task;
  });
  log({ daemon: 'started', at: new Date().toISOString(), pid: process.pid, schedules });

  await new Promise<void>((resolve) => (stop.aborted ? resolve() : stop.addEventListener('abort', () => resolve(), { once: true })));
  for (const task of tasks) await task.destroy();
  await queue;
  await options.beside?.catch(() => {});
  log({ daemon: 'stopped', at: new Date().toISOString(), pid: process.pid, signal: String(stop.reason) });
}
