// `policy apply` through the real command line: an experiment archived under keep-all re-decided
// under peaks-only, containers kept as they are under a new lifecycle, refusals when the raw
// data is gone, and SIGKILLs at any point of an application.
import test from 'ava';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI_BIN } from '../helpers/cli.ts';
import { DEBIAN_PYTHON } from '../helpers/h5py.ts';
import { eachBackend } from '../helpers/catalog.ts';
import { DEFAULT_TIERS, HOUR_MS, age, facilityYaml, makeArchive, query, sha256, type Archive } from './helpers.ts';

const CHECK = new URL('../python/check_containers.py', import.meta.url).pathname;

const KEEP_ALL = `policy: keep-everything
version: 1
rules:
  - name: everything
    keep: [{ product: raw, codec: bitshuffle-lz4, lifecycle: [hdd: forever] }]
`;

interface ApplyJson {
  application: number;
  frames: number;
  rules: Record<string, number>;
  keep: { containerId: number; path: string; bytes: number; lifecycle?: string }[];
  write: { product: string; tier: string; frames: number; estimatedBytes: number }[];
  drop: { containerId: number; path: string; bytes: number }[];
  before: { containers: number; bytes: number };
  after: { containers: number; bytes: number; estimated: boolean };
  written: { containers: number; bytes: number };
  dropped: { containers: number; bytes: number };
}

interface Container { id: number; path: string; product: string; bytes: number; sha256: string; n_frames: number; location: string | null; application_id: number | null }

const liveContainers = (a: Archive) => query<Container>(a, `SELECT c.id, c.path, c.product, c.bytes, c.sha256, c.n_frames, p.location, c.application_id FROM containers c
  JOIN placements p ON p.container_id = c.id AND p.state IN ('active', 'verified') ORDER BY c.id`);

/** h5py (with Debian's filter plugins) opens each container, reads every frame and finds the recorded count and SHA-256. */
function h5pyChecks(containers: Container[]): { ok: boolean; events: string[]; error?: string }[] {
  const input = JSON.stringify(containers.map((c) => ({ path: c.location, sha256: c.sha256, frames: c.n_frames })));
  return JSON.parse(execFileSync(DEBIAN_PYTHON, [CHECK], { input, encoding: 'utf8' })) as { ok: boolean; events: string[]; error?: string }[];
}

function tierFiles(a: Archive): string[] {
  const dir = join(a.data, 'tiers/hdd');
  return existsSync(dir) ? readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.h5') || f.endsWith('.tmp')).sort() : [];
}

