// The report queries (reports.ts, ledger.ts, facility-report.ts) as the methods of an open
// catalog (`catalog.reports`): what src/report/ depends on, in plain rows, so that another
// backend can answer the same methods with its own SQL.
import { experimentTotals, heldByExperimentAndTier, type ExperimentTotalsRow, type HeldTierRow } from './facility-report.ts';
import { collectionSpan, containerRetention, heldContainers, ledgerCopies, ledgerReads, type CopyRow, type HeldContainerRow, type ReadRow, type RetentionRow } from './ledger.ts';
import {
  countContainers, countExperimentFrames, countExpired, countRuns, currentTierUsage, framesByRule, keptByProduct, listFrameHits,
  type FrameCounts, type ProductRow, type ReportSource, type RuleRow, type TierRow,
} from './reports.ts';

/**
 * Each method is one query, as the function of the same name documents; a report that reads
 * several runs them in `Catalog.readTransaction` to see one state of the catalog.
 */
export interface ReportQueries {
  countExperimentFrames(experimentId: number): FrameCounts;
  countRuns(experimentId: number): number;
  countContainers(experimentId: number): { containers: number; bytes: number };
  countExpired(experimentId: number): { containers: number; bytes: number; lastDeletedAt: string | null };
  currentTierUsage(experimentId: number, at: string): TierRow[];
  listFrameHits(experimentId: number): { source: string; event: string; hit: boolean | null }[];
  keptByProduct(experimentId: number): ProductRow[];
  framesByRule(experimentId: number): RuleRow[];
  collectionSpan(experimentId: number): { first: string | null; last: string | null };
  containerRetention(experimentId: number): RetentionRow[];
  /** The ledger's rows: of one experiment, or without an id of all of them. */
  ledgerCopies(experimentId?: number): CopyRow[];
  ledgerReads(experimentId?: number): ReadRow[];
  heldContainers(experimentId?: number): HeldContainerRow[];
  experimentTotals(since?: string): ExperimentTotalsRow[];
  heldByExperimentAndTier(at: string): HeldTierRow[];
}

/** The report queries on a SQLite catalog; `Catalog` holds them as `reports`. */
export function reportQueries(source: ReportSource): ReportQueries {
  return {
    countExperimentFrames: (experimentId) => countExperimentFrames(source, experimentId),
    countRuns: (experimentId) => countRuns(source, experimentId),
    countContainers: (experimentId) => countContainers(source, experimentId),
    countExpired: (experimentId) => countExpired(source, experimentId),
    currentTierUsage: (experimentId, at) => currentTierUsage(source, experimentId, at),
    listFrameHits: (experimentId) => listFrameHits(source, experimentId),
    keptByProduct: (experimentId) => keptByProduct(source, experimentId),
    framesByRule: (experimentId) => framesByRule(source, experimentId),
    collectionSpan: (experimentId) => collectionSpan(source, experimentId),
    containerRetention: (experimentId) => containerRetention(source, experimentId),
    ledgerCopies: (experimentId) => ledgerCopies(source, experimentId),
    ledgerReads: (experimentId) => ledgerReads(source, experimentId),
    heldContainers: (experimentId) => heldContainers(source, experimentId),
    experimentTotals: (since) => experimentTotals(source, since),
    heldByExperimentAndTier: (at) => heldByExperimentAndTier(source, at),
  };
}
