// Mistakes a user makes with ingest: each is refused before anything is written (exit 2), or
// reported while the rest goes on (exit 3), and never loses data or changes what was recorded.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCatalog } from '../../src/catalog/catalog.ts';
import { simulate } from '../../src/simulate/simulate.ts';
import { sxarchive, sxarchiveJson } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { archiveState } from './safety-helpers.ts';

const BIN = fileURLToPath(new URL('../../src/cli/bin.js', import.meta.url));

async function tinyRun(dir: string, name = 'run', frames = 8, seed = 3) {
  return simulate({ detector: 'tiny', frames, hitRate: 0.5, seed, out: join(dir, `${name}.h5`), geometryOut: join(dir, `${name}.geom`) });
}

/** Every table's rows but the schema's own, to show that a refused command changed nothing. */
function catalogDump(dataDir: string): Record<string, unknown[]> {
  const path = join(dataDir, 'catalog.sqlite');
  if (!existsSync(path)) return {};
  const catalog = openCatalog(path, { readonly: true });
  try {
    const tables = (catalog.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'schema_migrations' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    return Object.fromEntries(tables.map((name) => [name, catalog.db.prepare(`SELECT * FROM "${name}"`).all()]).filter(([, rows]) => rows.length > 0));
  } finally {
    catalog.close();
  }
}

test('a geometry that does not fit the data, and bad peak-finder options, are refused before anything is written', async (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const run = await tinyRun(dir);
  const other = await simulate({ detector: 'det1024', frames: 1, hitRate: 0, seed: 1, out: join(dir, 'other.h5'), geometryOut: join(dir, 'det1024.geom') });
  const base = ['--data-dir', data, 'ingest', run.out, '--experiment', 'e1', '--policy', 'hits-only'];
  const wrong = sxarchive([...base, '--geometry', other.geometryOut!]);
  t.is(wrong.code, 2);
  t.regex(wrong.stderr, /det1024\.geom describes 1024x1024 pixels \(fs x ss\), but .*run\.h5 has 256x256; expected the geometry of the detector that recorded the frames/);
  for (const [flags, message] of [
    [['--min-pix-count', '0'], /Expected minPixCount to be an integer >= 1 but received 0/],
    [['--local-bg-radius', '0'], /Expected localBgRadius to be an integer from 1 to 1024 but received 0/],
    [['--min-res', '50', '--max-res', '20'], /Expected maxRes to be 0 \(no cut\) or a finite number > minRes \(50\) but received 20/],
  ] as const) {
    const r = sxarchive([...base, '--geometry', run.geometryOut!, ...flags]);
    t.is(r.code, 2, flags.join(' '));
    t.regex(r.stderr, message);
  }
  t.deepEqual(catalogDump(data), {}, 'nothing recorded');
  t.false(existsSync(join(data, 'tiers', 'hdd', 'e1')));
});

test('frames without labels are kept raw, not dropped, even by a hits-only policy', async (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const run = await tinyRun(dir);
  const r = sxarchiveJson<{ frames: number; unlabelledKept: number; rules: Record<string, number>; containers: { frames: number; product: string }[] }>(['--data-dir', data, 'ingest', run.out, '--experiment', 'e1', '--policy', 'hits-only']);
  t.like(r, { frames: 8, unlabelledKept: 8, rules: { '(unlabelled)': 8 } });
  t.deepEqual(r.containers.map((c) => [c.product, c.frames]), [['raw', 8]]);
  const explain = sxarchive(['--data-dir', data, 'policy', 'explain', 'e1', 'run.h5//3']);
  t.is(explain.code, 0, explain.stderr);
  t.regex(explain.stdout, /unlabelled: the frame has no labels \(not labelled\) -> rule "\(unlabelled\)"/);
});

test('the same file twice, in one command or in two, is recorded once', async (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const run = await tinyRun(dir);
  const twice = sxarchive(['--data-dir', data, 'ingest', run.out, join(dir, '.', 'run.h5'), '--experiment', 'e1']);
  t.is(twice.code, 2);
  t.regex(twice.stderr, /run\.h5 is given twice.*; expected each file once/);
  t.deepEqual(catalogDump(data), {});

  t.is(sxarchive(['--data-dir', data, 'ingest', run.out, '--experiment', 'e1']).code, 0);
  symlinkSync(run.out, join(dir, 'link.h5'));
  const again = sxarchive(['--data-dir', data, 'ingest', join(dir, 'link.h5'), '--experiment', 'e1']);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stdout, /all 8 frames of these files are recorded already; nothing to do/);
  const state = archiveState(data);
  t.like(state, { frames: 8, distinct: 8 });
  t.deepEqual(state.runs.map((r) => r.number), [1], 'no second run');
});

