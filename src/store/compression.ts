/** Lossless HDF5 compressions for frame stacks; each maps to a registered HDF5 filter. */
export type Compression = 'bitshuffle-lz4' | 'zstd' | 'blosc' | 'none';
export const COMPRESSIONS: readonly Compression[] = ['bitshuffle-lz4', 'zstd', 'blosc', 'none'];
export const DEFAULT_COMPRESSION: Compression = 'bitshuffle-lz4';

// Bitshuffle's cd_values are [block size (0 = auto), compressor (2 = LZ4)]; the filter
// fills in its version and element size itself. zstd takes the level. Blosc's first four
// values are the filter's own (version, type size, chunk size); then clevel 5, bit shuffle (2)
// and LZ4 (1), the Blosc setting closest to bitshuffle-LZ4.
export const HDF5_FILTER: Record<Exclude<Compression, 'none'>, { id: number; opts: number[] }> = {
  'bitshuffle-lz4': { id: 32008, opts: [0, 2] },
  zstd: { id: 32015, opts: [3] },
  blosc: { id: 32001, opts: [0, 0, 0, 0, 5, 2, 1] },
};
