import { importStream, type ImportSummary } from '../../results/import-stream.ts';
import { withCatalog, type GlobalOptions } from '../context.ts';
import { printJson, table } from '../format.ts';
import { startProgress } from '../progress.ts';

export interface ImportStreamCliOptions {
  experiment: string;
  follow?: boolean;
  json?: boolean;
}

/** How often following prints its status line on a terminal. */
const STATUS_INTERVAL_MS = 2000;

export function renderImportSummary(s: ImportSummary): string {
  const how = Object.entries(s.matchedBy).filter(([, n]) => n > 0).map(([rule, n]) => `${n} ${rule}`).join(', ');
  const lines = [
    `${s.stream} (${s.generatedBy ?? 'CrystFEL'}, stream format ${s.formatVersion ?? '?'}) -> experiment ${s.experiment}`,
    table(
      ['chunks', 'hits', 'indexed', 'crystals', 'reflections', 'matched frames', 'unmatched', 'bad chunks'],
      [[s.chunks, s.hits, s.indexed, s.crystals, s.reflections, s.matched, s.unmatched, s.badChunks]],
    ),
  ];
  if (how) lines.push(`matched by ${how}`);
  if (s.ambiguous) lines.push(`${s.ambiguous} chunk(s) matched several frames by file name and were left unmatched`);
  if (s.relinked) lines.push(`${s.relinked} result(s) imported earlier found their frame`);
  if (s.openChunkLine !== null) lines.push(`the chunk at line ${s.openChunkLine} was still being written; it is imported next time`);
  if (s.badChunks) {
    lines.push(`bad chunks (skipped):`);
    for (const b of s.bad) for (const p of b.problems) lines.push(`  ${p}`);
    if (s.badChunks > s.bad.length) lines.push(`  ... and ${s.badChunks - s.bad.length} more bad chunk(s)`);
  }
  if (s.warnings) lines.push(`${s.warnings} line(s) not understood and ignored (see --json)`);
  return lines.join('\n');
}

function statusLine(s: ImportSummary): string {
  return `following ${s.stream}: ${s.chunks} chunks, ${s.hits} hits, ${s.indexed} indexed, ${s.matched} matched, ${s.badChunks} bad`;
}

export async function run(globals: GlobalOptions, file: string, opts: ImportStreamCliOptions): Promise<void> {
  const follow = opts.follow === true;
  const tty = !opts.json && process.stderr.isTTY === true;
  const controller = new AbortController();
  // First signal: finish the batch being written and print the totals. A second one: stop now
  // (every batch is one transaction, so the catalog stays consistent either way).
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143);
    controller.abort();
  };
  if (follow) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  // Bytes, not chunks: chunks vary from 2 kB to 20 kB.
  const progress = startProgress('import', tty && !follow, 'bytes');
  let latest: ImportSummary | undefined;
  const status = follow && tty ? setInterval(() => latest && process.stderr.write(`\r\x1b[2K${statusLine(latest)}`), STATUS_INTERVAL_MS) : undefined;
  let summary: ImportSummary;
  try {
    summary = await withCatalog(globals, (_facility, catalog) =>
      importStream({
        catalog,
        experiment: opts.experiment,
        file,
        follow,
        signal: controller.signal,
        onProgress: (done, total) => progress.update(done, total),
        onBatch: (s) => {
          latest = s;
        },
      }),
    );
  } finally {
    progress.stop();
    if (status) {
      clearInterval(status);
      process.stderr.write('\r\x1b[2K');
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (opts.json) return printJson(summary);
  console.log(renderImportSummary(summary));
}
