import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkExperimentName, type Experiment, type NewExperiment } from '../catalog/catalog.ts';
import { SxError } from '../errors.ts';
import { CrystfelStreamParser, formatProblem, type StreamChunk, type StreamItem } from '../formats/crystfel-stream.ts';
import type { MatchRule } from './frame-matcher.ts';
import { ResultsStore, type ResultsCatalog } from './results-store.ts';
import { readLines } from './tail-lines.ts';

/** Bad chunks and warnings listed in a summary; the counts stay exact beyond it. */
export const MAX_LISTED = 100;
/** Chunks per transaction at most; a read of the file commits what it completed. */
export const DEFAULT_BATCH_CHUNKS = 500;

export interface ImportStreamOptions {
  catalog: ResultsCatalog & { ensureExperiment(e: NewExperiment): Experiment };
  /** The experiment the results belong to (created if new: results may come before frames). */
  experiment: string;
  file: string;
  /** Tail a stream indexamajig is still writing until `signal` aborts. */
  follow?: boolean;
  /** Stops after the batch being read (follow mode's only way to end). */
  signal?: AbortSignal;
  pollIntervalMs?: number;
  batchChunks?: number;
  onProgress?: (bytesRead: number, fileBytes: number) => void;
  /** Called after each committed batch with the running totals. */
  onBatch?: (summary: ImportSummary) => void;
}

export interface BadChunkReport {
  line: number;
  filename: string | null;
  event: string | null;
  /** `file:line: what; expected ...` */
  problems: string[];
}

export interface ImportSummary {
  experiment: string;
  stream: string;
  formatVersion: string | null;
  generatedBy: string | null;
  /** Chunks recorded (bad chunks not included). */
  chunks: number;
  hits: number;
  indexed: number;
  crystals: number;
  reflections: number;
  /** Chunks whose frame is in the catalog, and by which rule it was found. */
  matched: number;
  matchedBy: Record<MatchRule, number>;
  /** Chunks recorded without a frame (they link when a frame matches later); `ambiguous` of them had several candidates. */
  unmatched: number;
  ambiguous: number;
  /** Results recorded earlier that found their frame during this import. */
  relinked: number;
  badChunks: number;
  bad: BadChunkReport[];
  warnings: number;
  warningMessages: string[];
  followed: boolean;
  /** Following: the line of a chunk still being written when the import stopped (imported next time). */
  openChunkLine: number | null;
}

function emptySummary(experiment: string, stream: string, followed: boolean): ImportSummary {
  return {
    experiment, stream, formatVersion: null, generatedBy: null, chunks: 0, hits: 0, indexed: 0, crystals: 0, reflections: 0,
    matched: 0, matchedBy: { exact: 0, resolved: 0, suffix: 0, basename: 0 }, unmatched: 0, ambiguous: 0, relinked: 0,
    badChunks: 0, bad: [], warnings: 0, warningMessages: [], followed, openChunkLine: null,
  };
}

/** What CrystFEL names every frame it reads over ZeroMQ (its event is its own count, `//N`). */
const ZMQ_FILENAME = 'ZMQdata';

/**
 * A chunk of a frame CrystFEL read over ZeroMQ names it as sxarchive stream recorded it when the
 * message's `series_unique_id` and `image_id` were copied into the chunk (indexamajig
 * `--copy-header=series_unique_id --copy-header=image_id`): CrystFEL's own count would link it to
 * whichever frame came Nth, not to the frame it describes.
 */
function namedByDetector(c: StreamChunk, file: string): StreamChunk {
  if (c.filename !== ZMQ_FILENAME) return c;
  const { series_unique_id: series, image_id: image } = c.headers;
  if (typeof series === 'string' && Number.isSafeInteger(image)) return { ...c, filename: series, event: String(image) };
  const message = `a frame CrystFEL read over ZeroMQ (${ZMQ_FILENAME} ${c.event}) without its series_unique_id and image_id: it links to no frame; expected indexamajig --copy-header=series_unique_id --copy-header=image_id`;
  return { ...c, warnings: [...c.warnings, { file, line: c.line, message }] };
}

