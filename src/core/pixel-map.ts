/**
 * Per-pixel facts of a detector data array, computed once per geometry: which panel a pixel
 * belongs to, whether it can ever be used, and where it sits in the lab (for peak positions,
 * radial binning in peak finding, and resolution).
 */
import { SxError } from '../errors.ts';
import { HC_EV_M, wavelengthMetres } from '../formats/crystfel-geometry-beam.ts';
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
 *
 * @example
 * const map = buildPixelMap(readGeometry('det1024.geom'));
 * map.radius[512 * map.width + 512]; // 0.707: the beam hits the corner between four pixels
 */
export function buildPixelMap(g: Geometry, options: PixelMapOptions = {}): PixelMap {
  checkOptions(options);
  const panels = g.panels;
  checkOneArray(g);
  if (panels.length > 32767) {
    throw new SxError('input', `${g.file}: ${panels.length} panels; at most 32767 are supported for labelling`);
  }
  const width = Math.max(...panels.map((p) => p.maxFs)) + 1;
  const height = Math.max(...panels.map((p) => p.maxSs)) + 1;
  const n = width * height;
  const panel = new Int16Array(n).fill(-1);
  const bad = new Uint8Array(n).fill(1);
  const x = new Float32Array(n).fill(NaN);
  const y = new Float32Array(n).fill(NaN);
  const radius = new Float32Array(n).fill(NaN);
  const lambdaA = wavelengthAngstrom(g, options);
  const clens = panels.map((p) => options.clenMetres ?? (p.clen.kind === 'metres' ? p.clen.metres : undefined));
  const withResolution = lambdaA !== undefined && clens.every((c) => c !== undefined);
  const inv = withResolution ? new Float32Array(n).fill(NaN) : undefined;
  const shiftX = g.detectorShiftX.kind === 'metres' ? g.detectorShiftX.metres : 0;
  const shiftY = g.detectorShiftY.kind === 'metres' ? g.detectorShiftY.metres : 0;

  panels.forEach((p, k) => {
    const x0 = p.cornerX + shiftX * p.res;
    const y0 = p.cornerY + shiftY * p.res;
    const z0 = ((clens[k] ?? 0) + p.coffset) * p.res;
    const { fs: f, ss: s } = p;
    const usable = p.noIndex ? 1 : 0;
    const edge = p.maskEdgePixels;
    for (let ss = p.minSs; ss <= p.maxSs; ss++) {
      const ds = ss - p.minSs + 0.5;
      const rowX = x0 + ds * s.x;
      const rowY = y0 + ds * s.y;
      const rowZ = z0 + ds * s.z;
      const edgeRow = ss - p.minSs < edge || p.maxSs - ss < edge;
      const row = ss * width;
      for (let fs = p.minFs; fs <= p.maxFs; fs++) {
        const i = row + fs;
        const df = fs - p.minFs + 0.5;
        const px = rowX + df * f.x;
        const py = rowY + df * f.y;
        const r2 = px * px + py * py;
        panel[i] = k;
        bad[i] = edgeRow || fs - p.minFs < edge || p.maxFs - fs < edge ? 1 : usable;
        x[i] = px;
        y[i] = py;
        radius[i] = Math.sqrt(r2);
        if (inv !== undefined) {
          const pz = rowZ + df * f.z;
          // sin θ from cos 2θ = z / |v| via the half-angle formula: no trig per pixel.
          const cos2t = pz / Math.sqrt(r2 + pz * pz);
          inv[i] = (2 * Math.sqrt((1 - cos2t) / 2)) / lambdaA!;
        }
      }
    }
  });
  markBadRegions(g, { width, height, bad, x, y });
  return { width, height, panel, bad, radius, x, y, ...(inv === undefined ? {} : { invResolution: inv }), panels, geometry: g };
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

interface MarkTarget {
  width: number;
  height: number;
  bad: Uint8Array;
  x: Float32Array;
  y: Float32Array;
}

function markBadRegions(g: Geometry, m: MarkTarget): void {
  for (const r of g.badRegions) {
    if (r.kind === 'data') {
      const p = r.panel === undefined ? undefined : g.panels.find((q) => q.name === r.panel);
      const fs0 = Math.max(r.minFs, p?.minFs ?? 0);
      const fs1 = Math.min(r.maxFs, p?.maxFs ?? m.width - 1);
      const ss0 = Math.max(r.minSs, p?.minSs ?? 0);
      const ss1 = Math.min(r.maxSs, p?.maxSs ?? m.height - 1);
      for (let ss = ss0; ss <= ss1; ss++) m.bad.fill(1, ss * m.width + fs0, ss * m.width + fs1 + 1);
      continue;
    }
    for (let i = 0; i < m.bad.length; i++) {
      const px = m.x[i];
      const py = m.y[i];
      // NaN (gap) positions fail every comparison, and gaps are bad already.
      if (px >= r.minX && px <= r.maxX && py >= r.minY && py <= r.maxY) m.bad[i] = 1;
    }
  }
}

/**
 * The same map with its per-pixel arrays in shared memory, so worker threads use one copy (an
 * Eiger 16M map is ~340 MB and takes a second to build) instead of each building its own.
 */
export function sharePixelMap(map: PixelMap): PixelMap {
  const share = <T extends Int16Array | Uint8Array | Float32Array>(a: T): T => {
    const shared = new (a.constructor as new (b: SharedArrayBuffer) => T)(new SharedArrayBuffer(a.byteLength));
    shared.set(a as never);
    return shared;
  };
  return {
    ...map,
    panel: share(map.panel), bad: share(map.bad), radius: share(map.radius), x: share(map.x), y: share(map.y),
    ...(map.invResolution ? { invResolution: share(map.invResolution) } : {}),
  };
}
