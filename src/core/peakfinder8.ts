import { describeArgument, isNativeFrame } from '../arguments.ts';
import { SxError } from '../errors.ts';
import { loadNative } from '../native.ts';
import type { GroupMaxima } from '../group-maxima.ts';

/**
 * peakfinder8's parameters, with CrystFEL's names (camelCase) and meanings; radii in pixels.
 * `threshold` and `minSnr` are in the frame's units (ADU; photons for photon-counting data).
 */
export interface PeakFinderParams {
  /** Absolute floor of every radial bin's high limit (CrystFEL --threshold). */
  threshold: number;
  /** Clip factor of the radial statistics, and the minimum peak SNR (--min-snr). */
  minSnr: number;
  /** Fewest pixels in a peak, integer >= 1 (--min-pix-count). */
  minPixCount: number;
  /** Most pixels in a peak, integer >= minPixCount (--max-pix-count). */
  maxPixCount: number;
  /** Integer >= 1: the local background is the ring R < d <= 2R around the peak (--local-bg-radius). */
  localBgRadius: number;
  /** Pixels count only if minRes < radius (--min-res). */
  minRes: number;
  /** ... and radius < maxRes; 0 = no upper cut (--max-res). */
  maxRes: number;
  /** Later peaks of a panel that already has this many are dropped (CrystFEL: 2048). */
  maxPeaksPerPanel: number;
  /** A frame is a hit if it has at least this many peaks (--min-peaks); not used by `findPeaks`. */
  minPeaks: number;
}

/**
 * Defaults for photon-counting detectors (frames in photons, background up to a few photons
 * per pixel). CrystFEL's settings for the shared sim-lysozyme data except for the threshold and
 * the resolution cut (max_res depends on the detector):
 * - threshold 8: on the simulator's frames it finds a median 99 % of the spots whose brightest
 *   pixel expects >= 10 photons (10 finds 87 %: such a pixel passes a threshold of 10 only half
 *   the time, and a peak needs two). At 2 photons per pixel (the sim-lysozyme background) the
 *   bins' 5-sigma limit of ~9.1 is higher anyway, and blanks keep < 1 false peak per Mpixel.
 * - minPixCount 2: with 1, single noisy pixels give tens of peaks per blank (the data README).
 * - maxPixCount 50, localBgRadius 3, minSnr 5: CrystFEL's values; spots are 1-3 px wide.
 * - minRes 20: skips the beamstop edge and the steep air scatter next to it.
 * - minPeaks 10: CrystFEL's default of 0 makes every frame a hit.
 *
 * @example
 * const peaks = findPeaks(input, { ...DEFAULT_PEAKFINDER_PARAMS, maxRes: 800 });
 */
export const DEFAULT_PEAKFINDER_PARAMS: Readonly<PeakFinderParams> = Object.freeze({
  threshold: 8,
  minSnr: 5,
  minPixCount: 2,
  maxPixCount: 50,
  localBgRadius: 3,
  minRes: 20,
  maxRes: 0,
  maxPeaksPerPanel: 2048,
  minPeaks: 10,
});

/** One frame and the per-pixel maps of its geometry, all width x height, row-major (fs fastest). */
export interface PeakFinderInput {
  frame: Uint16Array | Uint32Array | Int32Array | Float32Array;
  width: number;
  height: number;
  /** Distance from the beam in pixels (from the geometry's pixel map). */
  radius: Float32Array;
  /** Panel index, -1 = no panel; peaks never join pixels of different panels. */
  panel: Int16Array;
  /** 1 = masked for this frame. */
  bad: Uint8Array;
  /**
   * Pixels with a value below this are bad for this frame (CrystFEL's flag_lessthan). Like
   * `flagMoreThan` and `flagEqual`, this is equivalent to setting `bad`, but spares a masking
   * pass over every frame: the kernel checks values as it reads them.
   */
  flagLessThan?: number;
  /** Pixels with a value above this are bad (flag_morethan). */
  flagMoreThan?: number;
  /**
   * Pixels with one of these values are bad (flag_equal; the detector's marker for gap and dead
   * pixels, e.g. 65535 in 16-bit Eiger frames). At most MAX_FLAG_EQUAL values.
   */
  flagEqual?: number[];
  /**
   * Work to reuse between frames of this geometry (see `PeakFinderPlan`); made for these same
   * `radius` and `panel` arrays. Only saves time: the peaks are the same without it.
   */
  plan?: PeakFinderPlan;
  /**
   * The frame's group maxima from its decoder (uint16 frames, groups of SEED_SCAN_BLOCK): the
   * seed scan skips a group whose maximum is below every seed without reading it. Only saves
   * time; maxima of another grouping or too low a cap are not used.
   */
  maxima?: GroupMaxima;
}

