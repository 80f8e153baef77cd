import { openCatalog, type Catalog } from '../catalog/catalog.ts';
import { loadFacility, type Facility } from '../config/facility.ts';
import type { GlobalOptions } from './main.ts';

/** Runs `work` with the facility configuration and an open catalog, closing it afterwards. */
export async function withCatalog<T>(globals: GlobalOptions, work: (facility: Facility, catalog: Catalog) => Promise<T> | T): Promise<T> {
  const facility = loadFacility(globals.dataDir);
  const catalog = openCatalog(facility.catalogPath);
  try {
    return await work(facility, catalog);
  } finally {
    catalog.close();
  }
}
