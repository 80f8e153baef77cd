import { resolvePeakFinder, type PeakFinderInput, type PeakFinderParams, type PeakList } from './peakfinder8.ts';

// Mirrors of the constants in native/kernels/peakfinder8.hpp, which explains the sampling.
/** Radial statistics read whole rows of SAMPLE_TILE-square tiles ... */
export const SAMPLE_TILE = 64;
/** ... every k-th row, k = the largest power of two <= (r + 1) / 32, r the tile's radius. */
export const SAMPLE_RADIUS_UNIT = 32;
export const MAX_SAMPLES_PER_BIN = 1024;
export const CLIP_ROUNDS = 5;
/** Pixels at or beyond this radius take no part, which bounds the number of radial bins. */
export const MAX_RADIUS = 65536;
/** With fewer ring pixels than this, a peak's local background is its radial bin's. */
export const MIN_RING_PIXELS = 4;

const NEIGHBOURS = [-1, -1, 0, -1, 1, -1, -1, 0, 1, 0, -1, 1, 0, 1, 1, 1]; // (dx, dy), dy outer

/**
 * `findPeaks` in plain TypeScript, with identical results: the tests compare the native kernel
 * (native/kernels/peakfinder8.cpp) against it peak for peak. Every sum runs in doubles in the
 * same order as there; outputs narrow to float32 as the kernel's casts do.
 *
 * @example
 * const peaks = findPeaksReference({ frame, width, height, radius, panel, bad }, { threshold: 8 });
 */
export function findPeaksReference(input: PeakFinderInput, params?: Partial<PeakFinderParams>): PeakList {
  const r = resolvePeakFinder(input, params);
  const { frame, width, height, radius, panel, bad } = r.input;
  const flagLessThan = r.input.flagLessThan ?? -Infinity;
  const flagMoreThan = r.input.flagMoreThan ?? Infinity;
  const flagEqual = r.input.flagEqual ?? [];
  const p = r.params;
  const pixels = width * height;
  const lower = p.minRes;
  const upper = p.maxRes > 0 ? Math.min(p.maxRes, MAX_RADIUS) : MAX_RADIUS;
  const nBins = Math.ceil(upper);

  /** Radial bin of pixel i, or -1 if it takes no part (value flags included: every use of a pixel goes through here). */
  const binOf = (i: number): number => {
    if (panel[i] < 0 || bad[i] !== 0) return -1;
    const rad = radius[i];
    if (!(rad > lower && rad < upper)) return -1;
    const v = frame[i];
    if (!Number.isFinite(v) || v < flagLessThan || v > flagMoreThan || flagEqual.some((e) => v === e)) return -1;
    return Math.floor(rad);
  };

  // Radial statistics from the deterministic subsample.
  const tilesX = Math.ceil(width / SAMPLE_TILE);
  const stride = tileStrides(radius, width, height, tilesX);
  const samples: number[][] = [];
  for (let y = 0; y < height; y++) {
    const ty = Math.floor(y / SAMPLE_TILE);
    const shifted = y + hash32(ty);
    for (let tx = 0; tx < tilesX; tx++) {
      if ((shifted & (stride[ty * tilesX + tx] - 1)) !== 0) continue;
      const end = y * width + Math.min(width, (tx + 1) * SAMPLE_TILE);
      for (let i = y * width + tx * SAMPLE_TILE; i < end; i++) {
        const b = binOf(i);
        if (b < 0) continue;
        const s = (samples[b] ??= []);
        if (s.length < MAX_SAMPLES_PER_BIN) s.push(frame[i]);
      }
    }
  }
  const mean = new Float64Array(nBins);
  const sigma = new Float64Array(nBins);
  const high = new Float64Array(nBins).fill(Infinity);
  let minHigh = Infinity;
  samples.forEach((s, b) => {
    clipBin(s, p, b, mean, sigma, high);
    minHigh = Math.min(minHigh, high[b]);
  });

  const isPeakPixel = (i: number): boolean => {
    const b = binOf(i);
    return b >= 0 && frame[i] > high[b];
  };

  const out = { fs: [] as number[], ss: [] as number[], panel: [] as number[], intensity: [] as number[], snr: [] as number[], npix: [] as number[], maxValue: [] as number[] };
  const visited = new Uint8Array(pixels);
  const panelCount = new Uint32Array(32768);
  const region: number[] = [];
  for (let seed = 0; seed < pixels; seed++) {
    // Implied by isPeakPixel (every bin's limit is >= minHigh); the kernel skips blocks with it
    // (and with the value flags, which isPeakPixel checks here).
    if (!(frame[seed] > minHigh) || visited[seed] !== 0 || !isPeakPixel(seed)) continue;
    const pan = panel[seed];
    region.length = 0;
    region.push(seed);
    visited[seed] = 1;
    for (let head = 0; head < region.length; head++) {
      const x = region[head] % width;
      const y = Math.floor(region[head] / width);
      for (let n = 0; n < 16; n += 2) {
        const nx = x + NEIGHBOURS[n];
        const ny = y + NEIGHBOURS[n + 1];
        if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
        const k = ny * width + nx;
        if (visited[k] !== 0 || panel[k] !== pan || !isPeakPixel(k)) continue;
        visited[k] = 1;
        region.push(k);
      }
    }
    if (region.length < p.minPixCount || region.length > p.maxPixCount) continue;
    if (panelCount[pan] >= p.maxPeaksPerPanel) continue;

    let centre = region[0];
    let maxValue = frame[centre];
    for (const j of region) {
      if (frame[j] > maxValue) {
        maxValue = frame[j];
        centre = j;
      }
    }
    const [localMean, localSigma] = localBackground(centre, pan);
    let intensity = 0;
    let sumX = 0;
    let sumY = 0;
    for (const j of region) {
      const w = frame[j] - localMean;
      intensity += w;
      sumX += w * (j % width);
      sumY += w * Math.floor(j / width);
    }
    if (!(intensity > 0)) continue;
    const snr = localSigma > 0 ? intensity / localSigma : Infinity;
    if (snr < p.minSnr) continue;
    out.fs.push(sumX / intensity + 0.5);
    out.ss.push(sumY / intensity + 0.5);
    out.panel.push(pan);
    out.intensity.push(intensity);
    out.snr.push(snr);
    out.npix.push(region.length);
    out.maxValue.push(maxValue);
    panelCount[pan]++;
  }

  /** [mean, sigma] of the ring R < d <= 2R around `centre` (see the kernel's localBackground). */
  function localBackground(centre: number, pan: number): [number, number] {
    const rr = p.localBgRadius;
    const cx = centre % width;
    const cy = Math.floor(centre / width);
    const ring: number[] = [];
    for (let dy = -2 * rr; dy <= 2 * rr; dy++) {
      const y = cy + dy;
      if (y < 0 || y >= height) continue;
      for (let dx = -2 * rr; dx <= 2 * rr; dx++) {
        const x = cx + dx;
        const d2 = dx * dx + dy * dy;
        if (x < 0 || x >= width || d2 <= rr * rr || d2 > 4 * rr * rr) continue;
        const k = y * width + x;
        if (panel[k] !== pan) continue;
        const b = binOf(k);
        if (b >= 0 && frame[k] <= high[b]) ring.push(frame[k]);
      }
    }
    if (ring.length < MIN_RING_PIXELS) {
      const b = binOf(centre);
      return [mean[b], sigma[b]];
    }
    let sum = 0;
    for (const v of ring) sum += v;
    const m = sum / ring.length;
    let sumSq = 0;
    for (const v of ring) sumSq += (v - m) * (v - m);
    return [m, Math.sqrt(sumSq / ring.length)];
  }

  return {
    count: out.fs.length,
    fs: Float32Array.from(out.fs),
    ss: Float32Array.from(out.ss),
    panel: Int16Array.from(out.panel),
    intensity: Float32Array.from(out.intensity),
    snr: Float32Array.from(out.snr),
    npix: Int32Array.from(out.npix),
    maxValue: Float32Array.from(out.maxValue),
  };
}

