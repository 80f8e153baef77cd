import { openCatalog } from '../../catalog/catalog.ts';
import { loadFacility } from '../../config/facility.ts';
import { parseListen, serve } from '../../serve/server.ts';
import { Tokens } from '../../serve/tokens.ts';
import type { GlobalOptions } from '../context.ts';

export interface ServeCliOptions {
  listen: string;
  tokens?: string;
}

/** Serves until SIGINT or SIGTERM; the first line on stdout is a JSON line with the URL. */
export async function run(globals: GlobalOptions, opts: ServeCliOptions): Promise<void> {
  const facility = loadFacility(globals.dataDir);
  const listen = parseListen(opts.listen);
  const tokens = opts.tokens === undefined ? undefined : Tokens.load(opts.tokens);
  const catalog = openCatalog(facility.catalogLocation, { readonly: true });
  try {
    const server = await serve(facility, catalog, {
      listen, tokens,
      onError: (err, url) => process.stderr.write(`error answering ${url}: ${globals.debug ? (err as Error).stack : (err as Error).message}\n`),
    });
    process.stdout.write(`${JSON.stringify({ serving: server.url, readOnly: true, tokens: tokens !== undefined })}\n`);
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()).once('SIGTERM', () => resolve()));
    await server.close();
  } finally {
    catalog.close();
  }
}
