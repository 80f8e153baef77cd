// The ledger against totals worked out by hand (prices in EUR; the ledger counts micro-euros).
import test from 'ava';
import { accrued, costByYear, projected, YEAR_MS, type LedgerContainer, type LedgerCopy, type TierPrice } from '../../src/cost/ledger.ts';
import { fromMicro, toMicro } from '../../src/cost/money.ts';

const DAY = 86_400_000;
const TB = 1e12;
const price = (perTbYear: number, more: Partial<Record<'perObject' | 'retrievalPerTb' | 'egressPerTb', number>> & { minDurationDays?: number } = {}): TierPrice => ({
  perTbYear: toMicro(perTbYear), perObject: toMicro(more.perObject ?? 0), retrievalPerTb: toMicro(more.retrievalPerTb ?? 0), egressPerTb: toMicro(more.egressPerTb ?? 0), minDurationDays: more.minDurationDays ?? 0,
});
const PRICES = new Map<string, TierPrice>([
  ['hdd', price(10)],
  ['ssd', price(100)],
  ['tape', price(10, { minDurationDays: 365, retrievalPerTb: 20 })],
  ['s3', price(20, { perObject: 0.005, egressPerTb: 90 })],
]);
const copy = (tier: string, bytes: number, fromDay: number, endDay: number | null, containerId = 1): LedgerCopy => ({ containerId, tier, bytes, from: fromDay * DAY, ended: endDay === null ? null : endDay * DAY });
const eur = (micro: bigint) => fromMicro(micro);

test('placements over months: 2 TB on hdd for 73 days (a fifth of a year) at 10 EUR/TB-year cost 4 EUR, exactly', (t) => {
  const l = accrued([copy('hdd', 2 * TB, 0, null)], [], PRICES, 73 * DAY);
  t.is(l.total, 4_000_000n);
  t.deepEqual(l.tiers.get('hdd'), { storage: 4_000_000n, objects: 0n, earlyDeletion: 0n, retrieval: 0n, egress: 0n });
});

test('a migration mid-way: 1 TB on hdd for 36.5 days (1 EUR), then on tape for half a year (5 EUR), read out of tape once (20 EUR/TB)', (t) => {
  const copies = [copy('hdd', TB, 0, 36.5), copy('tape', TB, 36.5, null)];
  const l = accrued(copies, [{ tier: 'tape', bytes: TB, at: 100 * DAY }], PRICES, 219 * DAY);
  t.is(l.tiers.get('hdd')!.storage, 1_000_000n);
  t.is(l.tiers.get('tape')!.storage, 5_000_000n);
  t.is(l.tiers.get('tape')!.retrieval, 20_000_000n);
  t.is(eur(l.total), 26);
  t.is(accrued(copies, [], PRICES, 10 * DAY).total, 273_972n, 'ten days on hdd: 1 TB x 10/365 x 10 EUR = 0.273972... EUR, rounded down to the micro-euro');
});

test('an early deletion: 1 TB removed from tape after 73 days of its 365-day minimum pays the whole year: 2 EUR stored + 8 EUR early deletion', (t) => {
  const l = accrued([copy('tape', TB, 0, 73)], [], PRICES, 400 * DAY);
  t.deepEqual(l.tiers.get('tape'), { storage: 2_000_000n, objects: 0n, earlyDeletion: 8_000_000n, retrieval: 0n, egress: 0n });
  t.is(accrued([copy('tape', TB, 0, 73)], [], PRICES, 50 * DAY).tiers.get('tape')!.earlyDeletion, 0n, 'not before the copy is removed');
});

test('a recall with retrieval cost and per-object charges: three copies put on s3 (0.005 EUR each), 0.1 TB recalled out of it (egress 90 EUR/TB)', (t) => {
  const copies = [copy('s3', 1000, 0, null, 1), copy('s3', 1000, 0, null, 2), copy('s3', 1000, 5, null, 3)];
  const l = accrued(copies, [{ tier: 's3', bytes: 0.1 * TB, at: 2 * DAY }], PRICES, 10 * DAY);
  t.is(l.tiers.get('s3')!.objects, 15_000n);
  t.is(l.tiers.get('s3')!.egress, 9_000_000n);
  t.is(l.tiers.get('s3')!.storage, 0n, '3 kB for ten days round down to nothing');
  t.is(l.total, 9_015_000n);
  t.is(accrued(copies, [{ tier: 's3', bytes: 0.1 * TB, at: 2 * DAY }], PRICES, DAY).total, 10_000n, 'what was not yet put or read is not charged');
});