/** Pixels per group of the seed scan (the kernel's kSeedScanBlock), the grouping `maxima` must have. */
export const SEED_SCAN_BLOCK = 256;

/**
 * What `findPeaks` reuses between frames of one geometry: which pixels the radial statistics
 * sample and where each goes among the samples sorted by bin. Without a plan the addon finds
 * them on every frame by a strided pass over the radius and panel maps, which adds ~40 % to the
 * kernel's time on an Eiger 16M frame. The addon builds its part on the first call and
 * again if `minRes` or `maxRes` change; `bad` and the value flags still apply per frame, so one
 * plan serves any mask. Plans stay in the thread that made them: make one per pixel map and
 * thread (`Labeller` does).
 *
 * @example
 * const plan = new PeakFinderPlan(map);
 * for (const frame of frames) findPeaks({ frame, width: map.width, height: map.height, radius: map.radius, panel: map.panel, bad: map.bad, plan });
 */
export class PeakFinderPlan {
  readonly width: number;
  readonly height: number;
  readonly radius: Float32Array;
  readonly panel: Int16Array;
  /** Where the addon keeps its part, an opaque handle (filled on first use). */
  readonly native: object = {};

  constructor(maps: Pick<PeakFinderInput, 'width' | 'height' | 'radius' | 'panel'>) {
    this.width = maps.width;
    this.height = maps.height;
    this.radius = maps.radius;
    this.panel = maps.panel;
  }
}

/** Most values in `PeakFinderInput.flagEqual` (kMaxFlagEqual in native/kernels/peakfinder8.hpp). */
export const MAX_FLAG_EQUAL = 4;

/** Peaks as a struct of arrays, in the order their seeds were met in a row-major scan. */
export interface PeakList {
  count: number;
  /** Centre of mass + 0.5 (CrystFEL's convention: pixel i spans [i, i + 1)), data-array coordinates. */
  fs: Float32Array;
  ss: Float32Array;
  panel: Int16Array;
  /** Sum of (value - local background mean) over the peak's pixels. */
  intensity: Float32Array;
  /** intensity / local background sigma (+Infinity on a noiseless background). */
  snr: Float32Array;
  npix: Int32Array;
  /** The peak's largest raw pixel value; always set by `findPeaks`. */
  maxValue?: Float32Array;
}

/** Validated input with every parameter filled in (shared with the reference). */
export interface ResolvedPeakFinder {
  input: PeakFinderInput;
  params: PeakFinderParams;
}

const PARAM_NAMES = Object.keys(DEFAULT_PEAKFINDER_PARAMS) as (keyof PeakFinderParams)[];

/**
 * Finds Bragg peaks with the peakfinder8 method in native code (see /work/shared/formats.md
 * and `findPeaksReference`, the same computation in TypeScript). Statistics per 1-px radial
 * bin from a deterministic subsample (about 256 pixels per bin), 5 rounds of sigma clipping,
 * seeds above the bin's high limit grown by 8-connectivity within a panel, local background
 * from the ring R < d <= 2R around the brightest pixel. SNR = intensity / local sigma, as
 * CrystFEL defines it (so `minSnr` means what it means there). Pixels flagged by value
 * (`flagLessThan`, `flagMoreThan`, `flagEqual`) are treated exactly as those set in `bad`.
 *
 * @example
 * const peaks = findPeaks({ frame, width, height, radius: map.radius, panel: map.panel, bad }, { maxRes: 800 });
 * const hit = isHit(peaks); // peaks.count >= DEFAULT_PEAKFINDER_PARAMS.minPeaks
 * const eiger = findPeaks({ frame, width, height, radius: map.radius, panel: map.panel, bad: map.bad, flagEqual: [65535] });
 * const again = findPeaks({ frame, width, height, radius: map.radius, panel: map.panel, bad: map.bad, plan: new PeakFinderPlan(map) });
 */
