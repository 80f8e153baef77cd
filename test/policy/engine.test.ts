import test from 'ava';
import { createHash } from 'node:crypto';
import { isSxError } from '../../src/errors.ts';
import { checkApplies, decide, isPending } from '../../src/policy/engine.ts';
import { sampleDraw } from '../../src/policy/sample.ts';
import { UNLABELLED_RULE, type Decision, type ExperimentFacts, type FrameFacts, type KeepSpec, type Policy, type Rule } from '../../src/policy/types.ts';

const raw = (tier = 'hdd', days: number | null = 30): KeepSpec => ({ product: 'raw', codec: { id: 'bitshuffle-lz4' }, params: {}, lifecycle: [{ tier, days }] });
const binned = (factor: number): KeepSpec => ({ product: 'binned', codec: { id: 'bitshuffle-lz4' }, params: { factor }, lifecycle: [{ tier: 'tape', days: 365 }] });

function rule(name: string, when: Rule['when'], keep: KeepSpec[], extra: Partial<Rule> = {}): Rule {
  return { name, when, keep, line: 1, ...extra };
}

const UNLABELLED = rule(UNLABELLED_RULE, [], [raw('hdd', null)], { line: 0 });

function policy(rules: Rule[], extra: Partial<Policy> = {}): Policy {
  return { name: 'test', version: 1, description: '', appliesTo: [], seed: 0, rules, overrides: [], unlabelled: UNLABELLED, contentHash: 'x', text: '', file: 'test.yaml', ...extra };
}

const EXP: ExperimentFacts = { name: 'lyso', facility: 'P11', proposal: '1101', sampleTags: ['lysozyme'] };
let nextId = 1;
function frame(labels: Partial<FrameFacts> = {}): FrameFacts {
  const id = nextId++;
  return {
    frameId: id, experiment: 'lyso', source: '/data/run1.h5', event: `//${id}`,
    hit: false, nPeaks: 0, indexed: null, nCrystals: null, resolution: null,
    rawBytes: 131072, width: 256, height: 256, pixelType: 'uint16', ...labels,
  };
}
const NOW = { now: new Date('2026-01-01T00:00:00Z') };

function decided(p: Policy, f: FrameFacts, exp = EXP, options = NOW): Decision {
  const d = decide(p, exp, f, options);
  if (isPending(d)) throw new Error(`unexpectedly pending: ${d.reason}`);
  return d;
}

const DEFAULT_RULES = [
  rule('indexed-raw', [{ kind: 'bool', field: 'indexed', value: true }], [raw('ssd', 14)]),
  rule('unindexed-hits', [{ kind: 'bool', field: 'hit', value: true }, { kind: 'bool', field: 'indexed', value: false }], [binned(2)]),
  rule('strong', [{ kind: 'range', field: 'n_peaks', gte: 50 }], [raw()]),
  rule('rest', [], []),
];

test('the first matching rule wins, in order, and the reason shows how its conditions held', (t) => {
  const p = policy(DEFAULT_RULES);
  const a = decided(p, frame({ hit: true, indexed: true, nPeaks: 80 }));
  t.is(a.rule, 'indexed-raw');
  t.is(a.reason, 'rule "indexed-raw": indexed = true');
  t.deepEqual(a.keep, [raw('ssd', 14)]);
  const b = decided(p, frame({ hit: true, indexed: false, nPeaks: 80 }));
  t.is(b.rule, 'unindexed-hits');
  t.is(b.reason, 'rule "unindexed-hits": hit = true, indexed = false');
  const c = decided(p, frame({ hit: false, indexed: false, nPeaks: 50 }));
  t.is(c.rule, 'strong');
  t.is(c.reason, 'rule "strong": n_peaks = 50 (>= 50)');
  const d = decided(p, frame({ hit: false, indexed: false, nPeaks: 49 }));
  t.is(d.rule, 'rest');
  t.is(d.reason, 'rule "rest": no conditions');
  t.deepEqual(d.keep, []);
});

