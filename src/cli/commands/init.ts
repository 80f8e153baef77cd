import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { initDataDir } from '../../config/facility.ts';
import { withCatalog, type GlobalOptions } from '../context.ts';
import { printJson } from '../format.ts';

export async function run(globals: GlobalOptions, opts: { json?: boolean }): Promise<void> {
  const dataDir = resolve(globals.dataDir);
  const { configFile, createdConfig } = initDataDir(dataDir);
  const result = await withCatalog(globals, (facility) => {
    // Folders for the tiers that have one (S3 tiers keep their objects in a bucket).
    const tiers = Object.entries(facility.config.tiers).filter(([, t]) => t.kind !== 's3' && t.path !== undefined).map(([tier]) => {
      mkdirSync(facility.tierPath(tier), { recursive: true });
      return { tier, path: facility.tierPath(tier) };
    });
    return { dataDir, config: configFile, createdConfig, catalog: facility.catalogLocation, tiers };
  });
  if (opts.json) return printJson(result);
  console.log(`${createdConfig ? 'created' : 'kept existing'} ${result.config}`);
  console.log(`catalog   ${result.catalog}`);
  for (const t of result.tiers) console.log(`tier ${t.tier.padEnd(5)}${t.path}`);
}
