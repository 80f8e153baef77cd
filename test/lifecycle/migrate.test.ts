// Migration, expiry, verification and recall through the real command line, on filesystem and
// tape (mount point) tiers.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCatalog } from '../../src/catalog/catalog.ts';
import { eachBackend } from '../helpers/catalog.ts';
import { DEFAULT_TIERS, HOUR_MS, age, facilityYaml, later, makeArchive, query, sha256 } from './helpers.ts';

const POLICY = `policy: move-along
version: 1
rules:
  - name: hits
    when: { hit: true }
    keep: [{ product: raw, lifecycle: [hdd: 1h, tape: 1h, ssd: forever] }]
  - name: blanks
    keep: [{ product: raw, lifecycle: [hdd: 1h, tape: 1h] }]
`;

interface PlanJson {
  moves: { container: string; from: string; to: string; bytes: number; why: string }[];
  deletions: { container: string; tier: string; bytes: number; why: string; rules: string[] }[];
}
interface MigrateJson {
  moved: { containers: number; bytes: number };
  paused: { tier: string; bytesNeeded: number; message: string }[];
  failed: unknown[];
  aggregates: { tier: string; name: string; members: number; bytes: number }[];
}

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.h5') || f.endsWith('.tar') || f.endsWith('.partial'));
}

eachBackend('migrate moves due containers hdd -> tape by the plan its dry-run printed; the tar files list and extract with stock tar; a second pass has nothing to do', async (t, backend) => {
  const a = await makeArchive(t, { backend, facility: facilityYaml(DEFAULT_TIERS), policy: POLICY, runs: 2 });
  const containers = query<{ path: string; sha256: string; bytes: number }>(a, 'SELECT path, sha256, bytes FROM containers ORDER BY id');
  t.true(containers.length >= 4);
  const now = a.json<PlanJson>('migrate', '--dry-run');
  t.deepEqual(now.moves, [], 'nothing is due yet');

  const asOf = later(1.5 * HOUR_MS);
  const plan = a.json<PlanJson>('migrate', '--dry-run', '--as-of', asOf);
  t.is(plan.moves.length, containers.length);
  t.true(plan.moves.every((m) => m.from === 'hdd' && m.to === 'tape'));
  t.regex(plan.moves[0].why, /^hdd 0\.0416\d*d ended on \d{4}-\d{2}-\d{2}; next: tape until/);
  t.deepEqual(files(join(a.data, 'tiers/tape')), [], 'the dry-run wrote nothing');

  const done = a.json<MigrateJson>('migrate', '--as-of', asOf);
  t.is(done.moved.containers, containers.length);
  t.is(done.moved.bytes, containers.reduce((n, c) => n + c.bytes, 0));
  t.is(done.aggregates.length, 1, 'one pass closes its one aggregate');
  t.deepEqual(files(join(a.data, 'tiers/hdd')), [], 'the sources were trimmed');
  const tar = join(a.data, 'tiers/tape', done.aggregates[0].name);
  const listing = spawnSync('tar', ['-tvf', tar], { encoding: 'utf8' });
  t.is(listing.status, 0, listing.stderr);
  for (const c of containers) t.regex(listing.stdout, new RegExp(` ${c.bytes} .* ${c.path.replaceAll('.', '\\.')}\\n`));
  t.regex(listing.stdout, /MANIFEST\.sxarchive\.json/);
  const out = join(a.dir, 'extracted');
  mkdirSync(out);
  t.is(spawnSync('tar', ['-xf', tar, '-C', out]).status, 0);
  for (const c of containers) t.is(sha256(join(out, c.path)), c.sha256, `${c.path} extracts with the catalog's SHA-256`);

  const placements = query<{ tier: string; state: string; n: number }>(a, 'SELECT tier, state, COUNT(*) AS n FROM placements GROUP BY tier, state ORDER BY tier, state');
  t.deepEqual(placements, [{ tier: 'hdd', state: 'trimmed', n: containers.length }, { tier: 'tape', state: 'verified', n: containers.length }]);
  const transfers = query<{ state: string; n: number }>(a, 'SELECT state, COUNT(*) AS n FROM transfers GROUP BY state');
  t.deepEqual(transfers, [{ state: 'trimmed', n: containers.length }]);

  const again = a.json<MigrateJson>('migrate', '--as-of', asOf);
  t.is(again.moved.containers, 0);
  const text = a.cli('migrate', '--as-of', asOf);
  t.regex(text.stdout, /nothing to do/);

  // Next step: tape -> ssd for the hits (a tape member read back by its offset); the blanks' lifecycle ends.
  const hits = query<{ n: number }>(a, "SELECT COUNT(DISTINCT container_id) AS n FROM decisions WHERE rule = 'hits' AND container_id IS NOT NULL")[0].n;
  const step2 = a.json<MigrateJson>('migrate', '--as-of', later(2.5 * HOUR_MS));
  t.is(step2.moved.containers, hits);
  for (const c of query<{ path: string; sha256: string }>(a, "SELECT c.path, c.sha256 FROM containers c JOIN placements p ON p.container_id = c.id WHERE p.tier = 'ssd' AND p.state = 'verified'")) {
    t.is(sha256(join(a.data, 'tiers/ssd', c.path)), c.sha256);
  }
  const verify = a.cli('verify');
  t.is(verify.code, 0, verify.stdout + verify.stderr);
  t.regex(verify.stdout, /every one matches the catalog/);
});

