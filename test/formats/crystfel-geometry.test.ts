import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSxError } from '../../src/errors.ts';
import {
  binGeometry, binnedGeometry, formatGeometry, type Geometry, type Panel, parseGeometry, photonEnergyEv,
  readGeometry, wavelengthMetres,
} from '../../src/formats/crystfel-geometry.ts';
import { SHARED_DATA } from '../helpers/shared-data.ts';

const DATA = SHARED_DATA;
const FIXTURES = join(import.meta.dirname, '../fixtures/geometry');
const SAMPLE_FILES = [
  ...geomFiles(`${DATA}/geometry`),
  ...geomFiles(`${DATA}/sim-lysozyme`),
  ...geomFiles(`${DATA}/formats/crystfel_tests`),
];

function geomFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.geom')).map((f) => join(dir, f));
}

function sample(name: string): Geometry {
  return readGeometry(`${DATA}/${name}`);
}

function panel(g: Geometry, name: string): Panel {
  const p = g.panels.find((q) => q.name === name);
  if (p === undefined) throw new Error(`no panel ${name}`);
  return p;
}

/** The geometry embedded in a CrystFEL stream, and the stream line it starts after. */
function streamGeometry(): { text: string; offset: number } {
  const lines = readFileSync(`${DATA}/real/crystfel_test_stream/test.stream`, 'utf8').split('\n');
  const begin = lines.indexOf('----- Begin geometry file -----');
  const end = lines.indexOf('----- End geometry file -----');
  return { text: lines.slice(begin + 1, end).join('\n'), offset: begin + 1 };
}

/** The SxError('input') message thrown for a geometry text. */
function inputError(t: import('ava').ExecutionContext, text: string): string {
  const err = t.throws(() => parseGeometry(text, 'x.geom'));
  t.true(isSxError(err, 'input'), String(err));
  return err?.message ?? '';
}

const PANEL = (name: string, fs0 = 0, ss0 = 0) => [
  `${name}/min_fs = ${fs0}`, `${name}/max_fs = ${fs0 + 9}`, `${name}/min_ss = ${ss0}`, `${name}/max_ss = ${ss0 + 9}`,
  `${name}/fs = x`, `${name}/ss = y`, `${name}/corner_x = -5`, `${name}/corner_y = -5`,
].join('\n');

test('every sample geometry parses, and formatGeometry writes it back unchanged', (t) => {
  t.true(SAMPLE_FILES.length >= 20);
  for (const file of [...SAMPLE_FILES, 'stream']) {
    const g = file === 'stream' ? parseGeometry(streamGeometry().text, 'test.stream') : readGeometry(file);
    t.true(g.panels.length > 0, file);
    const again = parseGeometry(formatGeometry(g), `${file} (rewritten)`);
    const strip = (x: Geometry) => ({ ...x, file: '', warnings: [], beam: { ...x.beam, line: 0 },
      panels: x.panels.map((p) => ({ ...p, line: 0 })), badRegions: x.badRegions.map((r) => ({ ...r, line: 0 })) });
    t.deepEqual(strip(again), strip(g), file);
  }
});

test('det1024: one panel, ranges, res, clen, energy, layout', (t) => {
  const g = sample('sim-lysozyme/det1024.geom');
  t.is(g.panels.length, 1);
  const p = g.panels[0];
  t.like(p, { name: 'p0', minFs: 0, maxFs: 1023, minSs: 0, maxSs: 1023, cornerX: -512, cornerY: -512, res: 13333.333 });
  t.deepEqual(p.clen, { kind: 'metres', metres: 0.075 });
  t.deepEqual(p.fs, { x: 1, y: 0, z: 0 });
  t.deepEqual(p.dims, ['ss', 'fs']);
  t.is(p.data, '/entry/data/data');
  t.is(p.aduPerPhoton, 1);
  t.is(p.maxAdu, Infinity);
  t.is(photonEnergyEv(g), 12000);
  t.is(g.beam.bandwidth, 2e-3);
  t.true(Math.abs(wavelengthMetres(g) - 1.0332e-10) < 1e-14);
  t.deepEqual(g.warnings, []);
  t.deepEqual(sample('sim-lysozyme/det1024_multi.geom').panels[0].dims, ['%', 'ss', 'fs']);
});

