import { DEFAULT_DETECTOR_SIM_BIND, runDetectorSim, type DetectorSimFormat, type DetectorSimPattern, type DetectorSimResult } from '../../simulate/detector-sim.ts';
import { SxError } from '../../errors.ts';
import { formatBytes, printJson } from '../format.ts';
import type { GlobalOptions } from '../context.ts';
import { startProgress } from '../progress.ts';

export interface DetectorSimCliOptions {
  /** Default: the format's (DEFAULT_DETECTOR_SIM_BIND). */
  bind?: string;
  format: DetectorSimFormat;
  /** Default: push for stream2/stream1, pub for msgpack. */
  pattern?: DetectorSimPattern;
  frames?: number;
  rate?: number;
  seriesId: number;
  json?: boolean;
}

/** What was sent, as the result says it: a series (with its unique id in stream V2), or msgpack frames, which belong to none. */
function describeSent(r: DetectorSimResult): string {
  if (r.seriesId === undefined) return `${r.images} ${r.format} frames (${r.pattern})`;
  return `series ${r.seriesId}${r.seriesUniqueId !== undefined ? ` (${r.seriesUniqueId})` : ''}: ${r.images} images`;
}

export async function run(_globals: GlobalOptions, file: string, opts: DetectorSimCliOptions): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const bind = opts.bind ?? DEFAULT_DETECTOR_SIM_BIND[opts.format];
  const interactive = !opts.json && process.stderr.isTTY === true;
  if (interactive) process.stderr.write(`detector-sim: binding ${bind}; waiting for a receiver\n`);
  const progress = startProgress('send', interactive);
  try {
    const result = await runDetectorSim({ file, bind, format: opts.format, pattern: opts.pattern, frames: opts.frames, rate: opts.rate, seriesId: opts.seriesId, signal: stop.signal, onImage: (done, total) => progress.update(done, total) }).finally(() => progress.stop());
    if (opts.json) printJson(result);
    else console.log(`${describeSent(result)}, ${formatBytes(result.bytes)} in ${result.seconds.toFixed(2)} s (${(result.bytes / 1e6 / result.seconds).toFixed(0)} MB/s sent)`);
    if (stop.signal.aborted) {
      throw new SxError('interrupted', result.seriesId === undefined ? `interrupted: stopped after ${result.images} frame(s)` : `interrupted: series ${result.seriesId} stopped after ${result.images} image(s), without its end message`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
