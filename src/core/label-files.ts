import { resolve } from 'node:path';
import { readGeometry, type Geometry } from '../formats/crystfel-geometry.ts';
import { openFrameSource, type FrameSource } from '../frames/hdf5-source.ts';
import { isSxError } from '../errors.ts';
import { LabelPool } from './label-pool.ts';
import type { FrameLabels } from './labels.ts';
import type { PeakFinderParams } from './peakfinder8.ts';

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

/** Where a geometry says its frames are; every panel shares the first panel's data path here. */
export function frameLayoutOf(geometry: Geometry) {
  const [first] = geometry.panels;
  return { data: first.data, dims: first.dims };
}

/**
 * Labels every frame of `files` on all cores. The main thread reads each frame once and hands it
 * to a worker; a frame or file that cannot be read is reported and skipped, never fatal.
 */
export async function labelFiles(options: LabelFilesOptions): Promise<LabelSummary> {
  const geometryFile = resolve(options.geometryFile);
  const layout = frameLayoutOf(readGeometry(geometryFile));
  const summary: LabelSummary = { files: options.files.length, frames: 0, hits: 0, skipped: 0 };
  const sources: (FrameSource | LabelledFrame)[] = [];
  for (const file of options.files) {
    try {
      sources.push(await openFrameSource(resolve(file), layout));
    } catch (err) {
      if (!isSxError(err)) throw err;
      sources.push({ file: resolve(file), event: null, error: err.message });
    }
  }
  const total = sources.reduce((n, s) => n + ('count' in s ? s.count : 0), 0);
  const pool = new LabelPool({ geometryFile, params: options.params });
  // Frames in flight, oldest first, so results come out in order while all workers stay busy.
  const window: Promise<LabelledFrame>[] = [];
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
  try {
    for (const source of sources) {
      if (!('count' in source)) {
        emit(source);
        continue;
      }
      for (let i = 0; i < source.count; i++) {
        const event = source.event(i);
        let pending: Promise<LabelledFrame>;
        try {
          const frame = source.read(i);
          pending = pool.label(frame, `${source.file} event ${event}`).then(
            (labels) => ({ file: source.file, event, labels }),
            (err: Error) => ({ file: source.file, event, error: err.message }),
          );
        } catch (err) {
          if (!isSxError(err)) throw err;
          pending = Promise.resolve({ file: source.file, event, error: err.message });
        }
        window.push(pending);
        if (window.length >= 2 * pool.size) emit(await window.shift()!);
      }
    }
    while (window.length > 0) emit(await window.shift()!);
  } finally {
    await pool.close();
    for (const s of sources) if ('close' in s) s.close();
  }
  return summary;
}
