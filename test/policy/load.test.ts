import test from 'ava';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_FACILITY_YAML, type FacilityConfig } from '../../src/config/facility.ts';
import { isSxError } from '../../src/errors.ts';
import { POLICY_SCHEMA_FILE, policyJsonSchemaText } from '../../src/policy/json-schema.ts';
import { loadPolicy, parsePolicy, validatePolicy } from '../../src/policy/load.ts';
import { tempDir } from '../helpers/tmp.ts';
import { parse } from 'yaml';

const facility = parse(DEFAULT_FACILITY_YAML) as FacilityConfig;
const context = { facility };

/** The design's example policy (test/fixtures/policies/p11-default.yaml), also the fuzz test's first base. */
const EXAMPLE = readFileSync(new URL('../fixtures/policies/p11-default.yaml', import.meta.url), 'utf8');

test('the example policy normalizes rule by rule', (t) => {
  const p = parsePolicy(EXAMPLE, 'p11.yaml', context);
  t.like(p, { name: 'p11-default', version: 3, description: 'Default for P11 serial experiments', seed: 0, file: 'p11.yaml', text: EXAMPLE });
  t.deepEqual(p.appliesTo, [{ kind: 'meta', field: 'facility', anyOf: ['P11'] }]);
  t.is(p.rules.length, 4);
  t.deepEqual(p.rules[0], {
    name: 'indexed-raw',
    when: [{ kind: 'bool', field: 'indexed', value: true }],
    keep: [
      { product: 'raw', codec: { id: 'bitshuffle-lz4' }, params: {}, lifecycle: [{ tier: 'ssd', days: 14 }, { tier: 'hdd', days: 180 }, { tier: 'tape', days: 3650 }] },
      { product: 'intensities', codec: { id: 'intensities' }, params: {}, lifecycle: [{ tier: 'ssd', days: null }] },
    ],
    line: 7,
  });
  t.deepEqual(p.rules[1], {
    name: 'unindexed-hits',
    when: [{ kind: 'bool', field: 'hit', value: true }, { kind: 'bool', field: 'indexed', value: false }],
    keep: [{ product: 'binned', codec: { id: 'bitshuffle-lz4' }, params: { factor: 2 }, lifecycle: [{ tier: 'hdd', days: 90 }, { tier: 'tape', days: 1825 }] }],
    line: 12,
  });
  t.deepEqual(p.rules[2], {
    name: 'blanks-sample',
    when: [{ kind: 'bool', field: 'hit', value: false }],
    sample: { fraction: 0.01 },
    keep: [{ product: 'raw', codec: { id: 'bitshuffle-lz4' }, params: {}, lifecycle: [{ tier: 'tape', days: 730 }] }],
    line: 15,
  });
  t.deepEqual(p.rules[3], { name: 'rest', when: [], keep: [], line: 19 });
  t.deepEqual(p.gate, { results: 'indexing', timeoutSeconds: 120, onTimeout: 'unindexed-hits' });
  t.deepEqual(p.overrides, [{ when: [{ kind: 'meta', field: 'sample_tag', anyOf: ['unobtainium'] }], rule: 'indexed-raw' }]);
  t.is(p.contentHash, createHash('sha256').update(Buffer.from(EXAMPLE)).digest('hex'));
  t.deepEqual(validatePolicy(EXAMPLE, 'p11.yaml', context).warnings, []);
});

