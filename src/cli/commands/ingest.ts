import type { PeakFinderParams } from '../../core/peakfinder8.ts';
import { ingest, type IngestResult } from '../../ingest/ingest.ts';
import { experimentOf, type ExperimentCliOptions } from '../experiment-options.ts';
import { withCatalog, type GlobalOptions } from '../context.ts';
import { formatBytes, printJson } from '../format.ts';
import { startProgress } from '../progress.ts';
import { EXIT_PARTIAL } from '../exit-codes.ts';

export interface IngestCliOptions extends ExperimentCliOptions {
  json?: boolean;
}


export async function run(globals: GlobalOptions, files: string[], opts: IngestCliOptions, peakFinder: Partial<PeakFinderParams>): Promise<void> {
  const progress = startProgress('ingest', !opts.json && process.stderr.isTTY === true);
  // SIGINT/SIGTERM stop at the next frame: the batch in hand is dropped, what is recorded stays.
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  let result: IngestResult;
  try {
    result = await withCatalog(globals, (facility, catalog) =>
      ingest({
        files,
        experiment: experimentOf(opts),
        geometryFile: opts.geometry,
        peakFinder,
        policy: opts.policy,
        facility,
        catalog,
        onFrame: (done, total) => progress.update(done, total),
        onStatus: (text) => progress.status(text),
        signal: stop.signal,
      }),
    );
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
  report(result, opts);
  if (result.state === 'partial') process.exitCode = EXIT_PARTIAL;
}

function report(result: IngestResult, opts: IngestCliOptions): void {
  for (const b of result.badFiles) console.error(`skipped file ${b.file}: ${b.error}`);
  for (const s of result.skipped) console.error(`skipped ${s.file} event ${s.event}: ${s.error}`);
  for (const s of result.unlabelled) console.error(`not labelled ${s.file} event ${s.event}: ${s.error}`);
  const { recovery } = result;
  if (recovery.runs.length > 0 || recovery.removedFiles > 0) {
    const runs = recovery.runs.map((r) => `run ${r.number} (${r.removed ? 'no frames: removed' : `${r.frames} frames: interrupted`})`);
    console.error(`cleaned up after a stopped ingest: ${[...runs, `${recovery.removedFiles} unrecorded file(s), ${formatBytes(recovery.removedBytes)}`].join(', ')}`);
  }
  if (opts.json) return printJson(result);
  if (result.run === null) {
    console.log(`experiment ${result.experiment}: all ${result.alreadyRecorded} frames of these files are recorded already; nothing to do`);
    return;
  }
  console.log(`experiment ${result.experiment} run ${result.run}: ${result.frames} frames, ${formatBytes(result.rawBytes)} raw -> ${formatBytes(result.storedBytes)} kept in ${result.containers.length} container(s)`);
  if (result.alreadyRecorded > 0) console.log(`${result.alreadyRecorded} frame(s) were recorded already and were skipped`);
  console.log(`policy ${result.policy.name} v${result.policy.version}: ${Object.entries(result.rules).map(([rule, n]) => `${rule} ${n}`).join(', ')}`);
  if (opts.geometry) console.log(`labelled ${result.labelled} frames: ${result.hits} hits`);
  if (result.unlabelledKept > 0) console.log(`${result.unlabelledKept} frame(s) without labels kept by the unlabelled rule${opts.geometry ? '' : ' (give --geometry to label frames)'}`);
  if (result.gateTimeouts > 0) console.log(`${result.gateTimeouts} frame(s) had no indexing result in time and took the gate's on_timeout rule`);
  const missing = [
    result.badFiles.length ? `${result.badFiles.length} unreadable file(s)` : '',
    result.skipped.length ? `${result.skipped.length} unreadable frame(s) not recorded` : '',
    result.unlabelled.length ? `${result.unlabelled.length} frame(s) that could not be labelled (kept raw)` : '',
  ].filter(Boolean);
  if (missing.length > 0) console.log(`partial run: ${missing.join(', ')}; exit code ${EXIT_PARTIAL}`);
  for (const c of result.containers) console.log(`  ${c.tier} ${c.product} ${c.path}  ${c.frames} frames  ${formatBytes(c.bytes)}  sha256 ${c.sha256.slice(0, 16)}…`);
}
