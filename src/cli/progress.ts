import cliProgress from 'cli-progress';
import { formatBytes } from './format.ts';

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

/**
 * A progress bar on stderr when a person is watching; silent in pipes, logs and --json runs.
 * Counts frames, or bytes (shown as kB, MB, ...) for work measured in bytes.
 */
export function startProgress(label: string, enabled = process.stderr.isTTY === true, unit: 'frames' | 'bytes' = 'frames'): Progress {
  if (!enabled) return { update() {}, stop() {} };
  const show = unit === 'bytes' ? formatBytes : (n: number) => String(n);
  const bar = new cliProgress.SingleBar(
    { format: `${label.padEnd(10)} [{bar}] {percentage}% | {done}/{size}${unit === 'frames' ? ' frames' : ''} | {eta_formatted} left`, stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total) {
      if (!started) {
        bar.start(total, 0);
        started = true;
      }
      bar.setTotal(total);
      bar.update(done, { done: show(done), size: show(total) });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
