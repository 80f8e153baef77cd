// Lifecycles that reduce with age through the real command line: raw on hdd for an hour, then
// binned 2x2 on tape. Migration reduces (read back), records, deletes the raw copy, and moves
// the binned containers to tape in the same pass.
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CLI_BIN } from '../helpers/cli.ts';
import { DEBIAN_PYTHON } from '../helpers/h5py.ts';
import { DEFAULT_TIERS, HOUR_MS, facilityYaml, later, makeArchive, query } from './helpers.ts';

const POLICY = `policy: age-down
version: 1
rules:
  - name: hits
    when: { hit: true }
    keep: [{ product: raw, lifecycle: [hdd: 1h, { tape: 10y, as: { product: binned, factor: 2 } }] }]
  - name: blanks
    keep: []
`;

const INFO = new URL('../python/container_info.py', import.meta.url).pathname;

test('raw on hdd for an hour, then binned on tape: the dry-run prices both forms, migrate reduces, verifies, deletes the raw copy and moves the binned one on', async (t) => {
  const a = await makeArchive(t, { facility: facilityYaml(DEFAULT_TIERS), policy: POLICY });
  t.is(a.cli('policy', 'check', join(a.dir, 'policy.yaml')).code, 0);
  const dry = a.json<{ rows: { product: string; tier: string; frames: number }[] }>('policy', 'dry-run', join(a.dir, 'policy.yaml'), 'lyso');
  t.deepEqual(dry.rows.map((r) => [r.product, r.tier]), [['raw', 'hdd'], ['binned', 'tape']]);

  const raw = query<{ id: number; path: string; n_frames: number }>(a, "SELECT id, path, n_frames FROM containers WHERE product = 'raw' ORDER BY id");
  const hits = query<{ id: number }>(a, 'SELECT id FROM frames WHERE hit = 1 ORDER BY id');
  t.true(raw.length > 0);
  t.deepEqual(a.json<{ reductions: unknown[] }>('migrate', '--dry-run').reductions, [], 'nothing is due within the hour');
  const asOf = later(2 * HOUR_MS);
  const plan = a.json<{ reductions: { container: string; from: string; to: string; form: { product: string; params: { factor: number } }; why: string }[]; moves: unknown[] }>('migrate', '--dry-run', '--as-of', asOf);
  t.deepEqual(plan.reductions.map((r) => [r.container, r.from, r.to, r.form.product, r.form.params.factor]), raw.map((c) => [c.path, 'hdd', 'tape', 'binned', 2]));
  t.regex(plan.reductions[0].why, /^kept as binned factor=2 \(bitshuffle-lz4\) on tape from \d{4}-\d\d-\d\d \(rule hits\)$/);
  t.deepEqual(plan.moves, []);

  const done = a.json<{ reduced: { containers: number; bytesBefore: number; bytesAfter: number }; moved: { containers: number }; failed: unknown[] }>('migrate', '--as-of', asOf);
  t.deepEqual(done.failed, []);
  t.is(done.reduced.containers, raw.length);
  t.true(done.reduced.bytesAfter < done.reduced.bytesBefore);
  t.is(done.moved.containers, raw.length, 'the binned containers went on to tape in the same pass');
  const hdd = join(a.data, 'tiers/hdd');
  t.deepEqual(existsSync(hdd) ? readdirSync(hdd, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.h5')) : [], [], 'neither the raw nor the staged binned copies stay on hdd');

  const binned = query<{ id: number; n_frames: number; created_at: string; form: string }>(a, "SELECT id, n_frames, created_at, form FROM containers WHERE product = 'binned' ORDER BY id");
  t.deepEqual(binned.map((c) => c.n_frames), raw.map((c) => c.n_frames));
  t.deepEqual(binned.map((c) => c.created_at), query<{ created_at: string }>(a, "SELECT created_at FROM containers WHERE product = 'raw' ORDER BY id").map((c) => c.created_at), 'the lifecycle counts from when the data was archived');
  t.deepEqual(query(a, "SELECT tier, state FROM placements p JOIN containers c ON c.id = p.container_id WHERE c.product = 'binned' AND p.state IN ('active', 'verified')"), binned.map(() => ({ tier: 'tape', state: 'verified' })));
  t.deepEqual(query(a, "SELECT p.state FROM placements p JOIN containers c ON c.id = p.container_id WHERE c.product = 'raw'"), raw.map(() => ({ state: 'expired' })));
  // Each hit's decision now names its binned container; the raw deletion is recorded with the rule.
  t.deepEqual(query<{ frame_id: number }>(a, "SELECT frame_id FROM decisions WHERE product = 'binned' ORDER BY frame_id").map((d) => d.frame_id), hits.map((h) => h.id));
  t.deepEqual(query(a, 'SELECT DISTINCT rules, policy FROM deletions'), [{ rules: '["hits"]', policy: 'age-down v1' }]);
  const report = a.json<{ products: { product: string; frames: number }[] }>('report', 'lyso');
  t.deepEqual(report.products.map((p) => [p.product, p.frames]), [['binned', hits.length]]);

  // The binned frames come back from tape and h5py reads them at half the size.
  const out = join(a.dir, 'recalled');
  const recalled = a.json<{ containers: { file: string; product: string }[] }>('recall', 'lyso', '--to', out);
  t.true(recalled.containers.length === binned.length && recalled.containers.every((c) => c.product === 'binned'));
  const info = JSON.parse(execFileSync(DEBIAN_PYTHON, [INFO, recalled.containers[0].file], { encoding: 'utf8' })) as { product: string; shape: number[] };
  t.is(info.product, 'binned');
  const [, height, width] = info.shape;
  const frame = query<{ width: number; height: number }>(a, 'SELECT width, height FROM frames LIMIT 1')[0];
  t.deepEqual([width, height], [Math.ceil(frame.width / 2), Math.ceil(frame.height / 2)]);

  const again = a.json<{ reduced: { containers: number }; moved: { containers: number } }>('migrate', '--as-of', asOf);
  t.is(again.reduced.containers, 0);
  t.is(again.moved.containers, 0);
  t.is(a.cli('verify').code, 0);
});

test('SIGKILL during a reducing migration: every hit stays kept in one form or the other, and the next pass finishes', async (t) => {
  const a = await makeArchive(t, { facility: facilityYaml(DEFAULT_TIERS), policy: POLICY, runs: 3 });
  const hits = query<{ n: number }>(a, 'SELECT COUNT(*) AS n FROM frames WHERE hit = 1')[0].n;
  const raw = query<{ n: number }>(a, "SELECT COUNT(*) AS n FROM containers WHERE product = 'raw'")[0].n;
  const asOf = later(2 * HOUR_MS);
  const kept = () => query<{ frames: number }>(a, `SELECT COUNT(DISTINCT d.frame_id) AS frames FROM decisions d
    JOIN placements p ON p.container_id = d.container_id AND p.state IN ('active', 'verified') WHERE d.superseded_by IS NULL`)[0].frames;
  const binned = () => query<{ n: number }>(a, "SELECT COUNT(*) AS n FROM containers WHERE product = 'binned'")[0].n;
  const tmpFiles = () => readdirSync(join(a.data, 'tiers/hdd'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tmp')).length;
  /** Runs a pass and kills it the moment `when` holds (polled), or lets it end. */
  const killWhen = async (when: () => boolean): Promise<boolean> => {
    const child = spawn(process.execPath, [CLI_BIN, '--data-dir', a.data, 'migrate', '--as-of', asOf], { stdio: 'ignore' });
    let exited = false;
    const exit = new Promise((done) => child.once('exit', () => done((exited = true))));
    while (!exited && !when()) await new Promise((done) => setTimeout(done, 5));
    const killed = !exited && child.kill('SIGKILL');
    await exit;
    return killed;
  };
  // Killed while a reduced container is being written, then right after each one is recorded.
  const kills = [await killWhen(() => tmpFiles() > 0)];
  t.is(kept(), hits, 'each hit has a decision naming a container that holds its data');
  for (let k = binned() + 1; k < raw; k++) {
    kills.push(await killWhen(() => binned() >= k));
    t.is(kept(), hits);
  }
  t.true(kills.filter(Boolean).length >= 2, `killed: ${kills.join(', ')}`);
  const r = a.json<{ failed: unknown[] }>('migrate', '--as-of', asOf);
  t.deepEqual(r.failed, []);
  t.is(kept(), hits);
  t.deepEqual(query(a, "SELECT DISTINCT c.product, p.tier FROM containers c JOIN placements p ON p.container_id = c.id WHERE p.state IN ('active', 'verified')"), [{ product: 'binned', tier: 'tape' }]);
  t.is(binned(), raw, 'each raw container reduced once');
  t.is(query(a, "SELECT * FROM deletions WHERE state != 'deleted'").length, 0);
  const verify = a.cli('verify');
  t.is(verify.code, 0, `nothing orphaned, missing or corrupt: ${verify.stdout}${verify.stderr}`);
});
