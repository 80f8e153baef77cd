// Codec ids -> lazy loaders: a codec's module (and the native addon it may need) loads only when
// a config names it, so e.g. `sxarchive report` never touches native code.
import { SxError } from '../src/errors.ts';
import { describe } from './codec-support.ts';
import type { Codec, CodecClass, CodecConfig } from './types.ts';

const LOADERS = {
  binned: async () => (await import('./binned.ts')).BinnedCodec,
  'bitshuffle-lz4': async () => (await import('./bitshuffle-lz4.ts')).BitshuffleLz4Codec,
  blosc: async () => (await import('./blosc.ts')).BloscCodec,
  none: async () => (await import('./none.ts')).NoneCodec,
  peaks: async () => (await import('./peaks.ts')).PeaksCodec,
  quantized: async () => (await import('./quantized.ts')).QuantizedCodec,
  zstd: async () => (await import('./zstd.ts')).ZstdCodec,
} satisfies Record<string, () => Promise<CodecClass>>;

export type CodecId = keyof typeof LOADERS;

/** Every registered codec id, sorted. */
export const CODEC_IDS: readonly CodecId[] = Object.freeze(Object.keys(LOADERS).sort() as CodecId[]);

/**
 * Whether `id` names a registered codec.
 *
 * @example
 * isCodecId('zstd'); // true
 */
export function isCodecId(id: unknown): id is CodecId {
  return typeof id === 'string' && Object.hasOwn(LOADERS, id);
}

/**
 * The class registered for `id`; an unknown id throws SxError('usage') listing the known ones.
 *
 * @example
 * const Zstd = await getCodecClass('zstd');
 */
export async function getCodecClass(id: string): Promise<CodecClass> {
  if (!isCodecId(id)) {
    throw new SxError('usage', `Unknown codec ${describe(id)}; known codecs: ${CODEC_IDS.join(', ')}`);
  }
  return LOADERS[id]();
}

/**
 * A codec from its config, validated by the codec's own `fromConfig` (SxError('usage') listing
 * every problem, e.g. "Expected level 1..22 for zstd but received 40"). A bare id stands for
 * `{ id }`, i.e. the codec's defaults (codecs with required options reject it).
 *
 * @example
 * const zstd = await getCodec({ id: 'zstd', level: 5 });
 * const raw = await getCodec('none');
 */
export async function getCodec(config: CodecConfig | string): Promise<Codec> {
  const cfg = typeof config === 'string' ? { id: config } : config;
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) {
    throw new SxError('usage', `Expected a codec id or a config object { id, ... } but received ${describe(config)}`);
  }
  const codecClass = await getCodecClass(cfg.id);
  return codecClass.fromConfig(cfg);
}
