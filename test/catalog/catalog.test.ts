import type Database from 'better-sqlite3';
import { openCatalog, type NewFrame } from '../../src/catalog/catalog.ts';
import { readMigrations } from '../../src/catalog/migrator.ts';
import type { SqlDatabase } from '../../src/catalog/sql.ts';
import { isSxError } from '../../src/errors.ts';
import { eachBackend, migrationsDir, testCatalogLocation, type Backend } from '../helpers/catalog.ts';

const frame = (event: number): NewFrame => ({ source: '/data/run1.h5', event: `//${event}`, width: 4, height: 2, pixelType: 'uint16', rawBytes: 16 });

const TABLES_SQL = {
  sqlite: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
  postgres: 'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name',
};
const tables = (db: SqlDatabase, backend: Backend) => (db.prepare(TABLES_SQL[backend]).all() as { name: string }[]).map((r) => r.name);

/** The unique-constraint error each backend gives for a second container at the same path. */
const DUPLICATE_PATH = { sqlite: /UNIQUE constraint failed: containers\.path/, postgres: /duplicate key value violates unique constraint "containers_path_key"/ };

eachBackend('a new catalog has every table and all migrations recorded (SQLite: WAL journaling)', (t, backend) => {
  const catalog = openCatalog(testCatalogLocation(t, backend));
  t.teardown(() => catalog.close());
  t.deepEqual(tables(catalog.db, backend), [
    'aggregates', 'applications', 'containers', 'cost_ledger', 'crystals', 'decisions', 'deletions', 'experiment_changes', 'experiments', 'frames', 'jobs',
    'pending_decisions', 'placements', 'policies', 'recall_items', 'recalls', 'results', 'rule_totals', 'run_frame_totals', 'runs', 'schema_migrations', 'transfers', 'verify_findings',
  ]);
  if (backend === 'sqlite') {
    const db = catalog.db as Database.Database;
    t.is(db.pragma('journal_mode', { simple: true }), 'wal');
    t.is(db.pragma('foreign_keys', { simple: true }), 1);
  }
  const versions = (catalog.db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[]).map((r) => r.version);
  t.deepEqual(versions, readMigrations().map((m) => m.version));
  t.deepEqual(readMigrations(migrationsDir(backend)).map((m) => `${m.version}_${m.name}`), readMigrations().map((m) => `${m.version}_${m.name}`), 'both backends have the same migrations');
});

eachBackend('a catalog from an older version upgrades in place and keeps its rows', (t, backend) => {
  const path = testCatalogLocation(t, backend);
  const [first] = readMigrations(migrationsDir(backend));
  const old = openCatalog(path, { migrations: [first] });
  t.false(tables(old.db, backend).includes('jobs'));
  // Rows as the first version wrote them: plain SQL, since today's code writes newer columns
  // (the first of each table has id 1).
  old.db.exec(`
    INSERT INTO experiments (name, proposal, facility, sample_tags, metadata, created_at) VALUES ('lyso', 'p-1', 'P11', '["lysozyme"]', '{}', 'x');
    INSERT INTO runs (experiment_id, number, started_at) VALUES (1, 1, 'x');
    INSERT INTO frames (run_id, source, event, width, height, pixel_type, raw_bytes) VALUES (1, '/d/r.h5', '//0', 4, 2, 'uint16', 16), (1, '/d/r.h5', '//1', 4, 2, 'uint16', 16);`);
  old.close();

  const upgraded = openCatalog(path);
  t.teardown(() => upgraded.close());
  t.true(tables(upgraded.db, backend).includes('jobs'));
  t.true(tables(upgraded.db, backend).includes('cost_ledger'));
  t.deepEqual(upgraded.findExperiment('lyso')?.sampleTags, ['lysozyme']);
  t.is((upgraded.db.prepare('SELECT COUNT(*) AS n FROM frames').get() as { n: number }).n, 2);
  upgraded.db.prepare("INSERT INTO jobs (kind, state, created_at, updated_at) VALUES ('migrate', 'copying', 'x', 'x')").run();
  // The upgraded catalog takes rows the new way.
  const run = upgraded.createRun(1, { geometry: 'g.geom' });
  t.is(run.number, 2);
  t.deepEqual(upgraded.insertFrames(run.id, [frame(0)]).length, 1);
});