eachBackend('expire deletes the data of ended lifecycles, keeps labels, decisions and a record of the deletion; report shows the expired bytes', async (t, backend) => {
  const a = await makeArchive(t, { backend, facility: facilityYaml(DEFAULT_TIERS), policy: `policy: short
version: 1
rules:
  - name: hits
    when: { hit: true }
    keep: [{ product: raw, lifecycle: [hdd: 1h] }]
  - name: rest
    keep: [{ product: raw, lifecycle: [hdd: forever] }]
` });
  const all = query<{ id: number; bytes: number; rule: string }>(a, 'SELECT DISTINCT c.id, c.bytes, d.rule FROM containers c JOIN decisions d ON d.container_id = c.id');
  const ending = all.filter((c) => c.rule === 'hits');
  t.true(ending.length > 0 && ending.length < all.length);
  const future = a.cli('expire', '--as-of', later(2 * HOUR_MS));
  t.is(future.code, 2);
  t.regex(future.stderr, /is in the future: that would delete data its policy still keeps; use it with --dry-run/);
  const plan = a.json<PlanJson>('expire', '--dry-run', '--as-of', later(2 * HOUR_MS));
  t.is(plan.deletions.length, ending.length);
  t.deepEqual(plan.deletions[0].rules, ['hits']);
  t.regex(plan.deletions[0].why, /^lifecycle hdd 0\.04\d*d ended on .* \(rule hits\), policy short v1$/);
  t.is(a.json<PlanJson>('expire', '--dry-run').deletions.length, 0, 'not yet');

  age(a, 2 * HOUR_MS);
  const frames = query<{ n: number }>(a, 'SELECT COUNT(*) AS n FROM frames')[0].n;
  const decisions = query<{ n: number }>(a, 'SELECT COUNT(*) AS n FROM decisions')[0].n;
  const r = a.json<{ deleted: { containers: number; bytes: number } }>('expire');
  t.is(r.deleted.containers, ending.length);
  t.is(r.deleted.bytes, ending.reduce((n, c) => n + c.bytes, 0));
  t.is(query<{ n: number }>(a, 'SELECT COUNT(*) AS n FROM frames')[0].n, frames, 'labels stay');
  t.is(query<{ n: number }>(a, 'SELECT COUNT(*) AS n FROM decisions')[0].n, decisions, 'decisions stay');
  const records = query<{ tier: string; state: string; policy: string; rules: string; deleted_at: string }>(a, 'SELECT tier, state, policy, rules, deleted_at FROM deletions');
  t.is(records.length, ending.length);
  t.true(records.every((d) => d.state === 'deleted' && d.policy === 'short v1' && d.rules === '["hits"]' && d.deleted_at));
  const left = query<{ path: string }>(a, "SELECT c.path FROM containers c JOIN placements p ON p.container_id = c.id WHERE p.state = 'active'");
  t.deepEqual(files(join(a.data, 'tiers/hdd')).sort(), left.map((c) => c.path).sort(), 'only the expired containers were deleted');
  const again = a.json<{ deleted: { containers: number } }>('expire');
  t.is(again.deleted.containers, 0, 'running it again deletes nothing twice');
  const report = a.json<{ expired: { containers: number; bytes: number; lastDeletedAt: string } }>('report', 'lyso');
  t.like(report.expired, { containers: ending.length, bytes: r.deleted.bytes });
  t.regex(a.cli('report', 'lyso').stdout, new RegExp(`expired: ${ending.length} container\\(s\\), .* deleted at the end of their lifecycle`));
});

