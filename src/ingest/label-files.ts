// `sxarchive label`: every frame labelled on the ingest workers (read, decode, label, then let
// go), results in file and event order.
import { resolve } from 'node:path';
import { buildPixelMap } from '../core/pixel-map.ts';
import type { FrameLabels } from '../core/labels.ts';
import type { PeakFinderParams } from '../core/peakfinder8.ts';
import { isSxError } from '../errors.ts';
import { readGeometry } from '../formats/crystfel-geometry.ts';
import { frameLayoutOf } from '../frames/frame-layout.ts';
import { openFrameSource, type FrameSource } from '../frames/hdf5-source.ts';
import { describeUnreadable, FramePool } from './frame-pool.ts';
import type { PixelArray } from '../pixels.ts';

/** One frame's outcome: its labels, or why it was skipped. */
export interface LabelledFrame {
  file: string;
  event: string | null;
  labels?: FrameLabels;
  error?: string;
}

export interface LabelFilesOptions {
  files: string[];
  geometryFile: string;
  params: PeakFinderParams;
  /** Called once per frame, in file and event order. */
  onFrame: (frame: LabelledFrame) => void;
  onProgress?: (done: number, total: number) => void;
}

export interface LabelSummary {
  files: number;
  frames: number;
  hits: number;
  skipped: number;
}

/**
 * Labels every frame of `files` on all cores, each read by the worker that labels it (frames in
 * layouts only h5wasm reads are read here and handed over); a frame or file that cannot be read
 * is reported and skipped, never fatal.
 */
export async function labelFiles(options: LabelFilesOptions): Promise<LabelSummary> {
  // Started first: the workers load their modules while the files are opened.
  const pool = new FramePool();
  const sources: (FrameSource | LabelledFrame)[] = [];
  const summary: LabelSummary = { files: options.files.length, frames: 0, hits: 0, skipped: 0 };
  try {
    const geometry = readGeometry(resolve(options.geometryFile));
    const layout = frameLayoutOf(geometry);
    for (const file of options.files) {
      try {
        sources.push(await openFrameSource(resolve(file), layout));
      } catch (err) {
        if (!isSxError(err)) throw err;
        sources.push({ file: resolve(file), event: null, error: err.message });
      }
    }
    pool.setup({ labelling: { map: buildPixelMap(geometry), params: options.params } });
    const total = sources.reduce((n, s) => n + ('count' in s ? s.count : 0), 0);
    const emit = (frame: LabelledFrame) => {
      if (frame.labels) {
        summary.frames += 1;
        if (frame.labels.hit) summary.hits += 1;
      } else {
        summary.skipped += 1;
      }
      options.onFrame(frame);
      options.onProgress?.(summary.frames + summary.skipped, total);
    };
    // Frames in flight, oldest first, so results come out in order while all workers stay busy.
    const window: Promise<LabelledFrame>[] = [];
    for (const source of sources) {
      if (!('count' in source)) {
        emit(source);
        continue;
      }
      for (let i = 0; i < source.count; i++) {
        window.push(labelOne(pool, source, i));
        if (window.length >= 2 * pool.size + 2) emit(await window.shift()!);
      }
    }
    while (window.length > 0) emit(await window.shift()!);
  } finally {
    await pool.close();
    for (const s of sources) if ('close' in s) s.close();
  }
  return summary;
}

async function labelOne(pool: FramePool, source: FrameSource, index: number): Promise<LabelledFrame> {
  const event = source.event(index);
  const where = `${source.file} event ${event}`;
  const location = source.locate(index);
  let pixels: PixelArray | undefined;
  if (!location) {
    try {
      pixels = source.read(index);
    } catch (err) {
      if (!isSxError(err)) throw err;
      return { file: source.file, event, error: err.message };
    }
  }
  const { handle, loaded } = pool.load({ where, width: source.width, height: source.height, pixelType: source.pixelType, ...(location ? { location } : { pixels }) });
  const outcome = await (location ? describeUnreadable(loaded, source.file, event, location) : loaded);
  if ('unreadable' in outcome) return { file: source.file, event, error: outcome.unreadable };
  pool.drop(handle);
  if (outcome.labelError !== undefined) return { file: source.file, event, error: outcome.labelError };
  return { file: source.file, event, labels: outcome.labels! };
}
