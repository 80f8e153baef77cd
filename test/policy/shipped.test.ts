// Every shipped policy, on frames of every kind: the rule and products each keeps.
import test from 'ava';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadFacility } from '../../src/config/facility.ts';
import { decide } from '../../src/policy/engine.ts';
import { loadPolicy, POLICIES_DIR } from '../../src/policy/load.ts';
import type { Decision, ExperimentFacts, FrameFacts } from '../../src/policy/types.ts';
import { tempDir } from '../helpers/tmp.ts';

const experiment: ExperimentFacts = { name: 'lyso', facility: 'local', proposal: 'p1', sampleTags: [] };
const unobtainium: ExperimentFacts = { ...experiment, sampleTags: ['unobtainium'] };

function frame(event: number, labels: Partial<FrameFacts>): FrameFacts {
  return {
    frameId: event, experiment: 'lyso', source: '/d/run.h5', event: `//${event}`, hit: null, nPeaks: null, indexed: null, nCrystals: null,
    resolution: null, rawBytes: 8_942_032, width: 2068, height: 2162, pixelType: 'uint16', ...labels,
  };
}

const KINDS = {
  indexed: frame(1, { hit: true, nPeaks: 120, indexed: true, nCrystals: 1 }),
  unindexed: frame(2, { hit: true, nPeaks: 40, indexed: false, nCrystals: 0 }),
  hitNoResult: frame(3, { hit: true, nPeaks: 40 }),
  blank: frame(4, { hit: false, nPeaks: 2 }),
};

const summary = (d: Decision) => [d.rule, ...d.keep.map((k) => `${k.product}${k.params.factor ? `x${k.params.factor}` : ''}@${k.lifecycle.map((s) => `${s.tier}:${s.days ?? 'forever'}`).join('>')}`)].join(' ');

const EXPECTED: Record<string, Record<keyof typeof KINDS, string>> = {
  'keep-all': {
    indexed: 'keep-all raw@hdd:forever', unindexed: 'keep-all raw@hdd:forever', hitNoResult: 'keep-all raw@hdd:forever', blank: 'keep-all raw@hdd:forever',
  },
  'hits-only': { indexed: 'hits raw@hdd:1825', unindexed: 'hits raw@hdd:1825', hitNoResult: 'hits raw@hdd:1825', blank: 'blanks' },
  'indexed-only': { indexed: 'indexed raw@hdd:1825 intensities@hdd:forever', unindexed: 'rest', hitNoResult: 'rest', blank: 'rest' },
  'binned-hits': { indexed: 'hits-binned binnedx2@hdd:1825', unindexed: 'hits-binned binnedx2@hdd:1825', hitNoResult: 'hits-binned binnedx2@hdd:1825', blank: 'blanks' },
  'peaks-only': { indexed: 'hit-peaks peaks@hdd:1825', unindexed: 'hit-peaks peaks@hdd:1825', hitNoResult: 'hit-peaks peaks@hdd:1825', blank: 'blanks' },
  'sample-blanks': { indexed: 'hits raw@hdd:1825', unindexed: 'hits raw@hdd:1825', hitNoResult: 'hits raw@hdd:1825', blank: 'blanks' },
  'results-gated': {
    indexed: 'indexed raw@hdd:1825 intensities@hdd:forever', unindexed: 'unindexed-hits binnedx4@hdd:365', hitNoResult: 'unindexed-hits binnedx4@hdd:365', blank: 'rest',
  },
  'facility-default': {
    indexed: 'indexed-raw raw@ssd:14>hdd:180>tape:3650 intensities@ssd:forever',
    unindexed: 'unindexed-hits binnedx2@hdd:90>tape:1825',
    hitNoResult: 'unindexed-hits binnedx2@hdd:90>tape:1825',
    blank: 'rest',
  },
};

test('every shipped policy is valid for the default facility and is tested here', (t) => {
  const shipped = readdirSync(POLICIES_DIR).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, '')).sort();
  t.deepEqual(shipped, Object.keys(EXPECTED).sort());
});

for (const [name, expected] of Object.entries(EXPECTED)) {
  test(`${name}: keeps exactly what it should of indexed, unindexed, unresolved and blank frames`, (t) => {
    const policy = loadPolicy(join(POLICIES_DIR, `${name}.yaml`), loadFacility(tempDir(t)).config);
    const got = Object.fromEntries(Object.entries(KINDS).map(([kind, f]) => {
      const d = decide(policy, experiment, f, { now: new Date() });
      if ('pending' in d) throw new Error('dry decisions never wait');
      return [kind, summary(d)];
    }));
    t.deepEqual(got, expected);
  });
}

test('facility-default: an unobtainium sample keeps every frame raw, blanks included', (t) => {
  const policy = loadPolicy(join(POLICIES_DIR, 'facility-default.yaml'), loadFacility(tempDir(t)).config);
  for (const f of Object.values(KINDS)) {
    const d = decide(policy, unobtainium, f, { now: new Date() }) as Decision;
    t.is(summary(d), 'keep-everything raw@hdd:365>tape:3650');
    t.regex(d.reason, /override/);
  }
});

test('sampled blanks: about 1 % of 20 000 blanks, the same ones on every run', (t) => {
  const policy = loadPolicy(join(POLICIES_DIR, 'sample-blanks.yaml'), loadFacility(tempDir(t)).config);
  const blanks = Array.from({ length: 20_000 }, (_, i) => frame(i, { hit: false, nPeaks: 0 }));
  const kept = () => blanks.filter((f) => (decide(policy, experiment, f, { now: new Date() }) as Decision).rule === 'blanks-sample').map((f) => f.event);
  const first = kept();
  t.deepEqual(kept(), first);
  const f = 0.01;
  t.true(Math.abs(first.length / blanks.length - f) < 4 * Math.sqrt((f * (1 - f)) / blanks.length), `${first.length} sampled`);
});

test('results-gated: a hit without an indexing result waits for the timeout, then is an unindexed hit', (t) => {
  const policy = loadPolicy(join(POLICIES_DIR, 'results-gated.yaml'), loadFacility(tempDir(t)).config);
  const arrived = new Date('2026-11-24T12:00:00Z');
  const waiting = decide(policy, experiment, KINDS.hitNoResult, { now: new Date('2026-11-24T12:01:00Z'), frameTime: arrived });
  t.like(waiting, { pending: true, until: new Date('2026-11-24T12:02:00Z') });
  const late = decide(policy, experiment, KINDS.hitNoResult, { now: new Date('2026-11-24T12:02:01Z'), frameTime: arrived }) as Decision;
  t.is(late.rule, 'unindexed-hits');
  t.regex(late.reason, /gate/);
});