test('ranges: gte, gt, lte, lt and exact values, on n_peaks, n_crystals and resolution', (t) => {
  const p = policy([
    rule('exact', [{ kind: 'range', field: 'n_crystals', gte: 2, lte: 2 }], []),
    rule('window', [{ kind: 'range', field: 'resolution', gt: 1.5, lt: 2.5 }], []),
    rule('upper', [{ kind: 'range', field: 'n_peaks', lte: 10 }], []),
    rule('rest', [], []),
  ]);
  t.is(decided(p, frame({ nCrystals: 2 })).reason, 'rule "exact": n_crystals = 2');
  t.is(decided(p, frame({ nCrystals: 3, resolution: 2 })).reason, 'rule "window": resolution = 2 (> 1.5, < 2.5)');
  t.is(decided(p, frame({ resolution: 1.5, nPeaks: 10 })).rule, 'upper', 'gt excludes the bound; lte includes it');
  t.is(decided(p, frame({ resolution: 2.5, nPeaks: 11 })).rule, 'rest', 'lt excludes the bound');
});

test('a condition on an unknown (null) label does not hold, without a gate', (t) => {
  const p = policy(DEFAULT_RULES);
  // indexed unknown: neither "indexed: true" nor "indexed: false" holds.
  t.is(decided(p, frame({ hit: true, indexed: null, nPeaks: 10 })).rule, 'rest');
  t.is(decided(p, frame({ hit: false, indexed: false, nPeaks: null })).rule, 'rest');
});

test('metadata conditions test facility, proposal and sample tags (any of)', (t) => {
  const p = policy([
    rule('tagged', [{ kind: 'meta', field: 'sample_tag', anyOf: ['unobtainium', 'lysozyme'] }, { kind: 'bool', field: 'hit', value: true }], [raw()]),
    rule('p11', [{ kind: 'meta', field: 'facility', anyOf: ['P11'] }], []),
    rule('rest', [], []),
  ]);
  t.is(decided(p, frame({ hit: true })).reason, 'rule "tagged": sample_tag = lysozyme, hit = true');
  t.is(decided(p, frame({ hit: false })).reason, 'rule "p11": facility = P11');
  const other = { name: 'x', facility: null, proposal: null, sampleTags: [] };
  t.is(decided(p, frame({ hit: true, experiment: 'x' }), other).rule, 'rest', 'a null facility does not match');
});

test('overrides come before the rules and name the rule they apply', (t) => {
  const p = policy([...DEFAULT_RULES.slice(0, 3), rule('keep-everything', [{ kind: 'meta', field: 'proposal', anyOf: ['never'] }], [raw('tape', null)]), DEFAULT_RULES[3]], {
    overrides: [
      { when: [{ kind: 'meta', field: 'sample_tag', anyOf: ['lysozyme'] }, { kind: 'bool', field: 'hit', value: false }], rule: 'keep-everything' },
      { when: [{ kind: 'meta', field: 'sample_tag', anyOf: ['unobtainium'] }], rule: 'keep-everything' },
    ],
  });
  const a = decided(p, frame({ hit: false }));
  t.is(a.rule, 'keep-everything');
  t.is(a.reason, 'override 1 (sample_tag = lysozyme, hit = false) -> rule "keep-everything"');
  t.deepEqual(a.keep, [raw('tape', null)]);
  t.is(decided(p, frame({ hit: true, indexed: true })).rule, 'indexed-raw', 'override 1 does not hold, override 2 neither');
  const rare = { ...EXP, sampleTags: ['unobtainium'] };
  t.is(decided(p, frame({ hit: true, indexed: true }), rare).reason, 'override 2 (sample_tag = unobtainium) -> rule "keep-everything"');
});

test('applies_to is checked: a P11 policy refuses a P14 experiment with a clear error', (t) => {
  const p = policy(DEFAULT_RULES, { name: 'p11-default', version: 3, file: 'p11.yaml', appliesTo: [{ kind: 'meta', field: 'facility', anyOf: ['P11'] }] });
  t.notThrows(() => checkApplies(p, EXP));
  const p14 = { ...EXP, name: 'other', facility: 'P14' };
  const err = t.throws(() => decide(p, p14, frame({ experiment: 'other' }), NOW));
  t.true(isSxError(err, 'usage'));
  t.is(err?.message, 'policy "p11-default" version 3 (p11.yaml) applies to facility = P11, but experiment "other" has facility = P14');
  t.throws(() => checkApplies(p, { ...p14, facility: null }), { message: /has facility = unknown/ });
});

