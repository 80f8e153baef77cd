// The pixel map's per-pixel loop in TypeScript, as native/kernels/pixel-map.cpp does it: the
// tests require identical maps (keep the formulas and their order in step).
import type { Geometry } from '../formats/crystfel-geometry-types.ts';
import { markDataRegions, PANEL_FIELDS, placePanels, type PixelMap, type PixelMapOptions } from './pixel-map.ts';

/**
 * `buildPixelMap` without the addon (plain arrays).
 *
 * @example
 * const map = buildPixelMapReference(readGeometry('det1024.geom'));
 */
export function buildPixelMapReference(g: Geometry, options: PixelMapOptions = {}): PixelMap {
  const { width, height, panels, labBoxes, lambdaA } = placePanels(g, options);
  const n = width * height;
  const panel = new Int16Array(n).fill(-1);
  const bad = new Uint8Array(n).fill(1);
  const x = new Float32Array(n).fill(NaN);
  const y = new Float32Array(n).fill(NaN);
  const radius = new Float32Array(n).fill(NaN);
  const inv = lambdaA === undefined ? undefined : new Float32Array(n).fill(NaN);
  const fields = PANEL_FIELDS.length;
  for (let k = 0; k < panels.length / fields; k++) {
    const [minFs, maxFs, minSs, maxSs, x0, y0, z0, fsX, fsY, fsZ, ssX, ssY, ssZ, noIndex, edge] = panels.subarray(k * fields, (k + 1) * fields);
    for (let ss = minSs; ss <= maxSs; ss++) {
      const ds = ss - minSs + 0.5;
      const rowX = x0 + ds * ssX;
      const rowY = y0 + ds * ssY;
      const rowZ = z0 + ds * ssZ;
      const edgeRow = ss - minSs < edge || maxSs - ss < edge;
      const row = ss * width;
      for (let fs = minFs; fs <= maxFs; fs++) {
        const i = row + fs;
        const df = fs - minFs + 0.5;
        const px = rowX + df * fsX;
        const py = rowY + df * fsY;
        const r2 = px * px + py * py;
        const fx = Math.fround(px);
        const fy = Math.fround(py);
        let isBad = edgeRow || fs - minFs < edge || maxFs - fs < edge || noIndex !== 0;
        // Lab regions test the centre as the map stores it (float32).
        for (let b = 0; b < labBoxes.length && !isBad; b += 4) {
          isBad = fx >= labBoxes[b] && fx <= labBoxes[b + 1] && fy >= labBoxes[b + 2] && fy <= labBoxes[b + 3];
        }
        panel[i] = k;
        bad[i] = isBad ? 1 : 0;
        x[i] = fx;
        y[i] = fy;
        radius[i] = Math.sqrt(r2);
        if (inv !== undefined) {
          const pz = rowZ + df * fsZ;
          // sin θ from cos 2θ = z / |v| via the half-angle formula: no trig per pixel.
          const cos2t = pz / Math.sqrt(r2 + pz * pz);
          inv[i] = (2 * Math.sqrt((1 - cos2t) / 2)) / lambdaA!;
        }
      }
    }
  }
  const map = { width, height, panel, bad, radius, x, y, ...(inv === undefined ? {} : { invResolution: inv }), panels: g.panels, geometry: g };
  markDataRegions(g, map);
  return map;
}
