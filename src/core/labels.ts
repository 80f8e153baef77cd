import { SxError } from '../errors.ts';
import type { PixelArray } from '../store/hdf5.ts';
import { findPeaks, type PeakFinderParams, type PeakList } from './peakfinder8.ts';
import type { PixelMap } from './pixel-map.ts';

/** What the processing core says about one frame. */
export interface FrameLabels {
  hit: boolean;
  nPeaks: number;
  /** d-spacing in Å of the outermost peaks (see `estimateResolution`); null without beam energy and camera length. */
  resolution: number | null;
  peaks: PeakList;
}

/**
 * Resolution estimate: the d-spacing of the peak at the 95th percentile of 1/d, so that one
 * stray outer peak does not claim a resolution the crystal does not have.
 */
export function estimateResolution(peaks: PeakList, map: PixelMap): number | null {
  const inv = map.invResolution;
  if (!inv || peaks.count === 0) return null;
  const values = Array.from({ length: peaks.count }, (_, i) => inv[Math.floor(peaks.ss[i]) * map.width + Math.floor(peaks.fs[i])]).sort((a, b) => a - b);
  const outer = values[Math.min(values.length - 1, Math.floor(0.95 * (values.length - 1) + 0.5))];
  return outer > 0 ? 1 / outer : null;
}

/** Detectors mark dead and gap pixels with the type's largest value (65535 for 16-bit Eiger data). */
function markerValue(frame: PixelArray): number | undefined {
  if (frame instanceof Uint16Array) return 0xffff;
  if (frame instanceof Uint32Array) return 0xffffffff;
  return undefined;
}

/**
 * Labels frames of one geometry. The pixel map's static mask is combined per frame with the
 * value-dependent ones (detector markers, the geometry's flag_lessthan/morethan/equal).
 */
export class Labeller {
  readonly map: PixelMap;
  readonly params: PeakFinderParams;
  private readonly bad: Uint8Array;
  private readonly flaggedPanels: PixelMap['panels'];

  constructor(map: PixelMap, params: PeakFinderParams) {
    this.map = map;
    this.params = params;
    this.bad = new Uint8Array(map.width * map.height);
    this.flaggedPanels = map.panels.filter((p) => p.flagLessThan !== undefined || p.flagMoreThan !== undefined || p.flagEqual !== undefined);
  }

  label(frame: PixelArray, where: string): FrameLabels {
    const { map } = this;
    if (frame.length !== map.width * map.height) {
      throw new SxError('input', `${where}: frame has ${frame.length} pixels but the geometry describes ${map.width}x${map.height} = ${map.width * map.height}`);
    }
    this.maskFrame(frame);
    const peaks = findPeaks({ frame, width: map.width, height: map.height, radius: map.radius, panel: map.panel, bad: this.bad }, this.params);
    return { hit: peaks.count >= this.params.minPeaks, nPeaks: peaks.count, resolution: estimateResolution(peaks, map), peaks };
  }

  private maskFrame(frame: PixelArray): void {
    const bad = this.bad;
    bad.set(this.map.bad);
    const marker = markerValue(frame);
    if (marker !== undefined) {
      for (let i = 0; i < frame.length; i++) if (frame[i] === marker) bad[i] = 1;
    }
    const width = this.map.width;
    for (const p of this.flaggedPanels) {
      const lt = p.flagLessThan ?? -Infinity;
      const mt = p.flagMoreThan ?? Infinity;
      const eq = p.flagEqual;
      for (let ss = p.minSs; ss <= p.maxSs; ss++) {
        for (let i = ss * width + p.minFs, end = ss * width + p.maxFs; i <= end; i++) {
          const v = frame[i];
          if (v < lt || v > mt || v === eq) bad[i] = 1;
        }
      }
    }
  }
}
