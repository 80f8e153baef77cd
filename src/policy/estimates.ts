// Byte estimates: the one place the dry-run's size formulas live. A product not made yet has
// no size; these say what it would take, from the frame's labels and the experiment's measured
// compression ratio.
import { DEFAULT_PEAKS_BOX } from './schema.ts';
import type { FrameFacts, KeepSpec, ProductName } from './types.ts';


/** Lossless compression ratio assumed when an experiment has no containers to measure it on. */
export const DEFAULT_COMPRESSION_RATIO = 6;
/** Binned pixels are summed into 32-bit values: their size without compression. */
export const BINNED_OUTPUT_BYTES = 4;
/**
 * Compressed bits a binned pixel takes beyond a raw one, per doubling of the factor: summing f²
 * pixels multiplies the photon counts by f², which bitshuffle-LZ4 stores in about 1.3·log2(f)
 * more bits (fitted on simulated Eiger frames, uint16 and uint32, 40-80 % hits).
 */
export const BINNED_BITS_PER_DOUBLING = 1.3;
/**
 * Peaks container, per peak, as stored (gzip on the payload and the CXI tables): the peak's
 * position and its row of runs in the payload, its row of the six CXI peak tables and its share
 * of the per-frame index, about 83 bytes ...
 */
export const PEAK_FIXED_BYTES = 83;
/**
 * ... plus its box pixels at 1.5 times the compressed size of a frame pixel (bytes_per_pixel /
 * ratio): box pixels are brighter than the frame on average, and gzip has no bit shuffle.
 */
export const PEAK_PIXEL_FACTOR = 1.5;

/**
 * How far an estimate may be from what ingest then stores, relative (0.25 = ±25 %). Checked on
 * simulated experiments by test/policy/estimates-vs-ingest.test.ts, product by product: this is
 * the claim the dry-run makes.
 */
export const ESTIMATE_TOLERANCE = 0.25;

/** What the estimates need beyond a frame's own facts. */
export interface ProductEstimates {
  /** Raw bytes of the frames in the experiment's containers / the containers' bytes (or the default). */
  compressionRatio: number;
  /** False when `compressionRatio` is DEFAULT_COMPRESSION_RATIO because nothing could be measured. */
  compressionRatioMeasured: boolean;
  /** Stored reflection bytes per frame id (results.intensities_bytes); a frame without results has none. */
  intensitiesBytes: ReadonlyMap<number, number>;
}

/** The formulas, as printed beside the estimated numbers. */
export const ESTIMATE_FORMULAS: Record<ProductName, string> = {
  raw: 'raw_bytes / ratio',
  binned: `pixels / factor^2 x (8 x bytes_per_pixel / ratio + ${BINNED_BITS_PER_DOUBLING} x log2(factor)) / 8 (codec none: pixels / factor^2 x ${BINNED_OUTPUT_BYTES})`,
  peaks: `n_peaks x (${PEAK_FIXED_BYTES} + (2 box + 1)^2 x ${PEAK_PIXEL_FACTOR} x bytes_per_pixel / ratio)`,
  quantized: 'raw_bytes / ratio',
  intensities: 'stored reflection bytes of the frame (not an estimate)',
};

/** Products whose size is estimated rather than read from the catalog. */
export function isEstimated(product: ProductName): boolean {
  return product !== 'intensities';
}

export function bytesPerPixel(pixelType: string): number {
  const m = /^(?:u?int|float)(8|16|32|64)$/.exec(pixelType);
  return m ? Number(m[1]) / 8 : 4;
}

/**
 * Estimated bytes of one frame kept as `spec.product`, within ESTIMATE_TOLERANCE of what ingest
 * stores (tested). `ratio` is the measured lossless ratio of the raw frames (1 with
 * `codec: none`), so `8 x bytes_per_pixel / ratio` is what a raw pixel takes, in bits:
 * - raw = raw_bytes / ratio
 * - binned (factor f) = pixels / f² × (8 × bytes_per_pixel / ratio + 1.3 × log2 f) / 8: each sum
 *   of f² pixels takes a raw pixel's bits plus 1.3 bits per doubling of f; with `codec: none`,
 *   pixels / f² × 4 (32-bit sums)
 * - peaks (box b) = n_peaks × (83 + (2b+1)² × 1.5 × bytes_per_pixel / ratio): the peak's fixed
 *   part (position, runs, table rows) and its box pixels, stored with gzip
 * - quantized = raw_bytes / ratio: at SX backgrounds (most pixels 0-3 photons, which the
 *   quantizer keeps exact) the photon counts it stores take as long as the raw ones; at
 *   backgrounds of tens of photons it stores less, and this overestimates
 * - intensities = the frame's stored reflection bytes (measured), 0 without results
 *
 * @example
 * estimateProductBytes({ product: 'raw', codec: { id: 'bitshuffle-lz4' }, params: {}, lifecycle: [] }, frame, estimates)
 */
export function estimateProductBytes(spec: KeepSpec, frame: FrameFacts, estimates: ProductEstimates): number {
  const ratio = spec.codec?.id === 'none' ? 1 : estimates.compressionRatio;
  const bpp = bytesPerPixel(frame.pixelType);
  switch (spec.product) {
    case 'raw':
    case 'quantized':
      return frame.rawBytes / ratio;
    case 'binned': {
      const f = spec.params.factor ?? 2;
      const sums = frame.rawBytes / bpp / (f * f);
      if (spec.codec?.id === 'none') return sums * BINNED_OUTPUT_BYTES;
      return (sums * ((8 * bpp) / ratio + BINNED_BITS_PER_DOUBLING * Math.log2(f))) / 8;
    }
    case 'peaks': {
      const side = 2 * (spec.params.box ?? DEFAULT_PEAKS_BOX) + 1;
      return (frame.nPeaks ?? 0) * (PEAK_FIXED_BYTES + (side * side * PEAK_PIXEL_FACTOR * bpp) / ratio);
    }
    case 'intensities':
      return estimates.intensitiesBytes.get(frame.frameId) ?? 0;
  }
}
