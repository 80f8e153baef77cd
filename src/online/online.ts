// The online pipeline: a detector stream received, its frames labelled, decided, reduced and
// written as they arrive, series after series, each as a run of an experiment. The socket is
// read by one loop into the queue (memory, then the spool), the frames are taken from it by
// another, so that a slow moment of the pipeline never makes the detector wait.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Catalog } from '../catalog/catalog.ts';
import type { NewExperiment } from '../catalog/types.ts';
import type { Facility } from '../config/facility.ts';
import type { PeakFinderParams } from '../core/peakfinder8.ts';
import type { PixelMap } from '../core/pixel-map.ts';
import { isSxError } from '../errors.ts';
import { checkStreamFile, importStream } from '../results/import-stream.ts';
import { FramePool } from '../ingest/frame-pool.ts';
import { checkTiersWritable, experimentFacts, prepareRun } from '../ingest/prepare.ts';
import type { ExperimentFacts } from '../policy/types.ts';
import { withDetectorMask } from './detector-mask.ts';
import { EventQueue, type QueueLimits } from './event-queue.ts';
import { openReceiver, type MsgpackPattern } from './receiver.ts';
import { SERIES_DROP_REASONS, SeriesRun, type SeriesEnding, type SeriesProgress, type SeriesSummary } from './series-run.ts';
import { claimSegment, deadSegments, readSegment, type SpoolOrigin } from './spool.ts';
import { EventDecoder, type SeriesStart, type StreamEvent, type StreamFormat } from './stream-events.ts';

export interface StreamOptions {
  /** The detector's endpoint, e.g. tcp://eiger:31001. */
  connect: string;
  format: StreamFormat;
  /** msgpack only: subscribe (OnDA's PUB) or request frames one by one (OM's REP). */
  pattern?: MsgpackPattern;
  /** The experiment of every series, unless a start message's user_data names another ({"experiment": NAME}). */
  experiment: NewExperiment;
  geometryFile?: string;
  peakFinder?: Partial<PeakFinderParams>;
  policy?: string;
  /** A CrystFEL stream indexamajig is writing: followed, its results imported into `experiment` as they come (results-gated rules wait for them). */
  results?: string;
  facility: Facility;
  catalog: Catalog;
  /** Stop after this many series. */
  series?: number;
  /** A series that sends nothing for this long ends (without its end message); msgpack frames, which have no series, end theirs so. */
  seriesTimeoutSeconds?: number;
  queue?: Partial<QueueLimits>;
  signal?: AbortSignal;
  /** Every series' summary, as it ends. */
  onSeries?: (summary: SeriesSummary) => void;
  /** What is happening, for a status line and the log (warnings too). */
  onStatus?: (text: string) => void;
  counters?: StreamCounters;
  stageSeconds?: Record<string, number>;
}

/** Running totals of a stream process, read by the metrics endpoint and the status line. */
export interface StreamCounters {
  messages: number;
  bytesIn: number;
  images: number;
  undecodable: number;
  spooled: number;
  dropped: Record<string, number>;
  framesRecorded: number;
  bytesKept: number;
  hits: number;
  indexed: number;
  gaps: number;
  seriesEnded: number;
  /** The queue's depth, read when asked. */
  queue?: () => { images: number; bytes: number; spooledImages: number; spooledBytes: number };
  /** What the open series has recorded so far. */
  open?: () => SeriesProgress | undefined;
}

/** Totals over the series ended and the one open. */
export function recordedSoFar(c: StreamCounters): SeriesProgress {
  const open = c.open?.();
  return { frames: c.framesRecorded + (open?.frames ?? 0), hits: c.hits + (open?.hits ?? 0), indexed: c.indexed + (open?.indexed ?? 0), storedBytes: c.bytesKept + (open?.storedBytes ?? 0) };
}

