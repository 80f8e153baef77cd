/**
 * Per-pixel facts of a detector data array, computed once per geometry: which panel a pixel
 * belongs to, whether it can ever be used, and where it sits in the lab (for peak positions,
 * radial binning in peak finding, and resolution).
 */
import { SxError } from '../errors.ts';
import { HC_EV_M, wavelengthMetres } from '../formats/crystfel-geometry-beam.ts';
import { loadNative } from '../native.ts';
import type { Geometry, Panel } from '../formats/crystfel-geometry-types.ts';

export interface PixelMapOptions {
  /**
   * Camera length in metres, replacing every panel's `clen` (use it when `clen` is a header
   * path: pass the header value converted to metres; it may be negative, as encoder positions
   * are). `coffset` is still added.
   */
  clenMetres?: number;
  /** Photon energy in eV, replacing the geometry's beam energy. */
  photonEnergyEv?: number;
}

/**
 * Row-major (ss, fs) arrays over the data array, index `ss * width + fs`. Pixels outside every
 * panel have panel -1, bad 1 and NaN positions.
 */
export interface PixelMap {
  /** Fast-scan and slow-scan extent of the data array: max(maxFs) + 1, max(maxSs) + 1. */
  width: number;
  height: number;
  /** Index into `panels`, -1 in gaps. */
  panel: Int16Array;
  /** 1 = never usable: no panel, bad regions (both kinds), mask_edge_pixels, no_index panels. */
  bad: Uint8Array;
  /** Distance of the pixel centre from the beam axis, sqrt(x² + y²), in pixels. */
  radius: Float32Array;
  /** Lab x and y of the pixel centre, in pixels of its panel. */
  x: Float32Array;
  y: Float32Array;
  /** 1/d in 1/Å at the pixel centre, when camera length and beam energy are both known. */
  invResolution?: Float32Array;
  panels: Panel[];
  geometry: Geometry;
}

/**
 * Builds the pixel map of the one data array the panels live in.
 *
 * Pixel (fs, ss) of a panel has its centre at corner + (fs - minFs + 0.5)·fsVec +
 * (ss - minSs + 0.5)·ssVec: the corner is the outer corner of the first pixel, so the centre is
 * half a pixel in along both axes. Its z (pixels) is (clen + coffset)·res plus the z terms of
 * the same sum; 1/d = 2 sin(θ)/λ with 2θ = atan2(r, z). A metre `detector_shift_x/y` moves all
 * pixels; a per-frame (header) shift is not applied. Lab bad regions test the pixel centre.
 * The per-pixel loop runs in native code (`buildPixelMapReference` is the same in TypeScript);
 * the arrays are in shared memory, so worker threads can label with this one copy.
 *
 * @example
 * const map = buildPixelMap(readGeometry('det1024.geom'));
 * map.radius[512 * map.width + 512]; // 0.707: the beam hits the corner between four pixels
 */
export function buildPixelMap(g: Geometry, options: PixelMapOptions = {}): PixelMap {
  const placed = placePanels(g, options);
  const { width, height, lambdaA } = placed;
  const n = width * height;
  // ~340 MB on an Eiger 16M: one copy for every worker thread.
  const shared = <T>(Type: new (b: SharedArrayBuffer) => T, bytes: number): T => new Type(new SharedArrayBuffer(n * bytes));
  const map: PixelMap = {
    width, height, panels: g.panels, geometry: g,
    panel: shared(Int16Array, 2), bad: shared(Uint8Array, 1), radius: shared(Float32Array, 4), x: shared(Float32Array, 4), y: shared(Float32Array, 4),
    ...(lambdaA === undefined ? {} : { invResolution: shared(Float32Array, 4) }),
  };
  loadNative().buildPixelMap(placed.panels, placed.labBoxes, width, height, lambdaA ?? 0, map.panel, map.bad, map.x, map.y, map.radius, map.invResolution ?? null);
  markDataRegions(g, map);
  return map;
}

/** Fields per panel in `PlacedPanels.panels`, in the order the addon reads them. */
export const PANEL_FIELDS = ['minFs', 'maxFs', 'minSs', 'maxSs', 'x0', 'y0', 'z0', 'fsX', 'fsY', 'fsZ', 'ssX', 'ssY', 'ssZ', 'noIndex', 'edge'] as const;

/** What the per-pixel loop needs of a geometry (shared with the reference). */
export interface PlacedPanels {
  width: number;
  height: number;
  /** PANEL_FIELDS numbers per panel: its pixel range, first-pixel corner (x0, y0, z0) and axes in pixels. */
  panels: Float64Array;
  /** [minX, maxX, minY, maxY] per lab bad region. */
  labBoxes: Float64Array;
  /** Wavelength in Å when camera length and beam energy are both known (then 1/d is mapped). */
  lambdaA?: number;
}

