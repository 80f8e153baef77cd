import test from 'ava';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadFacility } from '../../src/config/facility.ts';
import { estimateProductBytes, type ProductEstimates } from '../../src/policy/estimates.ts';
import { diffRetention, planRetention, type PlanRow } from '../../src/policy/plan.ts';
import { UNLABELLED_RULE, type ExperimentFacts, type FrameFacts, type KeepSpec, type LifecycleStep, type Policy, type Rule } from '../../src/policy/types.ts';

// The built-in facility: ssd 100, hdd 10, tape 10 EUR/TB/yr (tape: at least 365 days).
// (A data dir without facility.yaml reads the built-in defaults; nothing is created.)
const FACILITY = loadFacility(join(tmpdir(), 'sxarchive-plan-test-no-such-dir')).config;

const keep = (product: KeepSpec['product'], lifecycle: LifecycleStep[], params: Record<string, number> = {}, codec = 'bitshuffle-lz4'): KeepSpec => ({ product, codec: { id: codec }, params, lifecycle });
const rule = (name: string, when: Rule['when'], k: KeepSpec[]): Rule => ({ name, when, keep: k, line: 1 });
const policy = (name: string, rules: Rule[], extra: Partial<Policy> = {}): Policy => ({
  name, version: 1, description: '', appliesTo: [], seed: 0, rules, overrides: [], unlabelled: rule(UNLABELLED_RULE, [], [keep('raw', [{ tier: 'hdd', days: null }])]), contentHash: `hash-${name}`, text: '', file: `${name}.yaml`, ...extra,
});

const EXP: ExperimentFacts = { name: 'lyso', facility: 'P11', proposal: null, sampleTags: [] };
const RAW = 256 * 256 * 2;
let id = 0;
const frame = (labels: Partial<FrameFacts>): FrameFacts => ({
  frameId: ++id, experiment: 'lyso', source: '/d/run1.h5', event: `//${id}`, hit: null, nPeaks: null, indexed: null, nCrystals: null, resolution: null,
  rawBytes: RAW, width: 256, height: 256, pixelType: 'uint16', ...labels,
});

const POLICY = policy('tiered', [
  rule('indexed-raw', [{ kind: 'bool', field: 'indexed', value: true }], [
    keep('raw', [{ tier: 'ssd', days: 14 }, { tier: 'hdd', days: 180 }]),
    keep('intensities', [{ tier: 'ssd', days: null }]),
  ]),
  rule('unindexed-hits', [{ kind: 'bool', field: 'hit', value: true }, { kind: 'bool', field: 'indexed', value: false }], [
    keep('binned', [{ tier: 'hdd', days: 90 }, { tier: 'tape', days: 730 }], { factor: 2 }),
  ]),
  rule('peaky', [{ kind: 'range', field: 'n_peaks', gte: 100 }], [keep('peaks', [{ tier: 'hdd', days: 30 }, { tier: 'tape', days: 30 }], { box: 2 })]),
  rule('blanks', [{ kind: 'bool', field: 'hit', value: false }], []),
  rule('rest', [], []),
]);

function frames(): FrameFacts[] {
  id = 0;
  return [
    frame({ hit: true, indexed: true, nPeaks: 20 }),
    frame({ hit: true, indexed: true, nPeaks: 30 }),
    frame({ hit: true, indexed: false, nPeaks: 15 }),
    frame({ hit: false, nPeaks: 0 }),
    frame({ hit: false, nPeaks: 2 }),
    frame({ hit: true, indexed: null, nPeaks: 12 }),
    frame({ hit: false, nPeaks: 150 }),
  ];
}

const ESTIMATES: ProductEstimates = { compressionRatio: 4, compressionRatioMeasured: true, intensitiesBytes: new Map([[1, 1000], [2, 3000]]) };
const perYear = (bytes: number, price: number, days: number) => (bytes / 1e12) * price * (days / 365);
/** The ledger's storage term: micro-units, rounded down (src/cost/ledger.ts), in currency units. */
const money = (bytes: number, price: number, days: number) =>
  Number((BigInt(Math.round(bytes)) * BigInt(days * 86_400_000) * BigInt(price * 1e6)) / (10n ** 12n * BigInt(365 * 86_400_000))) / 1e6;

function row(rows: PlanRow[], product: string, rule: string, tier: string): PlanRow {
  const r = rows.filter((x) => x.product === product && x.rule === rule && x.tier === tier);
  if (r.length !== 1) throw new Error(`expected one row ${product}/${rule}/${tier}, found ${r.length}`);
  return r[0];
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b));

