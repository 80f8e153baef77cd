import test from 'ava';
import { createReadStream, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isSxError } from '../../src/errors.ts';
import {
  CrystfelStreamParser,
  formatProblem,
  parseCrystfelStream,
  readCrystfelStreamFile,
  type StreamItem,
} from '../../src/formats/crystfel-stream.ts';
import { loadH5 } from '../../src/store/hdf5.ts';
import { SHARED_DATA } from '../helpers/shared-data.ts';

const DATA = SHARED_DATA;
const REAL = join(DATA, 'real/crystfel_test_stream/test.stream');
const SIM = join(DATA, 'sim-lysozyme');

const close = (actual: number, expected: number, tolerance = 1e-9) => Math.abs(actual - expected) <= tolerance;

async function collect(input: Parameters<typeof parseCrystfelStream>[0], file = 'mem.stream'): Promise<StreamItem[]> {
  const items: StreamItem[] = [];
  for await (const item of parseCrystfelStream(input, { file })) items.push(item);
  return items;
}

test('the real CrystFEL 0.9.1 stream: header, 70 chunks, 32 crystals', async (t) => {
  const { header, chunks, badChunks } = await readCrystfelStreamFile(REAL);
  t.is(header.formatVersion, '2.3');
  t.is(header.generatedBy, 'CrystFEL 0.9.1+2c51b20e');
  t.regex(header.commandLine!, /indexamajig -i files\.lst -o test\.stream/);
  t.deepEqual(header.indexingMethods, ['xgandalf']);
  t.true(header.geometry!.startsWith('adu_per_eV = 0.00105\n'));
  t.regex(header.geometry!, /^q0a0\/corner_x = 449\.314461$/m);
  t.regex(header.unitCell!, /^lattice_type = orthorhombic$/m);
  t.is(chunks.length, 70);
  t.is(badChunks.length, 0);
  t.is(chunks.reduce((n, c) => n + c.crystals.length, 0), 32);
  t.is(chunks.filter((c) => c.indexed).length, 32);
  t.is(chunks.filter((c) => c.hit).length, 70);
  t.true(chunks.every((c) => c.warnings.length === 0));
  // Every chunk's table agrees with the counts the stream states.
  t.true(chunks.every((c) => c.peaks.length === c.numPeaks));
  t.true(chunks.flatMap((c) => c.crystals).every((x) => x.reflections.length === x.numReflections));
});

test('the real stream: the first chunk, its peak row, its cell in Å and a reflection row', async (t) => {
  const { chunks } = await readCrystfelStreamFile(REAL);
  const c = chunks[0];
  t.like(c, {
    line: 669, endLine: 982, filename: 'r0092-ab/data1/LCLS_2013_Mar22_r0092_035103_1824f.h5', serial: 1, hit: true,
    indexedBy: 'xgandalf-nolatt-cell', nIndexingTries: 1, photonEnergyEv: 9511.868397, beamDivergenceRad: 0, beamBandwidth: 1e-8,
    averageCameraLengthM: 0.152001, numPeaks: 20, peakResolutionPerNm: 3.876811,
  });
  // CrystFEL 0.9 writes no Event line for a single-frame file; 0.10+ calls that event "//".
  t.is(c.event, '//');
  t.deepEqual(c.headers, { '/LCLS/detector0-EncoderValue': -429.99881, '/LCLS/photon_energy_eV': 9511.868397 });
  t.deepEqual(c.peaks[1], { fs: 87.5, ss: 47.17, oneOverDPerNm: 2.18, intensity: 835.72, panel: 'q0a0' });
  t.deepEqual(c.peaks[19], { fs: 502.5, ss: 539.11, oneOverDPerNm: 3.88, intensity: 438.95, panel: 'q1a4' });
  const x = c.crystals[0];
  // "Cell parameters 6.13532 12.19726 16.88163 nm, 90.54524 91.23016 90.53769 deg"
  t.true(close(x.aA, 61.3532) && close(x.bA, 121.9726) && close(x.cA, 168.8163));
  t.deepEqual([x.alphaDeg, x.betaDeg, x.gammaDeg], [90.54524, 91.23016, 90.53769]);
  t.deepEqual(x.astarPerNm, [0.0706577, -0.1444151, 0.0270631]);
  t.deepEqual(x.cstarPerNm, [0.0296121, 0.0034501, -0.0512061]);
  t.like(x, { latticeType: 'orthorhombic', centering: 'C', uniqueAxis: '?', profileRadiusPerNm: 0.00258, resolutionLimitPerNm: 1.8, numReflections: 257, numSaturatedReflections: 0 });
  t.true(close(x.resolutionLimitA!, 10 / 1.8));
  t.is(x.extra['predict_refine/final_residual'], '3.289294e-07');
  t.deepEqual(x.reflections[0], { h: -28, k: 10, l: 5, intensity: 185.09, sigma: 155.78, peak: 217, background: 64.71, fs: 634.8, ss: 1057.6, panel: 'q1a11' });
  t.deepEqual(x.reflections.at(-1), { h: 25, k: 9, l: 34, intensity: 188.34, sigma: 90.75, peak: 169, background: 71.46, fs: 1461.9, ss: 1093.9, panel: 'q3a11' });
  // An unindexed chunk: no crystals, indexed_by none.
  t.like(chunks[2], { indexed: false, indexedBy: null, hit: true, crystals: [] });
});