export const newCounters = (): StreamCounters => ({ messages: 0, bytesIn: 0, images: 0, undecodable: 0, spooled: 0, dropped: {}, framesRecorded: 0, bytesKept: 0, hits: 0, indexed: 0, gaps: 0, seriesEnded: 0 });

export interface StreamResult {
  series: SeriesSummary[];
  /** Messages that did not decode while no series was open. */
  undecodable: number;
}

const DEFAULT_SERIES_TIMEOUT_S = 60;
const DEFAULT_QUEUE: Omit<QueueLimits, 'spoolDir'> = { memoryBytes: 2 * 2 ** 30, memoryImages: 1024, spoolBytes: 64 * 2 ** 30 };

/** An experiment named by the start message's user_data ({"experiment": NAME}), if any. */
function namedExperiment(start: SeriesStart): string | undefined {
  const u = start.userData;
  return typeof u === 'object' && u !== null && typeof (u as Record<string, unknown>).experiment === 'string' ? ((u as Record<string, unknown>).experiment as string) : undefined;
}

/**
 * Receives `connect` until stopped (the signal) or `series` series have ended. Everything is
 * checked before anything is received: policy, codecs, geometry, the experiment, the tiers.
 * When stopped, the frames received so far are decided and recorded, the open series ends as
 * interrupted.
 */
