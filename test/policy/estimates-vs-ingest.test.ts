// The dry-run's byte estimates against what ingest really stores, product by product, on one
// simulated experiment: a reference ingest under keep-all gives the catalog the labels and the
// measured lossless ratio a dry-run works from; then each product is made for real by an
// ingest under a policy keeping it for every frame, and the two are compared.
import test, { type ExecutionContext } from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ESTIMATE_TOLERANCE } from '../../src/policy/estimates.ts';
import type { RetentionPlan } from '../../src/policy/plan.ts';
import { sxarchiveJson } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

/** One product each, for every frame (peaks keeps nothing of a frame without peaks). */
const PRODUCTS: { name: string; keep: string }[] = [
  { name: 'raw', keep: '{ product: raw, codec: bitshuffle-lz4, lifecycle: [hdd: 1y] }' },
  { name: 'binned2', keep: '{ product: binned, factor: 2, codec: bitshuffle-lz4, lifecycle: [hdd: 1y] }' },
  { name: 'binned4', keep: '{ product: binned, factor: 4, codec: bitshuffle-lz4, lifecycle: [hdd: 1y] }' },
  { name: 'quantized1', keep: '{ product: quantized, step: 1, codec: bitshuffle-lz4, lifecycle: [hdd: 1y] }' },
  { name: 'quantized2', keep: '{ product: quantized, step: 2, codec: bitshuffle-lz4, lifecycle: [hdd: 1y] }' },
  { name: 'peaks3', keep: '{ product: peaks, box: 3, lifecycle: [hdd: 1y] }' },
  { name: 'peaks8', keep: '{ product: peaks, box: 8, lifecycle: [hdd: 1y] }' },
];

interface Run {
  detector: string;
  frames: number;
  hitRate: number;
  seed: number;
  pixelType: 'uint16' | 'uint32';
  products: string[];
}

/** Estimates and what ingest stores for `run.products`, on a simulated run ingested under keep-all first. */
function compare(t: ExecutionContext, run: Run): void {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const h5 = join(dir, 'run1.h5');
  const geom = join(dir, 'run1.geom');
  sxarchiveJson(['simulate', '--detector', run.detector, '--frames', String(run.frames), '--hit-rate', String(run.hitRate), '--seed', String(run.seed), '--pixel-type', run.pixelType, '--out', h5, '--geometry-out', geom]);
  const ingest = (experiment: string, policy: string) =>
    sxarchiveJson<{ frames: number; storedBytes: number }>(['--data-dir', data, 'ingest', h5, '--experiment', experiment, '--geometry', geom, '--policy', policy]);
  t.is(ingest('reference', 'keep-all').frames, run.frames);

  for (const p of PRODUCTS.filter((x) => run.products.includes(x.name))) {
    const policy = join(dir, `${p.name}.yaml`);
    writeFileSync(policy, `policy: every-frame-${p.name}\nversion: 1\nrules:\n  - name: all\n    keep: [${p.keep}]\n`);
    const plan = sxarchiveJson<RetentionPlan>(['--data-dir', data, 'policy', 'dry-run', policy, 'reference']);
    t.true(plan.compressionRatioMeasured, 'the ratio comes from the reference run');
    const estimated = plan.totals.keptBytes;
    const stored = ingest(p.name, policy).storedBytes;
    const ratio = estimated / stored;
    t.log(`${p.name}: estimated ${estimated.toFixed(0)} B, stored ${stored} B, estimate/stored ${ratio.toFixed(3)}`);
    t.true(Math.abs(ratio - 1) <= ESTIMATE_TOLERANCE, `${p.name}: estimate/stored = ${ratio.toFixed(3)}; expected within ±${ESTIMATE_TOLERANCE * 100} %`);
  }
}

test('every product on uint16 frames: the dry-run estimate is within its stated tolerance of what ingest really stores', (t) => {
  compare(t, { detector: 'eiger1m', frames: 24, hitRate: 0.4, seed: 8, pixelType: 'uint16', products: PRODUCTS.map((p) => p.name) });
});

test('uint32 frames with more hits: binned, quantized and peaks estimates hold too', (t) => {
  compare(t, { detector: 'eiger1m', frames: 16, hitRate: 0.7, seed: 5, pixelType: 'uint32', products: ['binned2', 'binned4', 'quantized1', 'peaks3'] });
});
