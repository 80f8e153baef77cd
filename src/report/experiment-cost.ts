// The money part of an experiment's report: cost to date and to the end of every lifecycle
// (the ledger), the beamtime the data took, and when keeping it costs more than measuring again.
import { collectionSpan, heldContainers, ledgerCopies, ledgerReads } from '../catalog/ledger.ts';
import type { ReportSource } from '../catalog/reports.ts';
import type { FacilityConfig } from '../config/facility.ts';
import { accrued, costByYear, projected, sumLedgers, type CostTerm, type Ledger, type LedgerContainer } from '../cost/ledger.ts';
import { toMicro } from '../cost/money.ts';
import { tierPrices } from '../cost/prices.ts';

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
  /** Cost to date plus projected. */
  lifetime: number;
  /** Tiers holding the experiment's copies that facility.yaml does not price (counted as free). */
  unpricedTiers: string[];
  beamtime: { hours: number; pricePerHour: number; cost: number; from: string | null; to: string | null };
  /** Cumulative cost at the end of each year since the data was taken (accrued, then projected). */
  byYear: number[];
  /** The first year whose cumulative storage cost exceeds the beamtime cost; null within COST_YEARS. */
  storingCostsMoreFromYear: number | null;
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
export function experimentCost(source: ReportSource, config: FacilityConfig, experimentId: number, asOf: Date): ExperimentCost {
  const prices = tierPrices(config);
  const at = asOf.getTime();
  const copies = ledgerCopies(source, experimentId).map((c) => ({ containerId: c.containerId, tier: c.tier, bytes: c.bytes, from: Date.parse(c.validFrom), ended: c.endedAt === null ? null : Date.parse(c.endedAt) }));
  const reads = ledgerReads(source, experimentId).map((r) => ({ tier: r.tier, bytes: r.bytes, at: Date.parse(r.at) }));
  const held: LedgerContainer[] = heldContainers(source, experimentId).map((c) => {
    const created = Date.parse(c.createdAt);
    // Containers recorded before lifecycles were: their copy's tier until its planned end.
    const lifecycle = c.lifecycle ?? [{ tier: c.tier, days: c.validUntil === null ? null : (Date.parse(c.validUntil) - created) / DAY_MS }];
    return { id: c.id, bytes: c.bytes, created, lifecycle };
  });
  const toDate = accrued(copies, reads, prices, at);
  const ahead = projected(held, prices, at);
  const lifetime = sumLedgers(toDate, ahead);
  const span = collectionSpan(source, experimentId);
  const start = span.first === null ? at : Date.parse(span.first);
  const hours = span.first === null || span.last === null ? 0 : Math.max(0, Date.parse(span.last) - start) / HOUR_MS;
  const pricePerHour = toMicro(config.beamtime_price_per_hour);
  const beamtime = Number((BigInt(Math.round(hours * 1e6)) * pricePerHour) / 1_000_000n);
  const byYear = costByYear(copies, reads, held, prices, start, at, COST_YEARS).map(Number);
  const year = byYear.findIndex((c) => c > beamtime);
  return {
    currency: config.currency,
    minorUnit: 'micro',
    asOf: asOf.toISOString(),
    toDate: { total: Number(toDate.total), tiers: rows(toDate) },
    projected: { total: Number(ahead.total), tiers: rows(ahead), foreverPerYear: Number(ahead.foreverPerYear) },
    lifetime: Number(lifetime.total),
    unpricedTiers: [...lifetime.unpriced].sort(),
    beamtime: { hours, pricePerHour: Number(pricePerHour), cost: beamtime, from: span.first, to: span.last },
    byYear,
    storingCostsMoreFromYear: year < 0 ? null : year + 1,
  };
}