eachBackend('a catalog written by a newer sxarchive is refused, not guessed at', (t, backend) => {
  const path = testCatalogLocation(t, backend);
  openCatalog(path).close();
  const error = t.throws(() => openCatalog(path, { migrations: readMigrations(migrationsDir(backend)).slice(0, 1) }));
  t.true(isSxError(error, 'catalog'));
  t.regex(error!.message, /migration 2 \(jobs_and_cost_ledger\) that this sxarchive does not know/);
});

eachBackend('an applied migration that was edited afterwards is refused', (t, backend) => {
  const path = testCatalogLocation(t, backend);
  openCatalog(path).close();
  const edited = readMigrations(migrationsDir(backend)).map((m, i) => (i === 0 ? { ...m, sha256: 'changed' } : m));
  const error = t.throws(() => openCatalog(path, { migrations: edited }));
  t.regex(error!.message, /migration 1 \(initial\) was changed after it was applied/);
});

eachBackend('an experiment seen again keeps its metadata: a different value is refused, a deliberate change is recorded', (t, backend) => {
  const catalog = openCatalog(testCatalogLocation(t, backend));
  t.teardown(() => catalog.close());
  const e1 = catalog.ensureExperiment({ name: 'e1', facility: 'P11', sampleTags: ['a', 'b'] });
  t.is(catalog.createRun(e1.id).number, 1, 'frames are decided by this metadata from now on');
  t.like(catalog.ensureExperiment({ name: 'e1', sampleTags: ['b'] }), { facility: 'P11', sampleTags: ['a', 'b'] }, 'left out or already recorded: no change');
  const refused = t.throws(() => catalog.ensureExperiment({ name: 'e1', facility: 'P14', sampleTags: ['c'] }));
  t.regex(refused!.message, /experiment "e1" already has other metadata \(facility: recorded "P11", given "P14"; sample_tags: recorded \[a, b\], given \[c\]\).*sxarchive experiment set e1/);
  t.like(catalog.findExperiment('e1'), { facility: 'P11', sampleTags: ['a', 'b'] });
  const { experiment, changed } = catalog.setExperimentMetadata('e1', { facility: 'P14', proposal: 'p-7' });
  t.like(experiment, { facility: 'P14', proposal: 'p-7' });
  t.deepEqual(changed.map((c) => c.field), ['proposal', 'facility']);
  t.deepEqual(catalog.experimentChanges(experiment.id).map(({ field, old, new: value }) => ({ field, old, value })), [
    { field: 'proposal', old: null, value: 'p-7' },
    { field: 'facility', old: 'P11', value: 'P14' },
  ]);
  t.is(catalog.createRun(experiment.id).number, 2);
  t.is(catalog.createRun(experiment.id).number, 3);
});

eachBackend('a policy version is immutable: same text is the same row, new text needs a new version', (t, backend) => {
  const catalog = openCatalog(testCatalogLocation(t, backend));
  t.teardown(() => catalog.close());
  const id = catalog.registerPolicy('hits-only', 1, 'text-a', 'hash-a');
  t.is(catalog.registerPolicy('hits-only', 1, 'text-a', 'hash-a'), id);
  const error = t.throws(() => catalog.registerPolicy('hits-only', 1, 'text-b', 'hash-b'));
  t.regex(error!.message, /hits-only version 1 is already recorded with different content/);
  t.not(catalog.registerPolicy('hits-only', 2, 'text-b', 'hash-b'), id);
});

