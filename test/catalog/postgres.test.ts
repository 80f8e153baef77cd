// What the PostgreSQL catalog does differently underneath: SQLite's spellings rewritten, and
// transactions, nesting and refusals as they are on SQLite.
import test from 'ava';
import { openCatalog } from '../../src/catalog/catalog.ts';
import { toPostgres } from '../../src/catalog/postgres/dialect.ts';
import { PgDatabase } from '../../src/catalog/postgres/database.ts';
import { isSxError } from '../../src/errors.ts';
import { testCatalogLocation } from '../helpers/catalog.ts';

test('the dialect rewrites placeholders, INSERT OR IGNORE, json_object, REAL and camelCase names, and leaves literals alone', (t) => {
  t.like(toPostgres('SELECT id AS frameId, "x?" FROM frames WHERE run_id = ? AND event = ?'), { sql: 'SELECT id AS "frameId", "x?" FROM frames WHERE run_id = $1 AND event = $2', names: [] });
  t.like(toPostgres("SELECT * FROM p WHERE a = @at OR (b > @at AND c LIKE '%\"as\": @x?%') OR d = @now"), { sql: `SELECT * FROM p WHERE a = $1 OR (b > $1 AND c LIKE '%"as": @x?%') OR d = $2`, names: ['at', 'now'] });
  t.like(toPostgres('INSERT OR IGNORE INTO transfers (job_id) VALUES (?);'), { sql: 'INSERT INTO transfers (job_id) VALUES ($1) ON CONFLICT DO NOTHING', insertInto: 'transfers', returns: false });
  t.like(toPostgres('INSERT OR IGNORE INTO t (a) VALUES (?) RETURNING id'), { sql: 'INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING RETURNING id', returns: true });
  t.is(toPostgres("SELECT json_object('rawBytes', SUM(f.raw_bytes)) AS form, CAST(c.bytes AS REAL) / c.n_frames AS share FROM c").sql,
    `SELECT json_build_object('rawBytes', SUM(f.raw_bytes)) AS form, CAST(c.bytes AS DOUBLE PRECISION) / c.n_frames AS share FROM c`);
  t.is(toPostgres('SELECT k.keptBytes FROM (SELECT 1 AS keptBytes) k ORDER BY keptBytes').sql, 'SELECT k."keptBytes" FROM (SELECT 1 AS "keptBytes") k ORDER BY "keptBytes"');
  t.throws(() => toPostgres('SELECT ? WHERE a = @b'), { message: /mixes \? and @name/ });
});

test('postgres: a nested transaction that throws undoes only its own work; one that throws at the top undoes all; the connection stays usable', (t) => {
  const catalog = openCatalog(testCatalogLocation(t, 'postgres'));
  t.teardown(() => catalog.close());
  catalog.writeTransaction(() => {
    catalog.ensureExperiment({ name: 'outer' });
    t.throws(() => catalog.writeTransaction(() => {
      catalog.ensureExperiment({ name: 'inner' });
      throw new Error('inner fails');
    }), { message: 'inner fails' });
  });
  t.deepEqual(catalog.listExperiments().map((e) => e.name), ['outer']);
  // A failed statement aborts a PostgreSQL transaction: the rollback must still end it cleanly.
  t.throws(() => catalog.writeTransaction(() => {
    catalog.ensureExperiment({ name: 'lost' });
    catalog.db.prepare('INSERT INTO experiments (name, created_at) VALUES (?, ?)').run('outer', 'x');
  }), { message: /duplicate key value/ });
  t.deepEqual(catalog.listExperiments().map((e) => e.name), ['outer']);
  t.is(catalog.readTransaction(() => catalog.listExperiments().length), 1);
});

test('postgres: counts come back as numbers, booleans as 1/0, bytes as Buffers, as SQLite gives them', (t) => {
  const catalog = openCatalog(testCatalogLocation(t, 'postgres'));
  t.teardown(() => catalog.close());
  const row = catalog.db.prepare("SELECT COUNT(*) AS n, SUM(CAST(? AS BIGINT)) AS total, 1 = 1 AS yes, 1 = 2 AS no, CAST('ab' AS BYTEA) AS blob").get(2 ** 40) as Record<string, unknown>;
  t.deepEqual(row, { n: 1, total: 2 ** 40, yes: 1, no: 0, blob: Buffer.from('ab') });
  t.throws(() => catalog.db.prepare('SELECT ? AS x').get(true), { message: /not booleans/ });
});

test('postgres: a database without sxarchive tables is refused for reading, with how to make them; a server that does not answer is named', (t) => {
  const url = testCatalogLocation(t, 'postgres');
  const empty = t.throws(() => openCatalog(url, { readonly: true }));
  t.true(isSxError(empty, 'catalog'));
  t.regex(empty!.message, /has no sxarchive tables yet; run a command that writes it once \(e\.g\. sxarchive init\)/);
  const secret = url.replace('sxarchive@', 'sxarchive:hunter2@').replace(/:\d+\//, ':1/');
  const down = t.throws(() => openCatalog(secret));
  t.regex(down!.message, /cannot connect to the catalog at postgres:\/\/sxarchive:\*\*\*@127\.0\.0\.1:1\//);
  t.notRegex(down!.message, /hunter2/);
  new PgDatabase(url).close();
});

test('postgres: a catalog opened to read cannot write', (t) => {
  const url = testCatalogLocation(t, 'postgres');
  openCatalog(url).close();
  const reader = openCatalog(url, { readonly: true });
  t.teardown(() => reader.close());
  t.deepEqual(reader.listExperiments(), []);
  t.throws(() => reader.ensureExperiment({ name: 'no' }), { message: /read-only transaction/ });
});
