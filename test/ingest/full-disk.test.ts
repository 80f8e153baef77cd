// A tier that runs out of space: ingest stops with a clear error and a non-zero exit, leaves no
// temporary file and no unreadable recorded container, and completes once space is freed.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { simulate } from '../../src/simulate/simulate.ts';
import { sxarchive } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { archiveState } from './safety-helpers.ts';

test('a full tier fails the batch cleanly, and the same command completes after space is freed', async (t) => {
  if (process.getuid?.() !== 0) return t.fail('mounting a small tmpfs needs root (CI runs as root)');
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const tier = join(dir, 'small-hdd');
  mkdirSync(tier);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', tier]);
  t.teardown(() => execFileSync('umount', ['-l', tier]));
  t.is(sxarchive(['--data-dir', data, 'init']).code, 0);
  writeFileSync(join(data, 'facility.yaml'), `facility: local
currency: EUR
tiers:
  hdd:  { kind: filesystem, path: ${tier}, price_per_tb_year: 10 }
containers: { max_frames: 8 }
ingest: { tier: hdd, policy: keep-all }
beamtime_price_per_hour: 2000
`);
  const run = await simulate({ detector: 'tiny', frames: 64, hitRate: 0.4, seed: 41, out: join(dir, 'run.h5') });
  // Most of the tier is taken by something else, as on a shared disk: a few batches fit.
  const filler = join(tier, 'someone-elses-file');
  const free = statfsSync(tier).bavail * statfsSync(tier).bsize;
  writeFileSync(filler, Buffer.alloc(free - 1.6 * (1 << 20)));
  const args = ['--data-dir', data, 'ingest', run.out, '--experiment', 'full'];

  const full = sxarchive(args);
  t.is(full.code, 1, full.stdout);
  t.regex(full.stderr, /^error: tier hdd \(.*small-hdd\): full\/run-0001\/raw-\d{5}\.h5: not enough space for frame \d+ \(needs [\d.]+ [kM]B, [\d.]+ [kM]?B free\); nothing of this batch was recorded/m);
  t.notRegex(full.stderr, /HDF5-DIAG|unexpected error/);
  const partway = archiveState(data);
  t.true(partway.frames > 0 && partway.frames < 64, `${partway.frames} frames recorded before the tier filled up`);
  t.deepEqual(partway.containers.filter((c) => !c.ok), [], 'every recorded container is whole');
  t.deepEqual(partway.orphans.filter((f) => !f.endsWith('someone-elses-file')), [], 'no temporary file is left');
  t.is(partway.runs[0].state, 'failed');

  rmSync(filler);
    const again = sxarchive(args);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stdout, new RegExp(`${partway.frames} frame\\(s\\) were recorded already and were skipped`));
  const done = archiveState(data);
  t.is(done.frames, 64);
  t.is(done.distinct, 64);
  t.deepEqual(done.containers.filter((c) => !c.ok), []);
  t.is(done.containers.reduce((n, c) => n + c.frames, 0), 64);
  t.deepEqual(done.orphans, []);
});
