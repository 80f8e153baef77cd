import { BEAMSTOP_TRANSMISSION, type Frame } from './background.ts';
import { REFLECTION_STRIDE, type Crystal, type ReflectionTable } from './crystal.ts';
import { MASK_BEAMSTOP, MASK_GAP, wavelengthOf, type DetectorSpec } from './detectors.ts';
import type { Rng } from './rng.ts';

/**
 * A reflection counts towards n_spots when its brightest rendered pixel expects at least
 * this many photons on top of the background. Background stays below ~2 photons/pixel, so
 * such a pixel sits 5σ or more above it: a peak finder run at a few photons would find it.
 */
export const SPOT_PEAK_PHOTONS = 10;

// Reflections further than this many profile radii from the Ewald sphere have partiality
// of about 1e-4 and are skipped before their position is computed.
const EWALD_CUT = 3;
// Spots are drawn out to ±3σ, which holds 99.7 % of each axis' light.
const SPOT_HALF_WIDTH_SIGMAS = 3;

/**
 * Draws the Bragg spots of one still crystal onto a frame that already holds background.
 *
 * Lab frame: +z along the beam; the diffracted wavevector k0 + g meets the detector plane at
 * lab (x, y) = clen · (kx, ky) / kz, and data coordinate fs = cx + x / pixel, ss = cy + y / pixel.
 *
 * @example
 * const spots = new SpotRenderer(spec, mask, buildReflectionTable(0.5), 65534);
 * const nSpots = spots.render(frame, rng, drawCrystal(rng));
 */
export class SpotRenderer {
  private readonly spec: DetectorSpec;
  private readonly mask: Uint32Array;
  private readonly reflections: ReflectionTable;
  private readonly maxAdu: number;
  private readonly k: number;
  private readonly weightsX = new Float64Array(16);
  private readonly weightsY = new Float64Array(16);

  constructor(spec: DetectorSpec, mask: Uint32Array, reflections: ReflectionTable, maxAdu: number) {
    this.spec = spec;
    this.mask = mask;
    this.reflections = reflections;
    this.maxAdu = maxAdu;
    this.k = 1 / wavelengthOf(spec);
  }

  /** Adds the crystal's spots to `frame`; returns n_spots (see SPOT_PEAK_PHOTONS). */
  render(frame: Frame, rng: Rng, crystal: Crystal): number {
    let nSpots = 0;
    this.forEachSpot(crystal, (fs, ss, photons) => {
      if (this.spotPixels(fs, ss, crystal.spotSigma, photons, (i, mean) => {
        const value = frame[i] + rng.poisson(mean);
        frame[i] = value > this.maxAdu ? this.maxAdu : value;
      }) >= SPOT_PEAK_PHOTONS) nSpots++;
    });
    return nSpots;
  }

  /** n_spots that `render` would report for this crystal, without drawing anything. */
  countSpots(crystal: Crystal): number {
    let nSpots = 0;
    this.forEachSpot(crystal, (fs, ss, photons) => {
      if (this.spotPixels(fs, ss, crystal.spotSigma, photons) >= SPOT_PEAK_PHOTONS) nSpots++;
    });
    return nSpots;
  }

  /** Calls `visit` with the detector position and full photon count of every spot of the crystal. */
  private forEachSpot(crystal: Crystal, visit: (fs: number, ss: number, photons: number) => void): void {
    const { width, height, beamCenter, clen, pixelSize } = this.spec;
    const { data, count } = this.reflections;
    const k = this.k;
    const [r0, r1, r2, r3, r4, r5, r6, r7, r8] = crystal.rotation;
    const sLimit = 1 / crystal.resolutionLimit;
    const profile = crystal.profileRadius;
    // |k0 + g|² = k² + t with t = s² + 2k·gz, so the excitation error is about -t / 2k.
    const tMax = 2 * k * EWALD_CUT * profile;
    const toPixels = clen / pixelSize;
    for (let n = 0; n < count; n++) {
      const o = n * REFLECTION_STRIDE;
      const s = data[o + 3];
      if (s > sLimit) break;
      const x = data[o];
      const y = data[o + 1];
      const z = data[o + 2];
      const gz = r6 * x + r7 * y + r8 * z;
      const t = s * s + 2 * k * gz;
      if (t > tMax || t < -tMax) continue;
      const kz = k + gz;
      if (kz <= 0) continue;
      const fs = beamCenter.x + (toPixels * (r0 * x + r1 * y + r2 * z)) / kz;
      const ss = beamCenter.y + (toPixels * (r3 * x + r4 * y + r5 * z)) / kz;
      if (!(fs >= 0 && fs < width && ss >= 0 && ss < height)) continue;
      if (this.mask[Math.floor(ss) * width + Math.floor(fs)] & MASK_GAP) continue;
      const excitation = (k - Math.sqrt(k * k + t)) / profile;
      visit(fs, ss, crystal.scale * data[o + 4] * Math.exp(-excitation * excitation));
    }
  }

  /**
   * The pixels of a pixel-integrated 2D Gaussian spot: calls `add` with each pixel's expected
   * photons (if given) and returns the largest of them.
   */
  private spotPixels(fs: number, ss: number, sigma: number, photons: number, add?: (index: number, mean: number) => void): number {
    const { width, height } = this.spec;
    const reach = SPOT_HALF_WIDTH_SIGMAS * sigma;
    const fs0 = Math.max(0, Math.floor(fs - reach));
    const fs1 = Math.min(width - 1, Math.floor(fs + reach));
    const ss0 = Math.max(0, Math.floor(ss - reach));
    const ss1 = Math.min(height - 1, Math.floor(ss + reach));
    pixelWeights(this.weightsX, fs0, fs1, fs, sigma);
    pixelWeights(this.weightsY, ss0, ss1, ss, sigma);
    const { mask } = this;
    let peak = 0;
    for (let b = ss0; b <= ss1; b++) {
      const rowPhotons = photons * this.weightsY[b - ss0];
      for (let a = fs0; a <= fs1; a++) {
        const i = b * width + a;
        const bits = mask[i];
        if (bits & MASK_GAP) continue;
        let mean = rowPhotons * this.weightsX[a - fs0];
        if (bits & MASK_BEAMSTOP) mean *= BEAMSTOP_TRANSMISSION;
        if (mean > peak) peak = mean;
        add?.(i, mean);
      }
    }
    return peak;
  }
}

/** out[j] = fraction of a unit Gaussian at `centre` falling in pixel first + j. */
function pixelWeights(out: Float64Array, first: number, last: number, centre: number, sigma: number): void {
  const scale = 1 / (sigma * Math.SQRT2);
  let below = erf((first - centre) * scale);
  for (let p = first; p <= last; p++) {
    const above = erf((p + 1 - centre) * scale);
    out[p - first] = 0.5 * (above - below);
    below = above;
  }
}

/** Abramowitz & Stegun 7.1.26, |error| < 1.5e-7: plenty for spot shapes. */
function erf(x: number): number {
  const sign = x < 0 ? -1 : 1;
  const ax = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * ax);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign * (1 - poly * Math.exp(-ax * ax));
}
