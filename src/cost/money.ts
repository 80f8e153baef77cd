// Money in exact integers. The ledger counts in micro-units (one millionth of the facility's
// currency: 1 EUR = 1,000,000 µEUR) with BigInt, so sums over millions of placements never
// drift and every total can be recomputed from the catalog to the last unit; only display rounds.

/** Minor units per currency unit. */
export const MICRO = 1_000_000n;

/**
 * A configured price (a decimal number of currency units) in micro-units. Prices carry at most
 * six decimals; more is refused rather than silently rounded.
 *
 * @example toMicro(12.5) // 12_500_000n
 */
export function toMicro(amount: number): bigint {
  const micro = Math.round(amount * 1e6);
  if (!Number.isSafeInteger(micro) || Math.abs(micro / 1e6 - amount) > 1e-9 * Math.max(1, Math.abs(amount))) {
    throw new RangeError(`expected a price with at most 6 decimals below 9e9 but received ${amount}`);
  }
  return BigInt(micro);
}

/** Micro-units as a number of currency units, for display and JSON. */
export function fromMicro(micro: bigint): number {
  return Number(micro) / 1e6;
}

/** `a * b / c` rounded down, for non-negative integers: the one rounding the ledger does per term. */
export function mulDiv(a: bigint, b: bigint, c: bigint): bigint {
  return (a * b) / c;
}

/** Cents for real money; three significant digits for the tiny sums a small test run costs. */
export function formatMoney(amount: number, currency: string): string {
  const text = amount === 0 || Math.abs(amount) >= 0.01 ? amount.toFixed(2) : amount.toPrecision(3);
  return `${text} ${currency}`;
}

/** Micro-units, for people. */
export function formatMicro(micro: number, currency: string): string {
  return formatMoney(micro / 1e6, currency);
}
