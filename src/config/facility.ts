import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import cron from 'node-cron';
import { z } from 'zod';
import { parseSize } from '../bytes.ts';
import { CATALOG_FILE } from '../catalog/catalog.ts';
import { isPostgresUrl } from '../catalog/postgres/open.ts';
import { readTextFile } from '../text-file.ts';
import { parseYaml } from './yaml.ts';

export const FACILITY_FILE = 'facility.yaml';
export const DEFAULT_DATA_DIR = 'sxarchive-data';

/** A byte count, or a number with a unit (`12TB`, `16MiB`). */
const size = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const bytes = parseSize(value);
  if (bytes === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a size in bytes or with a unit (e.g. 12TB, 16MiB) but received ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return bytes;
});

/**
 * What storing costs when facility.yaml does not say, per TB-year, from the design's reference
 * points: HDD 200 kEUR for 4 PB over 5 years = 10, SSD ten times that, tape 100 EUR/TB over 10
 * years = 10. S3 has no default: its operator sets the price.
 */
export const DEFAULT_PRICE_PER_TB_YEAR = { hdd: 10, ssd: 100, tape: 10 } as const;

/** A tier's prices in the facility's currency (the cost ledger, src/cost/). */
const prices = {
  price_per_tb_year: z.number().nonnegative(),
  /** Charged once for every copy put on the tier (an S3 PUT, a tape mount share). */
  price_per_object: z.number().nonnegative().default(0),
  /** Per TB read out of the tier: a recall, or a migration from it. */
  retrieval_per_tb: z.number().nonnegative().default(0),
  egress_per_tb: z.number().nonnegative().default(0),
  /** A copy removed sooner is charged as if it had stayed this long (early deletion). */
  min_duration_days: z.number().int().nonnegative().default(0),
};

/** An S3 bucket (or a prefix in one); credentials from the environment or `credentials_file`. */
const s3Target = {
  endpoint: z.url().optional(),
  region: z.string().min(1).default('us-east-1'),
  bucket: z.string().min(3),
  prefix: z.string().default(''),
  storage_class: z.string().regex(/^[A-Z_]+$/).default('STANDARD'),
  /** An AWS-style credentials file (`[profile]`, aws_access_key_id, aws_secret_access_key). */
  credentials_file: z.string().min(1).optional(),
  profile: z.string().min(1).default('default'),
  part_size: size.default(16 * 2 ** 20).refine((n) => n >= 5 * 2 ** 20, 'S3 parts are at least 5 MiB'),
  parallel_parts: z.number().int().positive().default(4),
  max_attempts: z.number().int().positive().default(5),
};

const filesystemTier = z.strictObject({
  kind: z.literal('filesystem'),
  path: z.string().min(1),
  /** Enforced as a quota: migration pauses on a tier that would hold more. */
  capacity: size.optional(),
  ...prices,
  /** Defaults to the SSD price for a tier named ssd, else the HDD price. */
  price_per_tb_year: z.number().nonnegative().optional(),
});

const s3Tier = z.strictObject({
  kind: z.literal('s3'),
  ...s3Target,
  capacity: size.optional(),
  ...prices,
});

/**
 * Containers aggregated into POSIX tar files on a mount point (`path`, LTFS style) or in an
 * S3 bucket (`s3`, typically an archive storage class such as GLACIER or DEEP_ARCHIVE).
 */
const tapeTier = z.strictObject({
  kind: z.literal('tape'),
  path: z.string().min(1).optional(),
  s3: z.strictObject(s3Target).optional(),
  /** An aggregate is closed at this size, or at the end of a migration pass. */
  aggregate_size: size.default(50e9),
  /** Where aggregates for an S3 target are built before upload, and recalls are staged. */
  staging: z.string().min(1).optional(),
  /** Archive storage classes: days a restored copy stays readable, and the restore tier. */
  restore_days: z.number().int().positive().default(2),
  restore_tier: z.enum(['Standard', 'Bulk', 'Expedited']).default('Standard'),
  capacity: size.optional(),
  ...prices,
  price_per_tb_year: z.number().nonnegative().default(DEFAULT_PRICE_PER_TB_YEAR.tape),
}).refine((t) => (t.path === undefined) !== (t.s3 === undefined), 'a tape tier needs exactly one target: path (a mount point) or s3 (a bucket)');

const tierSchema = z.discriminatedUnion('kind', [filesystemTier, s3Tier, tapeTier]);

/** Cron expressions (minute hour day month weekday, optionally seconds first) for `sxarchive daemon`. */
const cronExpression = z.string().superRefine((text, ctx) => {
  if (!cron.validate(text)) ctx.addIssue({ code: 'custom', message: `expected a cron expression such as "0 3 * * *" but received ${JSON.stringify(text)}` });
});

const schedulesSchema = z.strictObject({
  migrate: cronExpression.optional(),
  expire: cronExpression.optional(),
  verify: cronExpression.optional(),
});