/** Iterative sigma clipping of one bin's samples, sums shifted by the first sample. */
function clipBin(s: number[], p: PeakFinderParams, b: number, mean: Float64Array, sigma: Float64Array, high: Float64Array): void {
  const pivot = s[0];
  let lo = -Infinity;
  let hi = Infinity;
  for (let round = 0; round < CLIP_ROUNDS; round++) {
    let sum = 0;
    let sumSq = 0;
    let m = 0;
    for (const v of s) {
      if (v >= lo && v <= hi) {
        const d = v - pivot;
        sum += d;
        sumSq += d * d;
        m++;
      }
    }
    if (m === 0) break;
    const mu = pivot + sum / m;
    const variance = (sumSq - (sum * sum) / m) / m;
    const sd = Math.sqrt(variance > 0 ? variance : 0);
    mean[b] = mu;
    sigma[b] = sd;
    high[b] = Math.max(mu + p.minSnr * sd, p.threshold);
    const nextLo = mu - p.minSnr * sd;
    if (nextLo === lo && high[b] === hi) break;
    lo = nextLo;
    hi = high[b];
  }
}

/** Row stride per sampling tile, from the smallest radius at its centre and corners. */
function tileStrides(radius: Float32Array, width: number, height: number, tilesX: number): Uint32Array {
  const tilesY = Math.ceil(height / SAMPLE_TILE);
  const stride = new Uint32Array(tilesX * tilesY).fill(SAMPLE_TILE);
  for (let ty = 0; ty < tilesY; ty++) {
    const y0 = ty * SAMPLE_TILE;
    const y1 = Math.min(y0 + SAMPLE_TILE, height) - 1;
    const ym = Math.min(y0 + SAMPLE_TILE / 2, y1);
    for (let tx = 0; tx < tilesX; tx++) {
      const x0 = tx * SAMPLE_TILE;
      const x1 = Math.min(x0 + SAMPLE_TILE, width) - 1;
      const xm = Math.min(x0 + SAMPLE_TILE / 2, x1);
      let r = Infinity;
      for (const i of [ym * width + xm, y0 * width + x0, y0 * width + x1, y1 * width + x0, y1 * width + x1]) {
        const v = radius[i];
        if (v >= 0 && v < r) r = v;
      }
      if (!(r < MAX_RADIUS)) continue;
      const q = (r + 1) / SAMPLE_RADIUS_UNIT;
      let k = 1;
      while (k < SAMPLE_TILE && 2 * k <= q) k *= 2;
      stride[ty * tilesX + tx] = k;
    }
  }
  return stride;
}

/** m ^ (m >>> 16), m = n * 0x9e3779b1 mod 2^32. */
function hash32(n: number): number {
  const m = Math.imul(n, 0x9e3779b1) >>> 0;
  return (m ^ (m >>> 16)) >>> 0;
}