export async function runStream(options: StreamOptions): Promise<StreamResult> {
  const { catalog, facility, signal } = options;
  const counters = options.counters ?? newCounters();
  const status = options.onStatus ?? (() => undefined);
  const { policy, labelling, facts } = prepareRun(options);
  checkTiersWritable(policy, facility, options.experiment.name);
  if (options.results !== undefined) checkStreamFile(options.results);
  const spoolDir = join(facility.tierPath(facility.config.ingest.tier), '.spool');
  const queue = new EventQueue({ ...DEFAULT_QUEUE, spoolDir, ...options.queue });
  counters.queue = () => queue.depth;
  const pool = new FramePool();
  const labelWithMap = (map?: PixelMap) => pool.setup(labelling ? { labelling: { map: map ?? labelling.map, params: labelling.params } } : {});
  labelWithMap();
  const receiver = openReceiver(options.format, options.connect, options.pattern);
  const result: StreamResult = { series: [], undecodable: 0 };
  const stop = () => {
    receiver.close();
    queue.close();
  };
  signal?.addEventListener('abort', stop, { once: true });
  const receiving = receive(options.format, receiver, queue, counters, options.experiment).finally(() => queue.close());
  const results = options.results === undefined ? undefined : followResults(options.results, options.experiment.name, catalog, status);
  const context = { catalog, facility, policy, labelling, pool, stageSeconds: options.stageSeconds, stopped: () => signal?.aborted === true };
  let open: SeriesRun | undefined;
  counters.open = () => open?.progress;
  const end = async (ending: SeriesEnding) => {
    const run = open!;
    open = undefined;
    for (const s of run.skipped.slice(0, 3)) status(`series ${run.summary.series} image ${s.event} not recorded: ${s.error}`);
    const summary = await run.finish(ending, status);
    counters.framesRecorded += summary.frames;
    counters.bytesKept += summary.storedBytes;
    counters.hits += summary.hits;
    counters.indexed += summary.indexed;
    counters.gaps += summary.gaps;
    counters.seriesEnded += 1;
    // The queue's drops were counted as they happened; the series' own are known only now.
    for (const reason of SERIES_DROP_REASONS) {
      const n = summary.dropped[reason];
      if (n) counters.dropped[reason] = (counters.dropped[reason] ?? 0) + n;
    }
    result.series.push(summary);
    options.onSeries?.(summary);
    if (options.series !== undefined && received() >= options.series) stop();
  };
  // Series received from the detector (a replay of the spool is none of them).
  const received = () => result.series.filter((s) => s.ending !== 'replayed').length;
  // Whether the workers label with a detector's pixel mask joined to the geometry's (since the last start that sent one).
  let masked = false;
  /** Sets the workers up for the series; returns the pixels a detector mask added, when one is used. */
  const labelWith = (start: SeriesStart): number | undefined => {
    if (!labelling) return undefined;
    const joined = start.pixelMask?.length ? withDetectorMask(labelling.map, start.pixelMask) : undefined;
    if (joined && 'refused' in joined) status(`series ${start.series}: the detector's pixel mask is not used: ${joined.refused}`);
    if (joined && 'map' in joined) {
      labelWithMap(joined.map);
      masked = true;
      status(`series ${start.series}: the detector's pixel mask marks ${joined.added} more pixel(s) bad for labelling`);
      return joined.added;
    }
    if (masked) {
      labelWithMap();
      masked = false;
    }
    return undefined;
  };
  /** The first of `wanted` that can take the series (its name checks, its tiers are writable), else the command line's. */
  const experimentFor = (series: string, wanted: NewExperiment[]): { experiment: NewExperiment; facts: ExperimentFacts } => {
    for (const experiment of wanted) {
      if (experiment.name === options.experiment.name) break;
      try {
        const wantedFacts = experimentFacts(catalog, experiment, policy);
        checkTiersWritable(policy, facility, experiment.name);
        return { experiment, facts: wantedFacts };
      } catch (err) {
        if (!isSxError(err)) throw err;
        // When in doubt, keep: the series goes to the experiment of the command line.
        status(`series ${series}: experiment "${experiment.name}" cannot take it (${err.message}); recording it in ${options.experiment.name}`);
      }
    }
    return { experiment: options.experiment, facts };
  };
  const begin = (start: SeriesStart) => {
    const maskedPixels = labelWith(start);
    const named = namedExperiment(start);
    const { experiment, facts: seriesFacts } = experimentFor(start.series, named === undefined ? [] : [{ name: named }]);
    open = SeriesRun.start(context, experiment, seriesFacts, { series: start.series, seriesId: start.seriesId, announced: start.images, shape: start.shape, maskedPixels });
  };
  /** Images a killed stream of this host left in the spool, recorded as runs of their series (what it had recorded already skipped). */
  const replay = async () => {
    for (const left of deadSegments(spoolDir)) {
      const path = claimSegment(left, spoolDir);
      if (!path) continue;
      status(`replaying the images a stopped stream process left in ${left}`);
      let key: string | undefined;
      for (const record of readSegment(path)) {
        if ('truncated' in record) {
          status(`spool ${record.truncated}; what it holds before is recorded`);
          break;
        }
        const { image, origin } = record;
        const recordKey = JSON.stringify([image.series, origin.experiment.name, origin.named]);
        if (open && key !== recordKey) await end('replayed');
        key = recordKey;
        if (!open) {
          labelWith({ kind: 'start', series: image.series, seriesId: image.seriesId });
          const { experiment, facts: seriesFacts } = experimentFor(image.series, [...(origin.named === undefined ? [] : [{ name: origin.named }]), origin.experiment]);
          open = SeriesRun.start(context, experiment, seriesFacts, { series: image.series, seriesId: image.seriesId, replay: true });
        }
        await open.add(image);
      }
      if (open) await end('replayed');
      rmSync(path, { force: true });
    }
  };
  // msgpack series have no end message: the next one starting is their end.
  const seriesChange: SeriesEnding = options.format === 'msgpack' ? 'end' : 'next-start';
  const timeoutMs = (options.seriesTimeoutSeconds ?? DEFAULT_SERIES_TIMEOUT_S) * 1000;
  try {
    // While the socket is read into the queue.
    await replay();
    for (;;) {
      const entry = await queue.shift(open ? timeoutMs : undefined);
      if (!entry) break;
      if (entry === 'timeout') {
        // Silence: the series is over (msgpack frames have no end message to say so).
        await end(options.format === 'msgpack' ? 'end' : 'timeout');
        continue;
      }
      if (entry.kind === 'undecodable') {
        if (open) open.undecodable();
        else result.undecodable += 1;
        continue;
      }
      if (entry.kind === 'dropped') {
        if (open?.summary.series !== entry.series) {
          if (open) await end(seriesChange);
          begin({ kind: 'start', series: entry.series, seriesId: 0 });
        }
        open!.dropped(entry.reason, entry.images, entry.frames);
        continue;
      }
      const event = entry.event;
      if (event.kind === 'start') {
        if (open) await end('next-start');
        begin(event);
      } else if (event.kind === 'image') {
        // Started mid-series (or msgpack): the series is recorded from its first image seen.
        if (open?.summary.series !== event.series) {
          if (open) await end(seriesChange);
          begin({ kind: 'start', series: event.series, seriesId: event.seriesId });
        }
        await open!.add(event, entry.spooled);
      } else if (open?.summary.series === event.series) {
        await end('end');
      }
      if (options.series !== undefined && received() >= options.series) break;
    }
    if (open) await end('interrupted');
  } finally {
    signal?.removeEventListener('abort', stop);
    stop();
    await receiving.catch((err) => status(`receiving stopped: ${(err as Error).message}`));
    for (const left of queue.dispose()) status(`spool ${left} holds images not recorded; the next stream started on this host replays them`);
    await results?.stop();
    const seconds = await pool.close();
    if (options.stageSeconds) for (const [stage, t] of Object.entries(seconds)) options.stageSeconds[stage] = (options.stageSeconds[stage] ?? 0) + t;
  }
  return result;
}

