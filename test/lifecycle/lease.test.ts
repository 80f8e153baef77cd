// Two processes never work on the same container: a transfer's lease, its expiry and renewal,
// and two migration passes started at once on one archive; on either catalog backend.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openCatalog } from '../../src/catalog/catalog.ts';
import { LifecycleCatalog } from '../../src/catalog/lifecycle.ts';
import { eachBackend } from '../helpers/catalog.ts';
import { CLI_BIN } from '../helpers/cli.ts';
import { HOUR_MS, facilityYaml, later, makeArchive, query, sha256 } from './helpers.ts';

const POLICY = `policy: to-ssd
version: 1
rules:
  - name: all
    keep: [{ product: raw, lifecycle: [hdd: 1h, ssd: forever] }]
`;
const TIERS = `  ssd:  { kind: filesystem, path: tiers/ssd, price_per_tb_year: 100 }
  hdd:  { kind: filesystem, path: tiers/hdd, price_per_tb_year: 10 }`;

eachBackend('a lease keeps a transfer to its owner until it expires or the owner dies; renewal extends it, and only for its owner', async (t, backend) => {
  const a = await makeArchive(t, { facility: facilityYaml(TIERS), policy: POLICY, backend });
  const catalog = openCatalog(a.catalog);
  t.teardown(() => catalog.close());
  const store = new LifecycleCatalog(catalog.db);
  const source = store.livePlacements()[0];
  const [id] = store.planTransfers(null, [{ kind: 'migrate', containerId: source.containerId, sourcePlacementId: source.placementId, destTier: 'ssd', destStep: 1 }]);
  const alive = () => true;

  t.true(store.takeLease('transfers', id, 'host-a:1', alive));
  t.true(store.takeLease('transfers', id, 'host-a:1', alive), 'its owner takes it again');
  t.false(store.takeLease('transfers', id, 'host-b:2', alive), 'a live owner keeps it from another process');
  t.true(store.takeLease('transfers', id, 'host-b:2', (owner) => owner !== 'host-a:1'), 'a dead owner\'s lease is free');

  // host-b's lease runs out (time passes beyond it): free for anyone, unless renewed first.
  const expire = () => {
    catalog.db.prepare('UPDATE transfers SET lease_until = ? WHERE id = ?').run(new Date(Date.now() - 1000).toISOString(), id);
  };
  expire();
  store.renewLeases('transfers', [id], 'host-a:1');
  t.true(store.takeLease('transfers', id, 'host-a:1', alive), 'renewal by another owner did not extend host-b\'s lease');
  expire();
  store.renewLeases('transfers', [id], 'host-a:1');
  t.false(store.takeLease('transfers', id, 'host-b:2', alive), 'the owner\'s renewal keeps its lease');
  const [row] = query<{ lease_owner: string; lease_until: string }>(a, 'SELECT lease_owner, lease_until FROM transfers WHERE id = ?', id);
  t.is(row.lease_owner, 'host-a:1');
  t.true(Date.parse(row.lease_until) > Date.now() + 9 * 60_000, 'renewed by about ten minutes');
});

function migrateProcess(data: string, asOf: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI_BIN, '--data-dir', data, 'migrate', '--as-of', asOf, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

eachBackend('two migration passes started at once move every container exactly once between them', async (t, backend) => {
  const a = await makeArchive(t, { facility: facilityYaml(TIERS), policy: POLICY, runs: 3, backend });
  const containers = query<{ id: number; path: string; sha256: string }>(a, 'SELECT id, path, sha256 FROM containers ORDER BY id');
  t.true(containers.length >= 6);
  const asOf = later(1.5 * HOUR_MS);
  const [one, two] = await Promise.all([migrateProcess(a.data, asOf), migrateProcess(a.data, asOf)]);
  t.is(one.code, 0, one.stderr);
  t.is(two.code, 0, two.stderr);
  const moved = [one, two].map((r) => (JSON.parse(r.stdout) as { moved: { containers: number } }).moved.containers);
  t.is(moved[0] + moved[1], containers.length, `moved ${moved.join(' + ')}`);

  const copies = query<{ container_id: number; tier: string; state: string }>(a, 'SELECT container_id, tier, state FROM placements ORDER BY container_id, tier');
  for (const c of containers) {
    t.deepEqual(copies.filter((p) => p.container_id === c.id).map((p) => `${p.tier} ${p.state}`), ['hdd trimmed', 'ssd verified'], c.path);
    t.is(sha256(join(a.data, 'tiers/ssd', c.path)), c.sha256);
  }
  const transfers = query<{ container_id: number; n: number }>(a, "SELECT container_id, COUNT(*) AS n FROM transfers WHERE state != 'failed' GROUP BY container_id");
  t.true(transfers.every((r) => r.n === 1), 'one transfer carried out per container');
  t.deepEqual(readdirSync(join(a.data, 'tiers/ssd'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.partial')), []);
});