/** A stream is a file that exists (a directory is a common slip: the run's folder instead of its stream). */
export function checkStreamFile(file: string): void {
  let stat;
  try {
    stat = statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new SxError('input', `${file}: no such file`, { cause: err });
    throw new SxError('input', `${file}: cannot open: ${(err as Error).message}`, { cause: err });
  }
  if (stat.isDirectory()) throw new SxError('input', `${file} is a directory; expected a CrystFEL stream file (indexamajig output, format 2.x)`);
}

/**
 * Imports a CrystFEL stream's results into the catalog for an experiment, a transaction per batch
 * of complete chunks, and links them to frames (see `FrameMatcher`). Re-importing replaces rows
 * by (experiment, source, event), so it never duplicates. Bad chunks are skipped and reported.
 *
 * @example
 * const summary = await importStream({ catalog, experiment: 'lyso-2026', file: 'run7.stream' });
 * console.log(summary.indexed, 'indexed,', summary.unmatched, 'without a frame yet');
 */
export async function importStream(options: ImportStreamOptions): Promise<ImportSummary> {
  checkExperimentName(options.experiment);
  // Before the experiment is created: a mistyped path must leave no trace in the catalog.
  checkStreamFile(options.file);
  const stream = resolve(options.file);
  const follow = options.follow ?? false;
  const experiment = options.catalog.ensureExperiment({ name: options.experiment });
  const store = new ResultsStore(options.catalog, experiment.id);
  const summary = emptySummary(experiment.name, stream, follow);
  const parser = new CrystfelStreamParser({ file: options.file });
  const batchChunks = options.batchChunks ?? DEFAULT_BATCH_CHUNKS;
  let batch: StreamChunk[] = [];

  const commit = (force = false) => {
    if (batch.length === 0 && !force) return;
    const outcome = store.recordBatch(batch, stream);
    summary.relinked += outcome.relinked;
    for (const [i, { match }] of outcome.recorded.entries()) {
      const c = batch[i];
      summary.chunks += 1;
      if (c.hit) summary.hits += 1;
      if (c.indexed) summary.indexed += 1;
      summary.crystals += c.crystals.length;
      summary.reflections += c.crystals.reduce((n, x) => n + x.reflections.length, 0);
      if (match.kind === 'matched') {
        summary.matched += 1;
        summary.matchedBy[match.rule] += 1;
      } else {
        summary.unmatched += 1;
        if (match.reason === 'ambiguous') summary.ambiguous += 1;
      }
    }
    batch = [];
    options.onBatch?.(summary);
  };

  const take = (item: StreamItem | undefined) => {
    if (!item) return;
    if (item.kind === 'header') {
      summary.formatVersion = item.header.formatVersion;
      summary.generatedBy = item.header.generatedBy;
    } else if (item.kind === 'bad-chunk') {
      summary.badChunks += 1;
      const { line, filename, event, problems } = item.bad;
      if (summary.bad.length < MAX_LISTED) summary.bad.push({ line, filename, event, problems: problems.map(formatProblem) });
    } else {
      const c = namedByDetector(item.chunk, options.file);
      summary.warnings += c.warnings.length;
      for (const w of c.warnings) if (summary.warningMessages.length < MAX_LISTED) summary.warningMessages.push(formatProblem(w));
      batch.push(c);
      if (batch.length >= batchChunks) commit();
    }
  };

  // Results recorded earlier may find frames ingested since then.
  commit(true);
  for await (const lines of readLines(options.file, { follow, signal: options.signal, pollIntervalMs: options.pollIntervalMs, onBytes: options.onProgress })) {
    for (const line of lines) take(parser.push(line));
    commit();
  }
  if (follow || options.signal?.aborted) {
    // Stopped, not at the end of the stream: a chunk being written is imported next time.
    summary.openChunkLine = parser.openChunkLine;
  } else {
    take(parser.finish());
    commit();
  }
  return summary;
}