eachBackend('recording a batch stores frames, containers, placements and decisions together, or nothing', (t, backend) => {
  const catalog = openCatalog(testCatalogLocation(t, backend));
  t.teardown(() => catalog.close());
  const exp = catalog.ensureExperiment({ name: 'e1' });
  const run = catalog.createRun(exp.id);
  const policyId = catalog.registerPolicy('hits-only', 1, 'x', 'h');
  const container = { experimentId: exp.id, path: 'e1/run-0001/raw-00001.h5', product: 'raw', codec: 'bitshuffle-lz4', nFrames: 2, bytes: 1234, sha256: 'ab', lifecycle: [{ tier: 'hdd', days: 30 }] };
  const batch = {
    runId: run.id,
    experimentId: exp.id,
    policyId,
    frames: [frame(0), frame(1), frame(2)],
    containers: [{ container, tier: 'hdd', location: '/tiers/hdd/e1/run-0001/raw-00001.h5', validUntil: '2031-01-01T00:00:00.000Z' }],
    decisions: [
      { frame: 0, rule: 'hits', product: 'raw', codec: 'bitshuffle-lz4', tier: 'hdd', container: 0, containerIndex: 0 },
      { frame: 1, rule: 'blanks', product: 'labels', codec: 'none', tier: 'catalog' },
      { frame: 2, rule: 'hits', product: 'raw', codec: 'bitshuffle-lz4', tier: 'hdd', container: 0, containerIndex: 1 },
    ],
  };
  const { frameIds, containerIds } = catalog.recordBatch(batch);
  t.is(frameIds.length, 3);
  const decisions = catalog.db.prepare('SELECT f.event, d.rule, d.product, d.container_id, d.container_index FROM decisions d JOIN frames f ON f.id = d.frame_id ORDER BY f.id').all();
  t.deepEqual(decisions, [
    { event: '//0', rule: 'hits', product: 'raw', container_id: containerIds[0], container_index: 0 },
    { event: '//1', rule: 'blanks', product: 'labels', container_id: null, container_index: null },
    { event: '//2', rule: 'hits', product: 'raw', container_id: containerIds[0], container_index: 1 },
  ]);
  t.like(catalog.db.prepare('SELECT tier, state, valid_until FROM placements WHERE container_id = ?').get(containerIds[0]), { tier: 'hdd', state: 'active', valid_until: '2031-01-01T00:00:00.000Z' });

  // The same container path again violates a constraint after the frames were inserted: all rolled back.
  t.throws(() => catalog.recordBatch({ ...batch, frames: [frame(3)], decisions: [] }), { any: true, message: DUPLICATE_PATH[backend] });
  t.is((catalog.db.prepare('SELECT COUNT(*) AS n FROM frames').get() as { n: number }).n, 3);
});

eachBackend('an experiment without runs yet (made by import-stream) takes the metadata of its first run, recorded', (t, backend) => {
  const catalog = openCatalog(testCatalogLocation(t, backend));
  t.teardown(() => catalog.close());
  const made = catalog.ensureExperiment({ name: 'e1' });
  t.like(catalog.previewExperiment({ name: 'e1', facility: 'P11', sampleTags: ['unobtainium'] }), { facility: 'P11', sampleTags: ['unobtainium'] });
  t.like(catalog.findExperiment('e1'), { facility: null, sampleTags: [] }, 'a preview writes nothing');
  const run = catalog.startRun({ experiment: { name: 'e1', facility: 'P11', sampleTags: ['unobtainium'] }, policy: { name: 'p', version: 1, text: 'x', contentHash: 'h' }, sources: ['/a.h5'], owner: 'host:1' }, () => false);
  t.like(run.experiment, { id: made.id, facility: 'P11', sampleTags: ['unobtainium'] });
  t.deepEqual(catalog.experimentChanges(made.id).map((c) => c.field), ['facility', 'sample_tags']);
  t.throws(() => catalog.previewExperiment({ name: 'e1', facility: 'P14' }), { message: /already has other metadata/ }, 'once a run exists, no more');
});
