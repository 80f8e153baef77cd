// The money part of an experiment's report: cost to date and to the end of every lifecycle
// (the ledger), the beamtime the data took, and when keeping it costs more than measuring again.
import type { Catalog } from '../catalog/catalog.ts';
import type { ReportQueries } from '../catalog/report-queries.ts';
import type { FacilityConfig } from '../config/facility.ts';
import { accrued, costByYear, projected, storage, sumLedgers, YEAR_MS, type CostTerm, type Ledger } from '../cost/ledger.ts';
import { toMicro } from '../cost/money.ts';
import { tierPrices } from '../cost/prices.ts';
import { toLedgerContainer, toLedgerCopy, toLedgerRead } from './ledger-inputs.ts';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** Years the cost-by-year line covers (and the horizon for data kept forever). */
export const COST_YEARS = 30;

/** Integer micro-units (1e-6 of the currency) throughout: exact, and summing to the totals. */
export interface TierCostRow extends Record<CostTerm, number> {
  tier: string;
  total: number;
}

export interface ExperimentCost {
  currency: string;
  minorUnit: 'micro';
  asOf: string;
  toDate: { total: number; tiers: TierCostRow[] };
  /** From `asOf` to the end of every lifecycle; steps kept forever are in `foreverPerYear`. */
  projected: { total: number; tiers: TierCostRow[]; foreverPerYear: number };
  /** Cost to date plus projected; what is kept forever counts up to COST_YEARS after the data was taken. */
  lifetime: number;
  /** Whether `lifetime` stops at the COST_YEARS horizon (something is kept forever). */
  lifetimeAtHorizon: boolean;
  /** Tiers holding the experiment's copies that facility.yaml does not price (counted as free). */
  unpricedTiers: string[];
  /** `source`: set on the experiment (experiment set --beamtime-hours), or its runs' first start to last end. */
  beamtime: { hours: number; source: 'metadata' | 'runs'; pricePerHour: number; cost: number; from: string | null; to: string | null };
  /** Cumulative cost at the end of each year since the data was taken (accrued, then projected). */
  byYear: number[];
  /** The same per tier (every tier the experiment's data is on at some time). */
  byYearPerTier: { tier: string; byYear: number[] }[];
  /**
   * Every frame kept raw and uncompressed on the raw tier for as long as the experiment's data
   * is kept (its longest lifecycle; forever: the COST_YEARS horizon).
   */
  rawEverything: { tier: string; bytes: number; years: number; total: number };
  /** rawEverything.total / lifetime: how much the policy saves (0 when nothing is kept). */
  savingFactor: number;
  /** The first year whose cumulative storage cost exceeds the beamtime cost; null within COST_YEARS. */
  storingCostsMoreFromYear: number | null;
}

/** The comparison the seed asks for: what the experiment's frames would cost kept whole. */
function rawEverything(reports: ReportQueries, config: FacilityConfig, experimentId: number, start: number): ExperimentCost['rawEverything'] {
  const tier = config.tiers.hdd ? 'hdd' : config.ingest.tier;
  const bytes = reports.countExperimentFrames(experimentId).rawBytes;
  const ends = reports.containerRetention(experimentId).map((c) => c.lifecycle === null
    ? (c.lastUntil === null ? null : Date.parse(c.lastUntil))
    : c.lifecycle.reduce<number | null>((end, s) => (end === null || s.days === null ? null : end + s.days * DAY_MS), Date.parse(c.createdAt)));
  const last = ends.length === 0 ? start : ends.includes(null) ? start + COST_YEARS * YEAR_MS : Math.max(...(ends as number[]));
  const ms = Math.max(0, last - start);
  const price = tierPrices(config).get(tier);
  return { tier, bytes, years: ms / YEAR_MS, total: price ? Number(storage(bytes, ms, price)) : 0 };
}

function rows(l: Ledger): TierCostRow[] {
  return [...l.tiers].sort(([a], [b]) => a.localeCompare(b)).map(([tier, c]) => ({
    tier, storage: Number(c.storage), objects: Number(c.objects), earlyDeletion: Number(c.earlyDeletion), retrieval: Number(c.retrieval), egress: Number(c.egress),
    total: Number(c.storage + c.objects + c.earlyDeletion + c.retrieval + c.egress),
  }));
}

/**
 * @example
 * const cost = experimentCost(catalog, facility.config, exp.id, new Date());
 * cost.toDate.total // micro-units
 */
export function experimentCost(catalog: Pick<Catalog, 'reports'>, config: FacilityConfig, experimentId: number, asOf: Date, beamtimeHours: number | null = null): ExperimentCost {
  const { reports } = catalog;
  const prices = tierPrices(config);
  const at = asOf.getTime();
  const copies = reports.ledgerCopies(experimentId).map(toLedgerCopy);
  const reads = reports.ledgerReads(experimentId).map(toLedgerRead);
  const held = reports.heldContainers(experimentId).map(toLedgerContainer);
  const toDate = accrued(copies, reads, prices, at);
  const ahead = projected(held, prices, at);
  const lifetime = sumLedgers(toDate, ahead);
  const span = reports.collectionSpan(experimentId);
  const start = span.first === null ? at : Date.parse(span.first);
  const hours = beamtimeHours ?? (span.first === null || span.last === null ? 0 : Math.max(0, Date.parse(span.last) - start) / HOUR_MS);
  const pricePerHour = toMicro(config.beamtime_price_per_hour);
  const beamtime = Number((BigInt(Math.round(hours * 1e6)) * pricePerHour) / 1_000_000n);
  const years = costByYear(copies, reads, held, prices, start, at, COST_YEARS);
  const byYear = years.map((l) => Number(l.total));
  const tierNames = [...new Set(years.flatMap((l) => [...l.tiers.keys()]))].sort();
  const tierTotal = (l: Ledger, tier: string) => Object.values(l.tiers.get(tier) ?? {}).reduce((a: bigint, b: bigint) => a + b, 0n);
  const year = byYear.findIndex((c) => c > beamtime);
  const raw = rawEverything(reports, config, experimentId, start);
  const lifetimeTotal = ahead.foreverPerYear > 0n ? byYear.at(-1)! : Number(lifetime.total);
  return {
    currency: config.currency,
    minorUnit: 'micro',
    asOf: asOf.toISOString(),
    toDate: { total: Number(toDate.total), tiers: rows(toDate) },
    projected: { total: Number(ahead.total), tiers: rows(ahead), foreverPerYear: Number(ahead.foreverPerYear) },
    lifetime: lifetimeTotal,
    lifetimeAtHorizon: ahead.foreverPerYear > 0n,
    unpricedTiers: [...lifetime.unpriced].sort(),
    beamtime: { hours, source: beamtimeHours === null ? 'runs' : 'metadata', pricePerHour: Number(pricePerHour), cost: beamtime, from: span.first, to: span.last },
    byYear,
    byYearPerTier: tierNames.map((tier) => ({ tier, byYear: years.map((l) => Number(tierTotal(l, tier))) })),
    rawEverything: raw,
    savingFactor: lifetimeTotal > 0 ? raw.total / lifetimeTotal : 0,
    storingCostsMoreFromYear: year < 0 ? null : year + 1,
  };
}

/** Hours of beamtime as people say them: `3.5 h`, `12 min`, `40 s`. */
export function formatHours(hours: number): string {
  if (hours >= 1) return `${hours.toFixed(hours >= 10 ? 0 : 1)} h`;
  if (hours * 60 >= 1) return `${(hours * 60).toFixed(0)} min`;
  return `${(hours * 3600).toFixed(0)} s`;
}