test('eiger4m_like: eight modules with gaps', (t) => {
  const g = sample('sim-lysozyme/eiger4m_like.geom');
  t.deepEqual(g.panels.map((p) => p.name), ['m00', 'm01', 'm10', 'm11', 'm20', 'm21', 'm30', 'm31']);
  t.like(panel(g, 'm31'), { minFs: 1040, maxFs: 2067, minSs: 1650, maxSs: 2161, cornerX: 6, cornerY: 569 });
  t.deepEqual(panel(g, 'm31').clen, { kind: 'metres', metres: 0.1 });
});

test('CSPAD (CXI): 64 tilted ASICs, header clen and energy, legacy mask, groups', (t) => {
  const g = sample('geometry/crystfel_doc_cspad-cxiformat.geom');
  t.is(g.panels.length, 64);
  const q0a0 = panel(g, 'q0a0');
  t.deepEqual(q0a0.fs, { x: 0.004806, y: 0.999989, z: 0 });
  t.deepEqual(q0a0.ss, { x: -0.999989, y: 0.004806, z: 0 });
  t.like(q0a0, { cornerX: 443.819, cornerY: -49.8719, res: 9090.91, coffset: 0.573224, aduPerEv: 0.00338 });
  t.deepEqual(q0a0.clen, { kind: 'header', headerPath: '/LCLS/detector_1/EncoderValue', metresPerUnit: 0.001 });
  t.deepEqual(q0a0.dims, ['%', 'ss', 'fs']);
  t.deepEqual(q0a0.masks, [{ data: '/entry_1/data_1/mask', goodBits: 0, badBits: 0xffff }]);
  t.deepEqual(g.beam.energy, { kind: 'header', quantity: 'photon_energy', headerPath: '/LCLS/photon_energy_eV', scale: 1 });
  t.deepEqual(g.groups.all, ['q0', 'q1', 'q2', 'q3']);
  const err = t.throws(() => photonEnergyEv(g));
  t.true(isSxError(err, 'input'));
  t.regex(err!.message, /no beam energy: photon_energy is only a header path \(\/LCLS\/photon_energy_eV\)/);
});

test('JUNGFRAU 16M: indices written as 12.0, mm clen, bad regions tied to panels, mask file', (t) => {
  const g = sample('geometry/crystfel_doc_jf-swissfel-16M.geom');
  t.is(g.panels.length, 32);
  t.like(panel(g, 'm15'), { minFs: 0, maxFs: 1029, minSs: 7710, maxSs: 8223, coffset: -0.000085 });
  t.true(Math.abs((panel(g, 'm0').clen as { metres: number }).metres - 0.0953) < 1e-12);
  t.is(photonEnergyEv(g), 4570);
  t.is(g.badRegions.length, 4);
  t.deepEqual(g.badRegions[0], { kind: 'data', name: 'bad_bs_1', panel: 'm15', minFs: 890, maxFs: 1029, minSs: 7710, maxSs: 7770, line: 16 });
  t.deepEqual(panel(g, 'm31').masks, [{ data: '/mask', file: 'run47.JF06T32V01.mask.h5', goodBits: 1, badBits: 0 }]);
});

test('Pilatus: lab and data bad regions, header clen with coffset', (t) => {
  const g = sample('geometry/crystfel_doc_pilatus.geom');
  t.is(g.badRegions.length, 16);
  t.deepEqual(g.badRegions[0], { kind: 'lab', name: 'bad_beamstop', minX: -2000, maxX: 100, minY: -40, maxY: 100, line: 16 });
  t.is(g.badRegions.filter((r) => r.kind === 'data').length, 15);
  t.like(g.panels[0], { name: '0', maxFs: 2462, maxSs: 2526, res: 5814, coffset: -0.00064, aduPerEv: 0.0001 });
  t.deepEqual(g.panels[0].clen, { kind: 'header', headerPath: '/LCLS/detectorPosition', metresPerUnit: 0.001 });
  t.is(photonEnergyEv(g), 9800);
});

test('Eiger 16M binning-2 and NPC Eiger 4M: panel-less fs/ss bad regions', (t) => {
  const g = sample('geometry/npc_Eiger4M.geom');
  t.is(g.badRegions.length, 4);
  t.like(g.panels[0], { maxFs: 2069, maxSs: 2166, cornerX: -1020, cornerY: -1084, data: '/data' });
  t.is(photonEnergyEv(g), 12812.3);
  t.is(sample('geometry/crystfel_doc_Eiger16M-binning2-nativefiles.geom').badRegions.length, 4);
});