function expectedDraw(experiment: string, source: string, event: string, seed: number): number {
  const h = createHash('sha256').update(`${experiment}\0${source}\0${event}\0${seed}`).digest();
  return Number(h.readBigUInt64BE(0) >> 11n) / 2 ** 53;
}

test('the sample draw is the documented SHA-256 formula, reproducible, and depends on every input', (t) => {
  const d = sampleDraw('lyso', '/data/run1.h5', '//7', 42);
  t.is(d, expectedDraw('lyso', '/data/run1.h5', '//7', 42));
  // Recomputed independently from the hex digest, as an auditor with only a shell would.
  const hex = createHash('sha256').update('lyso\u0000/data/run1.h5\u0000//7\u000042').digest('hex');
  t.is(d, Number(BigInt(`0x${hex.slice(0, 16)}`) >> 11n) / 2 ** 53);
  t.is(sampleDraw('lyso', '/data/run1.h5', '//7', 42), d);
  t.true(d >= 0 && d < 1);
  const others = [sampleDraw('lyso2', '/data/run1.h5', '//7', 42), sampleDraw('lyso', '/data/run2.h5', '//7', 42), sampleDraw('lyso', '/data/run1.h5', '//8', 42), sampleDraw('lyso', '/data/run1.h5', '//7', 43)];
  for (const o of others) t.not(o, d);
});

test('a sampled rule matches drawn frames only; the others fall through, and the reason shows the draw', (t) => {
  const fraction = 0.3;
  const p = policy([
    rule('blanks-sample', [{ kind: 'bool', field: 'hit', value: false }], [raw('tape', 730)], { sample: { fraction } }),
    rule('rest', [], []),
  ], { seed: 9 });
  let drawnSeen = 0;
  let undrawnSeen = 0;
  for (let i = 0; i < 50; i++) {
    const f = frame({ hit: false });
    const draw = expectedDraw('lyso', f.source, f.event, 9);
    const d = decided(p, f);
    if (draw < fraction) {
      drawnSeen += 1;
      t.is(d.rule, 'blanks-sample');
      t.is(d.reason, `rule "blanks-sample": hit = false and drawn (${Number(draw.toPrecision(6))} < 0.3)`);
    } else {
      undrawnSeen += 1;
      t.is(d.rule, 'rest');
    }
    t.deepEqual(decided(p, f), d, 'the same frame is decided the same way again');
  }
  t.true(drawnSeen > 0 && undrawnSeen > 0);
});

test('the sampled fraction is within statistical tolerance over 20 000 synthetic frames', (t) => {
  for (const fraction of [0.01, 0.1, 0.5]) {
    const p = policy([rule('sample', [], [raw()], { sample: { fraction } }), rule('rest', [], [])], { seed: 1234 });
    const n = 20000;
    let kept = 0;
    for (let i = 0; i < n; i++) {
      const f: FrameFacts = { ...frame(), source: `/data/run${i % 7}.h5`, event: `//${i}` };
      if (decided(p, f).rule === 'sample') kept += 1;
    }
    const observed = kept / n;
    const tolerance = 4 * Math.sqrt((fraction * (1 - fraction)) / n);
    t.true(Math.abs(observed - fraction) < tolerance, `fraction ${fraction}: observed ${observed}, tolerance ${tolerance}`);
  }
});