/** Checks a geometry and options for the pixel map and places each panel in the lab. */
export function placePanels(g: Geometry, options: PixelMapOptions): PlacedPanels {
  checkOptions(options);
  const panels = g.panels;
  checkOneArray(g);
  if (panels.length > 32767) {
    throw new SxError('input', `${g.file}: ${panels.length} panels; at most 32767 are supported for labelling`);
  }
  const width = Math.max(...panels.map((p) => p.maxFs)) + 1;
  const height = Math.max(...panels.map((p) => p.maxSs)) + 1;
  const lambdaA = wavelengthAngstrom(g, options);
  const clens = panels.map((p) => options.clenMetres ?? (p.clen.kind === 'metres' ? p.clen.metres : undefined));
  const withResolution = lambdaA !== undefined && clens.every((c) => c !== undefined);
  const shiftX = g.detectorShiftX.kind === 'metres' ? g.detectorShiftX.metres : 0;
  const shiftY = g.detectorShiftY.kind === 'metres' ? g.detectorShiftY.metres : 0;
  const placed = new Float64Array(panels.length * PANEL_FIELDS.length);
  panels.forEach((p, k) => {
    const { fs: f, ss: s } = p;
    placed.set([
      p.minFs, p.maxFs, p.minSs, p.maxSs,
      p.cornerX + shiftX * p.res, p.cornerY + shiftY * p.res, ((clens[k] ?? 0) + p.coffset) * p.res,
      f.x, f.y, f.z, s.x, s.y, s.z, p.noIndex ? 1 : 0, p.maskEdgePixels,
    ], k * PANEL_FIELDS.length);
  });
  const lab = g.badRegions.filter((r) => r.kind !== 'data');
  const labBoxes = new Float64Array(lab.flatMap((r) => [r.minX, r.maxX, r.minY, r.maxY]));
  return { width, height, panels: placed, labBoxes, ...(withResolution ? { lambdaA } : {}) };
}

function checkOptions(options: PixelMapOptions): void {
  const { clenMetres, photonEnergyEv } = options;
  // clen may be negative: some facilities record an encoder position and put the offset in coffset.
  if (clenMetres !== undefined && !(typeof clenMetres === 'number' && Number.isFinite(clenMetres))) {
    throw new SxError('usage', `Expected clenMetres to be a finite number for the pixel map but received ${String(clenMetres)}`);
  }
  if (photonEnergyEv !== undefined && !(typeof photonEnergyEv === 'number' && Number.isFinite(photonEnergyEv) && photonEnergyEv > 0)) {
    throw new SxError('usage', `Expected photonEnergyEv to be a positive number for the pixel map but received ${String(photonEnergyEv)}`);
  }
}

/** Labelling works on one array: every panel must read the same data path with the same dims. */
function checkOneArray(g: Geometry): void {
  const arrays = new Map<string, string[]>();
  for (const p of g.panels) {
    const key = `${p.data} [${p.dims.join(',')}]`;
    arrays.set(key, [...(arrays.get(key) ?? []), p.name]);
  }
  if (arrays.size > 1) {
    const list = [...arrays].map(([key, names]) => `${key}: ${names.slice(0, 3).join(', ')}${names.length > 3 ? ', ...' : ''}`);
    throw new SxError('input', `${g.file}: panels read ${arrays.size} different data arrays (${list.join('; ')}); ` +
      'per-panel data paths are not supported for labelling');
  }
}

function wavelengthAngstrom(g: Geometry, options: PixelMapOptions): number | undefined {
  if (options.photonEnergyEv !== undefined) return (HC_EV_M / options.photonEnergyEv) * 1e10;
  const kind = g.beam.energy.kind;
  return kind === 'header' || kind === 'none' ? undefined : wavelengthMetres(g) * 1e10;
}

/** Bad regions given in data coordinates: whole row spans, set after the per-pixel loop. */
export function markDataRegions(g: Geometry, m: { width: number; height: number; bad: Uint8Array }): void {
  for (const r of g.badRegions) {
    if (r.kind !== 'data') continue;
    const p = r.panel === undefined ? undefined : g.panels.find((q) => q.name === r.panel);
    const fs0 = Math.max(r.minFs, p?.minFs ?? 0);
    const fs1 = Math.min(r.maxFs, p?.maxFs ?? m.width - 1);
    const ss0 = Math.max(r.minSs, p?.minSs ?? 0);
    const ss1 = Math.min(r.maxSs, p?.maxSs ?? m.height - 1);
    for (let ss = ss0; ss <= ss1; ss++) m.bad.fill(1, ss * m.width + fs0, ss * m.width + fs1 + 1);
  }
}
