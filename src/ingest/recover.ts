// After a crash: runs whose process is gone are closed in the catalog, and what they left on the
// tiers (temporary files, containers renamed into place but never recorded) is removed. Nothing
// removed here is the only copy of anything: unrecorded files hold frames the catalog does not
// have, which a run of the same command reads again from their source.
import { readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Catalog } from '../catalog/catalog.ts';
import type { Facility } from '../config/facility.ts';
import { isAlive, isPidAlive } from '../process-owner.ts';
import { runDirName } from './run-dir.ts';
import type { Recovery } from './types.ts';

/** AtomicFile's temporary names: `.<name>.<pid>-<8 hex>.tmp`. */
const TMP_NAME = /^\..*\.(\d+)-[0-9a-f]{8}\.tmp$/;

/**
 * Closes the experiment's dead runs and cleans their traces on every filesystem tier: temporary
 * files of processes that are gone, anywhere under the experiment's folder, and unrecorded files
 * in the folders of dead runs.
 */
export function recoverExperiment(catalog: Catalog, facility: Facility, experiment: string): Recovery {
  // The runs are closed only once their files are gone: a recovery killed half-way finds them
  // dead again (closed first, a dead run's unrecorded files would stay for good).
  const dead = catalog.deadRuns(experiment, isAlive);
  const deadDirs = new Set(dead.map((r) => runDirName(r.number)));
  const recovery: Recovery = { runs: [], removedFiles: 0, removedBytes: 0 };
  for (const [name, tier] of Object.entries(facility.config.tiers)) {
    if (tier.kind !== 'filesystem') continue;
    const root = facility.tierPath(name);
    const dir = join(root, experiment);
    for (const file of listFiles(dir)) {
      const base = file.slice(file.lastIndexOf('/') + 1);
      const tmp = TMP_NAME.exec(base);
      const inDeadRun = deadDirs.has(relative(dir, file).split('/')[0]);
      const orphan = tmp ? !isPidAlive(Number(tmp[1])) : inDeadRun && !catalog.hasContainer(relative(root, file));
      if (!orphan) continue;
      const { size } = statSync(file);
      rmSync(file, { force: true });
      recovery.removedFiles += 1;
      recovery.removedBytes += size;
    }
  }
  recovery.runs = catalog.closeDeadRuns(dead);
  for (const r of recovery.runs) if (r.removed) removeEmptyFolders(facility, experiment, runDirName(r.number));
  return recovery;
}

/** Every file below `dir` (none if it does not exist). */
export function listFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []));
}

/** Removes the run's folders (and the experiment's) on the filesystem tiers where they are empty, after a run that kept nothing. */
export function removeEmptyFolders(facility: Facility, experiment: string, runDir: string): void {
  for (const [name, tier] of Object.entries(facility.config.tiers)) {
    if (tier.kind !== 'filesystem') continue;
    for (const dir of [join(facility.tierPath(name), experiment, runDir), join(facility.tierPath(name), experiment)]) {
      try {
        rmdirSync(dir);
      } catch {
        // Not empty, or not there: nothing to tidy.
      }
    }
  }
}