test('pnCCD: fs along y, per-panel coffset, obsolete key warnings', (t) => {
  const g = sample('geometry/psgeom_pnccd2.geom');
  t.deepEqual(panel(g, 'top').fs, { x: 0, y: 1, z: 0 });
  t.deepEqual(panel(g, 'top').ss, { x: 1, y: 0, z: 0 });
  t.is(panel(g, 'bottom').coffset, 0.4725);
  t.is(g.warnings.filter((w) => /psgeom_pnccd2\.geom:(44|56): badrow_direction is obsolete/.test(w)).length, 2);
  t.true(g.warnings.some((w) => /:24: 6 rigid_group lines ignored/.test(w)));
});

test('OM files: a repeated dim0 keeps the later value with a warning; no clen means unset', (t) => {
  const g = sample('geometry/om_pilatus.geom');
  t.deepEqual(g.panels[0].dims, ['ss', 'fs']);
  t.true(g.warnings.some((w) => w.endsWith("om_pilatus.geom:14: dim0 set again (line 13 said '%'); the later value wins")));
  t.deepEqual(g.panels[0].clen, { kind: 'unset' });
  t.deepEqual(g.beam.energy, { kind: 'none' });
  t.deepEqual(sample('geometry/om_rayonix.geom').panels[0].clen, { kind: 'metres', metres: 0.05 });
});

test('CrystFEL test files: placeholders, fixed dims, a wavelength header', (t) => {
  t.is(sample('formats/crystfel_tests/ev_enum1.geom').panels[0].data, '/data/panelA/%/panel_data1t/%/array');
  const two = sample('formats/crystfel_tests/ev_enum2.geom').panels[0];
  t.deepEqual(two.dims, ['%', 'ss', 'fs', 1]);
  t.like(two, { name: 'panel', minFs: 0, maxFs: 0, minSs: 1, maxSs: 1, res: 1e6 });
  const w = sample('formats/crystfel_tests/wavelength_geom1.geom');
  t.deepEqual(w.beam.energy, { kind: 'header', quantity: 'wavelength', headerPath: '/LCLS/wavelength', scale: 1 });
  t.deepEqual(w.panels[0].clen, { kind: 'metres', metres: 0.05 });
});

test('stream-embedded geometry: CSPAD with lab bad regions; line numbers point into the stream', (t) => {
  const { text, offset } = streamGeometry();
  const g = parseGeometry(text, 'test.stream', { lineOffset: offset });
  t.is(g.panels.length, 64);
  t.is(g.badRegions.length, 3);
  t.true(g.badRegions.every((r) => r.kind === 'lab'));
  t.like(panel(g, 'q3a15'), { cornerX: 558.531461, cornerY: -240.792654, minFs: 1358, maxSs: 1479, res: 9097.525473, coffset: 0.582 });
  t.deepEqual(panel(g, 'q0a0').masks, [{ data: '/data/data', file: '/home/taw/experiments/5HT2B/r0092-ab/badpixelmap.h5', goodBits: 1, badBits: 0xfffe }]);
  t.is(g.peakList, '/processing/hitfinder/peakinfo-raw');
  t.deepEqual(g.panels[0].dims, ['ss', 'fs']);
  t.deepEqual(g.groups, {});
  const streamLines = readFileSync(`${DATA}/real/crystfel_test_stream/test.stream`, 'utf8').split('\n');
  const rigid = Number(/test\.stream:(\d+): 38 rigid_group lines ignored/.exec(g.warnings.join('\n'))?.[1]);
  t.true(streamLines[rigid - 1].startsWith('rigid_group_q0 ='));
});

test('a global value applies to panels first mentioned after it; panel values override', (t) => {
  const g = parseGeometry(['res = 100', PANEL('a'), 'res = 200', 'clen = 5 mm', PANEL('b', 10), 'b/res = 300', 'c/res = 7', PANEL('c', 20)].join('\n'), 'x.geom');
  t.deepEqual(g.panels.map((p) => p.res), [100, 300, 7]);
  t.deepEqual(g.panels.map((p) => p.clen.kind), ['unset', 'metres', 'metres']);
  t.true(g.warnings.some((w) => /^x\.geom:10: global res comes after panel 'a' \(line 2\)/.test(w)));
});

