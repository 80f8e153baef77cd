import { openCatalog, type Catalog } from '../catalog/catalog.ts';
import { loadFacility, type Facility } from '../config/facility.ts';
import type { GlobalOptions } from './main.ts';

/**
 * Runs `work` with the facility configuration and an open catalog, closing it afterwards.
 * Commands that only read pass `{ readonly: true }`, so users who may not write the catalog
 * can run them.
 */
export async function withCatalog<T>(globals: GlobalOptions, work: (facility: Facility, catalog: Catalog) => Promise<T> | T, options: { readonly?: boolean } = {}): Promise<T> {
  const facility = loadFacility(globals.dataDir);
  const catalog = openCatalog(facility.catalogPath, { readonly: options.readonly === true });
  try {
    return await work(facility, catalog);
  } finally {
    catalog.close();
  }
}