export function findPeaks(input: PeakFinderInput, params?: Partial<PeakFinderParams>): PeakList {
  const r = resolvePeakFinder(input, params);
  const { frame, width, height, radius, panel, bad, flagLessThan, flagMoreThan, flagEqual, plan, maxima } = r.input;
  const flags = { flagLessThan, flagMoreThan, flagEqual };
  // The addon treats an undefined plan or maxima as none.
  return loadNative().peakfinder8(frame, width, height, radius, panel, bad, r.params, flags, plan?.native, maxima);
}

/**
 * Whether a peak list makes its frame a hit: at least `minPeaks` peaks.
 *
 * @example
 * isHit(findPeaks(input), { minPeaks: 15 });
 */
export function isHit(peaks: PeakList, params?: Partial<PeakFinderParams>): boolean {
  return peaks.count >= (params?.minPeaks ?? DEFAULT_PEAKFINDER_PARAMS.minPeaks);
}

/**
 * Checks the input and parameters, reporting every problem at once, and fills in defaults.
 * Only sizes and types are checked: a NaN radius or value simply makes its pixel take no part.
 *
 * @example
 * const { params } = resolvePeakFinder(input, { threshold: 8 });
 */
export function resolvePeakFinder(input: unknown, params?: unknown): ResolvedPeakFinder {
  if (typeof input !== 'object' || input === null) {
    throw new SxError(
      'usage',
      `Expected an input object { frame, width, height, radius, panel, bad } for findPeaks but received ${describeArgument(input)}`,
    );
  }
  const problems: string[] = [];
  const { frame, width, height, radius, panel, bad, flagLessThan, flagMoreThan, flagEqual, plan, maxima } = input as Record<string, unknown>;
  const frameOk = isNativeFrame(frame);
  if (!frameOk) {
    problems.push(`Expected frame to be a Uint16Array, Uint32Array, Int32Array or Float32Array but received ${describeArgument(frame)}`);
  }
  const widthOk = isInteger(width, 1);
  if (!widthOk) problems.push(`Expected width to be a positive integer but received ${describeArgument(width)}`);
  const heightOk = isInteger(height, 1);
  if (!heightOk) problems.push(`Expected height to be a positive integer but received ${describeArgument(height)}`);
  const pixels = widthOk && heightOk ? width * height : undefined;
  if (frameOk && pixels !== undefined && frame.length !== pixels) {
    problems.push(`Expected frame to have width*height = ${pixels} elements but received ${frame.length}`);
  }
  const maps: [string, unknown, new (n: number) => ArrayBufferView][] = [
    ['radius', radius, Float32Array],
    ['panel', panel, Int16Array],
    ['bad', bad, Uint8Array],
  ];
  for (const [name, value, type] of maps) {
    if (!(value instanceof type)) {
      problems.push(`Expected ${name} to be a ${type.name} but received ${describeArgument(value)}`);
    } else if (pixels !== undefined && (value as Uint8Array).length !== pixels) {
      problems.push(`Expected ${name} to have width*height = ${pixels} elements but received ${(value as Uint8Array).length}`);
    }
  }
  for (const [name, value] of [['flagLessThan', flagLessThan], ['flagMoreThan', flagMoreThan]] as const) {
    if (value !== undefined && !Number.isFinite(value)) problems.push(`Expected ${name} to be a finite number or undefined but received ${describeArgument(value)}`);
  }
  if (flagEqual !== undefined && !(Array.isArray(flagEqual) && flagEqual.length <= MAX_FLAG_EQUAL && flagEqual.every((v) => Number.isFinite(v)))) {
    const received = Array.isArray(flagEqual) ? `[${flagEqual.map(describeArgument).join(', ')}]` : describeArgument(flagEqual);
    problems.push(`Expected flagEqual to be an array of at most ${MAX_FLAG_EQUAL} finite numbers or undefined but received ${received}`);
  }
  if (plan !== undefined && !(plan instanceof PeakFinderPlan && plan.radius === radius && plan.panel === panel && plan.width === width && plan.height === height)) {
    problems.push(`Expected plan to be undefined or a PeakFinderPlan made for this input's width, height, radius and panel but received ${describeArgument(plan)}`);
  }
  if (maxima !== undefined && !isGroupMaxima(maxima, pixels)) {
    problems.push(`Expected maxima to be undefined or { group, cap, values } with a Uint16Array of ceil(pixels / group) values but received ${describeArgument(maxima)}`);
  }
  const resolved = resolveParams(params, problems);
  if (problems.length > 0) throw new SxError('usage', problems.join('; '));
  return { input: input as PeakFinderInput, params: resolved };
}

