import test from 'ava';
import { parse } from 'yaml';
import { DEFAULT_FACILITY_YAML, type FacilityConfig } from '../../src/config/facility.ts';
import { impliesConditions, toConditions } from '../../src/policy/check.ts';
import { checkContainerCodecs } from '../../src/ingest/product-writers.ts';
import { keepCodecProblems, keepCodecs } from '../../src/policy/keep-codecs.ts';
import { parsePolicy, validatePolicy } from '../../src/policy/load.ts';

const context = { facility: parse(DEFAULT_FACILITY_YAML) as FacilityConfig };
const HEAD = 'policy: p\nversion: 1\n';

/** Problems as `line:col: message` (the CLI prefixes the file name). */
function errors(text: string): string[] {
  return validatePolicy(text, 'p.yaml', context).errors.map((e) => `${e.line}:${e.col}: ${e.message}`);
}
function warnings(text: string): string[] {
  return validatePolicy(text, 'p.yaml', context).warnings.map((e) => `${e.line}:${e.col}: ${e.message}`);
}
/** `line:col` of the `n`th occurrence of `needle` in `text`: where a message must point. */
function at(text: string, needle: string, n = 1): string {
  let offset = -1;
  for (let i = 0; i < n; i++) offset = text.indexOf(needle, offset + 1);
  if (offset < 0) throw new Error(`${needle} not in the text`);
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${before.at(-1)!.length + 1}`;
}
/** A policy whose rules are given one per line as flow maps, after a 3-line head (rules start at line 4). */
function rules(...lines: string[]): string {
  return `${HEAD}rules:\n${lines.map((l) => `  - ${l}\n`).join('')}`;
}

test('YAML syntax errors are located', (t) => {
  t.deepEqual(errors(`${HEAD}rules: [unclosed\n`), ['4:1: Flow sequence in block collection must be sufficiently indented and end with a ]']);
  const dup = `${HEAD}rules:\n  - name: a\n    name: b\n    keep: []\n`;
  t.deepEqual(errors(dup), [`${at(dup, 'name: b')}: Map keys must be unique`]);
  t.regex(errors(`${HEAD}rules:\n  - name: a\n   keep: []\n`)[0], /^5:\d+: /);
});

test('unknown keys are reported at the key, with the keys that are allowed there', (t) => {
  const top = `${HEAD}colour: blue\nrules:\n  - { name: r, keep: [], priority: 1 }\n`;
  t.deepEqual(errors(top), [
    `${at(top, 'colour')}: found unknown key "colour"; expected one of policy, version, description, applies_to, seed, rules, gate, overrides, unlabelled`,
    `${at(top, 'priority')}: rules.0: found unknown key "priority"; expected one of name, when, sample, keep`,
  ]);
  const sample = rules('{ name: r, sample: { fraction: 0.5, seed: 1 }, keep: [] }', '{ name: z, keep: [] }');
  t.deepEqual(errors(sample), [`${at(sample, 'seed')}: rules.0.sample: found unknown key "seed"; expected one of fraction`]);
  const range = rules('{ name: r, when: { n_peaks: { above: 3 } }, keep: [] }', '{ name: z, keep: [] }');
  t.deepEqual(errors(range), [`${at(range, 'above')}: rules.0.when.n_peaks: found unknown key "above"; expected one of gte, gt, lte, lt`]);
  const codec = rules('{ name: r, keep: [{ product: raw, codec: { id: zstd, lvl: 3 }, lifecycle: [hdd: 1d] }] }');
  t.deepEqual(errors(codec), [`${at(codec, 'lvl')}: rules.0.keep.0.codec: found unknown key "lvl"; expected one of id, level`]);
  const gate = `${rules('{ name: r, when: { indexed: true }, keep: [] }', '{ name: z, keep: [] }')}gate: { results: indexing, timeout: 1m, on_timeout: z, retries: 3 }\noverrides: [{ when: { hit: true }, rule: r, why: x }]\n`;
  t.deepEqual(errors(gate), [
    `${at(gate, 'retries')}: gate: found unknown key "retries"; expected one of results, timeout, on_timeout`,
    `${at(gate, 'why')}: overrides.0: found unknown key "why"; expected one of when, rule`,
  ]);
});

test('a when field that does not exist names the fields that do', (t) => {
  const text = rules('{ name: r, when: { hits: true }, keep: [] }', '{ name: z, keep: [] }');
  t.deepEqual(errors(text), [
    `${at(text, 'hits')}: rules.0.when: found unknown condition "hits"; expected one of hit, indexed, n_peaks, n_crystals, resolution, facility, proposal, sample_tag`,
  ]);
});

test('applies_to takes only experiment metadata', (t) => {
  const text = `${HEAD}applies_to: { facility: P11, hit: true }\nrules:\n  - { name: r, keep: [] }\n`;
  t.deepEqual(errors(text), [`3:30: applies_to: found unknown key "hit"; expected one of facility, proposal, sample_tag`]);
  t.is(at(text, 'hit:'), '3:30');
});

test('wrong types and values say what was found and what is expected', (t) => {
  const text = 'policy: P 11\nversion: three\nseed: -1\nrules:\n  - { name: r, when: { hit: yes, n_peaks: many, facility: [] }, sample: { fraction: 0 }, keep: {} }\n';
  t.deepEqual(errors(text), [
    '1:9: policy: found "P 11"; expected a name of lower-case letters, digits and -, like p11-default',
    '2:10: version: found "three"; expected a number',
    '3:7: seed: found -1; expected a number >= 0',
    `${at(text, 'yes')}: rules.0.when.hit: found "yes"; expected true or false`,
    `${at(text, 'many')}: rules.0.when.n_peaks: found "many"; expected a number or a map`,
    `${at(text, '[]')}: rules.0.when.facility: found an empty list; expected at least 1 entry`,
    `${at(text, '0 }')}: rules.0.sample.fraction: found 0; expected a number > 0`,
    `${at(text, '{} }')}: rules.0.keep: found an empty map; expected a list`,
  ]);
  t.deepEqual(errors(`${HEAD}rules: []\n`), ['3:8: rules: found an empty list; expected at least 1 entry']);
  t.deepEqual(errors(`${HEAD}rules: [{ name: r, keep: [] }]\nversion: 2\n`).length, 1);
  t.deepEqual(errors(''), ['1:1: found an empty file; expected a policy (policy, version, rules, ...)']);
  t.deepEqual(errors('# only a comment\n'), ['1:1: found an empty file; expected a policy (policy, version, rules, ...)']);
  t.deepEqual(errors('- policy: p\n'), ['1:1: found a list of 1; expected a map']);
});

test('missing required keys are reported at the map that lacks them', (t) => {
  t.deepEqual(errors('policy: p\nrules:\n  - { name: r }\n  - keep: []\n'), [
    '1:1: missing key "version"; expected a number',
    '3:5: rules.0: missing key "keep"; expected a list',
    '4:5: rules.1: missing key "name"; expected a string',
    // and the nameless second rule comes after a rule without conditions:
    '4:5: rules.1: found rule #2 unreachable: every frame it matches is taken first by rule "r" (line 3), which has no conditions; expected a rule that some frame reaches (put specific rules before general ones)',
  ]);
  const binned = rules('{ name: r, keep: [{ product: binned, lifecycle: [hdd: 1d] }] }');
  t.deepEqual(errors(binned), [`${at(binned, '{ product')}: rules.0.keep.0: missing key "factor"; expected one of 2, 3, 4`]);
});

test('unknown tiers, codecs and codec params', (t) => {
  const a = rules('{ name: r, keep: [{ product: raw, codec: lzma, lifecycle: [nvme: 1d] }] }');
  t.deepEqual(errors(a), [
    `${at(a, 'lzma')}: rules.0.keep.0.codec: found "lzma"; expected one of bitshuffle-lz4, zstd, blosc, none`,
    `${at(a, 'nvme')}: rules.0.keep.0.lifecycle.0: found unknown tier "nvme"; expected one of the facility's tiers: ssd, hdd, tape`,
  ]);
  const b = rules('{ name: r, keep: [{ product: raw, codec: { id: lzma }, lifecycle: [hdd: 1d] }] }');
  t.deepEqual(errors(b), [`${at(b, 'lzma')}: rules.0.keep.0.codec.id: found "lzma"; expected one of bitshuffle-lz4, zstd, blosc, none`]);
  const c = rules('{ name: r, keep: [{ product: raw, codec: { id: blosc, cname: lzma, clevel: 12, shuffle: 3 }, lifecycle: [hdd: 1d] }] }');
  t.deepEqual(errors(c), [
    `${at(c, 'lzma')}: rules.0.keep.0.codec.cname: found "lzma"; expected one of blosclz, lz4, lz4hc, zlib, zstd`,
    `${at(c, '12')}: rules.0.keep.0.codec.clevel: found 12; expected a number <= 9`,
    `${at(c, '3 }')}: rules.0.keep.0.codec.shuffle: found 3; expected one of noshuffle, shuffle, bitshuffle`,
  ]);
  const d = rules('{ name: r, keep: [{ product: raw, codec: { id: none, level: 3 }, lifecycle: [hdd: 1d] }] }');
  t.deepEqual(errors(d), [`${at(d, 'level')}: rules.0.keep.0.codec: found unknown key "level"; expected one of id`]);
});