/** Imports a CrystFEL stream into the experiment as indexamajig appends to it, until stopped (after the last series has taken its results). */
function followResults(file: string, experiment: string, catalog: Catalog, status: (text: string) => void): { stop(): Promise<void> } {
  const stop = new AbortController();
  const following = importStream({ catalog, experiment, file, follow: true, signal: stop.signal }).then(
    (s) => status(`results: ${s.chunks} chunk(s) of ${file} imported into ${experiment} (${s.indexed} indexed${s.badChunks > 0 ? `; ${s.badChunks} bad chunk(s) skipped` : ''}${s.warnings > 0 ? `; ${s.warnings} warning(s), e.g. ${s.warningMessages[0]}` : ''})`),
    // Without them the gated frames take the gate's timeout rule: the stream goes on.
    (err: unknown) => status(`results: following ${file} stopped: ${(err as Error).message}`),
  );
  return {
    stop: async () => {
      stop.abort();
      await following;
    },
  };
}

/** Reads the socket into the queue until it is closed: each message decoded (its pixels not), counted, queued. */
async function receive(format: StreamFormat, receiver: ReturnType<typeof openReceiver>, queue: EventQueue, counters: StreamCounters, experiment: NewExperiment): Promise<void> {
  const decoder = new EventDecoder(format);
  // What a spooled image is for: its series' start may name an experiment.
  let origin: SpoolOrigin & { series?: string } = { experiment };
  for (;;) {
    const parts = await receiver.receive();
    if (!parts) return;
    counters.messages += 1;
    for (const p of parts) counters.bytesIn += p.byteLength;
    let event: StreamEvent;
    try {
      event = decoder.decode(parts);
    } catch (err) {
      if (!isSxError(err)) throw err;
      counters.undecodable += 1;
      queue.undecodable(err.message);
      continue;
    }
    if (event.kind !== 'image') {
      if (event.kind === 'start') {
        const named = namedExperiment(event);
        origin = { experiment, series: event.series, ...(named === undefined ? {} : { named }) };
      }
      queue.push(event, origin);
      continue;
    }
    counters.images += 1;
    const where = queue.push(event, origin.series === event.series ? { experiment: origin.experiment, ...(origin.named === undefined ? {} : { named: origin.named }) } : { experiment });
    if (where === 'spooled') counters.spooled += 1;
    else if (where !== 'memory') counters.dropped[where] = (counters.dropped[where] ?? 0) + event.frames.length;
  }
}