test('gate: a frame without indexing whose first possible rule depends on it waits, then gets on_timeout', (t) => {
  const p = policy(DEFAULT_RULES, { gate: { results: 'indexing', timeoutSeconds: 120, onTimeout: 'unindexed-hits' } });
  const f = frame({ hit: true, nPeaks: 80, indexed: null });
  const frameTime = new Date('2026-01-01T00:00:00Z');
  const waiting = decide(p, EXP, f, { now: new Date('2026-01-01T00:01:59Z'), frameTime });
  t.true(isPending(waiting));
  if (isPending(waiting)) {
    t.is(waiting.until.toISOString(), '2026-01-01T00:02:00.000Z');
    t.is(waiting.frameId, f.frameId);
  }
  const late = decide(p, EXP, f, { now: new Date('2026-01-01T00:02:00Z'), frameTime });
  t.false(isPending(late));
  t.like(late, { rule: 'unindexed-hits', reason: 'gate: no indexing result within 120 s -> rule "unindexed-hits"' });
  t.deepEqual((late as Decision).keep, [binned(2)]);
  // Dry-run (no frame time): timed out at once.
  t.is(decided(p, f).rule, 'unindexed-hits');
  // With the result in, the rules decide as usual.
  t.is(decided(p, { ...f, indexed: true }).rule, 'indexed-raw');
  t.is(decided(p, { ...f, indexed: false }).rule, 'unindexed-hits');
});

test('gate: frames whose decision cannot depend on indexing do not wait', (t) => {
  const p = policy([
    rule('blanks', [{ kind: 'bool', field: 'hit', value: false }], []),
    rule('indexed-raw', [{ kind: 'bool', field: 'hit', value: true }, { kind: 'range', field: 'n_crystals', gte: 1 }], [raw()]),
    rule('rest', [], [binned(4)]),
  ], { gate: { results: 'indexing', timeoutSeconds: 60, onTimeout: 'rest' } });
  const frameTime = new Date('2026-01-01T00:00:00Z');
  const now = new Date('2026-01-01T00:00:01Z');
  t.like(decide(p, EXP, frame({ hit: false }), { now, frameTime }), { rule: 'blanks' }, 'a blank is decided before the gated rule');
  t.true(isPending(decide(p, EXP, frame({ hit: true, nCrystals: null }), { now, frameTime })), 'n_crystals is gated too');
  // A gated rule whose known conditions fail does not make the frame wait.
  const q = policy([rule('strong-indexed', [{ kind: 'range', field: 'n_peaks', gte: 100 }, { kind: 'bool', field: 'indexed', value: true }], [raw()]), rule('rest', [], [])], {
    gate: { results: 'indexing', timeoutSeconds: 60, onTimeout: 'rest' },
  });
  t.like(decide(q, EXP, frame({ nPeaks: 5 }), { now, frameTime }), { rule: 'rest', reason: 'rule "rest": no conditions' });
  t.true(isPending(decide(q, EXP, frame({ nPeaks: 500 }), { now, frameTime })));
});

test('a frame no rule matches keeps labels only', (t) => {
  const p = policy([rule('hits', [{ kind: 'bool', field: 'hit', value: true }], [raw()])]);
  t.like(decided(p, frame({ hit: false })), { rule: '(none)', keep: [], reason: 'no rule matched: labels only' });
});

test('a frame without labels tries no rule: it takes the unlabelled rule, after the overrides', (t) => {
  const hits = rule('hits', [{ kind: 'bool', field: 'hit', value: true }], [raw()]);
  const rest = rule('rest', [], []);
  const p = policy([hits, rest]);
  const d = decided(p, frame({ hit: null, nPeaks: null }));
  t.like(d, { rule: UNLABELLED_RULE, via: 'unlabelled', reason: `unlabelled: the frame has no labels (not labelled) -> rule "${UNLABELLED_RULE}"` });
  t.deepEqual(d.keep, [raw('hdd', null)], 'kept raw: when in doubt, keep');
  t.like(decided(policy([hits, rest], { unlabelled: hits }), frame({ hit: null })), { rule: 'hits', via: 'unlabelled' });
  const tagged = policy([hits, rest], { overrides: [{ when: [{ kind: 'meta', field: 'sample_tag', anyOf: ['lysozyme'] }], rule: 'rest' }] });
  t.like(decided(tagged, frame({ hit: null })), { rule: 'rest', via: 'override' });
  t.like(decided(p, frame({ hit: false })), { rule: 'rest', via: 'rule' });
});