test('product params on the wrong product, and codecs on products whose encoding is fixed', (t) => {
  const a = rules('{ name: r, keep: [{ product: raw, factor: 2, lifecycle: [hdd: 1d] }, { product: peaks, codec: zstd, step: 1, lifecycle: [hdd: 1d] }] }');
  t.deepEqual(errors(a), [
    `${at(a, 'factor')}: rules.0.keep.0: found factor, a parameter of binned, on product raw; expected only raw's keys: product, codec, lifecycle`,
    `${at(a, 'codec')}: rules.0.keep.1: found a codec on product peaks, whose encoding is fixed (peaks); expected no codec key`,
    `${at(a, 'step')}: rules.0.keep.1: found step, a parameter of quantized, on product peaks; expected only peaks's keys: product, box, lifecycle`,
  ]);
  const b = rules('{ name: r, keep: [{ product: binned, factor: 5, lifecycle: [hdd: 1d] }, { product: quantized, step: 2.5, lifecycle: [hdd: 1d] }] }');
  t.deepEqual(errors(b), [
    `${at(b, '5,')}: rules.0.keep.0.factor: found 5; expected one of 2, 3, 4`,
    `${at(b, '2.5')}: rules.0.keep.1.step: found 2.5; expected a number <= 2`,
  ]);
  const c = rules('{ name: r, keep: [{ product: labels, lifecycle: [hdd: 1d] }] }');
  t.deepEqual(errors(c), [
    `${at(c, 'labels')}: rules.0.keep.0.product: found "labels"; expected one of raw, binned, peaks, quantized, intensities (labels are always kept: leave them out)`,
  ]);
});

