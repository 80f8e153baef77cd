import type { Server } from 'node:http';
import type { PeakFinderParams } from '../../core/peakfinder8.ts';
import { streamRegistry, serveMetrics } from '../../online/metrics.ts';
import { newCounters, recordedSoFar, runStream, type StreamCounters, type StreamOptions } from '../../online/online.ts';
import type { MsgpackPattern } from '../../online/receiver.ts';
import type { SeriesSummary } from '../../online/series-run.ts';
import type { StreamFormat } from '../../online/stream-events.ts';
import { experimentOf, type ExperimentCliOptions } from '../experiment-options.ts';
import { withCatalog, type GlobalOptions } from '../context.ts';
import { EXIT_PARTIAL } from '../exit-codes.ts';
import { formatBytes } from '../format.ts';

export interface StreamCliOptions extends ExperimentCliOptions {
  connect: string;
  format: StreamFormat;
  pattern: MsgpackPattern;
  series?: number;
  seriesTimeout: number;
  queueMb: number;
  spoolGb: number;
  metrics?: string;
  results?: string;
  json?: boolean;
}

const STATUS_EVERY_MS = 1000;

export async function run(globals: GlobalOptions, opts: StreamCliOptions, peakFinder: Partial<PeakFinderParams>): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  const counters = newCounters();
  const line = opts.json || process.stderr.isTTY !== true ? undefined : statusLine(counters);
  let server: Server | undefined;
  let partial = false;
  try {
    if (opts.metrics) server = await serveMetrics(streamRegistry(counters), opts.metrics);
    await withCatalog(globals, (facility, catalog) => {
      process.stderr.write(`stream: receiving ${opts.format} from ${opts.connect}${opts.metrics ? `; metrics at http://${opts.metrics}/metrics` : ''}; Ctrl-C stops (what was received is recorded first)\n`);
      return runStream({
        ...streamOptions(opts, peakFinder), facility, catalog, series: opts.series, signal: stop.signal, counters,
        onStatus: (text) => {
          line?.clear();
          process.stderr.write(`stream: ${text}\n`);
        },
        onSeries: (summary) => {
          line?.clear();
          if (!isClean(summary)) partial = true;
          if (opts.json) console.log(JSON.stringify(summary));
          else console.log(describeSeries(summary));
        },
      });
    });
  } finally {
    line?.stop();
    server?.close();
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
  if (partial) process.exitCode = EXIT_PARTIAL;
}

/** What runStream takes from the command line (stream and daemon --connect). */
export function streamOptions(opts: StreamCliOptions, peakFinder: Partial<PeakFinderParams>) {
  return {
    connect: opts.connect, format: opts.format, pattern: opts.pattern,
    experiment: experimentOf(opts),
    geometryFile: opts.geometry, peakFinder, policy: opts.policy, results: opts.results,
    seriesTimeoutSeconds: opts.seriesTimeout,
    queue: { memoryBytes: opts.queueMb * 2 ** 20, spoolBytes: opts.spoolGb * 2 ** 30 },
  } satisfies Partial<StreamOptions>;
}

/** A series that ended by its end message (or a replay that recorded all the spool held) with nothing dropped, undecodable or missing. */
export function isClean(s: SeriesSummary): boolean {
  return (s.ending === 'end' || s.ending === 'replayed') && Object.keys(s.dropped).length === 0 && s.undecodable === 0 && s.gaps === 0;
}

export function describeSeries(s: SeriesSummary): string {
  const dropped = Object.entries(s.dropped).map(([reason, n]) => `${n} ${reason}`);
  const ending = { end: 'ended', 'next-start': 'ended without its end message (the next series started)', timeout: 'ended without its end message (silent too long)', interrupted: 'interrupted', replayed: 'replayed from the spool a stopped stream process left' }[s.ending];
  return [
    `series ${s.seriesId} (${s.series}) ${ending}: experiment ${s.experiment} run ${s.run}`,
    `  ${s.images} images${s.announced !== undefined ? ` of ${s.announced} announced` : ''}: ${s.frames} frames recorded, ${formatBytes(s.rawBytes)} raw -> ${formatBytes(s.storedBytes)} kept in ${s.containers} container(s)`,
    `  labelled ${s.labelled}, hits ${s.hits}; kept ${Object.entries(s.kept).map(([p, n]) => `${p} ${n}`).join(', ') || 'labels only'}; rules ${Object.entries(s.rules).map(([r, n]) => `${r} ${n}`).join(', ')}`,
    `  spooled ${s.spooled}${s.alreadyRecorded > 0 ? `; recorded before ${s.alreadyRecorded}` : ''}; dropped ${dropped.length > 0 ? dropped.join(', ') : 0}; undecodable messages ${s.undecodable}; image_id gaps ${s.gaps}${s.outOfOrder > 0 ? `; out of order ${s.outOfOrder}` : ''}`,
  ].join('\n');
}

/** One line on the terminal, redrawn every second: rates, the queue, what was kept and lost. */
function statusLine(c: StreamCounters): { clear(): void; stop(): void } {
  let last = { at: Date.now(), images: 0, bytes: 0 };
  let shown = false;
  const draw = () => {
    const now = Date.now();
    const seconds = Math.max(1e-3, (now - last.at) / 1000);
    const q = c.queue?.() ?? { images: 0, bytes: 0, spooledImages: 0, spooledBytes: 0 };
    const r = recordedSoFar(c);
    const dropped = Object.values(c.dropped).reduce((a, b) => a + b, 0);
    const text = `stream: ${c.images} images (${((c.images - last.images) / seconds).toFixed(0)}/s, ${formatBytes((c.bytesIn - last.bytes) / seconds)}/s) | queue ${q.images} (${formatBytes(q.bytes)}${q.spooledImages > 0 ? `, spool ${q.spooledImages}` : ''}) | recorded ${r.frames}, hits ${r.hits}, kept ${formatBytes(r.storedBytes)} | spooled ${c.spooled}, dropped ${dropped}, undecodable ${c.undecodable}`;
    process.stderr.write(`\r\x1b[K${text}`);
    shown = true;
    last = { at: now, images: c.images, bytes: c.bytesIn };
  };
  const timer = setInterval(draw, STATUS_EVERY_MS);
  const clear = () => {
    if (shown) process.stderr.write('\r\x1b[K');
    shown = false;
  };
  return { clear, stop: () => { clearInterval(timer); clear(); } };
}