test('a refused ingest leaves the catalog as it was; metadata changes only on purpose, and are recorded', async (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const a = await tinyRun(dir, 'a');
  const b = await tinyRun(dir, 'b', 8, 4);
  const p11 = join(dir, 'p11.yaml');
  writeFileSync(p11, 'policy: p11\nversion: 1\napplies_to: { facility: P11 }\nrules:\n  - name: all\n    keep: [{ product: raw, lifecycle: [hdd: 1y] }]\n');
  t.is(sxarchive(['--data-dir', data, 'ingest', a.out, '--experiment', 'lyso', '--facility', 'P11', '--policy', p11]).code, 0);
  const before = catalogDump(data);

  const wrongFacility = sxarchive(['--data-dir', data, 'ingest', b.out, '--experiment', 'lyso', '--facility', 'P14', '--policy', p11]);
  t.is(wrongFacility.code, 2);
  t.regex(wrongFacility.stderr, /experiment "lyso" already has other metadata \(facility: recorded "P11", given "P14"\).*sxarchive experiment set lyso/);
  const newTag = sxarchive(['--data-dir', data, 'ingest', b.out, '--experiment', 'lyso', '--sample-tag', 'unobtainium', '--policy', p11]);
  t.is(newTag.code, 2);
  t.regex(newTag.stderr, /sample_tags: recorded none|sample_tags: recorded \[\], given \[unobtainium\]/);
  const otherPolicy = sxarchive(['--data-dir', data, 'ingest', b.out, '--experiment', 'new-one', '--facility', 'P14', '--policy', p11]);
  t.is(otherPolicy.code, 2);
  t.regex(otherPolicy.stderr, /policy "p11" version 1 .* applies to facility = P11, but experiment "new-one" has facility = P14/);
  t.deepEqual(catalogDump(data), before, 'every refused ingest left every table as it was');

  t.is(sxarchive(['--data-dir', data, 'ingest', b.out, '--experiment', 'lyso', '--policy', p11]).code, 0, 'a later P11 ingest of lyso works');
  const set = sxarchiveJson<{ changed: { field: string }[]; experiment: { facility: string } }>(['--data-dir', data, 'experiment', 'set', 'lyso', '--facility', 'P14']);
  t.like(set, { experiment: { facility: 'P14' } });
  t.deepEqual(set.changed.map((c) => c.field), ['facility']);
  const changes = catalogDump(data).experiment_changes as { field: string; old_value: string; new_value: string; changed_at: string }[];
  t.like(changes, [{ field: 'facility', old_value: '"P11"', new_value: '"P14"' }]);
  t.regex(changes[0].changed_at, /^\d{4}-\d\d-\d\dT/);
});

test('input mistakes get clear errors, and one bad file does not stop the others', async (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const good = await tinyRun(dir, 'good');
  const long = sxarchive(['--data-dir', data, 'ingest', good.out, '--experiment', 'x'.repeat(300)]);
  t.is(long.code, 2);
  t.regex(long.stderr, /^error: Expected an experiment name of at most 128 characters \(it names folders\) but received one of 300$/m);

  // A tier that cannot take files (its path runs through a regular file): found before any frame is read.
  writeFileSync(join(dir, 'not-a-dir'), '');
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, 'facility.yaml'), `facility: local\ncurrency: EUR\ntiers:\n  hdd: { kind: filesystem, path: ${join(dir, 'not-a-dir', 'hdd')}, price_per_tb_year: 10 }\ncontainers: { max_frames: 100 }\ningest: { tier: hdd, policy: keep-all }\nbeamtime_price_per_hour: 2000\n`);
  const unwritable = sxarchive(['--data-dir', data, 'ingest', good.out, '--experiment', 'e1']);
  t.is(unwritable.code, 1);
  t.regex(unwritable.stderr, /^error: tier hdd \(.*not-a-dir\/hdd\) cannot take files: .*ENOTDIR.*; nothing was read or recorded$/m);
  t.notRegex(unwritable.stderr, /unexpected/);
  t.deepEqual(catalogDump(data), {});
  writeFileSync(join(data, 'facility.yaml'), `facility: local\ncurrency: EUR\ntiers:\n  hdd: { kind: filesystem, path: tiers/hdd, price_per_tb_year: 10 }\ncontainers: { max_frames: 100 }\ningest: { tier: hdd, policy: keep-all }\nbeamtime_price_per_hour: 2000\n`);

  const truncated = join(dir, 'truncated.h5');
  copyFileSync(good.out, truncated);
  truncateSync(truncated, Math.floor(statSync(truncated).size / 2));
  const partial = sxarchive(['--data-dir', data, 'ingest', truncated, good.out, join(dir, 'missing.h5'), '--experiment', 'e1']);
  t.is(partial.code, 3, partial.stderr);
  t.regex(partial.stderr, /skipped file .*truncated\.h5: /);
  t.regex(partial.stderr, /skipped file .*missing\.h5: cannot open: no such file/);
  t.regex(partial.stdout, /experiment e1 run 1: 8 frames/);
  t.regex(partial.stdout, /partial run: 2 unreadable file\(s\); exit code 3/);
  t.like(archiveState(data), { frames: 8, runs: [{ number: 1, state: 'partial', frames: 8 }] });
});