test('the estimate formulas', (t) => {
  const f = frame({ nPeaks: 10 });
  t.is(estimateProductBytes(keep('raw', []), f, ESTIMATES), RAW / 4);
  t.is(estimateProductBytes(keep('raw', [], {}, 'none'), f, ESTIMATES), RAW, 'codec none: uncompressed');
  // A raw uint16 pixel takes 8 x 2 / 4 = 4 bits at ratio 4; a 2x2 sum 1.3 more, a 4x4 sum 2.6 more.
  t.is(estimateProductBytes(keep('binned', [], { factor: 2 }), f, ESTIMATES), ((RAW / 2 / 4) * (4 + 1.3)) / 8);
  t.is(estimateProductBytes(keep('binned', [], { factor: 4 }), { ...f, pixelType: 'uint32', rawBytes: RAW * 2 }, ESTIMATES), ((RAW / 2 / 16) * (8 + 2.6)) / 8);
  t.is(estimateProductBytes(keep('binned', [], { factor: 2 }, 'none'), f, ESTIMATES), (RAW / 2 / 4) * 4, 'codec none: 32-bit sums');
  t.is(estimateProductBytes(keep('peaks', [], { box: 3 }), f, ESTIMATES), 10 * (83 + (49 * 1.5 * 2) / 4));
  t.is(estimateProductBytes(keep('peaks', []), f, ESTIMATES), 10 * (83 + (49 * 1.5 * 2) / 4), 'default box 3');
  t.is(estimateProductBytes(keep('peaks', []), { ...f, nPeaks: null }, ESTIMATES), 0);
  t.is(estimateProductBytes(keep('quantized', []), f, ESTIMATES), RAW / 4, 'photon counts, as long as raw at SX backgrounds');
  t.is(estimateProductBytes(keep('intensities', []), { ...f, frameId: 2 }, ESTIMATES), 3000);
  t.is(estimateProductBytes(keep('intensities', []), { ...f, frameId: 99 }, ESTIMATES), 0);
});

test('a plan counts frames, bytes and money per product, rule and tier exactly', (t) => {
  const plan = planRetention(POLICY, EXP, frames(), FACILITY, ESTIMATES);
  t.like(plan, { experiment: 'lyso', currency: 'EUR', frames: 7, rawBytes: 7 * RAW, compressionRatio: 4, gateTimedOut: 0 });
  t.is(plan.rows.length, 7);

  const rawSsd = row(plan.rows, 'raw', 'indexed-raw', 'ssd');
  t.like(rawSsd, { frames: 2, bytes: RAW / 2, days: 14, billedDays: 14, estimated: true, forever: false });
  t.true(close(rawSsd.money, money(RAW / 2, 100, 14)));
  t.true(close(row(plan.rows, 'raw', 'indexed-raw', 'hdd').money, money(RAW / 2, 10, 180)));

  const intensities = row(plan.rows, 'intensities', 'indexed-raw', 'ssd');
  t.like(intensities, { frames: 2, bytes: 4000, days: null, forever: true, money: 0, estimated: false });
  t.true(close(intensities.perYear, (4000 / 1e12) * 100));

  const binnedBytes = ((RAW / 2 / 4) * (4 + 1.3)) / 8;
  t.like(row(plan.rows, 'binned', 'unindexed-hits', 'hdd'), { frames: 1, bytes: binnedBytes });
  t.true(close(row(plan.rows, 'binned', 'unindexed-hits', 'tape').money, money(binnedBytes, 10, 730)));

  const peakBytes = 150 * (83 + (25 * 1.5 * 2) / 4);
  t.like(row(plan.rows, 'peaks', 'peaky', 'hdd'), { frames: 1, bytes: peakBytes, billedDays: 30 });
  const peaksTape = row(plan.rows, 'peaks', 'peaky', 'tape');
  t.like(peaksTape, { days: 30, billedDays: 365 }, "tape's minimum duration is paid");
  t.true(close(peaksTape.money, money(peakBytes, 10, 365)));

  const expectedMoney = money(RAW / 2, 100, 14) + money(RAW / 2, 10, 180) + money(binnedBytes, 10, 90) + money(binnedBytes, 10, 730) + money(peakBytes, 10, 30) + money(peakBytes, 10, 365);
  t.true(close(plan.totals.money, expectedMoney));
  t.like(plan.totals, { keptBytes: RAW / 2 + 4000 + binnedBytes + peakBytes, framesKept: 4, forever: true, longestDays: null });
  t.true(close(plan.totals.foreverPerYear, (4000 / 1e12) * 100));
  t.deepEqual(plan.keepAllRaw, { tier: 'hdd', bytes: (7 * RAW) / 4, days: null, forever: true, money: 0, perYear: ((7 * RAW) / 4 / 1e12) * 10 });

  t.deepEqual(plan.rules.map((r) => [r.rule, r.frames]), [['indexed-raw', 2], ['unindexed-hits', 1], ['peaky', 1], ['blanks', 2], ['rest', 1]]);
  t.deepEqual(plan.lost, { hitsDropped: 1, hitsNotKeptRaw: 2, unindexedHitsNotKeptRaw: 1, indexedWithoutIntensities: 0, labelsOnly: 3 });
  t.deepEqual(Object.keys(plan.estimates).sort(), ['binned', 'intensities', 'peaks', 'raw']);
});