test('comments, blank lines, tabs and inline comments; unknown keys only warn', (t) => {
  const g = parseGeometry(['; head', '', 'res = 13333.3\t; 75 um', 'clen = 0.1 ;m', 'mystery = 1', 'p0/frobnicate = 2', PANEL('p0')].join('\n'), 'x.geom');
  t.is(g.panels[0].res, 13333.3);
  t.deepEqual(g.warnings, ['x.geom:5: unknown key mystery; ignored', "x.geom:6: unknown key frobnicate for panel 'p0'; ignored"]);
});

test('vectors parse with or without signs, spaces and coefficients', (t) => {
  const vec = (v: string) => parseGeometry(`${PANEL('p')}\np/res = 1\np/fs = ${v}`, 'x.geom').panels[0].fs;
  t.deepEqual(vec('x'), { x: 1, y: 0, z: 0 });
  t.deepEqual(vec('-y'), { x: 0, y: -1, z: 0 });
  t.deepEqual(vec('+0.5x -0.2y +0.01z'), { x: 0.5, y: -0.2, z: 0.01 });
  t.deepEqual(vec('0.0003420x -0.9999310y'), { x: 0.000342, y: -0.999931, z: 0 });
  t.deepEqual(vec('+1.000000x+0.000000y'), { x: 1, y: 0, z: 0 });
  t.deepEqual(vec('1e-3x -1y'), { x: 0.001, y: -1, z: 0 });
  for (const bad of ['2q', 'x x', 'x y z w', '0x 0y', '1.5', 'x+']) {
    t.regex(inputError(t, `${PANEL('p')}\np/res = 1\np/fs = ${bad}`), /^x\.geom:10: fs = .* is (not a vector|a zero vector); expected/, bad);
  }
});

test('beam energy and distance units', (t) => {
  const beam = (line: string) => parseGeometry(`${line}\nres = 1\n${PANEL('p')}`, 'x.geom');
  t.is(photonEnergyEv(beam('photon_energy = 9.5 keV')), 9500);
  t.is(photonEnergyEv(beam('photon_energy = 9500')), 9500);
  t.true(Math.abs(photonEnergyEv(beam('wavelength = 1.0 A')) - 12398.42) < 0.01);
  t.true(Math.abs(wavelengthMetres(beam('wavelength = 1.3e-10 m')) - 1.3e-10) < 1e-22);
  // 200 kV electrons: 2.5079 pm (relativistic).
  t.true(Math.abs(wavelengthMetres(beam('electron_voltage = 200 kV')) - 2.5079e-12) < 1e-15);
  t.throws(() => photonEnergyEv(beam('electron_voltage = 200 kV')), { message: /electrons/ });
  const clen = (v: string) => beam(`clen = ${v}`).panels[0].clen;
  t.deepEqual(clen('50 mm'), { kind: 'metres', metres: 0.05 });
  t.deepEqual(clen('0.05'), { kind: 'metres', metres: 0.05 });
  t.deepEqual(clen('/LCLS/d'), { kind: 'header', headerPath: '/LCLS/d', metresPerUnit: 0.001 });
  t.deepEqual(clen('/LCLS/d m'), { kind: 'header', headerPath: '/LCLS/d', metresPerUnit: 1 });
  t.deepEqual(beam('detector_shift_x = 2 mm').detectorShiftX, { kind: 'metres', metres: 0.002 });
  t.regex(inputError(t, `wavelength = 1.3\n${PANEL('p')}\np/res = 1`), /^x\.geom:1: wavelength = 1\.3 has no unit; expected a unit: m or A/);
  t.regex(inputError(t, `clen = 5 cm\n${PANEL('p')}\np/res = 1`), /^x\.geom:1: clen unit 'cm' is not known; expected m or mm/);
});

test('photonEnergyEv names the file when there is no beam energy', (t) => {
  const file = join(FIXTURES, 'no-energy.geom');
  t.throws(() => photonEnergyEv(readGeometry(file)), { message: `${file}: no beam energy: add photon_energy or wavelength` });
  const simple = `${DATA}/geometry/crystfel_doc_simple.geom`;
  t.throws(() => photonEnergyEv(readGeometry(simple)), { message: `${simple}: no beam energy: add photon_energy or wavelength` });
});

