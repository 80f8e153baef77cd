// The codecs a kept product is written with, from its keep: the one mapping ingest (which writes
// the containers) and `policy check` (which judges the file) share, each codec built by its own
// `fromConfig`, so check refuses exactly what ingest could not write.
import { BinnedCodec } from '../../codecs/binned.ts';
import { PeaksCodec } from '../../codecs/peaks.ts';
import { QuantizedCodec } from '../../codecs/quantized.ts';
import { containerFilter } from '../../codecs/registry.ts';
import type { CodecConfig } from '../../codecs/types.ts';
import { isSxError } from '../errors.ts';
import { DEFAULT_CODEC_ID, DEFAULT_PEAKS_BOX, DEFAULT_QUANTIZED_STEP, IMPLICIT_CODECS, type FormFile, type KeepFile } from './schema.ts';
import type { KeepSpec } from './types.ts';
import type { Hdf5Filter } from '../hdf5-filter.ts';

type KeepCodecSpec = Pick<KeepSpec, 'product' | 'codec' | 'params'>;

/** A keep's codec (declared, implicit or the default) and its product parameters with their defaults. */
export function keepCodecSpec(keep: KeepFile | FormFile): KeepCodecSpec {
  const implicit = IMPLICIT_CODECS[keep.product];
  const declared = 'codec' in keep && keep.codec !== undefined ? keep.codec : DEFAULT_CODEC_ID;
  const codec = implicit ? { id: implicit } : typeof declared === 'string' ? { id: declared } : { ...declared };
  const params: Record<string, number> = {};
  if (keep.product === 'binned') params.factor = keep.factor;
  if (keep.product === 'peaks') params.box = keep.box ?? DEFAULT_PEAKS_BOX;
  if (keep.product === 'quantized') params.step = keep.step ?? DEFAULT_QUANTIZED_STEP;
  return { product: keep.product, codec, params };
}

/** What a container of the product is made with; every config with all its parameters named. */
export interface KeepCodecs {
  /** binned, quantized or peaks, as its codec's `toConfig()`; absent for raw. */
  reduction?: CodecConfig;
  /** The container codec the frames are compressed with, and its HDF5 filter (null: none). */
  compression?: { config: CodecConfig; filter: Hdf5Filter | null };
}

const PARAM_OF: Record<string, string> = { binned: 'factor', quantized: 'step', peaks: 'box' };

/** The reduction's codec config; throws the codec's SxError('usage') for parameters it refuses. */
function reductionOf(keep: KeepCodecSpec): CodecConfig | undefined {
  const param = PARAM_OF[keep.product];
  if (param === undefined) return undefined;
  const config = { id: keep.product, [param]: keep.params[param] };
  switch (keep.product) {
    case 'binned': return BinnedCodec.fromConfig(config).toConfig();
    case 'quantized': return QuantizedCodec.fromConfig(config).toConfig();
    default: return PeaksCodec.fromConfig(config).toConfig();
  }
}

/**
 * The codecs a kept product is written with (intensities: none, they stay in the catalog).
 * Throws the codecs' own SxError('usage') for anything they refuse.
 *
 * @example
 * keepCodecs({ product: 'raw', codec: { id: 'zstd', level: 9 }, params: {} });
 * // { compression: { config: { id: 'zstd', level: 9 }, filter: { id: 32015, cd_values: [9] } } }
 */
export function keepCodecs(keep: KeepCodecSpec): KeepCodecs {
  if (keep.product === 'intensities') return {};
  const reduction = reductionOf(keep);
  if (keep.product === 'peaks') return { reduction };
  return { ...(reduction ? { reduction } : {}), compression: { config: keep.codec, filter: containerFilter(keep.codec) } };
}

/**
 * Every reason `keep` could not be written, each with the key of the keep it is about
 * (`codec`, or the product parameter); [] when ingest can write it.
 *
 * @example
 * keepCodecProblems({ product: 'quantized', codec: { id: 'none' }, params: { step: 0.001 } });
 * // [{ key: 'step', message: 'Expected step to be a number from 0.01 to 2 ...' }]
 */
export function keepCodecProblems(keep: KeepCodecSpec): { key: string; message: string }[] {
  const problems: { key: string; message: string }[] = [];
  const attempt = (key: string, build: () => unknown) => {
    try {
      build();
    } catch (err) {
      if (!isSxError(err, 'usage')) throw err;
      problems.push({ key, message: err.message });
    }
  };
  attempt(PARAM_OF[keep.product] ?? 'product', () => reductionOf(keep));
  if (keep.product !== 'peaks' && keep.product !== 'intensities') attempt('codec', () => containerFilter(keep.codec));
  return problems;
}