const facilitySchema = z.strictObject({
  facility: z.string().min(1),
  currency: z.string().length(3),
  catalog: z.string().min(1).default(CATALOG_FILE),
  tiers: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/), tierSchema).transform((tiers) => Object.fromEntries(Object.entries(tiers).map(([name, t]) => [name,
    t.kind === 'filesystem' ? { ...t, price_per_tb_year: t.price_per_tb_year ?? (name === 'ssd' ? DEFAULT_PRICE_PER_TB_YEAR.ssd : DEFAULT_PRICE_PER_TB_YEAR.hdd) } : t,
  ])) as Record<string, PricedTier>),
  containers: z.strictObject({ max_frames: z.number().int().positive() }),
  ingest: z.strictObject({
    tier: z.string(),
    policy: z.string().min(1),
  }),
  schedules: schedulesSchema.default({}),
  /** Policy files `serve` compares on an experiment, beside the shipped ones. */
  compare_policies: z.array(z.string().min(1)).default([]),
  beamtime_price_per_hour: z.number().nonnegative(),
}).superRefine((cfg, ctx) => {
  // Runs even when other fields are invalid (see `when`), so fields may be missing here.
  const tiers = Object.keys(cfg.tiers ?? {});
  const tier = cfg.ingest?.tier;
  if (typeof tier === 'string' && !tiers.includes(tier)) {
    ctx.addIssue({ code: 'custom', path: ['ingest', 'tier'], message: `unknown tier "${tier}"; expected one of ${tiers.join(', ')}` });
  } else if (typeof tier === 'string' && cfg.tiers[tier]?.kind !== 'filesystem') {
    ctx.addIssue({ code: 'custom', path: ['ingest', 'tier'], message: `ingest writes containers to a filesystem tier, but "${tier}" is ${cfg.tiers[tier]?.kind}; expected one of ${tiers.filter((t) => cfg.tiers[t]?.kind === 'filesystem').join(', ')}` });
  }
}, { when: () => true });

/** A tier as the rest of sxarchive sees it: its price filled in. */
type PricedTier = z.output<typeof tierSchema> & { price_per_tb_year: number };
export type FacilityConfig = z.output<typeof facilitySchema>;
export type TierConfig = PricedTier;
export type FilesystemTierConfig = Extract<PricedTier, { kind: 'filesystem' }>;
export type S3TierConfig = z.output<typeof s3Tier>;
export type TapeTierConfig = z.output<typeof tapeTier>;
/** Where an S3 tier, or a tape tier on S3, keeps its objects, and how it talks to the endpoint. */
export type S3TargetConfig = Omit<S3TierConfig, 'kind' | 'capacity' | keyof typeof prices>;
export type ScheduleName = keyof z.output<typeof schedulesSchema>;

/**
 * Written by `sxarchive init`; the embedded default when a data dir has no facility.yaml.
 * Prices are the design's reference points: HDD 10, SSD 100, tape 10 EUR per TB-year.
 */
export const DEFAULT_FACILITY_YAML = `# sxarchive facility configuration. Paths are relative to the data directory.
facility: local
currency: EUR
catalog: ${CATALOG_FILE}   # or a PostgreSQL server shared by several nodes: postgres://USER@HOST:5432/DATABASE
tiers:
  ssd:  { kind: filesystem, path: tiers/ssd,  price_per_tb_year: 100 }
  hdd:  { kind: filesystem, path: tiers/hdd,  price_per_tb_year: 10 }
  tape: { kind: tape,       path: tiers/tape, price_per_tb_year: 10, min_duration_days: 365 }
containers:
  max_frames: 1000          # frames per container before a new one is started
ingest:
  tier: hdd                 # staging: where frames wait for their decision
  policy: keep-all          # retention policy of ingest: a shipped name or a file
schedules:                  # for sxarchive daemon (cron: minute hour day month weekday)
  migrate: "0 * * * *"      # hourly: containers whose lifecycle step ended move on
  expire: "30 2 * * *"      # daily: data whose lifecycle ended is deleted (labels stay)
  verify: "0 4 * * 0"       # weekly: every copy re-read and checked
beamtime_price_per_hour: 2000  # for comparing storage cost with re-measuring
`;

export interface Facility {
  dataDir: string;
  config: FacilityConfig;
  /** The catalog: a SQLite file's absolute path, or a PostgreSQL server's `postgres://` URL as written. */
  catalogLocation: string;
  /** Absolute path of a tier's folder: a filesystem tier, or a tape tier on a mount point. */
  tierPath(tier: string): string;
  /**
   * The filesystem tier a container whose lifecycle starts on `tier` is written to by ingest:
   * `tier` itself, or the ingest tier for a tier that takes no direct writes (tape, S3), from
   * where migration moves it at once.
   */
  stagingTier(tier: string): string;
  /** Absolute path of a path in the config (relative ones are inside the data directory). */
  resolvePath(path: string): string;
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
    catalogLocation: isPostgresUrl(config.catalog) ? config.catalog : inDir(config.catalog),
    tierPath: (tier) => {
      const t = config.tiers[tier];
      if (t === undefined || t.kind === 's3' || t.path === undefined) throw new Error(`tier ${tier} has no folder`);
      return inDir(t.path);
    },
    stagingTier: (tier) => (config.tiers[tier]?.kind === 'filesystem' ? tier : config.ingest.tier),
    resolvePath: inDir,
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