test('a broken file reports every problem at once, each with its line', (t) => {
  const file = join(FIXTURES, 'broken.geom');
  const err = t.throws(() => readGeometry(file));
  t.true(isSxError(err, 'input'));
  const lines = err!.message.split('\n');
  const at = (n: number, pattern: RegExp) => t.true(lines.some((l) => l.startsWith(`${file}:${n}: `) && pattern.test(l)), `line ${n}: ${pattern}`);
  at(4, /wavelength and photon_energy \(line 3\) are both given; expected only one of/);
  at(8, /min_fs = 'zero' is not a pixel index; expected a non-negative integer/);
  at(13, /ss = '2q' is not a vector; expected/);
  at(18, /panel 'b' has max_fs 50 < min_fs 100; expected max_fs >= min_fs/);
  at(26, /panel 'c' has no min_ss, max_ss, corner_x, corner_y, fs, ss; expected 'c\/min_ss = \.\.\.'/);
  at(38, /dims \(dim0 = %, dim1 = ss\) have no 'fs'; expected exactly one 'ss' and one 'fs'/);
  at(50, /panel 'f' \(fs 50-149, ss 50-149\) overlaps panel 'e' \(line 41, fs 0-99, ss 0-99\) in \/data\/data; expected disjoint/);
  at(59, /'group_x' is not a valid panel name; expected/);
  t.is(lines.length, 8);
});

