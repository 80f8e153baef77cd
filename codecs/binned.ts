import { z } from 'zod';
import { SxError } from '../src/errors.ts';
import { binFrame, type BinFactor } from '../src/reduce/binning.ts';
import type { ArrayToArrayCodec, CodecConfig, FrameArray, FrameContext } from './types.ts';

export interface BinnedConfig extends CodecConfig {
  id: 'binned';
  factor: BinFactor;
  /** Good pixels a bin needs, 1..factor²; default factor² (a bin with any bad pixel is bad). */
  minGood: number;
}

/** The binning factors as a schema: fromConfig checks with it, and so does the policy language. */
export const BIN_FACTOR_SCHEMA = z.literal([2, 3, 4]).meta({ description: 'N for NxN binning: 2, 3 or 4' });

/**
 * factor x factor binning with the frame's bad-pixel mask (the method OM uses; `binFrame` in
 * src/reduce/binning.ts, native). Lossy by design: `decode` returns the binned frame itself.
 * Good bins hold sum(good pixels) x factor² / nGood (exactly the sum when every pixel is good),
 * bad bins hold 0 and are set in the output `mask`. Output pixels are 32-bit (uint16 frames
 * bin to Uint32Array; a bin sums up to 16 x 65535). `toConfig()` always names `minGood`.
 *
 * @example
 * const codec = BinnedCodec.fromConfig({ id: 'binned', factor: 2 });
 * const small = codec.encode({ data, width: 2068, height: 2162, mask }); // 1034 x 1081, mask of bad bins
 */
export class BinnedCodec implements ArrayToArrayCodec {
  static readonly id = 'binned';
  readonly id = 'binned';
  readonly kind = 'array-to-array';
  readonly lossless = false;
  readonly factor: BinFactor;
  readonly minGood: number;

  private constructor(factor: BinFactor, minGood: number) {
    this.factor = factor;
    this.minGood = minGood;
  }

  static fromConfig(config: CodecConfig): BinnedCodec {
    const problems: string[] = [];
    if (config?.id !== 'binned') problems.push(`Expected id "binned" but received ${JSON.stringify(config?.id)}`);
    const { factor, minGood } = config ?? {};
    const factorOk = BIN_FACTOR_SCHEMA.safeParse(factor).success;
    if (!factorOk) problems.push(`Expected factor 2, 3 or 4 for codec binned but received ${JSON.stringify(factor)}`);
    const full = factorOk ? (factor as BinFactor) ** 2 : 16;
    if (minGood !== undefined && !(Number.isSafeInteger(minGood) && (minGood as number) >= 1 && (minGood as number) <= full)) {
      problems.push(`Expected minGood to be an integer from 1 to ${full} (factor²) for codec binned but received ${JSON.stringify(minGood)}`);
    }
    for (const key of Object.keys(config ?? {})) {
      if (!['id', 'factor', 'minGood'].includes(key)) problems.push(`Unknown option ${JSON.stringify(key)} for codec binned; expected factor, minGood`);
    }
    if (problems.length > 0) throw new SxError('usage', problems.join('; '));
    return new BinnedCodec(factor as BinFactor, (minGood as number | undefined) ?? full);
  }

  toConfig(): BinnedConfig {
    return { id: 'binned', factor: this.factor, minGood: this.minGood };
  }

  encode(frame: FrameArray, _context?: FrameContext, reuse?: FrameArray): FrameArray {
    const { data, width, height, mask } = frame;
    const binned = binFrame(data, { width, height, factor: this.factor, minGood: this.minGood, ...(mask ? { mask } : {}) }, reuse?.mask && { data: reuse.data, badMask: reuse.mask });
    return { data: binned.data, width: binned.width, height: binned.height, mask: binned.badMask };
  }

  /** Binning cannot be undone: the binned frame is returned as it is. */
  decode(frame: FrameArray): FrameArray {
    return frame;
  }
}
