// What the safety tests (crash, full disk, repeats) check about a data dir after ingest.
import { execFileSync } from 'node:child_process';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCatalog } from '../../src/catalog/catalog.ts';
import { loadFacility } from '../../src/config/facility.ts';
import { listFiles } from '../../src/ingest/recover.ts';
import { DEBIAN_PYTHON } from '../helpers/h5py.ts';

const CHECK = fileURLToPath(new URL('../python/check_containers.py', import.meta.url));

export interface ArchiveState {
  /** Frame rows, and distinct (source, event) among them. */
  frames: number;
  distinct: number;
  runs: { number: number; state: string; frames: number }[];
  containers: { path: string; location: string; frames: number; ok: boolean; events: string[]; error?: string }[];
  /** Files on the filesystem tiers that no container row names (temporary files included). */
  orphans: string[];
}


/** Reads the catalog and checks every recorded container with h5py. */
export function archiveState(dataDir: string, options: { containers?: boolean } = {}): ArchiveState {
  const facility = loadFacility(dataDir);
  const catalog = openCatalog(facility.catalogLocation, { readonly: true });
  try {
    const db = catalog.db;
    const frames = (db.prepare('SELECT COUNT(*) AS n, COUNT(DISTINCT source || char(0) || event) AS d FROM frames').get() as { n: number; d: number });
    const runs = db.prepare('SELECT r.number, r.state, (SELECT COUNT(*) FROM frames f WHERE f.run_id = r.id) AS frames FROM runs r ORDER BY r.number').all() as ArchiveState['runs'];
    const rows = db.prepare('SELECT c.path, p.location, c.n_frames AS frames, c.sha256 FROM containers c JOIN placements p ON p.container_id = c.id ORDER BY c.id').all() as { path: string; location: string; frames: number; sha256: string }[];
    const checked = rows.length === 0 || options.containers === false ? rows.map(() => ({ ok: false } as { ok: boolean; events?: string[]; error?: string })) : (JSON.parse(execFileSync(DEBIAN_PYTHON, [CHECK], { input: JSON.stringify(rows.map((r) => ({ path: r.location, sha256: r.sha256, frames: r.frames }))), encoding: 'utf8' })) as { ok: boolean; events?: string[]; error?: string }[]);
    const recorded = new Set(rows.map((r) => r.location));
    const orphans = Object.keys(facility.config.tiers)
      .filter((t) => facility.config.tiers[t].kind === 'filesystem')
      .flatMap((t) => listFiles(facility.tierPath(t)))
      .filter((f) => !recorded.has(f))
      .map((f) => relative(dataDir, f));
    return {
      frames: frames.n,
      distinct: frames.d,
      runs,
      containers: rows.map((r, i) => ({ path: r.path, location: r.location, frames: r.frames, ok: checked[i].ok, events: checked[i].events ?? [], ...(checked[i].error ? { error: checked[i].error } : {}) })),
      orphans,
    };
  } finally {
    catalog.close();
  }
}