test('the projection follows each lifecycle to its end: hdd 36.5 days then tape 10 years is 1 + 100 EUR from the start, less from later on', (t) => {
  const c: LedgerContainer = { id: 1, bytes: TB, created: 0, lifecycle: [{ tier: 'hdd', days: 36.5 }, { tier: 'tape', days: 3650 }] };
  t.is(eur(projected([c], PRICES, 0).total), 101);
  t.is(eur(projected([c], PRICES, 18.25 * DAY).total), 100.5, 'from half-way through the hdd step');
  const p = projected([c], PRICES, 100 * DAY);
  t.is(p.total, 98_260_273n, 'from day 100: 3586.5 tape days x 10 EUR / 365 = 98.26027397 EUR, rounded down to the micro-euro');
  const forever: LedgerContainer = { id: 2, bytes: TB, created: 0, lifecycle: [{ tier: 'hdd', days: 36.5 }, { tier: 'ssd', days: null }] };
  const f = projected([forever], PRICES, 0);
  t.is(eur(f.total), 1, 'a step kept forever is not in the total...');
  t.is(eur(f.foreverPerYear), 100, '...but given per year');
  t.is(eur(projected([forever], PRICES, 0, 2.1 * YEAR_MS).total), 1 + 100 * (2.1 - 0.1), 'and counted up to a horizon');
});

test('a short tape step pays its minimum duration, and a move to s3 pays for the object and the read out of tape', (t) => {
  const c: LedgerContainer = { id: 1, bytes: TB, created: 0, lifecycle: [{ tier: 'tape', days: 73 }, { tier: 's3', days: 365 }] };
  const p = projected([c], PRICES, 0);
  t.deepEqual(p.tiers.get('tape'), { storage: 2_000_000n, objects: 0n, earlyDeletion: 8_000_000n, retrieval: 20_000_000n, egress: 0n });
  t.deepEqual(p.tiers.get('s3'), { storage: 20_000_000n, objects: 5_000n, earlyDeletion: 0n, retrieval: 0n, egress: 0n });
  t.is(p.total, 50_005_000n, 'the total is the sum of its terms');
});

test('cost by year: accrued for the years gone, projected beyond; the year keeping the data costs more than measuring again', (t) => {
  const c: LedgerContainer = { id: 1, bytes: 10 * TB, created: 0, lifecycle: [{ tier: 'hdd', days: 365 }, { tier: 'ssd', days: null }] };
  const copies = [copy('hdd', 10 * TB, 0, null)];
  const years = costByYear(copies, [], [c], PRICES, 0, 0.5 * YEAR_MS, 4).map((l) => eur(l.total));
  t.deepEqual(years, [100, 1100, 2100, 3100], '10 TB: 100 EUR on hdd in year 1, then 1000 EUR a year on ssd');
  const beamtime = 2000;
  t.is(years.findIndex((y) => y > beamtime) + 1, 3, 'storing passes 2000 EUR of beamtime in year 3');
});

test('a reducing lifecycle step: 1 TB raw on hdd for 73 days (2 EUR), then binned to 0.25 TB on tape for 2 years (5 EUR), reading 1 TB out of hdd', (t) => {
  const prices = new Map([...PRICES, ['hdd', price(10, { retrievalPerTb: 3 })], ['tape', price(10, { perObject: 0.5 })]]);
  const lifecycle = [{ tier: 'hdd', days: 73 }, { tier: 'tape', days: 730, as: { product: 'binned', codec: { id: 'bitshuffle-lz4' }, params: { factor: 2 } } }];
  const raw: LedgerContainer = { id: 1, bytes: TB, created: 0, lifecycle, stepBytes: [TB, TB / 4] };
  const p = projected([raw], prices, -1);
  t.deepEqual(p.tiers.get('hdd'), { storage: 2_000_000n, objects: 0n, earlyDeletion: 0n, retrieval: 3_000_000n, egress: 0n }, 'the raw terabyte is read out of hdd once, to be reduced');
  t.deepEqual(p.tiers.get('tape'), { storage: 5_000_000n, objects: 500_000n, earlyDeletion: 0n, retrieval: 0n, egress: 0n }, 'the binned quarter terabyte is stored on tape');
  t.is(eur(p.total), 10.5);
  // Once reduced, the binned container carries the lifecycle from its step: nothing of the hdd step is its.
  const binned: LedgerContainer = { id: 2, bytes: TB / 4, created: 0, lifecycle, fromStep: 1 };
  const later = projected([binned], prices, 73 * DAY);
  t.is(later.tiers.get('hdd'), undefined);
  t.is(later.tiers.get('tape')!.storage, 5_000_000n);
});
