import { SxError } from '../errors.ts';
import { findPeaks, PeakFinderPlan, SEED_SCAN_BLOCK, type PeakFinderInput, type PeakFinderParams, type PeakList } from './peakfinder8.ts';
import type { PixelMap } from './pixel-map.ts';
import type { GroupMaxima } from '../group-maxima.ts';
import type { PixelArray, PixelType } from '../pixels.ts';

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

type ValueFlags = Pick<PeakFinderInput, 'flagLessThan' | 'flagMoreThan' | 'flagEqual'>;

/**
 * Labels frames of one geometry. Value-dependent masks (detector markers, the geometry's
 * flag_lessthan/morethan/equal) are applied by the peak finder itself, so the pixel map's static
 * mask is used as it is, with no pass over the frame here. Only a geometry whose panels flag
 * different values needs a per-frame mask, built in TypeScript. The peak finder's plan (which
 * pixels the radial statistics sample) is made on the first frame and reused for the others.
 */
export class Labeller {
  readonly map: PixelMap;
  readonly params: PeakFinderParams;
  private readonly flags: ValueFlags;
  private readonly perPanelFlags: PixelMap['panels'];
  private readonly bad: Uint8Array | undefined;
  private readonly plan: PeakFinderPlan;

  constructor(map: PixelMap, params: PeakFinderParams) {
    this.map = map;
    this.params = params;
    const flagged = map.panels.filter((p) => p.flagLessThan !== undefined || p.flagMoreThan !== undefined || p.flagEqual !== undefined);
    const key = (p: PixelMap['panels'][number]) => `${p.flagLessThan}|${p.flagMoreThan}|${p.flagEqual}`;
    const uniform = flagged.length === map.panels.length && new Set(flagged.map(key)).size === 1;
    const first = flagged[0];
    this.flags = uniform ? { flagLessThan: first.flagLessThan, flagMoreThan: first.flagMoreThan, flagEqual: first.flagEqual === undefined ? [] : [first.flagEqual] } : { flagEqual: [] };
    this.perPanelFlags = uniform ? [] : flagged;
    this.bad = this.perPanelFlags.length > 0 ? new Uint8Array(map.width * map.height) : undefined;
    this.plan = new PeakFinderPlan(map);
  }

  /**
   * The group maxima a decoder should take of this geometry's uint16 frames for `label` (see
   * GroupMaxima): every value a seed can have is at most the cap (65535 is always the marker).
   */
  maximaFor(pixelType: PixelType): { group: number; cap: number } | undefined {
    if (pixelType !== 'uint16') return undefined;
    return { group: SEED_SCAN_BLOCK, cap: Math.max(0, Math.min(0xfffe, Math.floor(this.flags.flagMoreThan ?? Infinity))) };
  }

  /** Labels one frame; `maxima`, when its decoder took them (`maximaFor`), spare the peak finder a pass. */
  label(frame: PixelArray, where: string, maxima?: GroupMaxima): FrameLabels {
    const { map } = this;
    if (frame.length !== map.width * map.height) {
      throw new SxError('input', `${where}: frame has ${frame.length} pixels but the geometry describes ${map.width}x${map.height} = ${map.width * map.height}`);
    }
    const marker = markerValue(frame);
    const flagEqual = marker === undefined ? this.flags.flagEqual : [...(this.flags.flagEqual ?? []), marker];
    const bad = this.bad ? this.maskPanels(frame, this.bad) : map.bad;
    const peaks = findPeaks({ frame, width: map.width, height: map.height, radius: map.radius, panel: map.panel, bad, ...this.flags, flagEqual, plan: this.plan, ...(maxima ? { maxima } : {}) }, this.params);
    return { hit: peaks.count >= this.params.minPeaks, nPeaks: peaks.count, resolution: estimateResolution(peaks, map), peaks };
  }

  private maskPanels(frame: PixelArray, bad: Uint8Array): Uint8Array {
    bad.set(this.map.bad);
    const width = this.map.width;
    for (const p of this.perPanelFlags) {
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
    return bad;
  }
}