test('durations: format, forever only last, and the tier\'s minimum duration', (t) => {
  const a = rules('{ name: r, keep: [{ product: raw, lifecycle: [ssd: forever, hdd: 14, tape: 10 years] }] }');
  t.deepEqual(errors(a), [
    `${at(a, 'forever')}: rules.0.keep.0.lifecycle.0.ssd: found forever at step 1 of 3; expected forever only in the last step (data kept forever never moves on)`,
    `${at(a, '14')}: rules.0.keep.0.lifecycle.1.hdd: found 14; expected a duration: <n>h, <n>d, <n>w, <n>y (365 days) or forever, like 14d`,
    `${at(a, '10 years')}: rules.0.keep.0.lifecycle.2.tape: found "10 years"; expected a duration: <n>h, <n>d, <n>w, <n>y (365 days) or forever, like 14d`,
  ]);
  const b = rules('{ name: r, keep: [{ product: raw, lifecycle: [hdd: 7d, tape: 30d] }] }');
  t.deepEqual(errors(b), [
    `${at(b, '30d')}: rules.0.keep.0.lifecycle.1.tape: found 30d (30 days) on tape; expected at least 365 days, the tier's minimum duration (deleting earlier is charged as if kept 365 days)`,
  ]);
  const c = rules('{ name: r, keep: [{ product: raw, lifecycle: [tape: 52w] }] }');
  t.deepEqual(errors(c), [
    `${at(c, '52w')}: rules.0.keep.0.lifecycle.0.tape: found 52w (364 days) on tape; expected at least 365 days, the tier's minimum duration (deleting earlier is charged as if kept 365 days)`,
  ]);
  t.deepEqual(errors(rules('{ name: r, keep: [{ product: raw, lifecycle: [tape: 1y] }] }')), []);
  t.deepEqual(errors(rules('{ name: r, keep: [{ product: raw, lifecycle: [tape: 8760h] }] }')), []);
  const d = rules('{ name: r, keep: [{ product: raw, lifecycle: [{ ssd: 1d, hdd: 1d }] }] }');
  t.deepEqual(errors(d), [
    `${at(d, '{ ssd')}: rules.0.keep.0.lifecycle.0: found a map with keys ssd, hdd; expected exactly one { tier: duration } per step, like [ssd: 14d, tape: 10y]`,
  ]);
  const e = rules('{ name: r, keep: [{ product: raw, lifecycle: [hdd: 0d] }, { product: peaks, lifecycle: [] }] }');
  t.deepEqual(errors(e), [
    `${at(e, '0d')}: rules.0.keep.0.lifecycle.0.hdd: found "0d"; expected a duration: <n>h, <n>d, <n>w, <n>y (365 days) or forever, like 14d`,
    `${at(e, '[] }')}: rules.0.keep.1.lifecycle: found an empty list; expected at least 1 entry`,
  ]);
});

