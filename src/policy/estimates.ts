// Byte estimates: the one place the dry-run's size formulas live. A product not made yet has
// no size; these say what it would take, from the frame's labels and the experiment's measured
// compression ratio.
import { DEFAULT_PEAKS_BOX } from './schema.ts';
import type { FrameFacts, KeepSpec, ProductName } from './types.ts';


/** Lossless compression ratio assumed when an experiment has no containers to measure it on. */
export const DEFAULT_COMPRESSION_RATIO = 6;
/** Binned pixels are summed into 32-bit values. */
export const BINNED_OUTPUT_BYTES = 4;
/**
 * Peaks-only container, per peak: each box row is one run (ss, fs0, length: 16-bit each), and
 * the peak's position in the payload (8 bytes) plus its row of the CXI peak tables (7 x 4 bytes).
 */
export const PEAK_RUN_BYTES = 6;
export const PEAK_TABLE_BYTES = 36;

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
  binned: 'raw_bytes / factor^2 x (4 / bytes_per_pixel) / ratio',
  peaks: `n_peaks x ((2 box + 1)^2 x bytes_per_pixel / ratio + (2 box + 1) x ${PEAK_RUN_BYTES} + ${PEAK_TABLE_BYTES})`,
  quantized: 'raw_bytes / ratio / 2',
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
 * Estimated bytes of one frame kept as `spec.product`. `ratio` is the measured lossless ratio
 * (1 with `codec: none`):
 * - raw = raw_bytes / ratio
 * - binned (factor f) = raw_bytes / f² × (4 / bytes_per_pixel) / ratio (32-bit sums: ×2 for uint16)
 * - peaks (box b) = n_peaks × ((2b+1)² × bytes_per_pixel / ratio + (2b+1) × 6 + 36): the box pixels
 *   (compressed like the frames), one run per box row, the peak's table rows; overlapping boxes,
 *   stored once, make this an upper bound
 * - quantized = raw_bytes / ratio / 2
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
      return frame.rawBytes / ratio;
    case 'binned': {
      const f = spec.params.factor ?? 2;
      return ((frame.rawBytes / (f * f)) * (BINNED_OUTPUT_BYTES / bpp)) / ratio;
    }
    case 'peaks': {
      const side = 2 * (spec.params.box ?? DEFAULT_PEAKS_BOX) + 1;
      return (frame.nPeaks ?? 0) * ((side * side * bpp) / ratio + side * PEAK_RUN_BYTES + PEAK_TABLE_BYTES);
    }
    case 'quantized':
      return frame.rawBytes / ratio / 2;
    case 'intensities':
      return estimates.intensitiesBytes.get(frame.frameId) ?? 0;
  }
}
