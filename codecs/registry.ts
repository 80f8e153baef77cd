// The one registry of codec ids. Ids -> lazy loaders of the classes: a codec's native work (the
// addon) starts only when a config names it, so e.g. `sxarchive report` never touches native
// code. And the container codecs -> their HDF5 filter settings: the policy language offers
// exactly their options (src/policy/schema.ts) and ingest writes exactly these filters.
import { SxError } from '../src/errors.ts';
import { BITSHUFFLE_FILTER_ID, BITSHUFFLE_LZ4_COMPRESSOR, bitshuffleLz4Container } from './bitshuffle-lz4.ts';
import { BLOSC_FILTER_ID, bloscContainer } from './blosc.ts';
import { describe } from './codec-support.ts';
import { noneContainer } from './none.ts';
import type { ChunkCodec, Codec, CodecClass, CodecConfig, ContainerCodec } from './types.ts';
import { ZSTD_FILTER_ID, zstdContainer } from './zstd.ts';
import type { Hdf5Filter } from '../src/hdf5-filter.ts';

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

/**
 * The codecs HDF5 containers (and `simulate`'s files) are compressed with, in the order the
 * policy language lists them; the first is the default.
 */
export const CONTAINER_CODECS = {
  'bitshuffle-lz4': bitshuffleLz4Container,
  zstd: zstdContainer,
  blosc: bloscContainer,
  none: noneContainer,
} satisfies Partial<Record<CodecId, ContainerCodec>>;

export type ContainerCodecId = keyof typeof CONTAINER_CODECS;

export const CONTAINER_CODEC_IDS = Object.freeze(Object.keys(CONTAINER_CODECS) as ContainerCodecId[]);
export const DEFAULT_CONTAINER_CODEC: ContainerCodecId = 'bitshuffle-lz4';

/**
 * The HDF5 filter a container codec config is written with (null: none), checked by the codec's
 * own `fromConfig`; a bare id means the codec's defaults. Anything a container cannot honour (an
 * id that is no container codec, an option the filter does not take) throws SxError('usage').
 *
 * @example
 * containerFilter({ id: 'zstd', level: 9 }); // { id: 32015, cd_values: [9] }
 * containerFilter('bitshuffle-lz4');         // { id: 32008, cd_values: [0, 2] }
 */
export function containerFilter(config: CodecConfig | string): Hdf5Filter | null {
  const cfg = typeof config === 'string' ? { id: config } : config;
  const id = cfg?.id;
  if (typeof id !== 'string' || !Object.hasOwn(CONTAINER_CODECS, id)) {
    throw new SxError('usage', `Expected a container codec (${CONTAINER_CODEC_IDS.join(', ')}) but received ${describe(id)}`);
  }
  return CONTAINER_CODECS[id as ContainerCodecId].hdf5Filter(cfg);
}

/**
 * The container codec whose chunks a dataset with these filters stores, if one of ours decodes
 * them whole (no filter, or exactly one of bitshuffle with LZ4, zstd or Blosc); undefined for
 * anything else (gzip, shuffle + deflate, bitshuffle without LZ4, ...), which HDF5 reads itself.
 *
 * @example
 * chunkCodecIdOf([{ id: 32008, cd_values: [0, 4, 2, 0, 2] }]); // 'bitshuffle-lz4'
 */
export function chunkCodecIdOf(filters: readonly Hdf5Filter[]): ContainerCodecId | undefined {
  if (filters.length === 0) return 'none';
  if (filters.length > 1) return undefined;
  const [{ id, cd_values: cd }] = filters;
  // The bitshuffle filter's fifth value is its compressor (2 = LZ4; absent or 0 = bitshuffle alone).
  if (id === BITSHUFFLE_FILTER_ID) return cd[4] === BITSHUFFLE_LZ4_COMPRESSOR ? 'bitshuffle-lz4' : undefined;
  if (id === ZSTD_FILTER_ID) return 'zstd';
  if (id === BLOSC_FILTER_ID) return 'blosc';
  return undefined;
}

/**
 * The chunk codec of a container codec config (a bare id: its defaults): frames in the HDF5
 * filter's own chunk format, for direct chunk reads and writes.
 *
 * @example
 * containerChunkCodec('bitshuffle-lz4').encode({ data: frame, width, height }); // a filter-32008 chunk
 */
export function containerChunkCodec(config: CodecConfig | string): ChunkCodec {
  const cfg = typeof config === 'string' ? { id: config } : config;
  containerFilter(cfg);
  return CONTAINER_CODECS[cfg.id as ContainerCodecId].chunkCodec(cfg);
}
