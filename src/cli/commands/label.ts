import { labelFiles, type LabelledFrame } from '../../ingest/label-files.ts';
import type { PeakFinderParams } from '../../core/peakfinder8.ts';
import { table } from '../format.ts';
import type { GlobalOptions } from '../context.ts';
import { startProgress } from '../progress.ts';

export interface LabelCliOptions {
  geometry: string;
  peaks?: boolean;
  json?: boolean;
}

function toJson(f: LabelledFrame, withPeaks: boolean): Record<string, unknown> {
  if (!f.labels) return { file: f.file, event: f.event, error: f.error };
  const { hit, nPeaks, resolution, peaks: p } = f.labels;
  const out: Record<string, unknown> = { file: f.file, event: f.event, hit, n_peaks: nPeaks, resolution };
  if (withPeaks) {
    out.peaks = Array.from({ length: p.count }, (_, i) => ({ fs: p.fs[i], ss: p.ss[i], panel: p.panel[i], intensity: p.intensity[i], snr: p.snr[i], npix: p.npix[i] }));
  }
  return out;
}

export async function run(_globals: GlobalOptions, files: string[], opts: LabelCliOptions, params: PeakFinderParams): Promise<void> {
  const progress = startProgress('label', !opts.json && process.stderr.isTTY === true);
  const perFile = new Map<string, { frames: number; hits: number; skipped: number }>();
  const skipped: string[] = [];
  const summary = await labelFiles({
    files,
    geometryFile: opts.geometry,
    params,
    onFrame: (f) => {
      const counts = perFile.get(f.file) ?? { frames: 0, hits: 0, skipped: 0 };
      perFile.set(f.file, counts);
      if (f.labels) {
        counts.frames += 1;
        if (f.labels.hit) counts.hits += 1;
      } else {
        counts.skipped += 1;
        skipped.push(`skipped ${f.file}${f.event ? ` event ${f.event}` : ''}: ${f.error}`);
      }
      if (opts.json) process.stdout.write(`${JSON.stringify(toJson(f, opts.peaks === true))}\n`);
    },
    onProgress: (done, total) => progress.update(done, total),
  }).finally(() => progress.stop());
  for (const line of skipped) console.error(line);
  if (!opts.json) console.log(table(['file', 'frames', 'hits', 'skipped'], [...perFile].map(([file, c]) => [file, c.frames, c.hits, c.skipped])));
  // On stderr, so that --json output stays one object per frame.
  console.error(`${summary.frames} frames labelled (${summary.hits} hits) in ${summary.files} file(s); ${summary.skipped} skipped`);
}
