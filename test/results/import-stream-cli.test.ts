import test from 'ava';
import { spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCatalog, type Catalog } from '../../src/catalog/catalog.ts';
import type { ImportSummary } from '../../src/results/import-stream.ts';
import { sxarchive, sxarchiveJson } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { SHARED_DATA } from '../helpers/shared-data.ts';

const BIN = fileURLToPath(new URL('../../src/cli/bin.js', import.meta.url));
const SIM = join(SHARED_DATA, 'sim-lysozyme/');
const MULTI_TRUTH = [1, 0, 1, 1, 0, 1, 1, 0, 1, 0]; // /entry/truth/is_hit of lyso_multi10.h5

const count = (catalog: Catalog, sql: string) => (catalog.db.prepare(sql).get() as { n: number }).n;

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The stream's header, and each chunk's text, cut at the chunk markers. */
function splitStream(text: string): { header: string; chunks: string[] } {
  const parts = text.split(/(?=^----- Begin chunk -----$)/m);
  return { header: parts[0], chunks: parts.slice(1) };
}

test('import-stream matches frames that ingest recorded and prints a table or JSON', (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  sxarchiveJson(['--data-dir', data, 'ingest', join(SIM, 'lyso_multi10.h5'), '--experiment', 'lyso']);
  // indexamajig ran in another folder than the one the data was ingested from.
  mkdirSync(join(dir, 'processing'));
  const stream = join(dir, 'processing', 'lyso_multi10.stream');
  copyFileSync(join(SIM, 'lyso_multi10.stream'), stream);

  const summary = sxarchiveJson<ImportSummary>(['--data-dir', data, 'import-stream', stream, '--experiment', 'lyso']);
  t.like(summary, { experiment: 'lyso', chunks: 10, hits: 6, indexed: 6, crystals: 6, matched: 10, unmatched: 0, badChunks: 0 });
  t.is(summary.matchedBy.basename, 10);
  const catalog = openCatalog(join(data, 'catalog.sqlite'));
  t.teardown(() => catalog.close());
  const frames = catalog.db.prepare('SELECT event, indexed, n_crystals FROM frames ORDER BY id').all() as { event: string; indexed: number; n_crystals: number }[];
  t.deepEqual(frames.map((f) => f.event), Array.from({ length: 10 }, (_, i) => `//${i}`));
  t.deepEqual(frames.map((f) => f.indexed), MULTI_TRUTH);

  const text = sxarchive(['--data-dir', data, 'import-stream', stream, '--experiment', 'lyso']);
  t.is(text.code, 0);
  t.regex(text.stdout, /-> experiment lyso/);
  t.regex(text.stdout, /│ 10\s+│ 6\s+│ 6\s+│ 6\s+│ \d+\s+│ 10\s+│ 0\s+│ 0\s+│/);
  t.regex(text.stdout, /matched by 10 basename/);
  t.is(count(catalog, 'SELECT COUNT(*) AS n FROM results'), 10);

  const help = sxarchive(['import-stream', '--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /Usage: sxarchive import-stream \[options\] <file>/);
  const missing = sxarchive(['--data-dir', data, 'import-stream', join(dir, 'nope.stream'), '--experiment', 'lyso']);
  t.is(missing.code, 1);
  t.is(missing.stderr.trim(), `error: ${join(dir, 'nope.stream')}: no such file`);
});

test('--follow imports chunks as indexamajig writes them, waits for a partial chunk, and stops cleanly on SIGTERM', async (t) => {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const { header, chunks } = splitStream(readFileSync(join(SIM, 'lyso_multi10.stream'), 'utf8'));
  t.is(chunks.length, 10);
  const catalog = openCatalog(join(data, 'catalog.sqlite'));
  t.teardown(() => catalog.close());
  const exp = catalog.ensureExperiment({ name: 'live' });
  const run = catalog.createRun(exp.id);
  catalog.insertFrames(run.id, Array.from({ length: 10 }, (_, i) => ({ source: '/beamline/raw/lyso_multi10.h5', event: `//${i}`, width: 1024, height: 1024, pixelType: 'float32', rawBytes: 4 << 20 })));

  const stream = join(dir, 'live.stream');
  writeFileSync(stream, header);
  const child = spawn(process.execPath, [BIN, '--data-dir', data, 'import-stream', stream, '--experiment', 'live', '--follow', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const results = () => count(catalog, 'SELECT COUNT(*) AS n FROM results');

  // The header alone, then one chunk: once it is in the catalog the importer is at the end of
  // the file, waiting, and everything after this is appended while it follows.
  await new Promise((r) => setTimeout(r, 300));
  appendFileSync(stream, chunks[0]);
  await until('the first chunk', () => results() === 1);
  appendFileSync(stream, chunks[1]);
  const third = chunks[2];
  const cut = third.indexOf('Reflections measured after indexing');
  t.true(cut > 0);
  appendFileSync(stream, third.slice(0, cut));
  await until('the first two chunks', () => results() === 2);
  // The third chunk is half written: it must not appear, however long we wait.
  await new Promise((r) => setTimeout(r, 1200));
  t.is(results(), 2);
  appendFileSync(stream, third.slice(cut));
  await until('the third chunk', () => results() === 3);

  // Frames were labelled as the chunks arrived.
  const labelled = catalog.db.prepare('SELECT event, indexed, n_crystals FROM frames WHERE indexed IS NOT NULL ORDER BY event').all() as { event: string; indexed: number }[];
  t.deepEqual(labelled.map((f) => [f.event, f.indexed]), [['//0', 1], ['//1', 0], ['//3', 1]]);

  // A fourth chunk is being written when the operator stops the import.
  appendFileSync(stream, chunks[3].slice(0, 200));
  await new Promise((r) => setTimeout(r, 1000)); // longer than the poll interval, should no change event come

  child.kill('SIGTERM');
  const code = await exited;
  t.is(code, 0, stderr);
  const summary = JSON.parse(stdout) as ImportSummary;
  t.like(summary, { experiment: 'live', followed: true, chunks: 3, hits: 2, indexed: 2, crystals: 2, matched: 3, unmatched: 0, badChunks: 0 });
  t.is(summary.matchedBy.basename, 3);
  const fourthLine = (header + chunks.slice(0, 3).join('')).split('\n').length;
  t.is(summary.openChunkLine, fourthLine);
  t.is(results(), 3);
  // Not a terminal: no status line, no progress bar.
  t.is(stderr, '');
});