eachBackend('a full tier (capacity) pauses migration naming the tier and the bytes needed; nothing leaves the source; the next pass resumes when there is room', async (t, backend) => {
  const small = DEFAULT_TIERS.replace('aggregate_size: 100MB', 'aggregate_size: 100MB, capacity: 1kB');
  const a = await makeArchive(t, { backend, facility: facilityYaml(small), policy: POLICY });
  const before = files(join(a.data, 'tiers/hdd')).sort();
  const asOf = later(1.5 * HOUR_MS);
  const r = a.cli('migrate', '--as-of', asOf);
  t.is(r.code, 3, r.stderr);
  t.regex(r.stderr, /tier tape is full: \d+ container\(s\) need [\d.]+ [kM]B, [\d.]+ k?B free; migration to it is paused \(nothing was deleted\) and resumes when there is room/);
  t.deepEqual(files(join(a.data, 'tiers/hdd')).sort(), before, 'every source copy is still there');
  t.deepEqual(files(join(a.data, 'tiers/tape')), [], 'no partial aggregate is left');
  t.true(query<{ state: string }>(a, 'SELECT state FROM transfers').every((x) => x.state === 'paused'));
  const tiers = a.json<{ tiers: { tier: string; pending: { paused: number } }[] }>('tiers');
  t.is(tiers.tiers.find((x) => x.tier === 'tape')!.pending.paused, before.length);

  a.setFacility(facilityYaml(DEFAULT_TIERS));
  const resumed = a.json<MigrateJson & { resumed: number }>('migrate', '--as-of', asOf);
  t.is(resumed.resumed, before.length);
  t.is(resumed.moved.containers, before.length);
  t.deepEqual(files(join(a.data, 'tiers/hdd')), []);
});

eachBackend('verify finds corrupt, missing and orphaned copies (exit 1), repairs a bad copy from a good one and records it', async (t, backend) => {
  const a = await makeArchive(t, { backend, facility: facilityYaml(DEFAULT_TIERS), policy: POLICY });
  const ok = a.cli('verify');
  t.is(ok.code, 0, ok.stderr);
  const [one, two] = query<{ id: number; path: string; sha256: string; bytes: number }>(a, 'SELECT id, path, sha256, bytes FROM containers ORDER BY id');
  // A second good copy of `one` on ssd, as a migration leaves it between commit and trim.
  mkdirSync(join(a.data, 'tiers/ssd', one.path, '..'), { recursive: true });
  writeFileSync(join(a.data, 'tiers/ssd', one.path), readFileSync(join(a.data, 'tiers/hdd', one.path)));
  const w = openCatalog(a.catalog);
  w.db.prepare("INSERT INTO placements (container_id, tier, location, valid_from, state, step) VALUES (?, 'ssd', ?, ?, 'verified', 0)").run(one.id, join(a.data, 'tiers/ssd', one.path), new Date().toISOString());
  w.close();
  appendFileSync(join(a.data, 'tiers/hdd', one.path), 'bit rot');
  writeFileSync(join(a.data, 'tiers/hdd', two.path), '');
  spawnSync('rm', [join(a.data, 'tiers/hdd', two.path)]);
  writeFileSync(join(a.data, 'tiers/hdd/lyso/stray.h5'), 'not ours');

  const r = a.cli('verify', '--json');
  t.is(r.code, 1, r.stderr);
  const s = JSON.parse(r.stdout) as { findings: { kind: string; container?: string; location: string; repairedFrom?: string }[]; repaired: number; unrepairable: number };
  const byKind = (k: string) => s.findings.filter((f) => f.kind === k);
  t.deepEqual(byKind('corrupt').map((f) => [f.container, f.repairedFrom]), [[one.path, 'ssd']]);
  t.deepEqual(byKind('missing').map((f) => [f.container, f.repairedFrom]), [[two.path, undefined]]);
  t.deepEqual(byKind('orphaned').map((f) => f.location), [join(a.data, 'tiers/hdd/lyso/stray.h5')]);
  t.is(s.repaired, 1);
  t.is(s.unrepairable, 1);
  t.is(sha256(join(a.data, 'tiers/hdd', one.path)), one.sha256, 'the bad copy was re-copied from the good one');
  const findings = query<{ kind: string; repaired_by: number | null }>(a, 'SELECT kind, repaired_by FROM verify_findings ORDER BY id');
  t.is(findings.length, 3);
  t.truthy(findings.find((f) => f.kind === 'corrupt')!.repaired_by, 'the repair is recorded');
  t.is(query<{ kind: string; state: string }>(a, 'SELECT kind, state FROM transfers')[0].state, 'trimmed');
});

