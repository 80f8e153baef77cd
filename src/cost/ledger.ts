// The cost ledger: what an experiment's data has cost up to a date and will cost to the end of
// its lifecycles, from the catalog alone (copies with their times, reads out of tiers, each
// container's lifecycle) and the facility's prices. Exact integers in micro-units (money.ts);
// each term of each copy is rounded down once, and totals are sums of those terms.
import type { LifecycleSpan } from '../catalog/types.ts';
import { mulDiv } from './money.ts';

export const YEAR_MS = 365 * 86_400_000;
const DAY_MS = 86_400_000;
const TB = 10n ** 12n;
const TB_YEAR_MS = TB * BigInt(YEAR_MS);

/** A tier's prices in micro-units (see cost/prices.ts for where they come from). */
export interface TierPrice {
  perTbYear: bigint;
  /** Charged once for every copy put on the tier. */
  perObject: bigint;
  /** Charged per TB read out of the tier (a recall, or a migration from it). */
  retrievalPerTb: bigint;
  egressPerTb: bigint;
  /** A copy removed sooner is charged as if it had stayed this long (early deletion). */
  minDurationDays: number;
}

/** A copy that held data: from `from` until `ended` (null: still there). Times in ms. */
export interface LedgerCopy {
  containerId: number;
  tier: string;
  bytes: number;
  from: number;
  ended: number | null;
}

/** Bytes read out of a tier at a time: a recall, or the source side of a migration. */
export interface LedgerRead {
  tier: string;
  bytes: number;
  at: number;
}

/** A container and its lifecycle, counted from its creation (as migration counts it). */
export interface LedgerContainer {
  id: number;
  bytes: number;
  created: number;
  lifecycle: LifecycleSpan[];
  /** Bytes on each step where they differ from `bytes` (a lifecycle that reduces the data with age). */
  stepBytes?: readonly number[];
  /** Steps before this one were another container's (the one this was reduced from). */
  fromStep?: number;
}

export type CostTerm = 'storage' | 'objects' | 'earlyDeletion' | 'retrieval' | 'egress';
export type TierCost = Record<CostTerm, bigint>;

export interface Ledger {
  /** Per tier, per term. */
  tiers: Map<string, TierCost>;
  total: bigint;
  /** Tiers the catalog has copies on but the facility configuration no longer prices: counted as free. */
  unpriced: Set<string>;
}

export interface Projection extends Ledger {
  /** What the copies kept forever cost per year once every finite step has ended. */
  foreverPerYear: bigint;
}

const zero = (): TierCost => ({ storage: 0n, objects: 0n, earlyDeletion: 0n, retrieval: 0n, egress: 0n });

const FREE: TierPrice = { perTbYear: 0n, perObject: 0n, retrievalPerTb: 0n, egressPerTb: 0n, minDurationDays: 0 };

class Tally {
  readonly tiers = new Map<string, TierCost>();
  readonly unpriced = new Set<string>();
  readonly prices: ReadonlyMap<string, TierPrice>;
  total = 0n;

  constructor(prices: ReadonlyMap<string, TierPrice> = new Map()) {
    this.prices = prices;
  }

  price(tier: string): TierPrice {
    const p = this.prices.get(tier);
    if (p) return p;
    this.unpriced.add(tier);
    return FREE;
  }

  add(tier: string, term: CostTerm, micro: bigint): void {
    if (micro === 0n) return;
    const row = this.tiers.get(tier) ?? zero();
    row[term] += micro;
    this.tiers.set(tier, row);
    this.total += micro;
  }
}

/** bytes x duration x price per TB-year, rounded down. */
export function storage(bytes: number, ms: number, p: TierPrice): bigint {
  return ms <= 0 ? 0n : mulDiv(BigInt(bytes) * BigInt(Math.round(ms)), p.perTbYear, TB_YEAR_MS);
}

function perTb(bytes: number, pricePerTb: bigint): bigint {
  return mulDiv(BigInt(bytes), pricePerTb, TB);
}

/** Storage time still owed for a copy held `heldMs` when the tier charges a minimum duration. */
function earlyDeletion(bytes: number, heldMs: number, p: TierPrice): bigint {
  return storage(bytes, p.minDurationDays * DAY_MS - heldMs, p);
}

function read(t: Tally, tier: string, bytes: number, p: TierPrice): void {
  t.add(tier, 'retrieval', perTb(bytes, p.retrievalPerTb));
  t.add(tier, 'egress', perTb(bytes, p.egressPerTb));
}

