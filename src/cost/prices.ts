// Each tier's prices from facility.yaml, in the ledger's micro-units.
import type { FacilityConfig } from '../config/facility.ts';
import { toMicro } from './money.ts';
import type { TierPrice } from './ledger.ts';

/** @example tierPrices(facility.config).get('tape')?.perTbYear // 10_000_000n (10 EUR) */
export function tierPrices(config: FacilityConfig): Map<string, TierPrice> {
  return new Map(Object.entries(config.tiers).map(([name, t]) => [name, {
    perTbYear: toMicro(t.price_per_tb_year),
    perObject: toMicro(t.price_per_object),
    retrievalPerTb: toMicro(t.retrieval_per_tb),
    egressPerTb: toMicro(t.egress_per_tb),
    minDurationDays: t.min_duration_days,
  }]));
}
