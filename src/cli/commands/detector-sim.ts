import { runDetectorSim, type DetectorSimFormat } from '../../simulate/detector-sim.ts';
import { SxError } from '../../errors.ts';
import { formatBytes, printJson } from '../format.ts';
import type { GlobalOptions } from '../context.ts';
import { startProgress } from '../progress.ts';

export interface DetectorSimCliOptions {
  bind: string;
  format: DetectorSimFormat;
  frames?: number;
  rate?: number;
  seriesId: number;
  json?: boolean;
}

export async function run(_globals: GlobalOptions, file: string, opts: DetectorSimCliOptions): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const interactive = !opts.json && process.stderr.isTTY === true;
  if (interactive) process.stderr.write(`detector-sim: bound ${opts.bind}; waiting for a receiver\n`);
  const progress = startProgress('send', interactive);
  try {
    const result = await runDetectorSim({ file, bind: opts.bind, format: opts.format, frames: opts.frames, rate: opts.rate, seriesId: opts.seriesId, signal: stop.signal, onImage: (done, total) => progress.update(done, total) }).finally(() => progress.stop());
    if (opts.json) printJson(result);
    else console.log(`series ${result.seriesId} (${result.seriesUniqueId}): ${result.images} images, ${formatBytes(result.bytes)} in ${result.seconds.toFixed(2)} s (${(result.bytes / 1e6 / result.seconds).toFixed(0)} MB/s sent)`);
    if (stop.signal.aborted) throw new SxError('interrupted', `interrupted: series ${result.seriesId} stopped after ${result.images} image(s), without its end message`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