test('duplicate rule names, duplicate products and references to rules that do not exist', (t) => {
  const text = `${HEAD}rules:
  - { name: indexed, when: { indexed: true }, keep: [{ product: raw, lifecycle: [hdd: 1d] }, { product: raw, lifecycle: [ssd: 1d] }] }
  - { name: indexed, when: { indexed: false }, keep: [] }
  - { name: rest, keep: [] }
gate: { results: indexing, timeout: 120s, on_timeout: unindexed }
overrides:
  - { when: { sample_tag: unobtainium }, rule: keep-all }
`;
  t.deepEqual(errors(text), [
    `${at(text, 'raw', 2)}: rules.0.keep.1.product: found product raw a second time in this rule; expected each product at most once per rule`,
    `${at(text, 'indexed, when: { indexed: false')}: rules.1.name: found rule name "indexed" again (first used at line 4); expected unique rule names`,
    `${at(text, 'unindexed')}: gate.on_timeout: found "unindexed", which names no rule; expected one of indexed, rest`,
    `${at(text, 'keep-all')}: overrides.0.rule: found "keep-all", which names no rule; expected one of indexed, rest`,
  ]);
});

test('a gate needs a rule that tests indexed or n_crystals', (t) => {
  const gate = 'gate: { results: indexing, timeout: 2m, on_timeout: rest }\n';
  t.deepEqual(errors(`${rules('{ name: hits, when: { hit: true }, keep: [] }', '{ name: rest, keep: [] }')}${gate}`), [
    '6:1: found a gate that waits for indexing results, but no rule tests indexed or n_crystals; expected such a rule, or no gate',
  ]);
  t.deepEqual(errors(`${rules('{ name: multi, when: { n_crystals: { gte: 2 } }, keep: [] }', '{ name: rest, keep: [] }')}${gate}`), []);
  const bad = `${HEAD}rules: [{ name: rest, keep: [] }]\ngate: { results: merging, timeout: 2 }\n`;
  t.deepEqual(errors(bad), [
    '4:1: found a gate that waits for indexing results, but no rule tests indexed or n_crystals; expected such a rule, or no gate',
    `${at(bad, '{ results')}: gate: missing key "on_timeout"; expected a string`,
    `${at(bad, 'merging')}: gate.results: found "merging"; expected indexing`,
    `${at(bad, '2 }')}: gate.timeout: found 2; expected a timeout: <n>s, <n>m or <n>h, like 120s`,
  ]);
});