test('two ingests creating the same new experiment at once both succeed', async (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const a = await tinyRun(dir, 'a', 12, 5);
  const b = await tinyRun(dir, 'b', 12, 6);
  t.is(sxarchive(['--data-dir', data, 'init']).code, 0);
  const start = (file: string) =>
    new Promise<{ code: number | null; stderr: string }>((done) => {
      const child = spawn(process.execPath, [BIN, '--data-dir', data, 'ingest', file, '--experiment', 'together', '--geometry', a.geometryOut!]);
      let stderr = '';
      child.stderr.on('data', (c) => (stderr += c));
      child.on('exit', (code) => done({ code, stderr }));
    });
  const [ra, rb] = await Promise.all([start(a.out), start(b.out)]);
  t.is(ra.code, 0, ra.stderr);
  t.is(rb.code, 0, rb.stderr);
  const state = archiveState(data);
  t.like(state, { frames: 24, distinct: 24 });
  t.deepEqual(state.runs.map((r) => r.number).sort(), [1, 2]);
  t.deepEqual(state.containers.filter((c) => !c.ok), []);
});

test('a gated ingest says what it waits for, and its summary counts the frames that took the timeout', async (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const run = await tinyRun(dir, 'run', 6, 8);
  const gated = join(dir, 'gated.yaml');
  writeFileSync(gated, `policy: gated
version: 1
rules:
  - name: indexed
    when: { hit: true, indexed: true }
    keep: [{ product: raw, lifecycle: [hdd: 1y] }]
  - name: unindexed
    when: { hit: true }
    keep: [{ product: binned, factor: 2, lifecycle: [hdd: 1y] }]
  - name: rest
    keep: []
gate: { results: indexing, timeout: 8s, on_timeout: unindexed }
`);
  // A timeout long enough that every frame still waits when the input ends, on a loaded machine too.
  const r = sxarchive(['--data-dir', data, 'ingest', run.out, '--experiment', 'g', '--geometry', run.geometryOut!, '--policy', gated]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, new RegExp(`ingest: waiting for the indexing results of ${run.hits} frame\\(s\\) \\(import-stream writes them\\), at most [1-8] s more`));
  t.regex(r.stdout, new RegExp(`${run.hits} frame\\(s\\) had no indexing result in time and took the gate's on_timeout rule`));
  t.true(readdirSync(join(data, 'tiers', 'hdd', 'g', 'run-0001')).some((f) => f.startsWith('binned-')));
});

test('read-only commands work for a user who cannot write the catalog', async (t) => {
  if (process.getuid?.() !== 0) return t.fail('running a command as another user needs root (CI runs as root)');
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const run = await tinyRun(dir);
  t.is(sxarchive(['--data-dir', data, 'ingest', run.out, '--experiment', 'e1', '--geometry', run.geometryOut!, '--policy', 'hits-only']).code, 0);
  // tempDir makes a private folder: others may now read it, not write it.
  chmodSync(dir, 0o755);
  const asNobody = (args: string[]) =>
    spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, BIN, '--data-dir', data, ...args], { encoding: 'utf8', env: { ...process.env, HOME: '/tmp' } });
  for (const args of [['report', 'e1'], ['experiments'], ['policy', 'dry-run', 'keep-all', 'e1'], ['policy', 'explain', 'e1', 'run.h5//0']]) {
    const r = asNobody([...args, '--json']);
    t.is(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    t.notThrows(() => JSON.parse(r.stdout));
  }
  const write = asNobody(['ingest', run.out, '--experiment', 'e2']);
  t.not(write.status, 0, 'writing still needs write access');
});
