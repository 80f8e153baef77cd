import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { CATALOG_FILE } from '../catalog/catalog.ts';
import { readTextFile } from '../text-file.ts';
import { parseYaml } from './yaml.ts';

export const FACILITY_FILE = 'facility.yaml';
export const DEFAULT_DATA_DIR = 'sxarchive-data';

const tierSchema = z.strictObject({
  kind: z.enum(['filesystem', 'tape']),
  path: z.string().min(1),
  price_per_tb_year: z.number().nonnegative(),
  min_duration_days: z.number().int().nonnegative().default(0),
});

const facilitySchema = z.strictObject({
  facility: z.string().min(1),
  currency: z.string().length(3),
  catalog: z.string().min(1).default(CATALOG_FILE),
  tiers: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/), tierSchema),
  containers: z.strictObject({ max_frames: z.number().int().positive() }),
  ingest: z.strictObject({
    tier: z.string(),
    policy: z.string().min(1),
  }),
  beamtime_price_per_hour: z.number().nonnegative(),
}).superRefine((cfg, ctx) => {
  // Runs even when other fields are invalid (see `when`), so fields may be missing here.
  const tiers = Object.keys(cfg.tiers ?? {});
  const tier = cfg.ingest?.tier;
  if (typeof tier === 'string' && !tiers.includes(tier)) {
    ctx.addIssue({ code: 'custom', path: ['ingest', 'tier'], message: `unknown tier "${tier}"; expected one of ${tiers.join(', ')}` });
  }
}, { when: () => true });

export type FacilityConfig = z.output<typeof facilitySchema>;
export type TierConfig = z.output<typeof tierSchema>;

/**
 * Written by `sxarchive init`; the embedded default when a data dir has no facility.yaml.
 * Prices are the design's reference points: HDD 10, SSD 100, tape 10 EUR per TB-year.
 */
export const DEFAULT_FACILITY_YAML = `# sxarchive facility configuration. Paths are relative to the data directory.
facility: local
currency: EUR
catalog: ${CATALOG_FILE}
tiers:
  ssd:  { kind: filesystem, path: tiers/ssd,  price_per_tb_year: 100 }
  hdd:  { kind: filesystem, path: tiers/hdd,  price_per_tb_year: 10 }
  tape: { kind: tape,       path: tiers/tape, price_per_tb_year: 10, min_duration_days: 365 }
containers:
  max_frames: 1000          # frames per container before a new one is started
ingest:
  tier: hdd                 # staging: where frames wait for their decision
  policy: keep-all          # retention policy of ingest: a shipped name or a file
beamtime_price_per_hour: 2000  # for comparing storage cost with re-measuring
`;

export interface Facility {
  dataDir: string;
  config: FacilityConfig;
  catalogPath: string;
  tierPath(tier: string): string;
}

export function loadFacility(dataDir: string): Facility {
  const dir = resolve(dataDir);
  const file = join(dir, FACILITY_FILE);
  const own = existsSync(file);
  const text = own ? readTextFile(file, { expected: 'a facility configuration (YAML)', tag: 'config' }) : DEFAULT_FACILITY_YAML;
  const config = parseYaml(text, own ? file : '(built-in facility defaults)', facilitySchema, 'config');
  const inDir = (p: string) => (isAbsolute(p) ? p : join(dir, p));
  return {
    dataDir: dir,
    config,
    catalogPath: inDir(config.catalog),
    tierPath: (tier) => inDir(config.tiers[tier].path),
  };
}

/** Creates the data directory and, unless the facility has its own, the default facility.yaml. */
export function initDataDir(dataDir: string): { configFile: string; createdConfig: boolean } {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, FACILITY_FILE);
  const createdConfig = !existsSync(configFile);
  if (createdConfig) writeFileSync(configFile, DEFAULT_FACILITY_YAML);
  return { configFile, createdConfig };
}
