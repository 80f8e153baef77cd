import { fileURLToPath } from 'node:url';

/**
 * The shared test data: `../shared/data` beside the project, as CI lays it out; set
 * SXARCHIVE_SHARED_DATA to use a copy elsewhere.
 */
export const SHARED_DATA = process.env.SXARCHIVE_SHARED_DATA ?? fileURLToPath(new URL('../../../shared/data/', import.meta.url));