test('lost counts: dropped hits, unindexed hits not raw, indexed frames without intensities', (t) => {
  const p = policy('hits-binned', [
    rule('indexed', [{ kind: 'bool', field: 'indexed', value: true }], [keep('binned', [{ tier: 'hdd', days: 10 }], { factor: 4 })]),
    rule('hits', [{ kind: 'bool', field: 'hit', value: true }, { kind: 'range', field: 'n_peaks', gte: 20 }], [keep('raw', [{ tier: 'hdd', days: 10 }])]),
    rule('rest', [], []),
  ]);
  id = 0;
  const fs = [
    frame({ hit: true, indexed: true, nPeaks: 50 }), // binned: hit not raw, indexed without intensities
    frame({ hit: true, indexed: false, nPeaks: 50 }), // raw: nothing lost
    frame({ hit: true, indexed: false, nPeaks: 10 }), // dropped: hit dropped, not raw, unindexed not raw
    frame({ hit: true, indexed: null, nPeaks: 5 }), // dropped, indexing unknown
    frame({ hit: false, indexed: false, nPeaks: 0 }),
  ];
  const plan = planRetention(p, EXP, fs, FACILITY, { compressionRatio: 6, compressionRatioMeasured: false, intensitiesBytes: new Map() });
  t.deepEqual(plan.lost, { hitsDropped: 2, hitsNotKeptRaw: 3, unindexedHitsNotKeptRaw: 1, indexedWithoutIntensities: 1, labelsOnly: 3 });
  t.like(plan.totals, { framesKept: 2, forever: false, longestDays: 10, foreverPerYear: 0 });
  t.true(close(plan.keepAllRaw.money, perYear((5 * RAW) / 6, 10, 10)));
  t.false(plan.compressionRatioMeasured);
});

test('a gated policy in a dry-run: frames without indexing results take on_timeout', (t) => {
  const p = policy('gated', [
    rule('indexed-raw', [{ kind: 'bool', field: 'indexed', value: true }], [keep('raw', [{ tier: 'hdd', days: 30 }])]),
    rule('hits', [{ kind: 'bool', field: 'hit', value: true }], [keep('binned', [{ tier: 'hdd', days: 30 }], { factor: 2 })]),
    rule('rest', [], []),
  ], { gate: { results: 'indexing', timeoutSeconds: 120, onTimeout: 'hits' } });
  id = 0;
  const plan = planRetention(p, EXP, [frame({ hit: true, indexed: null }), frame({ hit: true, indexed: true }), frame({ hit: false, indexed: null })], FACILITY, ESTIMATES);
  t.is(plan.gateTimedOut, 2, 'the blank waits too: indexed-raw could still match it');
  t.deepEqual(plan.rules.map((r) => [r.rule, r.frames, r.viaGate]), [['indexed-raw', 1, 0], ['hits', 2, 2], ['rest', 0, 0]]);
});

test('a tier the facility lacks and a policy for another facility are errors', (t) => {
  const p = policy('s3', [rule('all', [], [keep('raw', [{ tier: 'glacier', days: 10 }])])]);
  t.throws(() => planRetention(p, EXP, frames(), FACILITY, ESTIMATES), { message: /keeps data on tier "glacier", which the facility does not have; expected one of ssd, hdd, tape/ });
  const p14 = policy('p14', [rule('all', [], [])], { appliesTo: [{ kind: 'meta', field: 'facility', anyOf: ['P14'] }] });
  t.throws(() => planRetention(p14, EXP, [], FACILITY, ESTIMATES), { message: /applies to facility = P14, but experiment "lyso" has facility = P11/ });
});

test('diff: both plans, the difference, and frames moving between rules', (t) => {
  const keepAll = policy('keep-all', [rule('keep-all', [], [keep('raw', [{ tier: 'hdd', days: null }])])]);
  const d = diffRetention(keepAll, POLICY, EXP, frames(), FACILITY, ESTIMATES);
  t.is(d.a.frames, 7);
  t.is(d.b.frames, 7);
  t.deepEqual(d.changes, [
    { from: 'keep-all', to: 'blanks', frames: 2 },
    { from: 'keep-all', to: 'indexed-raw', frames: 2 },
    { from: 'keep-all', to: 'peaky', frames: 1 },
    { from: 'keep-all', to: 'rest', frames: 1 },
    { from: 'keep-all', to: 'unindexed-hits', frames: 1 },
  ]);
  t.is(d.changedFrames, 7);
  const rawHdd = d.rows.find((r) => r.product === 'raw' && r.tier === 'hdd')!;
  t.like(rawHdd, { a: { frames: 7, bytes: (7 * RAW) / 4 }, b: { frames: 2, bytes: RAW / 2 } });
  t.is(rawHdd.difference.bytes, RAW / 2 - (7 * RAW) / 4);
  t.true(close(d.difference.money, d.b.totals.money - d.a.totals.money));
  t.is(d.difference.lost.hitsDropped, 1);
  t.is(d.difference.framesKept, -3);

  const same = diffRetention(POLICY, { ...POLICY, name: 'copy' }, EXP, frames(), FACILITY, ESTIMATES);
  t.deepEqual(same.changes, []);
  t.is(same.unchangedFrames, 7);
});
