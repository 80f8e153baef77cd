import cliProgress from 'cli-progress';
import { formatBytes } from './format.ts';

export interface Progress {
  update(done: number, total: number): void;
  /** What the command waits for when no work is counted (shown on the bar, or logged). */
  status(text: string): void;
  stop(): void;
}

/** How often a waiting command says so again where there is no bar (pipes, logs). */
const STATUS_EVERY_MS = 15_000;

/**
 * A progress bar on stderr when a person is watching; silent in pipes, logs and --json runs,
 * except for what the command waits for, which is always said (every 15 s where there is no bar).
 * Counts frames, or bytes (shown as kB, MB, ...) for work measured in bytes.
 */
export function startProgress(label: string, enabled = process.stderr.isTTY === true, unit: 'frames' | 'bytes' = 'frames'): Progress {
  let lastStatus = 0;
  const logStatus = (text: string) => {
    if (Date.now() - lastStatus < STATUS_EVERY_MS) return;
    lastStatus = Date.now();
    process.stderr.write(`${label}: ${text}\n`);
  };
  if (!enabled) return { update() {}, status: logStatus, stop() {} };
  const show = unit === 'bytes' ? formatBytes : (n: number) => String(n);
  const bar = new cliProgress.SingleBar(
    { format: `${label.padEnd(10)} [{bar}] {percentage}% | {done}/{size}${unit === 'frames' ? ' frames' : ''} | {eta_formatted} left{status}`, stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total) {
      if (!started) {
        bar.start(total, 0, { status: '' });
        started = true;
      }
      bar.setTotal(total);
      bar.update(done, { done: show(done), size: show(total), status: '' });
    },
    status(text) {
      if (started) bar.update({ status: ` | ${text}` });
      else logStatus(text);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