/**
 * Cost accrued up to `asOf`: storage of every copy for the time it held data, a per-object
 * charge for every copy put, early deletion for copies removed before the tier's minimum
 * duration, retrieval and egress for every read out of a tier.
 *
 * @example accrued(copies, reads, prices, Date.now()).total // micro-units
 */
export function accrued(copies: readonly LedgerCopy[], reads: readonly LedgerRead[], prices: ReadonlyMap<string, TierPrice>, asOf: number): Ledger {
  const t = new Tally(prices);
  for (const c of copies) {
    if (c.from > asOf) continue;
    const p = t.price(c.tier);
    const end = c.ended === null ? asOf : Math.min(c.ended, asOf);
    t.add(c.tier, 'storage', storage(c.bytes, end - c.from, p));
    t.add(c.tier, 'objects', p.perObject);
    if (c.ended !== null && c.ended <= asOf) t.add(c.tier, 'earlyDeletion', earlyDeletion(c.bytes, c.ended - c.from, p));
  }
  for (const r of reads) if (r.at <= asOf) read(t, r.tier, r.bytes, t.price(r.tier));
  return t;
}

/**
 * Cost from `asOf` to the end of each lifecycle (or to `horizon`) of the containers that still
 * hold data: the rest of the current step and every later step at its tier's price, the copy
 * each later step puts, the read out of the tier it leaves, and early deletion where a step is
 * shorter than its tier's minimum duration. Steps kept forever count up to `horizon`; without
 * one they are left out of the total and given as `foreverPerYear`.
 */
export function projected(containers: readonly LedgerContainer[], prices: ReadonlyMap<string, TierPrice>, asOf: number, horizon?: number): Projection {
  const t = new Tally(prices);
  let foreverPerYear = 0n;
  for (const c of containers) {
    let from = c.created;
    for (const [step, span] of c.lifecycle.entries()) {
      const until = span.days === null ? null : from + span.days * DAY_MS;
      const p = t.price(span.tier);
      const bytes = c.stepBytes?.[step] ?? c.bytes;
      if (step >= (c.fromStep ?? 0) && (until === null || until > asOf)) {
        const end = until === null ? horizon : horizon === undefined ? until : Math.min(until, horizon);
        if (end !== undefined) t.add(span.tier, 'storage', storage(bytes, end - Math.max(from, asOf), p));
        if (until === null && horizon === undefined) foreverPerYear += storage(bytes, YEAR_MS, p);
        const inHorizon = (at: number) => horizon === undefined || at <= horizon;
        // A later step's copy is put, and the step before it read, when the step starts.
        if (from > asOf && inHorizon(from)) {
          t.add(span.tier, 'objects', p.perObject);
          const before = c.lifecycle[step - 1];
          if (before) read(t, before.tier, c.stepBytes?.[step - 1] ?? c.bytes, t.price(before.tier));
        }
        if (until !== null && inHorizon(until) && c.lifecycle[step + 1]?.tier !== span.tier) t.add(span.tier, 'earlyDeletion', earlyDeletion(bytes, until - from, p));
      }
      if (until === null) break;
      from = until;
    }
  }
  return { tiers: t.tiers, total: t.total, unpriced: t.unpriced, foreverPerYear };
}

/** Adds ledgers term by term. */
export function sumLedgers(...ledgers: Ledger[]): Ledger {
  const t = new Tally();
  for (const l of ledgers) {
    for (const [tier, cost] of l.tiers) for (const term of Object.keys(cost) as CostTerm[]) t.add(tier, term, cost[term]);
    for (const tier of l.unpriced) t.unpriced.add(tier);
  }
  return t;
}

/**
 * Cumulative cost at the end of each year since `start` (accrued up to `asOf`, projected
 * beyond), for `years` years: when keeping the data starts to cost more than measuring again.
 */
export function costByYear(copies: readonly LedgerCopy[], reads: readonly LedgerRead[], containers: readonly LedgerContainer[], prices: ReadonlyMap<string, TierPrice>, start: number, asOf: number, years: number): Ledger[] {
  const sofar = accrued(copies, reads, prices, asOf);
  return Array.from({ length: years }, (_, i) => {
    const at = start + (i + 1) * YEAR_MS;
    return at <= asOf ? accrued(copies, reads, prices, at) : sumLedgers(sofar, projected(containers, prices, asOf, at));
  });
}