eachBackend('keep-all applied as peaks-only: peak containers written and verified before the raw ones go, bytes fall as the dry-run said, h5py reads them, both policies recorded', async (t, backend) => {
  const a = await makeArchive(t, { backend, facility: facilityYaml(DEFAULT_TIERS), policy: KEEP_ALL, runs: 2, detector: 'det1024' });
  const raw = liveContainers(a);
  const hits = query<{ id: number; source: string; event: string }>(a, 'SELECT id, source, event FROM frames WHERE hit = 1 ORDER BY id');
  const frames = query<{ n: number }>(a, 'SELECT COUNT(*) AS n FROM frames')[0].n;
  t.true(hits.length > 0 && hits.length < frames);

  const plan = a.json<ApplyJson>('policy', 'apply', 'peaks-only', 'lyso', '--dry-run');
  t.deepEqual(plan.rules, { 'hit-peaks': hits.length, blanks: frames - hits.length });
  t.deepEqual(plan.write.map((w) => [w.product, w.tier, w.frames]), [['peaks', 'hdd', hits.length]]);
  t.deepEqual(plan.drop.map((d) => d.path).sort(), raw.map((c) => c.path).sort());
  t.is(plan.before.bytes, raw.reduce((n, c) => n + c.bytes, 0));
  t.deepEqual(liveContainers(a), raw, 'the dry-run changed nothing');
  t.is(query(a, 'SELECT * FROM applications').length, 0);

  const done = a.json<ApplyJson>('policy', 'apply', 'peaks-only', 'lyso');
  t.is(done.application, 1);
  const now = liveContainers(a);
  t.true(now.every((c) => c.product === 'peaks' && c.application_id === 1 && c.path.startsWith('lyso/apply-0001/')));
  t.is(now.reduce((n, c) => n + c.n_frames, 0), hits.length);
  t.is(done.written.bytes, now.reduce((n, c) => n + c.bytes, 0));
  t.deepEqual(done.after, { containers: now.length, bytes: done.written.bytes, estimated: false });
  t.deepEqual(done.dropped, { containers: raw.length, bytes: plan.before.bytes });
  // The factor the dry-run promised, within the estimates' tolerance, and a real reduction.
  const factor = plan.before.bytes / done.after.bytes;
  t.true(Math.abs(done.after.bytes - plan.after.bytes) <= 0.25 * done.after.bytes, `estimated ${plan.after.bytes}, wrote ${done.after.bytes}`);
  t.true(factor > 5, `raw ${plan.before.bytes} -> peaks ${done.after.bytes}`);
  t.deepEqual(tierFiles(a), now.map((c) => c.path.replace(/^lyso\//, 'lyso/')).sort(), 'the raw files are gone, only the new containers are on the tier');
  for (const c of now) t.is(sha256(c.location!), c.sha256);
  // Read back before the old ones went: each new copy is recorded verified, earlier than any deletion.
  const order = query<{ verified: string; deleted: string }>(a, `SELECT MAX(p.verified_at) AS verified, (SELECT MIN(deleted_at) FROM deletions) AS deleted
    FROM placements p JOIN containers c ON c.id = p.container_id WHERE c.application_id = 1`)[0];
  t.true(order.verified <= order.deleted);
  const checks = h5pyChecks(now);
  t.true(checks.every((c) => c.ok), JSON.stringify(checks));
  t.deepEqual(checks.flatMap((c) => c.events), hits.map((h) => `${h.source}${h.event}`));

  const decisions = query<{ frame_id: number; policy: string; product: string; superseded_by: number | null }>(a, `SELECT d.frame_id, p.name AS policy, d.product, d.superseded_by
    FROM decisions d JOIN policies p ON p.id = d.policy_id ORDER BY d.frame_id, d.id`);
  t.is(decisions.length, 2 * frames, 'every frame has its keep-everything decision and its peaks-only one');
  for (const d of decisions) t.is(d.superseded_by, d.policy === 'keep-everything' ? 1 : null);
  t.deepEqual(decisions.filter((d) => d.policy === 'peaks-only' && d.product === 'peaks').map((d) => d.frame_id), hits.map((h) => h.id));

  const report = a.json<{ products: { product: string }[]; rules: { rule: string; frames: number }[]; storedBytes: number; expired: { containers: number };
    applications: { policy: string; replaced: string[]; savedBytes: number; state: string }[] }>('report', 'lyso');
  t.deepEqual(report.products.map((p) => p.product), ['peaks']);
  t.deepEqual(report.rules.map((r) => [r.rule, r.frames]).sort(), [['blanks', frames - hits.length], ['hit-peaks', hits.length]]);
  t.is(report.storedBytes, done.after.bytes);
  t.is(report.expired.containers, 0, 'what an application deleted is a saving, not an expiry');
  t.deepEqual(report.applications, [{ ...report.applications[0], policy: 'peaks-only v1', replaced: ['keep-everything v1'], savedBytes: plan.before.bytes - done.after.bytes, state: 'done' }]);
  t.regex(a.cli('report', 'lyso').stdout, /policy apply peaks-only v1 \(replacing keep-everything v1\) on \d{4}-\d\d-\d\d: .* kept, saves /);

  const again = a.cli('policy', 'apply', 'peaks-only', 'lyso');
  t.is(again.code, 0, again.stderr);
  t.regex(again.stdout, /decided by policy peaks-only v1 already: nothing to do/);
  t.is(query(a, 'SELECT * FROM applications').length, 1);
  t.is(a.cli('verify').code, 0, 'verify finds nothing missing, corrupt or orphaned');
});

test('a policy asking for what the containers hold already keeps them as they are, under its lifecycle', async (t) => {
  const a = await makeArchive(t, { facility: facilityYaml(DEFAULT_TIERS), policy: KEEP_ALL });
  const before = liveContainers(a);
  const longer = join(a.dir, 'ten-years.yaml');
  writeFileSync(longer, KEEP_ALL.replace('keep-everything', 'keep-ten-years').replace('hdd: forever', 'hdd: 10y'));
  const done = a.json<ApplyJson>('policy', 'apply', longer, 'lyso');
  t.deepEqual(done.write, []);
  t.deepEqual(done.drop, []);
  t.deepEqual(done.keep.map((k) => [k.path, k.lifecycle]), before.map((c) => [c.path, 'hdd 3650d']));
  t.deepEqual(liveContainers(a), before, 'nothing written, nothing deleted');
  t.deepEqual(query<{ lifecycle: string }>(a, 'SELECT DISTINCT lifecycle FROM containers').map((r) => JSON.parse(r.lifecycle)), [[{ tier: 'hdd', days: 3650 }]]);
  t.deepEqual(query<{ n: number }>(a, "SELECT COUNT(*) AS n FROM decisions d JOIN policies p ON p.id = d.policy_id WHERE p.name = 'keep-ten-years' AND d.container_id IS NOT NULL")[0].n, 8);
});

test('asking for a reduction of raw data that expired, or was never kept, is refused before anything changes', async (t) => {
  const a = await makeArchive(t, { facility: facilityYaml(DEFAULT_TIERS), policy: KEEP_ALL.replace('hdd: forever', 'hdd: 1h') });
  age(a, 2 * HOUR_MS);
  t.is(a.cli('expire').code, 0);
  const r = a.cli('policy', 'apply', 'peaks-only', 'lyso');
  t.is(r.code, 2, r.stderr);
  t.regex(r.stderr, /asks for products of experiment "lyso" that cannot be made from what is kept:\n {2}peaks: raw of \d+ frames expired on \d{4}-\d\d-\d\d\nnothing was changed/);
  t.is(query(a, 'SELECT * FROM applications').length, 0);
  t.is(query(a, 'SELECT * FROM decisions WHERE superseded_by IS NOT NULL').length, 0);

  const hitsOnly = await makeArchive(t, { facility: facilityYaml(DEFAULT_TIERS), policy: KEEP_ALL.replace('rules:\n', 'rules:\n  - name: hits\n    when: { hit: true }\n    keep: [{ product: raw, lifecycle: [hdd: forever] }]\n  - name: blanks\n    keep: []\n').replace(/ {2}- name: everything\n.*\n/, '') });
  const blanks = query<{ n: number }>(hitsOnly, 'SELECT COUNT(*) AS n FROM frames WHERE hit = 0')[0].n;
  const refused = hitsOnly.cli('policy', 'apply', 'keep-all', 'lyso', '--dry-run');
  t.is(refused.code, 2);
  t.regex(refused.stderr, new RegExp(`raw: raw of ${blanks} frames was not kept \\(rule blanks of keep-everything v1\\)`));
});

eachBackend('SIGKILL at any point of an application leaves the catalog consistent, and the next run finishes it', async (t, backend) => {
  const a = await makeArchive(t, { backend, facility: facilityYaml(DEFAULT_TIERS), policy: KEEP_ALL, runs: 3, detector: 'det1024' });
  const raw = liveContainers(a);
  const frames = query<{ n: number }>(a, 'SELECT COUNT(*) AS n FROM frames')[0].n;
  const state = () => query<{ state: string }>(a, 'SELECT state FROM applications')[0]?.state ?? 'not started';
  const count = (sql: string) => query<{ n: number }>(a, sql)[0].n;
  /** Runs the application and kills it the moment `when` holds (polled), or lets it end. */
  const killWhen = async (when: () => boolean): Promise<string> => {
    const child = spawn(process.execPath, [CLI_BIN, '--data-dir', a.data, 'policy', 'apply', 'peaks-only', 'lyso'], { stdio: 'ignore' });
    let exited = false;
    const exit = new Promise((done) => child.once('exit', () => done((exited = true))));
    while (!exited && !when()) await new Promise((done) => setTimeout(done, 5));
    const killed = !exited && child.kill('SIGKILL');
    await exit;
    return killed ? state() : 'ran to its end';
  };
  const checkConsistent = () => {
    // Every frame decided exactly once in force; before the switch every raw container still holds data.
    const inForce = query<{ frames: number; policies: number }>(a, 'SELECT COUNT(DISTINCT frame_id) AS frames, COUNT(DISTINCT policy_id) AS policies FROM decisions WHERE superseded_by IS NULL')[0];
    t.is(inForce.frames, frames);
    t.is(inForce.policies, 1);
    if (state() === 'writing' || state() === 'not started') t.deepEqual(liveContainers(a).filter((c) => c.application_id === null), raw);
    // A copy whose deletion was under way when the kill came may be gone already: the next run finishes it.
    const deleting = new Set(query<{ location: string }>(a, "SELECT location FROM deletions WHERE state = 'deleting'").map((d) => d.location));
    for (const c of liveContainers(a)) if (!deleting.has(c.location!)) t.is(sha256(c.location!), c.sha256, `${c.path} is what the catalog says`);
  };
  // Killed while a new container is being written, after one is recorded, and while the old ones are deleted.
  const kills: string[] = [];
  for (const when of [
    () => tierFiles(a).some((f) => f.endsWith('.tmp')),
    () => count('SELECT COUNT(*) AS n FROM containers WHERE application_id IS NOT NULL') >= 1,
    () => count("SELECT COUNT(*) AS n FROM deletions WHERE state = 'deleted'") >= 1,
  ]) {
    kills.push(await killWhen(when));
    checkConsistent();
  }
  t.true(kills.filter((k) => k !== 'ran to its end').length >= 2, kills.join(', '));
  const r = a.cli('policy', 'apply', 'peaks-only', 'lyso', '--json');
  t.is(r.code, 0, r.stderr);
  t.is(query<{ state: string }>(a, 'SELECT state FROM applications')[0].state, 'done');
  const now = liveContainers(a);
  t.true(now.length > 0 && now.every((c) => c.product === 'peaks'));
  t.is(now.reduce((n, c) => n + c.n_frames, 0), query<{ n: number }>(a, 'SELECT COUNT(*) AS n FROM frames WHERE hit = 1')[0].n, 'each hit in one new container');
  t.deepEqual(tierFiles(a), now.map((c) => c.path).sort(), 'nothing left behind on the tier');
  t.is(query(a, 'SELECT * FROM pending_decisions').length, 0);
  t.true(h5pyChecks(now).every((c) => c.ok));
  t.is(a.cli('verify').code, 0);
  t.log(`killed in: ${kills.join(', ')}`);
});