test('an array of lines parses the same as a readable stream', async (t) => {
  const fromLines = await collect(readFileSync(REAL, 'utf8').split('\n'));
  const fromStream = await collect(createReadStream(REAL, { highWaterMark: 1000 }));
  t.is(fromLines.length, 71);
  t.deepEqual(fromLines, fromStream);
  t.is(fromLines[0].kind, 'header');
});

test('sim-lysozyme asdf stream: every true hit indexed with the true cell, no blank flagged', async (t) => {
  const { header, chunks, badChunks } = await readCrystfelStreamFile(join(SIM, 'lyso_asdf.stream'));
  t.is(header.generatedBy, 'CrystFEL 0.12.0');
  t.is(badChunks.length, 0);
  t.is(chunks.length, 75);
  for (const c of chunks) {
    const trueHit = /^frames\/hit-\d+\.h5$/.test(c.filename);
    t.true(trueHit || /^frames\/blank-\d+\.h5$/.test(c.filename), c.filename);
    t.is(c.event, '//');
    t.is(c.hit, trueHit, c.filename);
    t.is(c.indexed, trueHit, c.filename);
    t.is(c.indexedBy, trueHit ? 'asdf' : null, c.filename);
  }
  const crystals = chunks.flatMap((c) => c.crystals);
  t.is(crystals.length, 50);
  // lyso.cell: tetragonal a = b = 79.1, c = 38.4 Å
  t.true(crystals.every((x) => close(x.aA, 79.1, 0.1) && close(x.bA, 79.1, 0.1) && close(x.cA, 38.4, 0.1) && x.latticeType === 'tetragonal'));
  const first = chunks.find((c) => c.filename === 'frames/hit-1.h5')!;
  t.true(close(first.crystals[0].aA, 79.1165) && close(first.crystals[0].cA, 38.3889));
  t.deepEqual(first.crystals[0].reflections[0], { h: -31, k: -26, l: 8, intensity: 12.12, sigma: 10.34, peak: 9, background: 1.88, fs: 963, ss: 38.9, panel: 'p0' });
});

test('sim-lysozyme multi-event stream: indexed matches the HDF5 truth event by event', async (t) => {
  const h5 = await loadH5();
  const file = new h5.File(join(SIM, 'lyso_multi10.h5'), 'r');
  const isHit = Array.from((file.get('/entry/truth/is_hit') as InstanceType<typeof h5.Dataset>).value as Uint8Array);
  file.close();
  t.deepEqual(isHit, [1, 0, 1, 1, 0, 1, 1, 0, 1, 0]);
  const { chunks, badChunks } = await readCrystfelStreamFile(join(SIM, 'lyso_multi10.stream'));
  t.is(badChunks.length, 0);
  t.is(chunks.length, 10);
  t.deepEqual(chunks.map((c) => c.event).sort(), Array.from({ length: 10 }, (_, i) => `//${i}`).sort());
  for (const c of chunks) {
    const index = Number(c.event.slice(2));
    t.is(c.filename, 'lyso_multi10.h5');
    t.is(c.indexed, isHit[index] === 1, c.event);
    t.is(c.hit, isHit[index] === 1, c.event);
  }
});

test('sim-lysozyme Eiger 4M-like stream: 3 hits, all indexed, 8-panel peaks', async (t) => {
  const { chunks } = await readCrystfelStreamFile(join(SIM, 'eiger4m_like/eiger_asdf.stream'));
  t.deepEqual(chunks.map((c) => [c.filename, c.indexed, c.crystals.length]), [
    ['eiger_hit-2.h5', true, 1],
    ['eiger_hit-1.h5', true, 1],
    ['eiger_hit-3.h5', true, 1],
  ]);
  t.deepEqual(chunks[0].peaks[0], { fs: 890.7, ss: 381.1, oneOverDPerNm: 4.71, intensity: 96, panel: 'm00' });
  t.is(chunks[1].crystals[0].reflections.length, 576);
});