test('more misuse: dims order and gaps, bad regions, masks, gain, values', (t) => {
  const base = `res = 1\n${PANEL('p')}`;
  t.regex(inputError(t, `${base}\np/dim0 = fs\np/dim1 = ss`), /:11: dims \(dim0 = fs, dim1 = ss\) have 'fs' before 'ss'/);
  const gap = inputError(t, `${base}\np/dim0 = ss\np/dim2 = fs`);
  t.is(gap, "x.geom:11: dim2 is set but dim1 is not (panel 'p'); expected dim0, dim1, ... without gaps");
  t.regex(inputError(t, `${base}\nbad_a/min_fs = 0\nbad_a/min_x = 0`), /:10: bad region 'bad_a' mixes fs\/ss limits \(min_fs\) and x\/y limits \(min_x\)/);
  t.regex(inputError(t, `${base}\nbad_a/min_x = 0\nbad_a/max_x = 1`), /:10: bad region 'bad_a' has no min_y, max_y/);
  t.regex(inputError(t, `${base}\nbad_a/min_fs = 0\nbad_a/max_fs = 1\nbad_a/min_ss = 0\nbad_a/max_ss = 1\nbad_a/panel = q`),
    /:14: bad region 'bad_a' names panel 'q', which is not defined/);
  t.regex(inputError(t, `${base}\np/mask_file = m.h5`), /:10: mask_file is given but not the mask's dataset; expected 'mask0_data = \/path'/);
  t.regex(inputError(t, `${base}\np/adu_per_eV = 1\np/adu_per_photon = 1`), /:11: panel 'p' has both adu_per_photon/);
  t.like(parseGeometry(`adu_per_eV = 0.001\n${base}\np/adu_per_photon = 2`, 'x.geom').panels[0], { aduPerPhoton: 2, aduPerEv: undefined });
  t.regex(inputError(t, `${base}\np/no_index = maybe`), /:10: no_index = 'maybe' is not a boolean/);
  t.regex(inputError(t, `${base}\np/mask0_goodbits = 0xzz\np/mask0_data = /m`), /:10: mask0_goodbits = '0xzz' is not a bit pattern/);
  t.regex(inputError(t, `${base}\njust words`), /:10: 'just words' is not a setting; expected 'key = value'/);
  t.regex(inputError(t, `${base}\np/res =`), /:10: p\/res has no value/);
  t.regex(inputError(t, 'res = 1'), /no panels/);
  t.regex(inputError(t, `${base}\np/res = -3`), /:10: res = -3 is not positive/);
});

test('masks, flags, edge pixels, no_index and groups are kept', (t) => {
  const g = parseGeometry([
    'res = 1', 'mask2_data = /m/%', 'mask2_file = bad.h5', 'mask2_goodbits = 0x1', 'mask2_badbits = 6', 'flag_morethan = 65000',
    PANEL('a'), 'a/no_index = true', 'a/mask_edge_pixels = 2', 'a/max_adu = 4000', PANEL('b', 10), 'b/saturation_map = /sat',
    'group_all = a,b,zz', 'peak_list = /entry_1/result_1', 'peak_list_type = cxi',
  ].join('\n'), 'x.geom');
  const [a, b] = g.panels;
  t.deepEqual(a.masks, [{ data: '/m/%', file: 'bad.h5', goodBits: 1, badBits: 6 }]);
  t.like(a, { noIndex: true, maskEdgePixels: 2, maxAdu: 4000, flagMoreThan: 65000 });
  t.like(b, { noIndex: false, saturationMap: '/sat', flagMoreThan: 65000 });
  t.deepEqual(g.groups, { all: ['a', 'b', 'zz'] });
  t.true(g.warnings.some((w) => /group all names unknown panels or groups: zz/.test(w)));
  t.like(g, { peakList: '/entry_1/result_1', peakListType: 'cxi' });
});

test('readGeometry: a missing file is an input error naming it', (t) => {
  const err = t.throws(() => readGeometry('/nonexistent/x.geom'));
  t.true(isSxError(err, 'input'));
  t.regex(err!.message, /^\/nonexistent\/x\.geom: cannot read geometry: /);
});

test('binGeometry: res/b, ranges min/b..(max+1)/b-1, corners /b', (t) => {
  const g = parseGeometry(binGeometry(sample('sim-lysozyme/det1024.geom'), 2), 'bin2.geom');
  t.like(g.panels[0], { minFs: 0, maxFs: 511, minSs: 0, maxSs: 511, cornerX: -256, cornerY: -256, res: 6666.6665 });
  t.deepEqual(g.panels[0].clen, { kind: 'metres', metres: 0.075 });
  t.is(photonEnergyEv(g), 12000);

  const four = parseGeometry(binGeometry(sample('geometry/npc_Eiger4M.geom'), 4), 'bin4.geom');
  // 2070 x 2167 pixels: the partial last bins (2068-2069, 2164-2166) are left out.
  t.like(four.panels[0], { minFs: 0, maxFs: 516, minSs: 0, maxSs: 540, cornerX: -255, cornerY: -271 });
  // Bad regions round outwards: fs 1030-1039 -> bins 257-259.
  t.like(four.badRegions[0], { name: 'bad_v0', minFs: 257, maxFs: 259, minSs: 0, maxSs: 541 });
});

test('binGeometry: a panel edge inside a bin rounds inwards and the corner follows', (t) => {
  const g = binnedGeometry(sample('sim-lysozyme/eiger4m_like.geom'), 3);
  // m01: fs 1040-2067 -> first full bin 347 (pixels 1041-1043), last 688 (2064-2066).
  t.like(panel(g, 'm01'), { minFs: 347, maxFs: 688, minSs: 0, maxSs: 169 });
  t.true(Math.abs(panel(g, 'm01').cornerX - (6 + 1) / 3) < 1e-12);
  t.true(Math.abs(panel(g, 'm01').cornerY - -1081 / 3) < 1e-12);
  // m10: ss 550-1061 -> bins 184 (552-554) .. 353 (1059-1061).
  t.like(panel(g, 'm10'), { minSs: 184, maxSs: 353, minFs: 0, maxFs: 341 });
  t.true(Math.abs(panel(g, 'm10').cornerY - (-531 + 2) / 3) < 1e-12);
});

test('binGeometry: extras and misuse', (t) => {
  const src = parseGeometry(['res = 1', 'max_adu = 1000', 'mask = /m', 'flag_lessthan = 0', 'mask_edge_pixels = 3', PANEL('a'), 'bad_l/min_x = -4', 'bad_l/max_x = 4', 'bad_l/min_y = 0', 'bad_l/max_y = 2'].join('\n'), 'x.geom');
  const text = binGeometry(src, 2, { data: '/entry_1/data_1/data', dims: ['%', 'ss', 'fs'], masks: [{ data: '/entry_1/data_1/mask', goodBits: 0, badBits: 1 }] });
  const g = parseGeometry(text, 'b.geom');
  t.like(g.panels[0], { maxAdu: 4000, maskEdgePixels: 2, data: '/entry_1/data_1/data', res: 0.5, flagLessThan: undefined });
  t.deepEqual(g.panels[0].dims, ['%', 'ss', 'fs']);
  t.deepEqual(g.panels[0].masks, [{ data: '/entry_1/data_1/mask', goodBits: 0, badBits: 1 }]);
  t.like(g.badRegions[0], { kind: 'lab', minX: -2, maxX: 2, minY: 0, maxY: 1 });
  t.regex(text, /^; Binned 2x2 from x\.geom/);
  t.throws(() => binGeometry(sample('formats/crystfel_tests/ev_enum3.geom'), 2), { message: /panels smaller than one 2x2 bin: panel \(line 3\)/ });
  t.throws(() => binGeometry(src, 5 as 2), { message: /Expected a binning factor of 2, 3 or 4/ });
});
