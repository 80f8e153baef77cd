import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FrameExplanation } from '../../src/cli/commands/policy-explain.ts';
import type { RetentionDiff, RetentionPlan } from '../../src/policy/plan.ts';
import { sampleDraw } from '../../src/policy/sample.ts';
import { sxarchive, sxarchiveJson } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const FRAMES = 16;
const RAW = 256 * 256 * 2;

const POLICY = `policy: hits-and-sample
version: 1
description: hits raw on ssd then hdd; half of the blanks binned on tape
applies_to: { facility: P11 }
seed: 7
rules:
  - name: hits-raw
    when: { hit: true }
    keep:
      - { product: raw, lifecycle: [ssd: 14d, hdd: 1y] }
  - name: blanks-sample
    when: { hit: false }
    sample: { fraction: 0.5 }
    keep:
      - { product: binned, factor: 2, lifecycle: [tape: 2y] }
  - name: rest
    keep: []
`;

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1e-12, Math.abs(b));
/** A row's money is the ledger's storage term: `exact` rounded down to the micro-euro. */
const ledgerMoney = (money: number, exact: number) => money <= exact + 1e-12 && exact - money < 1e-6;

test('policy dry-run, diff and explain on ingested simulated frames', (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const h5 = join(dir, 'run1.h5');
  const geom = join(dir, 'tiny.geom');
  sxarchiveJson(['simulate', '--detector', 'tiny', '--frames', String(FRAMES), '--hit-rate', '0.5', '--seed', '11', '--out', h5, '--geometry-out', geom]);
  const ingested = sxarchiveJson<{ frames: number; hits: number; rawBytes: number; storedBytes: number }>([
    '--data-dir', data, 'ingest', h5, '--experiment', 'lyso', '--geometry', geom, '--facility', 'P11',
  ]);
  t.is(ingested.frames, FRAMES);
  // The same labels ingest computed (same peak finder, same defaults), frame by frame.
  const labelled = sxarchive(['label', h5, '--geometry', geom, '--json']);
  t.is(labelled.code, 0, labelled.stderr);
  const labels = labelled.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; hit: boolean });
  const hits = labels.filter((l) => l.hit).length;
  t.is(hits, ingested.hits);
  t.true(hits > 0 && hits < FRAMES);
  const drawn = labels.filter((l) => !l.hit && sampleDraw('lyso', h5, l.event, 7) < 0.5).length;

  const policyFile = join(dir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);
  const plan = sxarchiveJson<RetentionPlan>(['--data-dir', data, 'policy', 'dry-run', policyFile, 'lyso']);
  const ratio = ingested.rawBytes / ingested.storedBytes;
  t.like(plan, { experiment: 'lyso', currency: 'EUR', frames: FRAMES, rawBytes: FRAMES * RAW, compressionRatioMeasured: true });
  t.true(close(plan.compressionRatio, ratio));
  t.deepEqual(plan.rules.map((r) => [r.rule, r.frames]), [['hits-raw', hits], ['blanks-sample', drawn], ['rest', FRAMES - hits - drawn]]);

  const rawBytes = (hits * RAW) / ratio;
  // src/policy/estimates.ts: 2x2 sums of uint16 pixels, each a raw pixel's 16 / ratio bits plus 1.3.
  const binnedBytes = (drawn * (RAW / 2 / 4) * (16 / ratio + 1.3)) / 8;
  const rows = Object.fromEntries(plan.rows.map((r) => [`${r.product}/${r.tier}`, r]));
  t.deepEqual(Object.keys(rows).sort(), drawn > 0 ? ['binned/tape', 'raw/hdd', 'raw/ssd'] : ['raw/hdd', 'raw/ssd']);
  // The hits are kept raw in bitshuffle-LZ4 already (keep-all): sized by their containers, not estimated.
  t.like(rows['raw/ssd'], { rule: 'hits-raw', frames: hits, days: 14, estimated: false });
  t.true(close(rows['raw/ssd'].bytes, rawBytes));
  t.true(ledgerMoney(rows['raw/ssd'].money, (rawBytes / 1e12) * 100 * (14 / 365)));
  t.like(rows['raw/hdd'], { frames: hits, days: 365 });
  t.true(ledgerMoney(rows['raw/hdd'].money, (rawBytes / 1e12) * 10));
  const binnedMoney = (binnedBytes / 1e12) * 10 * 2;
  if (drawn > 0) {
    t.like(rows['binned/tape'], { rule: 'blanks-sample', frames: drawn, days: 730 });
    t.true(close(rows['binned/tape'].bytes, binnedBytes));
    t.true(ledgerMoney(rows['binned/tape'].money, binnedMoney));
  }
  t.true(close(plan.totals.money, plan.rows.reduce((n, r) => n + r.money, 0)), 'the total is the sum of the rows');
  t.true(Math.abs(plan.totals.money - ((rawBytes / 1e12) * (100 * 14 / 365 + 10) + binnedMoney)) < 3e-6);
  t.like(plan.totals, { framesKept: hits + drawn, forever: false, longestDays: 730, foreverPerYear: 0 });
  t.like(plan.keepAllRaw, { tier: 'hdd', days: 730, forever: false });
  t.true(close(plan.keepAllRaw.bytes, ingested.storedBytes));
  t.true(close(plan.keepAllRaw.money, (ingested.storedBytes / 1e12) * 10 * 2));
  t.deepEqual(plan.lost, { hitsDropped: 0, hitsNotKeptRaw: 0, unindexedHitsNotKeptRaw: 0, indexedWithoutIntensities: 0, labelsOnly: FRAMES - hits - drawn });

  const text = sxarchive(['--data-dir', data, 'policy', 'dry-run', policyFile, 'lyso']);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /hits-raw/);
  t.regex(text.stdout, /estimated/);
  t.regex(text.stdout, /keeping everything raw on hdd for 2y/);

  // diff against the shipped keep-all policy: every frame moves from keep-all to one of ours.
  const keepAll = join(process.cwd(), 'policies', 'keep-all.yaml');
  const diff = sxarchiveJson<RetentionDiff>(['--data-dir', data, 'policy', 'diff', keepAll, policyFile, 'lyso']);
  t.is(diff.changedFrames, FRAMES);
  t.deepEqual(
    diff.changes.map((c) => [c.from, c.to, c.frames]).sort(),
    ([['keep-all', 'hits-raw', hits], ['keep-all', 'blanks-sample', drawn], ['keep-all', 'rest', FRAMES - hits - drawn]] as [string, string, number][])
      .filter(([, , n]) => n > 0).sort(),
  );
  const rawHdd = diff.rows.find((r) => r.product === 'raw' && r.tier === 'hdd')!;
  t.is(rawHdd.a.frames, FRAMES);
  t.is(rawHdd.b.frames, hits);
  t.true(close(rawHdd.a.bytes, ingested.storedBytes));
  t.true(close(diff.difference.money, plan.totals.money - diff.a.totals.money));
  t.true(close(diff.a.totals.foreverPerYear, (ingested.storedBytes / 1e12) * 10));

  // explain: the recorded policy (keep-all, from ingest) and the one named by --policy.
  const hitEvent = labels.find((l) => l.hit)!.event;
  const explained = sxarchiveJson<FrameExplanation>(['--data-dir', data, 'policy', 'explain', 'lyso', `run1.h5${hitEvent}`, '--policy', policyFile]);
  t.like(explained.frame, { source: h5, event: hitEvent, run: 1 });
  t.is(explained.labels.hit, true);
  t.deepEqual(explained.explanations.map((e) => [e.from, e.policy.name, e.rule, e.reason]), [
    ['catalog', 'keep-all', 'keep-all', 'rule "keep-all": no conditions'],
    ['option', 'hits-and-sample', 'hits-raw', 'rule "hits-raw": hit = true'],
  ]);
  const byId = sxarchiveJson<FrameExplanation>(['--data-dir', data, 'policy', 'explain', 'lyso', String(explained.frame.id)]);
  t.is(byId.explanations.length, 1);
  t.is(byId.recorded[0].decisions[0].tier, 'hdd');

  const other = sxarchive(['--data-dir', data, 'policy', 'explain', 'lyso', 'nope.h5//0']);
  t.is(other.code, 2);
  t.is(other.stderr.trim(), 'error: experiment "lyso" has no frame nope.h5//0');
});

test('a policy for another facility is refused by dry-run with a clear message', (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const h5 = join(dir, 'run1.h5');
  sxarchiveJson(['simulate', '--detector', 'tiny', '--frames', '2', '--out', h5]);
  sxarchiveJson(['--data-dir', data, 'ingest', h5, '--experiment', 'p14-exp', '--facility', 'P14']);
  const policyFile = join(dir, 'policy.yaml');
  writeFileSync(policyFile, POLICY);
  const r = sxarchive(['--data-dir', data, 'policy', 'dry-run', policyFile, 'p14-exp']);
  t.is(r.code, 2);
  t.is(r.stderr.trim(), `error: policy "hits-and-sample" version 1 (${policyFile}) applies to facility = P11, but experiment "p14-exp" has facility = P14`);
});
