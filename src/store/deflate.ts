import type { Hdf5Filter } from '../hdf5-filter.ts';

/** The deflate level of the containers' masks and payloads (ingest's workers deflate binned masks at it too). */
export const DEFLATE_LEVEL = 4;
/** HDF5's deflate filter at that level. */
export const DEFLATE_FILTER: Hdf5Filter = { id: 1, cd_values: [DEFLATE_LEVEL] };