test('recall of frames spread over three tape aggregates reads each aggregate once and hands over the containers with a CrystFEL list', async (t) => {
  const oneEach = DEFAULT_TIERS.replace('aggregate_size: 100MB', 'aggregate_size: 1');
  const a = await makeArchive(t, { facility: facilityYaml(oneEach), policy: POLICY, runs: 1, frames: 12 });
  const done = a.json<MigrateJson>('migrate', '--as-of', later(1.5 * HOUR_MS));
  const containers = query<{ id: number }>(a, 'SELECT id FROM containers ORDER BY id');
  t.is(done.aggregates.length, containers.length, 'an aggregate per container (aggregate_size 1 byte)');
  const kept = query<{ id: number; container_id: number; container_index: number; path: string; sha256: string }>(a,
    'SELECT f.id, d.container_id, d.container_index, c.path, c.sha256 FROM frames f JOIN decisions d ON d.frame_id = f.id JOIN containers c ON c.id = d.container_id ORDER BY c.id, d.container_index');
  // Two frames of the first container, one each of the second and third: three aggregates.
  const [c1, c2, c3] = containers.map((c) => kept.filter((f) => f.container_id === c.id));
  const pick = [c1[0], c1[c1.length - 1], c2[0], c3[0]];
  const out = join(a.dir, 'back');
  const r = a.json<{ frames: number; tapeReads: { aggregate: string; members: number }[]; containers: { file: string }[]; list: string }>('recall', 'lyso', '--to', out, '--frames', pick.map((f) => f.id).join(','));
  t.is(r.frames, 4);
  t.is(r.tapeReads.length, 3);
  t.is(new Set(r.tapeReads.map((x) => x.aggregate)).size, 3, 'each aggregate read once');
  for (const f of pick) t.is(sha256(join(out, f.path)), f.sha256);
  const list = readFileSync(r.list, 'utf8').trim().split('\n');
  t.deepEqual(list, pick.map((f) => `${join(out, f.path)} //${f.container_index}`));
  const one = a.json<{ tapeReads: { bytes: number }[] }>('recall', 'lyso', '--to', join(a.dir, 'one'), '--frames', String(kept[0].id));
  t.is(one.tapeReads.length, 1);
  t.is(one.tapeReads[0].bytes, query<{ bytes: number }>(a, 'SELECT bytes FROM containers WHERE id = ?', kept[0].container_id)[0].bytes, 'one container recalled by reading only its range');
});

