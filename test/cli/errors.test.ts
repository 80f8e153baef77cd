// Small mistakes get one clear line, never Node's own stack traces or "unexpected error".
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_TEXT_FILE_BYTES } from '../../src/text-file.ts';
import { sxarchive, sxarchiveJson } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const BIN = fileURLToPath(new URL('../../src/cli/bin.js', import.meta.url));

/** How a shell reports a process killed by SIGPIPE (128 + 13), as for `yes | head -1`. */
const SIGPIPE_STATUS = 141;

/** Runs `sxarchive ARGS | READER` in bash; returns sxarchive's own exit code and stderr. */
function piped(args: string[], reader: string, cwd: string): { code: number; stdout: string; stderr: string } {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('bash', ['-c', `${quoted} | ${reader}; exit "\${PIPESTATUS[0]}"`], { cwd, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function simulateTiny(dir: string, frames = 30): { h5: string; geom: string } {
  const h5 = join(dir, 'run1.h5');
  const geom = join(dir, 'tiny.geom');
  sxarchiveJson(['simulate', '--detector', 'tiny', '--frames', String(frames), '--hit-rate', '0.5', '--seed', '3', '--out', h5, '--geometry-out', geom]);
  return { h5, geom };
}

/** A text file just over the limit: what a data file or log given by mistake looks like. */
function oversized(path: string): string {
  writeFileSync(path, `# ${'x'.repeat(78)}\n`.repeat(Math.ceil((MAX_TEXT_FILE_BYTES + 1) / 81)));
  return path;
}

test('a reader closing the pipe early ends every command quietly by SIGPIPE, without an EPIPE trace', (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const { h5, geom } = simulateTiny(dir);
  sxarchiveJson(['--data-dir', data, 'ingest', h5, '--experiment', 'e1', '--geometry', geom]);
  // Frames large enough that labelling workers are busy in the native kernel when the pipe closes.
  const big = join(dir, 'e1m.h5');
  const bigGeom = join(dir, 'e1m.geom');
  sxarchiveJson(['simulate', '--detector', 'eiger1m', '--frames', '12', '--hit-rate', '0.5', '--seed', '3', '--out', big, '--geometry-out', bigGeom]);

  const head = piped(['label', '--json', big, '--geometry', bigGeom], 'head -1', dir);
  t.is(head.code, SIGPIPE_STATUS, head.stderr);
  t.is(head.stdout.trim().split('\n').length, 1);
  t.like(JSON.parse(head.stdout), { event: '//0' });
  t.is(head.stderr, '');

  // `true` reads nothing and exits at once: every write finds the pipe closed.
  const commands = [
    ['label', '--json', '--peaks', big, '--geometry', bigGeom],
    ['--data-dir', data, 'report', 'e1'],
    ['--data-dir', data, 'experiments', '--json'],
    ['--data-dir', data, 'policy', 'dry-run', 'hits-only', 'e1'],
    ['--help'],
  ];
  for (const args of commands) {
    const r = piped(args, 'true', dir);
    t.is(r.code, SIGPIPE_STATUS, `${args.join(' ')}: ${r.stderr}`);
    t.is(r.stderr, '', args.join(' '));
  }
});

test('import-stream given a directory names it and says a stream file was expected; nothing is recorded', (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const folder = join(dir, 'run7');
  mkdirSync(folder);
  const r = sxarchive(['--data-dir', data, 'import-stream', folder, '--experiment', 'e1']);
  t.is(r.code, 1);
  t.is(r.stderr.trim(), `error: ${folder} is a directory; expected a CrystFEL stream file (indexamajig output, format 2.x)`);
  t.deepEqual(sxarchiveJson<unknown[]>(['--data-dir', data, 'experiments']), []);
});

test('policy, facility and geometry files over the size limit are refused at once, naming the file and the limit', (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const { h5 } = simulateTiny(dir, 2);
  const limit = /of at most 1 MiB \(is it the right file\?\)$/;

  const policy = oversized(join(dir, 'huge.yaml'));
  const check = sxarchive(['--data-dir', data, 'policy', 'check', policy]);
  t.is(check.code, 2);
  t.regex(check.stderr.trim(), new RegExp(`^error: ${policy} is 1 MiB \\(\\d+ bytes\\); expected a policy file \\(YAML\\)`));
  t.regex(check.stderr.trim(), limit);
  const ingest = sxarchive(['--data-dir', data, 'ingest', h5, '--experiment', 'e1', '--policy', policy]);
  t.is(ingest.code, 2);
  t.regex(ingest.stderr.trim(), /expected a policy file \(YAML\) of at most 1 MiB/);

  const badGeometry = oversized(join(dir, 'huge.geom'));
  const label = sxarchive(['label', h5, '--geometry', badGeometry]);
  t.is(label.code, 1);
  t.regex(label.stderr.trim(), new RegExp(`^error: ${badGeometry} is 1 MiB .*expected a CrystFEL geometry file \\(\\.geom\\) of at most 1 MiB`));
  const ingestGeometry = sxarchive(['--data-dir', data, 'ingest', h5, '--experiment', 'e1', '--geometry', badGeometry]);
  t.is(ingestGeometry.code, 2);
  t.regex(ingestGeometry.stderr.trim(), new RegExp(`^error: ${badGeometry} is 1 MiB .*expected a CrystFEL geometry file \\(\\.geom\\) of at most 1 MiB`));
  t.deepEqual(sxarchiveJson<unknown[]>(['--data-dir', data, 'experiments']), [], 'refused before anything is recorded');

  const facilityDir = join(dir, 'facility');
  mkdirSync(facilityDir);
  const facility = oversized(join(facilityDir, 'facility.yaml'));
  const list = sxarchive(['--data-dir', facilityDir, 'experiments']);
  t.is(list.code, 1);
  t.regex(list.stderr.trim(), new RegExp(`^error: ${facility} is 1 MiB .*expected a facility configuration \\(YAML\\) of at most 1 MiB`));

  // A directory where a file belongs is named as such.
  const asDir = sxarchive(['label', h5, '--geometry', dir]);
  t.is(asDir.stderr.trim(), `error: ${dir} is a directory; expected a CrystFEL geometry file (.geom)`);
});
