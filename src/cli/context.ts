import { openCatalog, type Catalog } from '../catalog/catalog.ts';
import { loadFacility, type Facility } from '../config/facility.ts';
import type { LifecycleContext } from '../lifecycle/context.ts';
import { OWNER, isAlive } from '../process-owner.ts';
import { Tiers } from '../tiers/open.ts';
import { startProgress } from './progress.ts';

/** The options every command takes (commander's globals). */
export interface GlobalOptions {
  dataDir: string;
  debug: boolean;
}

/**
 * Runs `work` with the facility configuration and an open catalog, closing it afterwards.
 * Commands that only read pass `{ readonly: true }`, so users who may not write the catalog
 * can run them.
 */
export async function withCatalog<T>(globals: GlobalOptions, work: (facility: Facility, catalog: Catalog) => Promise<T> | T, options: { readonly?: boolean } = {}): Promise<T> {
  const facility = loadFacility(globals.dataDir);
  const catalog = openCatalog(facility.catalogLocation, { readonly: options.readonly === true });
  try {
    return await work(facility, catalog);
  } finally {
    catalog.close();
  }
}

/**
 * Runs a lifecycle job (migrate, expire, verify, recall) with its context: the catalog, the
 * tiers, this process as owner, a progress bar in bytes, and SIGINT/SIGTERM asking it to stop
 * after the current step. Plans (`--dry-run`) open the catalog read-only.
 */
export async function withLifecycle<T>(globals: GlobalOptions, label: string, options: { readonly?: boolean; progress: boolean }, work: (ctx: LifecycleContext) => Promise<T> | T): Promise<T> {
  const progress = startProgress(label, options.progress && process.stderr.isTTY === true, 'bytes');
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    return await withCatalog(globals, async (facility, catalog) => work({
      facility,
      catalog,
      store: catalog.lifecycle,
      tiers: await Tiers.open(facility),
      owner: OWNER,
      isAlive,
      signal: stop.signal,
      onProgress: (done, total) => progress.update(done, total),
      onStatus: (text) => progress.status(text),
    }), { readonly: options.readonly === true });
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
}
