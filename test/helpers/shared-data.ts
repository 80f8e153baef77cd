import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The shared test data: `../shared/data` beside the project, as CI lays it out; set
 * SXARCHIVE_SHARED_DATA to use a copy elsewhere.
 */
export const SHARED_DATA = process.env.SXARCHIVE_SHARED_DATA ?? fileURLToPath(new URL('../../../shared/data/', import.meta.url));

/**
 * The path of `relative` inside the shared data, which must exist: a test whose data is missing
 * fails saying where it looked, never skips (a skipped check is a claim nothing checks).
 *
 * @example
 * const DATA = sharedData('sim-lysozyme/'); // throws at load time when the folder is missing
 */
export function sharedData(relative: string): string {
  const path = join(SHARED_DATA, relative);
  if (!existsSync(path)) {
    throw new Error(`the shared test data ${path} is missing; expected the shared data beside the project (../shared/data) or SXARCHIVE_SHARED_DATA pointing at a copy`);
  }
  return path;
}