test('unreachable rules are reported at the shadowed rule, naming the one that shadows it', (t) => {
  t.deepEqual(errors(rules('{ name: blanks, when: { hit: false }, keep: [] }', '{ name: few-peaks, when: { hit: false, n_peaks: { lt: 3 } }, keep: [] }', '{ name: rest, keep: [] }')), [
    '5:5: rules.1: found rule "few-peaks" unreachable: every frame it matches is taken first by rule "blanks" (line 4), whose conditions it implies; expected a rule that some frame reaches (put specific rules before general ones)',
  ]);
  t.deepEqual(errors(rules('{ name: all, keep: [] }', '{ name: hits, when: { hit: true }, keep: [] }', '{ name: rest, keep: [] }')), [
    '5:5: rules.1: found rule "hits" unreachable: every frame it matches is taken first by rule "all" (line 4), which has no conditions; expected a rule that some frame reaches (put specific rules before general ones)',
    '6:5: rules.2: found rule "rest" unreachable: every frame it matches is taken first by rule "all" (line 4), which has no conditions; expected a rule that some frame reaches (put specific rules before general ones)',
  ]);
  // Sampled rules let the rest through; narrower ranges and fewer metadata values are shadowed.
  t.deepEqual(errors(rules('{ name: s, sample: { fraction: 0.1 }, keep: [] }', '{ name: rest, keep: [] }')), []);
  t.is(errors(rules('{ name: a, when: { n_peaks: { gte: 10 } }, keep: [] }', '{ name: b, when: { n_peaks: { gt: 20 } }, keep: [] }', '{ name: rest, keep: [] }')).length, 1);
  t.deepEqual(errors(rules('{ name: a, when: { n_peaks: { gte: 10 } }, keep: [] }', '{ name: b, when: { n_peaks: { gte: 5 } }, keep: [] }', '{ name: rest, keep: [] }')), []);
  t.is(errors(rules('{ name: a, when: { sample_tag: [x, y] }, keep: [] }', '{ name: b, when: { sample_tag: x, hit: true }, keep: [] }', '{ name: rest, keep: [] }')).length, 1);
  // A rule an override names is reached through the override.
  t.deepEqual(errors(`${rules('{ name: rest, keep: [] }', '{ name: everything, keep: [{ product: raw, lifecycle: [hdd: forever] }] }')}overrides: [{ when: { sample_tag: rare }, rule: everything }]\n`), []);
});

test('a range no value satisfies is an error', (t) => {
  const text = rules('{ name: a, when: { resolution: { gt: 3, lt: 3 } }, keep: [] }', '{ name: rest, keep: [] }');
  t.deepEqual(errors(text), [
    `${at(text, '{ gt')}: rules.0.when.resolution: found a range no value satisfies (gt 3, lt 3), so the rule can never match; expected bounds with values between them`,
  ]);
});

test('a last rule that is not a catch-all is a warning, not an error', (t) => {
  const text = rules('{ name: hits, when: { hit: true }, keep: [] }', '{ name: some-blanks, sample: { fraction: 0.5 }, keep: [] }');
  t.deepEqual(errors(text), []);
  t.deepEqual(warnings(text), [
    '5:5: rules.1: the last rule "some-blanks" is not a catch-all (it has a sample): frames that match no rule keep their labels only; add a last rule without when or sample to decide for them',
  ]);
  t.true(validatePolicy(text, 'p.yaml', context).policy !== undefined);
});

test('every problem of a file is reported in one run, in file order', (t) => {
  const list = errors(`policy: Bad_Name
version: 0
colour: blue
rules:
  - name: a
    when: { hit: false, colour: red }
    keep:
      - { product: raw, factor: 2, lifecycle: [ssd: 14d, tpae: 180d, tape: 30d] }
  - name: a
    keep: []
gate: { results: indexing, timeout: 2d, on_timeout: nope }
`);
  t.deepEqual(list.map((l) => l.split(':').slice(0, 2).join(':')), ['1:9', '2:10', '3:1', '6:25', '8:25', '8:58', '8:76', '9:11', '11:1', '11:37', '11:53'], list.join('\n'));
});

test('implication between conditions', (t) => {
  const c = (when: object) => toConditions(when as never);
  t.true(impliesConditions(c({ hit: false, n_peaks: { lt: 3 } }), c({ hit: false })));
  t.false(impliesConditions(c({ hit: false }), c({ hit: false, n_peaks: { lt: 3 } })));
  t.true(impliesConditions(c({ n_peaks: 5 }), c({ n_peaks: { gte: 5, lt: 6 } })));
  t.false(impliesConditions(c({ n_peaks: { gte: 5 } }), c({ n_peaks: { gt: 5 } })));
  t.true(impliesConditions(c({ resolution: { gt: 2, lte: 3 } }), c({ resolution: { gte: 2 } })));
  t.false(impliesConditions(c({ facility: ['P11', 'P14'] }), c({ facility: 'P11' })));
  t.true(impliesConditions(c({}), c({})));
});