const HEADER = ['CrystFEL stream format 2.3', 'Generated by CrystFEL 0.12.0', 'indexamajig -i x.lst -o x.stream', '----- Begin geometry file -----', 'clen = 0.1', '----- End geometry file -----'];

function chunk(name: string, crystal: string[] = []): string[] {
  return [
    '----- Begin chunk -----', `Image filename: ${name}`, 'Event: //4', 'Image serial number: 1', 'hit = 1',
    `indexed_by = ${crystal.length ? 'asdf' : 'none'}`, 'num_peaks = 1', 'Peaks from peak search',
    '  fs/px   ss/px (1/d)/nm^-1   Intensity  Panel', '  10.50   20.25       1.00      100.00   p0', 'End of peak list',
    ...crystal, '----- End chunk -----',
  ];
}

function crystal(cell = 'Cell parameters 7.9 7.9 3.8 nm, 90.0 90.0 90.0 deg', rows = [' -1    2    3      10.00       2.00      12.00       1.00  100.0  200.0 p0']): string[] {
  return [
    '--- Begin crystal', cell, 'astar = +0.1 +0.0 +0.0 nm^-1', 'diffraction_resolution_limit = 4.00 nm^-1 or 2.50 A', `num_reflections = ${rows.length}`,
    'Reflections measured after indexing', '   h    k    l          I   sigma(I)       peak background  fs/px  ss/px panel', ...rows,
    'End of reflections', '--- End crystal',
  ];
}

test('bad chunks are reported with file:line and skipped; parsing goes on', async (t) => {
  const badCell = 'Cell parameters 7.9 seven 3.8 nm, 90.0 90.0 90.0 deg';
  const shortRow = ' 1 2 3 10.0 2.0 12.0 1.0 100.0 p0';
  const lines = [
    ...HEADER,
    ...chunk('good-1.h5', crystal()),
    ...chunk('bad-cell.h5', crystal(badCell)),
    ...chunk('bad-row.h5', crystal(undefined, [' 1 2 3 10.0 2.0 12.0 1.0 100.0 200.0 p0', shortRow])),
    ...chunk('good-2.h5'),
    ...chunk('cut.h5').slice(0, 6), // the file ends inside this chunk
  ];
  const lineOf = (text: string, from = 0) => lines.indexOf(text, from) + 1;
  const begins = lines.flatMap((l, i) => (l === '----- Begin chunk -----' ? [i + 1] : []));
  const items = await collect(lines, 'broken.stream');
  t.deepEqual(items.map((i) => i.kind), ['header', 'chunk', 'bad-chunk', 'bad-chunk', 'chunk', 'bad-chunk']);
  const bad = items.filter((i) => i.kind === 'bad-chunk').map((i) => i.bad);
  t.deepEqual(bad.map((b) => [b.line, b.filename, b.event]), [[begins[1], 'bad-cell.h5', '//4'], [begins[2], 'bad-row.h5', '//4'], [begins[4], 'cut.h5', '//4']]);
  t.deepEqual(bad[0].problems.map(formatProblem), [
    `broken.stream:${lineOf(badCell)}: cell: expected "Cell parameters a b c nm, al be ga deg" with six numbers but found "${badCell}"`,
  ]);
  t.deepEqual(bad[1].problems.map(formatProblem), [
    `broken.stream:${lineOf(shortRow)}: reflection row: expected 10 columns "h k l I sigma(I) peak background fs/px ss/px panel" with integer h k l but found "1 2 3 10.0 2.0 12.0 1.0 100.0 p0"`,
  ]);
  t.deepEqual(bad[2].problems.map(formatProblem), [`broken.stream:${begins[4]}: chunk never ended; expected "----- End chunk -----" before the end of the input`]);
  const good = items.filter((i) => i.kind === 'chunk').map((i) => i.chunk);
  t.deepEqual(good.map((c) => [c.filename, c.event, c.indexed, c.line]), [['good-1.h5', '//4', true, begins[0]], ['good-2.h5', '//4', false, begins[3]]]);
  t.like(good[0].crystals[0], { aA: 79, cA: 38, resolutionLimitA: 2.5 });
});

