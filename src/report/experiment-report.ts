import type { ApplyCatalog } from '../catalog/apply.ts';
import type { Catalog } from '../catalog/catalog.ts';
import type { FacilityConfig } from '../config/facility.ts';
import { experimentCost, type ExperimentCost } from './experiment-cost.ts';
import type { FrameCounts, ProductRow, RuleRow } from '../catalog/reports.ts';

const TB = 1e12;

export interface TierUsage {
  tier: string;
  containers: number;
  bytes: number;
  pricePerTbYear: number;
  costPerYear: number;
}

/** Frame counts as in FrameCounts: `indexed` counts frames with an imported indexing result. */
export interface ExperimentReport extends FrameCounts {
  experiment: string;
  proposal: string | null;
  facility: string | null;
  sampleTags: string[];
  runs: number;
  storedBytes: number;
  /** raw / stored: how much smaller the kept data is than the frames as recorded. */
  reduction: number;
  containers: number;
  /** Kept containers, frames and bytes per product. */
  products: ProductRow[];
  /** Frames per policy rule: decided, raw bytes, kept frames and their share of the kept bytes. */
  rules: RuleRow[];
  tiers: TierUsage[];
  currency: string;
  costPerYear: number;
  /**
   * What keeping every frame raw and uncompressed on `rawTier` would cost per year, for comparison:
   * the `hdd` tier, or the ingest tier when the facility has none (as the dry-run's comparison).
   */
  rawOnHddCostPerYear: number;
  rawTier: string;
  /** Data deleted at the end of its lifecycle (labels and decisions stay). */
  expired: { containers: number; bytes: number; lastDeletedAt: string | null };
  /** The ledger: cost to date, projected, beamtime and store versus re-measure (micro-units). */
  cost: ExperimentCost;
  /** Policies applied to the archived data (`policy apply`), oldest first, with what each saved. */
  applications: AppliedPolicy[];
}

export interface AppliedPolicy {
  policy: string;
  /** The policies the frames were decided by before. */
  replaced: string[];
  state: 'writing' | 'dropping' | 'done';
  startedAt: string;
  finishedAt: string | null;
  before: { containers: number; bytes: number };
  /** null until it has finished. */
  after: { containers: number; bytes: number } | null;
  savedBytes: number | null;
}

/** What the experiment report reads of the catalog. */
export type ExperimentReportSource = Pick<Catalog, 'getExperiment' | 'reports'> & { readonly apply: Pick<ApplyCatalog, 'applications'> };

/**
 * Everything here is read from the catalog; prices come from the facility configuration. Tiers
 * count the placements current at `at` (default: now).
 *
 * @example
 * const r = buildExperimentReport(catalog, facility.config, 'lyso-2026');
 * console.log(r.tiers, r.costPerYear);
 */
export function buildExperimentReport(catalog: ExperimentReportSource, config: FacilityConfig, name: string, at: Date = new Date()): ExperimentReport {
  const exp = catalog.getExperiment(name);
  const { reports } = catalog;
  const frames = reports.countExperimentFrames(exp.id);
  const runs = reports.countRuns(exp.id);
  const byTier = reports.currentTierUsage(exp.id, at.toISOString());
  const containers = reports.countContainers(exp.id);
  const priceOf = (tier: string) => config.tiers[tier]?.price_per_tb_year ?? 0;
  const rawTier = config.tiers.hdd ? 'hdd' : config.ingest.tier;
  const tiers = byTier.map((t) => ({ ...t, pricePerTbYear: priceOf(t.tier), costPerYear: (t.bytes / TB) * priceOf(t.tier) }));
  return {
    experiment: exp.name,
    proposal: exp.proposal,
    facility: exp.facility,
    sampleTags: exp.sampleTags,
    runs,
    frames: frames.frames,
    labelled: frames.labelled,
    hits: frames.hits,
    indexed: frames.indexed,
    rawBytes: frames.rawBytes,
    storedBytes: containers.bytes,
    reduction: containers.bytes > 0 ? frames.rawBytes / containers.bytes : 0,
    containers: containers.containers,
    products: reports.keptByProduct(exp.id),
    rules: reports.framesByRule(exp.id),
    tiers,
    currency: config.currency,
    costPerYear: tiers.reduce((sum, t) => sum + t.costPerYear, 0),
    rawOnHddCostPerYear: (frames.rawBytes / TB) * priceOf(rawTier),
    rawTier,
    expired: reports.countExpired(exp.id),
    cost: experimentCost(catalog, config, exp.id, at, exp.beamtimeHours),
    applications: catalog.apply.applications(exp.id).map((a) => {
      const after = (a.summary?.after as { containers: number; bytes: number } | undefined) ?? null;
      return {
        policy: a.policy, replaced: a.before.policies, state: a.state, startedAt: a.createdAt, finishedAt: a.finishedAt,
        before: { containers: a.before.containers, bytes: a.before.bytes }, after, savedBytes: after && a.before.bytes - after.bytes,
      };
    }),
  };
}