test('codecs: what check accepts is what the container codecs honour (the registry is the one source)', (t) => {
  const ok = rules(
    '{ name: a, when: { hit: true }, keep: [{ product: raw, codec: { id: zstd, level: 9 }, lifecycle: [hdd: 1d] }] }',
    '{ name: b, when: { n_peaks: 3 }, keep: [{ product: quantized, step: 0.01, codec: { id: blosc, cname: zstd, clevel: 7, shuffle: shuffle }, lifecycle: [hdd: 1d] }] }',
    '{ name: c, when: { n_peaks: 4 }, keep: [{ product: binned, factor: 3, codec: { id: bitshuffle-lz4, blockSize: 2048 }, lifecycle: [hdd: 1d] }] }',
    '{ name: d, keep: [{ product: peaks, box: 1, lifecycle: [hdd: 1d] }] }',
  );
  t.deepEqual(errors(ok), []);
  const bad = rules(
    '{ name: a, when: { hit: true }, keep: [{ product: quantized, step: 0.001, lifecycle: [hdd: 1d] }] }',
    '{ name: b, when: { n_peaks: 3 }, keep: [{ product: peaks, box: 0, lifecycle: [hdd: 1d] }] }',
    '{ name: c, when: { n_peaks: 4 }, keep: [{ product: raw, codec: { id: blosc, typesize: 2 }, lifecycle: [hdd: 1d] }] }',
    '{ name: d, keep: [{ product: raw, codec: { id: bitshuffle-lz4, blockSize: 12 }, lifecycle: [hdd: 1d] }] }',
  );
  t.deepEqual(errors(bad), [
    `${at(bad, '0.001')}: rules.0.keep.0.step: found 0.001; expected a number >= 0.01`,
    `${at(bad, '0, lifecycle')}: rules.1.keep.0.box: found 0; expected a number >= 1`,
    `${at(bad, 'typesize')}: rules.2.keep.0.codec: found unknown key "typesize"; expected one of id, cname, clevel, shuffle`,
    `${at(bad, '12 }')}: rules.3.keep.0.codec.blockSize: found 12; expected a multiple of 8`,
  ]);
});

test('codecs: check names the file, line and column of what ingest could not write; ingest builds the same codecs', (t) => {
  const text = rules('{ name: a, keep: [{ product: quantized, step: 0.001, lifecycle: [hdd: 1d] }] }');
  t.throws(() => parsePolicy(text, 'p.yaml', context), { message: `p.yaml:${at(text, '0.001')}: rules.0.keep.0.step: found 0.001; expected a number >= 0.01` });
  const policy = parsePolicy(rules('{ name: a, keep: [{ product: raw, codec: { id: zstd, level: 9 }, lifecycle: [hdd: 1d] }, { product: peaks, lifecycle: [hdd: 1d] }] }'), 'p.yaml', context);
  const [raw, peaks] = policy.rules[0].keep;
  t.deepEqual(keepCodecs(raw), { compression: { config: { id: 'zstd', level: 9 }, filter: { id: 32015, cd_values: [9] } } });
  t.deepEqual(keepCodecs(peaks), { reduction: { id: 'peaks', box: 3 } });
  t.notThrows(() => checkContainerCodecs(policy));
  t.deepEqual(keepCodecProblems({ product: 'peaks', codec: { id: 'peaks' }, params: { box: 0 } }).map((p) => p.key), ['box']);
  t.deepEqual(keepCodecProblems({ product: 'raw', codec: { id: 'zstd', level: 23 }, params: {} }), [{ key: 'codec', message: 'Expected level 1..22 for zstd but received 23' }]);
});

test('unlabelled names the rule for frames without labels; the built-in keeps them raw on the ingest tier', (t) => {
  const named = `${rules('{ name: hits, when: { hit: true }, keep: [] }', '{ name: rest, when: { hit: false }, keep: [] }')}unlabelled: hits\n`;
  t.deepEqual(errors(named), []);
  t.is(parsePolicy(named, 'p.yaml', context).unlabelled.name, 'hits');
  const missing = `${rules('{ name: hits, keep: [] }')}unlabelled: nope\n`;
  t.deepEqual(errors(missing), [`${at(missing, 'nope')}: unlabelled: found "nope", which names no rule; expected one of hits`]);
  const builtIn = parsePolicy(rules('{ name: hits, keep: [] }'), 'p.yaml', context).unlabelled;
  t.like(builtIn, { name: '(unlabelled)', when: [] });
  t.deepEqual(builtIn.keep.map((k) => [k.product, k.codec.id, k.lifecycle]), [['raw', 'bitshuffle-lz4', [{ tier: 'hdd', days: null }]]]);
});
