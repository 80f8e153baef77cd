// Ingest killed with SIGKILL at seeded random points, each time followed by the same command:
// in the end every frame is recorded exactly once, every container is whole, nothing is orphaned.
import test from 'ava';
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { simulate } from '../../src/simulate/simulate.ts';
import { sxarchive } from '../helpers/cli.ts';
import { makeRandom } from '../helpers/random.ts';
import { tempDir } from '../helpers/tmp.ts';
import { archiveState } from './safety-helpers.ts';

const BIN = fileURLToPath(new URL('../../src/cli/bin.js', import.meta.url));
const KILLS = 30;

/** Temporary files (containers being written) under `dir`. */
function temporaryFiles(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tmp'));
  } catch {
    return [];
  }
}

/**
 * Runs the command and SIGKILLs it: `ms` after the start, or (with `containers`) `ms` after it
 * has begun its `containers`-th container, so that kills land inside the work whatever the
 * machine's speed. Resolves with its exit code or signal.
 */
function runKilled(args: string[], tiers: string, ms: number, containers?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((done) => {
    // Those a killed run left are not this run's work (it removes them once it has started).
    const left = new Set(temporaryFiles(tiers));
    const begun = new Set<string>();
    const child = spawn(process.execPath, [BIN, ...args], { stdio: 'ignore' });
    let timer: NodeJS.Timeout | undefined;
    const poll = setInterval(() => {
      if (timer) return;
      if (containers !== undefined) {
        for (const f of temporaryFiles(tiers)) if (!left.has(f)) begun.add(f);
        if (begun.size < containers) return;
      }
      timer = setTimeout(() => child.kill('SIGKILL'), ms);
    }, 4);
    child.on('exit', (code, signal) => {
      clearInterval(poll);
      clearTimeout(timer);
      done({ code, signal });
    });
  });
}

// Serial: the other test's synchronous child processes would stall the polling that times the kills.
test.serial('ingest killed at 30 random points and run again records every frame once, in whole containers, with nothing orphaned', async (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  t.is(sxarchive(['--data-dir', data, 'init']).code, 0);
  // Small containers: many batches, so kills land between, inside and at the end of them.
  writeFileSync(join(data, 'facility.yaml'), `facility: local
currency: EUR
tiers:
  hdd:  { kind: filesystem, path: tiers/hdd, price_per_tb_year: 10 }
containers: { max_frames: 2 }
ingest: { tier: hdd, policy: keep-all }
beamtime_price_per_hour: 2000
`);
  const a = await simulate({ detector: 'tiny', frames: 120, hitRate: 0.6, seed: 31, out: join(dir, 'a.h5'), geometryOut: join(dir, 'tiny.geom') });
  const b = await simulate({ detector: 'tiny', frames: 60, hitRate: 0.5, seed: 32, out: join(dir, 'b.h5') });
  const args = ['--data-dir', data, 'ingest', a.out, b.out, '--experiment', 'crash', '--geometry', a.geometryOut!, '--min-peaks', '10'];

  const random = makeRandom(7);
  const recorded: number[] = [];
  for (let i = 0; recorded.length < KILLS && i < 3 * KILLS; i++) {
    // A fifth of the kills land in start-up and recovery, the rest while containers are written
    // (inside a batch, between batches, around the rename and the record); once every frame is
    // recorded only start-up is left to kill.
    const r = random() < 0.2 || recorded.at(-1) === 180
      ? await runKilled(args, join(data, 'tiers'), random() * 3000)
      : await runKilled(args, join(data, 'tiers'), random() * 20, 1 + Math.floor(random() * 5));
    if (r.signal === 'SIGKILL') recorded.push(archiveState(data, { containers: false }).frames);
    else t.log(`attempt ${i + 1} was not killed: it ended with ${r.code}`);
  }
  t.log(`frames recorded after each kill: ${recorded.join(' ')}`);
  t.is(recorded.length, KILLS);
  t.true(new Set(recorded).size >= 6, 'the killed runs made progress between kills');

  const last = sxarchive(args);
  t.is(last.code, 0, last.stderr);
  const state = archiveState(data);
  t.is(state.frames, 180, 'every frame recorded');
  t.is(state.distinct, 180, 'each exactly once');
  t.deepEqual(state.containers.filter((c) => !c.ok), [], 'every recorded container opens in h5py with its frame count and checksum');
  const events = state.containers.flatMap((c) => c.events);
  t.is(new Set(events).size, events.length, 'no frame is in two containers');
  t.deepEqual(state.orphans, [], 'no temporary or unrecorded file is left on the tiers');
  t.deepEqual(state.runs.filter((r) => r.state === 'running' || r.frames === 0), [], 'no run is left running, and no empty run lingers');
  t.is(events.length, 180, 'keep-all: every frame is in a container');

  const again = sxarchive(args);
  t.is(again.code, 0);
  t.regex(again.stdout, /all 180 frames of these files are recorded already; nothing to do/);
});

test.serial('SIGTERM stops ingest at the next frame: the batch in hand is dropped, the run is interrupted, and the same command continues', async (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const run = await simulate({ detector: 'tiny', frames: 150, hitRate: 0.5, seed: 33, out: join(dir, 'run.h5'), geometryOut: join(dir, 'tiny.geom') });
  const args = ['--data-dir', data, 'ingest', run.out, '--experiment', 'term', '--geometry', run.geometryOut!];
  const stopped = await new Promise<{ code: number | null; stderr: string }>((done) => {
    const child = spawn(process.execPath, [BIN, ...args]);
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    const poll = setInterval(() => {
      if (temporaryFiles(join(data, 'tiers')).length === 0) return;
      clearInterval(poll);
      child.kill('SIGTERM');
    }, 20);
    child.on('exit', (code) => {
      clearInterval(poll);
      done({ code, stderr });
    });
  });
  t.is(stopped.code, 130, stopped.stderr);
  t.regex(stopped.stderr, /^error: interrupted: \d+ frame\(s\) of run 1 were recorded; run the same command again to continue where it stopped$/m);
  const partway = archiveState(data);
  t.true(partway.frames < 150);
  t.deepEqual(partway.orphans, [], 'no temporary file is left');
  t.is(partway.runs.length === 0 ? 'removed' : partway.runs[0].state, partway.frames === 0 ? 'removed' : 'interrupted');
  const again = sxarchive(args);
  t.is(again.code, 0, again.stderr);
  t.like(archiveState(data), { frames: 150, distinct: 150, orphans: [] });
});