// Conditions come in the schema's order (hit, indexed, n_peaks, n_crystals, resolution, facility, ...), not the file's.
test('ranges, lists, codec maps, product defaults and every duration unit normalize', (t) => {
  const p = parsePolicy(`policy: mixed
version: 1
applies_to: { proposal: [p1, p2], sample_tag: lyso }
seed: 42
rules:
  - name: strong
    when: { n_peaks: { gte: 50 }, resolution: { lt: 2.5 }, n_crystals: 1, facility: [P11, P14] }
    keep:
      - { product: raw, codec: { id: zstd, level: 9 }, lifecycle: [ssd: 36h, hdd: 2w, tape: forever] }
      - { product: peaks, lifecycle: [hdd: 1y] }
      - { product: quantized, codec: { id: blosc, cname: zstd, clevel: 5, shuffle: bitshuffle }, lifecycle: [hdd: 1d] }
  - name: rest
    keep:
      - { product: peaks, box: 5, lifecycle: [hdd: 12h] }
      - { product: quantized, step: 0.5, codec: none, lifecycle: [hdd: 1d] }
gate: { results: indexing, timeout: 5m, on_timeout: rest }
`, 'mixed.yaml', context);
  t.is(p.seed, 42);
  t.is(p.description, '');
  t.deepEqual(p.appliesTo, [{ kind: 'meta', field: 'proposal', anyOf: ['p1', 'p2'] }, { kind: 'meta', field: 'sample_tag', anyOf: ['lyso'] }]);
  t.deepEqual(p.rules[0].when, [
    { kind: 'range', field: 'n_peaks', gte: 50 },
    { kind: 'range', field: 'n_crystals', gte: 1, lte: 1 },
    { kind: 'range', field: 'resolution', lt: 2.5 },
    { kind: 'meta', field: 'facility', anyOf: ['P11', 'P14'] },
  ]);
  t.deepEqual(p.rules[0].keep, [
    { product: 'raw', codec: { id: 'zstd', level: 9 }, params: {}, lifecycle: [{ tier: 'ssd', days: 1.5 }, { tier: 'hdd', days: 14 }, { tier: 'tape', days: null }] },
    { product: 'peaks', codec: { id: 'peaks' }, params: { box: 3 }, lifecycle: [{ tier: 'hdd', days: 365 }] },
    { product: 'quantized', codec: { id: 'blosc', cname: 'zstd', clevel: 5, shuffle: 'bitshuffle' }, params: { step: 1 }, lifecycle: [{ tier: 'hdd', days: 1 }] },
  ]);
  t.deepEqual(p.rules[1].keep.map((k) => [k.params, k.codec, k.lifecycle[0].days]), [[{ box: 5 }, { id: 'peaks' }, 0.5], [{ step: 0.5 }, { id: 'none' }, 1]]);
  t.deepEqual(p.gate, { results: 'indexing', timeoutSeconds: 300, onTimeout: 'rest' });
});

test('loadPolicy reads a file; a missing file is a usage error; a bad one lists every problem', (t) => {
  const dir = tempDir(t);
  const good = join(dir, 'good.yaml');
  writeFileSync(good, EXAMPLE);
  t.is(loadPolicy(good, facility).rules.length, 4);
  const missing = t.throws(() => loadPolicy(join(dir, 'nope.yaml'), facility));
  t.true(isSxError(missing, 'usage'));
  t.is(missing!.message, `no policy file ${join(dir, 'nope.yaml')}`);
  t.true(isSxError(t.throws(() => loadPolicy(dir, facility)), 'usage'));
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'policy: x\nversion: 1\nrules:\n  - name: a\n    keep: [{ product: raw, lifecycle: [nvme: 1d] }]\n  - name: a\n    keep: []\n');
  const error = t.throws(() => loadPolicy(bad, facility));
  t.true(isSxError(error, 'config'));
  t.deepEqual(error!.message.split('\n'), [
    `${bad}:5:40: rules.0.keep.0.lifecycle.0: found unknown tier "nvme"; expected one of the facility's tiers: ssd, hdd, tape`,
    `${bad}:6:5: rules.1: found rule "a" unreachable: every frame it matches is taken first by rule "a" (line 4), which has no conditions; expected a rule that some frame reaches (put specific rules before general ones)`,
    `${bad}:6:11: rules.1.name: found rule name "a" again (first used at line 4); expected unique rule names`,
  ]);
});

test('the facility decides which tiers exist and their minimum durations', (t) => {
  const text = 'policy: x\nversion: 1\nrules:\n  - name: all\n    keep: [{ product: raw, lifecycle: [fast: 10d, glacier: 100d] }]\n';
  const tiers = { fast: { kind: 'filesystem' as const, path: 'f', price_per_tb_year: 1, min_duration_days: 0 }, glacier: { kind: 'tape' as const, path: 'g', price_per_tb_year: 1, min_duration_days: 90 } };
  t.deepEqual(parsePolicy(text, 'x.yaml', { facility: { tiers } }).rules[0].keep[0].lifecycle, [{ tier: 'fast', days: 10 }, { tier: 'glacier', days: 100 }]);
  const strict = { ...tiers, glacier: { ...tiers.glacier, min_duration_days: 180 } };
  t.regex(t.throws(() => parsePolicy(text, 'x.yaml', { facility: { tiers: strict } }))!.message, /^x\.yaml:5:60: .*found 100d \(100 days\) on glacier; expected at least 180 days/);
});

test('the committed policies/policy.schema.json is the one generated from the zod schema', (t) => {
  // On failure: node --import tsx src/policy/json-schema.ts
  t.is(readFileSync(POLICY_SCHEMA_FILE, 'utf8'), policyJsonSchemaText());
  const schema = JSON.parse(policyJsonSchemaText());
  t.deepEqual(schema.required, ['policy', 'version', 'rules']);
  t.false(schema.additionalProperties);
  t.deepEqual(Object.keys(schema.properties), ['policy', 'version', 'description', 'applies_to', 'seed', 'rules', 'gate', 'overrides', 'unlabelled']);
});