test('a full file system (a small tmpfs) pauses migration: what fits moves, the rest waits with its source kept, and resumes once there is room', async (t) => {
  if (process.getuid?.() !== 0) return t.fail('mounting a small tmpfs needs root (CI runs as root)');
  const a = await makeArchive(t, { facility: facilityYaml(DEFAULT_TIERS), policy: POLICY, runs: 2 });
  const containers = query<{ path: string; bytes: number }>(a, 'SELECT path, bytes FROM containers ORDER BY id');
  const total = containers.reduce((n, c) => n + c.bytes, 0);
  const mount = join(a.dir, 'small-tape');
  mkdirSync(mount);
  // Room for about half of the containers.
  const size = Math.ceil((total / 2 + 64 * 1024) / 4096) * 4096;
  spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mount]);
  t.teardown(() => spawnSync('umount', ['-l', mount]));
  writeFileSync(join(a.data, 'facility.yaml'), facilityYaml(DEFAULT_TIERS.replace('path: tiers/tape', `path: ${mount}`)));
  const asOf = later(1.5 * HOUR_MS);
  const r = a.cli('migrate', '--as-of', asOf, '--json');
  t.is(r.code, 3, r.stderr);
  const s = JSON.parse(r.stdout) as MigrateJson;
  t.true(s.moved.containers > 0 && s.moved.containers < containers.length, `${s.moved.containers} of ${containers.length} fit`);
  t.is(s.paused.length, 1);
  t.like(s.paused[0], { tier: 'tape' });
  t.is(s.paused[0].bytesNeeded, containers.slice(s.moved.containers).reduce((n, c) => n + c.bytes, 0));
  t.is(files(join(a.data, 'tiers/hdd')).length, containers.length - s.moved.containers, 'the paused containers are still on hdd');
  t.deepEqual(files(mount).filter((f) => f.endsWith('.partial')), [], 'no partial aggregate is left');
  t.is(a.cli('verify').code, 0);

  spawnSync('mount', ['-o', `remount,size=${4 * size}`, mount]);
  const resumed = a.json<MigrateJson & { resumed: number }>('migrate', '--as-of', asOf);
  t.is(resumed.moved.containers, containers.length - s.moved.containers);
  t.deepEqual(files(join(a.data, 'tiers/hdd')), []);
  t.is(a.cli('verify').code, 0);
});

test('a corrupt source copy is held for verify: the other containers of its aggregate still go to tape in the same pass', async (t) => {
  const a = await makeArchive(t, { facility: facilityYaml(DEFAULT_TIERS), policy: POLICY, runs: 2 });
  const containers = query<{ path: string; sha256: string }>(a, 'SELECT path, sha256 FROM containers ORDER BY id');
  const victim = containers[1];
  const file = join(a.data, 'tiers/hdd', victim.path);
  const bytes = readFileSync(file);
  bytes[bytes.length >> 1] ^= 0xff; // same size, other bytes: found only by the checksum
  writeFileSync(file, bytes);
  const asOf = later(1.5 * HOUR_MS);
  const r = a.cli('migrate', '--as-of', asOf, '--json');
  t.is(r.code, 1, r.stderr);
  const s = JSON.parse(r.stdout) as Omit<MigrateJson, "failed"> & { failed: { path: string; reason: string }[] };
  t.is(s.moved.containers, containers.length - 1, 'every other container moved');
  t.deepEqual(s.failed.map((f) => f.path), [victim.path]);
  t.regex(s.failed[0].reason, /^source copy corrupt: .*run sxarchive verify$/);
  t.deepEqual(files(join(a.data, 'tiers/hdd')), [victim.path], 'the corrupt copy stays where it is');
  t.deepEqual(files(join(a.data, 'tiers/tape')).filter((f) => f.endsWith('.partial')), []);
  const again = a.cli('migrate', '--as-of', asOf);
  t.is(again.code, 0);
  t.regex(again.stderr, new RegExp(`held: ${victim.path.replaceAll('.', '\\.')} on hdd: source copy corrupt: .*\\(it moves again once verify has repaired it\\)`));
  const v = a.cli('verify', '--json');
  t.is(v.code, 1);
  t.deepEqual((JSON.parse(v.stdout) as { findings: { kind: string; container: string }[] }).findings.map((f) => [f.kind, f.container]), [['corrupt', victim.path]]);
});