test('a chunk cut off by the next chunk, tables never closed, and lines not understood', async (t) => {
  const unclosedPeaks = chunk('peaks.h5').filter((l) => l !== 'End of peak list');
  const noCrystalEnd = chunk('crystal.h5', crystal().slice(0, -1));
  const chatty = chunk('chatty.h5', crystal());
  chatty.splice(3, 0, 'something odd', 'future_key = 7');
  const items = await collect([...HEADER, ...chunk('cut.h5').slice(0, 4), ...unclosedPeaks, ...noCrystalEnd, ...chatty], 's.stream');
  t.deepEqual(items.map((i) => i.kind), ['header', 'bad-chunk', 'bad-chunk', 'bad-chunk', 'chunk']);
  const problems = items.filter((i) => i.kind === 'bad-chunk').map((i) => i.bad.problems.map(formatProblem));
  t.deepEqual(problems[0], ['s.stream:7: chunk never ended; expected "----- End chunk -----" before the next "----- Begin chunk -----" at line 11']);
  t.deepEqual(problems[1], ['s.stream:21: peak list starting at line 18 never ended; expected "End of peak list" before "----- End chunk -----"']);
  t.regex(problems[2][0], /^s\.stream:\d+: crystal starting at line \d+ never ended; expected "--- End crystal" before "----- End chunk -----"$/);
  const ok = items[4].kind === 'chunk' ? items[4].chunk : undefined;
  t.is(ok?.filename, 'chatty.h5');
  t.deepEqual(ok?.extra, { future_key: '7' });
  t.is(ok?.warnings.length, 1);
  t.regex(formatProblem(ok!.warnings[0]), /^s\.stream:\d+: line not understood, ignored: "something odd"$/);
});

test('an old stream without panel columns and with hdf5/ header values still parses', async (t) => {
  const lines = [
    'CrystFEL stream format 2.1', '----- Begin chunk -----', 'Image filename: old.h5', 'hdf5/LCLS/photon_energy_eV = 9500.5', 'header/str/run = r0092',
    'Peaks from peak search', '  fs/px   ss/px (1/d)/nm^-1   Intensity', '  1.0 2.0 0.5 10.0', 'End of peak list', '--- Begin crystal',
    'Cell parameters 6 12 16 nm, 90 90 90 deg', 'Reflections measured after indexing', '   h    k    l          I   sigma(I)       peak background  fs/px  ss/px',
    '1 2 3 4 5 6 7 8 9', 'End of reflections', '--- End crystal', '----- End chunk -----',
  ];
  const items = await collect(lines);
  const c = items[1].kind === 'chunk' ? items[1].chunk : undefined;
  t.truthy(c);
  t.is(c!.event, '//');
  t.is(c!.hit, null);
  t.deepEqual(c!.headers, { '/LCLS/photon_energy_eV': 9500.5, run: 'r0092' });
  t.deepEqual(c!.peaks, [{ fs: 1, ss: 2, oneOverDPerNm: 0.5, intensity: 10, panel: null }]);
  t.deepEqual(c!.crystals[0].reflections, [{ h: 1, k: 2, l: 3, intensity: 4, sigma: 5, peak: 6, background: 7, fs: 8, ss: 9, panel: null }]);
});

test('something that is not a 2.x stream is refused at line 1', async (t) => {
  const notStream = await t.throwsAsync(collect(['HDF5 or whatever', 'x'], 'x.txt'));
  t.true(isSxError(notStream, 'input'));
  t.is(notStream!.message, 'x.txt:1: not a CrystFEL stream: expected "CrystFEL stream format 2.x" but found "HDF5 or whatever"');
  const v3 = await t.throwsAsync(collect(['CrystFEL stream format 3.0'], 'y.stream'));
  t.is(v3!.message, 'y.stream:1: unsupported stream format 3.0; expected 2.x');
  const missing = await t.throwsAsync(readCrystfelStreamFile('/nonexistent/z.stream'));
  t.is(missing!.message, '/nonexistent/z.stream: no such file');
});

test('the push parser holds a chunk until its end marker (what --follow relies on)', (t) => {
  const parser = new CrystfelStreamParser({ file: basename(REAL) });
  const lines = [...HEADER, ...chunk('a.h5', crystal())];
  const items = lines.slice(0, -1).map((l) => parser.push(l)).filter(Boolean);
  t.deepEqual(items.map((i) => i!.kind), ['header']);
  t.is(parser.openChunkLine, 7);
  t.is(parser.push(lines.at(-1)!)?.kind, 'chunk');
  t.is(parser.openChunkLine, null);
  t.is(parser.finish(), undefined);
});