/**
 * Checks peak-finder settings before any frame is read, throwing SxError('usage') with every
 * problem; returns them with defaults filled in.
 *
 * @example
 * checkPeakFinderParams({ minPixCount: 0 }); // throws: Expected minPixCount to be an integer >= 1 but received 0
 */
export function checkPeakFinderParams(params: unknown): PeakFinderParams {
  const problems: string[] = [];
  const resolved = resolveParams(params, problems);
  if (problems.length > 0) throw new SxError('usage', `peak finder settings: ${problems.join('; ')}`);
  return resolved;
}

function isGroupMaxima(m: unknown, pixels: number | undefined): boolean {
  if (typeof m !== 'object' || m === null) return false;
  const { group, cap, values } = m as Record<string, unknown>;
  return isInteger(group, 1) && isInteger(cap, 0) && (cap as number) <= 0xffff && values instanceof Uint16Array &&
    (pixels === undefined || values.length === Math.ceil(pixels / (group as number)));
}

function resolveParams(params: unknown, problems: string[]): PeakFinderParams {
  if (params === undefined) return { ...DEFAULT_PEAKFINDER_PARAMS };
  if (typeof params !== 'object' || params === null) {
    problems.push(`Expected peak finder params to be an object but received ${describeArgument(params)}`);
    return { ...DEFAULT_PEAKFINDER_PARAMS };
  }
  const given = params as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!(PARAM_NAMES as string[]).includes(key)) {
      problems.push(`Unknown peak finder parameter ${JSON.stringify(key)}; expected one of ${PARAM_NAMES.join(', ')}`);
    }
  }
  const p = { ...DEFAULT_PEAKFINDER_PARAMS } as PeakFinderParams;
  for (const key of PARAM_NAMES) if (given[key] !== undefined) (p as unknown as Record<string, unknown>)[key] = given[key];
  const check = (ok: boolean, key: keyof PeakFinderParams, what: string) => {
    if (!ok) problems.push(`Expected ${key} to be ${what} but received ${describeArgument(p[key])}`);
  };
  const finite = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  const intMax = 0x7fffffff;
  check(finite(p.threshold), 'threshold', 'a finite number');
  check(finite(p.minSnr) && p.minSnr >= 0, 'minSnr', 'a finite number >= 0');
  check(isInteger(p.minPixCount, 1, intMax), 'minPixCount', 'an integer >= 1');
  const minPix = isInteger(p.minPixCount, 1, intMax) ? p.minPixCount : 1;
  check(isInteger(p.maxPixCount, minPix, intMax), 'maxPixCount', `an integer >= minPixCount (${minPix})`);
  check(isInteger(p.localBgRadius, 1, 1024), 'localBgRadius', 'an integer from 1 to 1024');
  check(finite(p.minRes) && p.minRes >= 0, 'minRes', 'a finite number >= 0');
  const minRes = finite(p.minRes) ? p.minRes : 0;
  check(finite(p.maxRes) && (p.maxRes === 0 || p.maxRes > minRes), 'maxRes', `0 (no cut) or a finite number > minRes (${minRes})`);
  check(isInteger(p.maxPeaksPerPanel, 1, intMax), 'maxPeaksPerPanel', 'an integer >= 1');
  check(isInteger(p.minPeaks, 0, intMax), 'minPeaks', 'an integer >= 0');
  return p;
}


function isInteger(value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): value is number {
  return Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;
}
