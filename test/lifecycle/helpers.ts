// An archive with containers on its tiers, for lifecycle tests: a data dir, a facility, a
// policy, and a few simulated runs ingested under it.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { openCatalog } from '../../src/catalog/catalog.ts';
import { simulate } from '../../src/simulate/simulate.ts';
import { testCatalogLocation, type Backend } from '../helpers/catalog.ts';
import { sxarchive } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

export const HOUR_MS = 3_600_000;

export interface Archive {
  dir: string;
  data: string;
  /** The catalog's location: a SQLite file, or a PostgreSQL URL. */
  catalog: string;
  cli: (...args: string[]) => ReturnType<typeof sxarchive>;
  /** Replaces facility.yaml with `yaml`, its catalog kept where it is. */
  setFacility: (yaml: string) => void;
  json: <T>(...args: string[]) => T;
}

export function facilityYaml(tiers: string, extra = ''): string {
  return `facility: local
currency: EUR
tiers:
${tiers}
containers: { max_frames: 4 }
ingest: { tier: hdd, policy: keep-all }
beamtime_price_per_hour: 2000
${extra}`;
}

export const DEFAULT_TIERS = `  ssd:  { kind: filesystem, path: tiers/ssd, price_per_tb_year: 100 }
  hdd:  { kind: filesystem, path: tiers/hdd, price_per_tb_year: 10 }
  tape: { kind: tape, path: tiers/tape, price_per_tb_year: 10, aggregate_size: 100MB }`;

/**
 * Ingests `runs` simulated runs of `frames` tiny frames each under the policy (YAML text) into a
 * fresh data dir with the facility (YAML text), its catalog on `backend` (SQLite by default).
 */
export async function makeArchive(t: ExecutionContext, options: { facility: string; policy: string; runs?: number; frames?: number; seed?: number; detector?: 'tiny' | 'det1024'; backend?: Backend }): Promise<Archive> {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const cli = (...args: string[]) => sxarchive(['--data-dir', data, ...args]);
  const catalog = options.backend === 'postgres' ? testCatalogLocation(t, 'postgres') : join(data, 'catalog.sqlite');
  const setFacility = (yaml: string) => writeFileSync(join(data, 'facility.yaml'), options.backend === 'postgres' ? `${yaml}\ncatalog: ${catalog}\n` : yaml);
  const archive: Archive = {
    dir, data, catalog, cli, setFacility,
    json: <T>(...args: string[]) => {
      const r = cli(...args, '--json');
      if (r.code !== 0 && r.code !== 3) throw new Error(`sxarchive ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout) as T;
    },
  };
  t.is(cli('init').code, 0);
  setFacility(options.facility);
  writeFileSync(join(dir, 'policy.yaml'), options.policy);
  const files: string[] = [];
  for (let i = 0; i < (options.runs ?? 1); i++) {
    const sim = await simulate({ detector: options.detector ?? 'tiny', frames: options.frames ?? 8, hitRate: 0.5, seed: (options.seed ?? 1) + i, out: join(dir, `run${i}.h5`), geometryOut: join(dir, 'tiny.geom') });
    files.push(sim.out);
  }
  for (const file of files) {
    const r = cli('ingest', file, '--experiment', 'lyso', '--geometry', join(dir, 'tiny.geom'), '--policy', join(dir, 'policy.yaml'), '--min-peaks', '10');
    t.is(r.code, 0, r.stderr);
  }
  return archive;
}

/** Moves every container's creation (and so its lifecycle) back by `ms`: time passing, for expiry tests. */
export function age(archive: Archive, ms: number): void {
  const { db } = openCatalog(archive.catalog);
  try {
    const rows = db.prepare('SELECT id, created_at FROM containers').all() as { id: number; created_at: string }[];
    for (const r of rows) db.prepare('UPDATE containers SET created_at = ? WHERE id = ?').run(new Date(Date.parse(r.created_at) - ms).toISOString(), r.id);
  } finally {
    db.close();
  }
}

export function query<T>(archive: Archive, sql: string, ...args: unknown[]): T[] {
  const { db } = openCatalog(archive.catalog, { readonly: true });
  try {
    return db.prepare(sql).all(...args) as T[];
  } finally {
    db.close();
  }
}

export function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** A time `ms` from now, as `--as-of` takes it. */
export function later(ms: number): string {
  return new Date(Date.now() + ms).toISOString();
}
