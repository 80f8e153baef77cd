import type { Catalog } from '../catalog/catalog.ts';
import type { FacilityConfig } from '../config/facility.ts';
import { SxError } from '../errors.ts';

const TB = 1e12;

export interface TierUsage {
  tier: string;
  containers: number;
  bytes: number;
  pricePerTbYear: number;
  costPerYear: number;
}

export interface ExperimentReport {
  experiment: string;
  proposal: string | null;
  facility: string | null;
  sampleTags: string[];
  runs: number;
  frames: number;
  /** Frames the processing core labelled, and how many of those are hits. */
  labelled: number;
  hits: number;
  /** Frames with an indexing result (imported CrystFEL streams). */
  indexed: number;
  rawBytes: number;
  storedBytes: number;
  /** raw / stored: how much smaller the kept data is than the frames as recorded. */
  reduction: number;
  containers: number;
  tiers: TierUsage[];
  currency: string;
  costPerYear: number;
  /** What keeping every frame raw and uncompressed on HDD would cost per year, for comparison. */
  rawOnHddCostPerYear: number;
}

/** Everything here is read from the catalog; prices come from the facility configuration. */
export function buildExperimentReport(catalog: Catalog, config: FacilityConfig, name: string): ExperimentReport {
  const exp = catalog.findExperiment(name);
  if (!exp) {
    const known = catalog.listExperiments().map((e) => e.name);
    throw new SxError('usage', `no experiment named "${name}"${known.length ? `; known: ${known.join(', ')}` : ' (the catalog has none yet)'}`);
  }
  const db = catalog.db;
  const frames = db
    .prepare(`SELECT COUNT(*) AS n, COALESCE(SUM(f.raw_bytes), 0) AS bytes, COUNT(f.hit) AS labelled,
                     COALESCE(SUM(f.hit = 1), 0) AS hits, COALESCE(SUM(f.indexed = 1), 0) AS indexed
              FROM frames f JOIN runs r ON r.id = f.run_id WHERE r.experiment_id = ?`)
    .get(exp.id) as { n: number; bytes: number; labelled: number; hits: number; indexed: number };
  const runs = (db.prepare('SELECT COUNT(*) AS n FROM runs WHERE experiment_id = ?').get(exp.id) as { n: number }).n;
  const byTier = db
    .prepare(`SELECT p.tier AS tier, COUNT(*) AS containers, SUM(c.bytes) AS bytes
              FROM placements p JOIN containers c ON c.id = p.container_id
              WHERE c.experiment_id = ? AND p.valid_until IS NULL AND p.state IN ('active', 'verified')
              GROUP BY p.tier ORDER BY p.tier`)
    .all(exp.id) as { tier: string; containers: number; bytes: number }[];
  const containers = (db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS bytes FROM containers WHERE experiment_id = ?').get(exp.id) as {
    n: number;
    bytes: number;
  });
  const priceOf = (tier: string) => config.tiers[tier]?.price_per_tb_year ?? 0;
  const tiers = byTier.map((t) => ({ ...t, pricePerTbYear: priceOf(t.tier), costPerYear: (t.bytes / TB) * priceOf(t.tier) }));
  return {
    experiment: exp.name,
    proposal: exp.proposal,
    facility: exp.facility,
    sampleTags: exp.sampleTags,
    runs,
    frames: frames.n,
    labelled: frames.labelled,
    hits: frames.hits,
    indexed: frames.indexed,
    rawBytes: frames.bytes,
    storedBytes: containers.bytes,
    reduction: containers.bytes > 0 ? frames.bytes / containers.bytes : 0,
    containers: containers.n,
    tiers,
    currency: config.currency,
    costPerYear: tiers.reduce((sum, t) => sum + t.costPerYear, 0),
    rawOnHddCostPerYear: (frames.bytes / TB) * priceOf('hdd'),
  };
}
