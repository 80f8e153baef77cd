import test from 'ava';
import { isSxError } from '../../src/errors.ts';
import {
  DEFAULT_PEAKFINDER_PARAMS,
  findPeaks,
  isHit,
  type PeakFinderInput,
  type PeakFinderParams,
  type PeakList,
} from '../../src/core/peakfinder8.ts';
import { findPeaksReference } from '../../src/core/peakfinder8-reference.ts';
import { loadNative } from '../../src/native.ts';
import { makeRandom } from '../helpers/random.ts';

type Kind = 'uint16' | 'uint32' | 'int32' | 'float32';
type Frame = PeakFinderInput['frame'];


function poisson(mean: number, rand: () => number): number {
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * gauss(rand)));
  const limit = Math.exp(-mean);
  let k = 0;
  for (let p = rand(); p > limit; p *= rand()) k++;
  return k;
}

function gauss(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/**
 * Maps of a 2 x 2 module detector: modules 0 | 1 on top share a border (no gap), a 7-row gap
 * (panel -1, radius NaN) below them, then modules 2 | 3 with a 5-column gap between them.
 */
function moduleMaps(width: number, height: number, beam: { x: number; y: number }) {
  const n = width * height;
  const radius = new Float32Array(n);
  const panel = new Int16Array(n);
  const midX = Math.floor(width / 2);
  const gapTop = Math.floor(height / 2);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const top = y < gapTop;
      const inGap = (y >= gapTop && y < gapTop + 7) || (!top && x >= midX && x < midX + 5);
      panel[i] = inGap ? -1 : (top ? 0 : 2) + (x < midX ? 0 : 1);
      radius[i] = inGap ? NaN : Math.hypot(x + 0.5 - beam.x, y + 0.5 - beam.y);
    }
  }
  return { radius, panel, midX, gapTop };
}

/** Photon background plus Gaussian spots, converted to `kind` with a type-specific twist. */
function syntheticFrame(kind: Kind, width: number, height: number, spots: number[][], rand: () => number): Frame {
  const values = new Float64Array(width * height);
  for (let i = 0; i < values.length; i++) values[i] = poisson(1.5, rand);
  for (const [cx, cy, photons, sigma] of spots) {
    for (let y = Math.floor(cy - 4 * sigma); y <= cy + 4 * sigma; y++) {
      for (let x = Math.floor(cx - 4 * sigma); x <= cx + 4 * sigma; x++) {
        if (x < 0 || y < 0 || x >= width || y >= height) continue;
        const d2 = (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2;
        values[y * width + x] += poisson((photons * Math.exp(-d2 / (2 * sigma * sigma))) / (2 * Math.PI * sigma * sigma), rand);
      }
    }
  }
  switch (kind) {
    case 'uint16':
      return Uint16Array.from(values, (v) => Math.min(v, 0xffff));
    case 'uint32':
      return Uint32Array.from(values, (v) => v * 3 + 100_000); // gain and pedestal
    case 'int32':
      return Int32Array.from(values, (v) => v - 3); // negative background, as after pedestal subtraction
    case 'float32':
      return Float32Array.from(values, (v) => (rand() < 0.001 ? NaN : v + 0.3 * gauss(rand)));
  }
}

function randomSpots(count: number, width: number, height: number, rand: () => number): number[][] {
  return Array.from({ length: count }, () => [rand() * width, rand() * height, 20 + rand() * rand() * 3000, 0.5 + rand() * 0.8]);
}

/** The first difference between two peak lists (every column, bit for bit), or undefined. */
function comparePeaks(a: PeakList, b: PeakList): string | undefined {
  if (a.count !== b.count) return `count ${a.count} vs ${b.count}`;
  for (const key of ['fs', 'ss', 'panel', 'intensity', 'snr', 'npix', 'maxValue'] as const) {
    const x = a[key]!;
    const y = b[key]!;
    if (x.length !== a.count || y.length !== b.count) return `${key} length ${x.length} vs ${y.length}`;
    for (let i = 0; i < a.count; i++) {
      if (!Object.is(x[i], y[i])) return `peak ${i} ${key}: ${x[i]} vs ${y[i]}`;
    }
  }
  return undefined;
}

/** Thresholds follow the frames' gain and pedestal (see syntheticFrame). */
function scaleParams(kind: Kind, p: Partial<PeakFinderParams>): Partial<PeakFinderParams> {
  if (p.threshold === undefined) return p;
  if (kind === 'uint32') return { ...p, threshold: p.threshold * 3 + 100_000 };
  if (kind === 'int32') return { ...p, threshold: p.threshold - 3 };
  return p;
}

const PARAM_SETS: Partial<PeakFinderParams>[] = [
  { threshold: 8, minRes: 0 },
  { threshold: 6, minSnr: 3, minPixCount: 1, maxPixCount: 8, localBgRadius: 2, minRes: 15, maxRes: 170 },
  { threshold: 8, localBgRadius: 1, maxPeaksPerPanel: 3, minRes: 0 },
  { threshold: -1e6, minSnr: 6, minPixCount: 3, localBgRadius: 4 },
];

const KINDS = ['uint16', 'uint32', 'int32', 'float32'] as const;
for (const kind of KINDS) {
  test(`native equals reference peak for peak: ${kind}`, (t) => {
    const rand = makeRandom(7919 * (KINDS.indexOf(kind) + 1));
    const mismatches: string[] = [];
    const counts: number[] = [];
    for (const [width, height, beam] of [
      [257, 230, { x: 101.3, y: 97.8 }],
      [130, 403, { x: -20.5, y: 250.1 }],
    ] as const) {
      const { radius, panel, midX, gapTop } = moduleMaps(width, height, beam);
      const spots = randomSpots(45, width, height, rand);
      // Spots on the shared border of modules 0 and 1, on panel edges and at the frame edge.
      spots.push([midX, gapTop / 2, 800, 1.2], [midX + 0.5, gapTop / 3, 400, 0.8], [2, 30, 900, 1], [width - 1, gapTop - 1, 900, 1]);
      spots.push([midX / 2, gapTop + 7.5, 600, 0.9], [midX - 0.5, height - 20, 700, 1]);
      // A blob too large for maxPixCount 50.
      spots.push([width / 4, (3 * height) / 4, 40000, 3]);
      const frame = syntheticFrame(kind, width, height, spots, rand);
      const bad = Uint8Array.from({ length: width * height }, () => (rand() < 0.01 ? 1 : 0));
      bad.fill(1, 40 * width + 10, 40 * width + 60);
      for (const set of PARAM_SETS) {
        const params = scaleParams(kind, set);
        const input = { frame, width, height, radius, panel, bad };
        const native = findPeaks(input, params);
        const reference = findPeaksReference(input, params);
        const difference = comparePeaks(native, reference);
        if (difference !== undefined) mismatches.push(`${width}x${height} ${JSON.stringify(params)}: ${difference}`);
        const cap = params.maxPeaksPerPanel ?? 2048;
        const perPanel = [0, 1, 2, 3].map((p) => native.panel.filter((v) => v === p).length);
        if (perPanel.some((n) => n > cap)) mismatches.push(`more than ${cap} peaks on a panel: ${perPanel}`);
        if (cap === 3 && !perPanel.every((n) => n === 3)) mismatches.push(`the cap of 3 was not reached: ${perPanel}`);
        counts.push(native.count);
        if (native.npix.some((n) => n > (params.maxPixCount ?? 50))) mismatches.push('a peak above maxPixCount');
      }
    }
    t.deepEqual(mismatches, []);
    t.log(`peaks per run: ${counts.join(' ')}`);
    t.true(counts.every((n) => n >= 10), `too few peaks for a meaningful comparison: ${counts}`);
  });
}

type Flags = Pick<PeakFinderInput, 'flagLessThan' | 'flagMoreThan' | 'flagEqual'>;

/** `bad` with every pixel that `flags` name set, as a caller would mask them in JavaScript. */
function maskFlagged(frame: Frame, bad: Uint8Array, flags: Flags): Uint8Array {
  const lt = flags.flagLessThan ?? -Infinity;
  const mt = flags.flagMoreThan ?? Infinity;
  const eq = flags.flagEqual ?? [];
  return bad.map((b, i) => (b !== 0 || frame[i] < lt || frame[i] > mt || eq.includes(frame[i]) ? 1 : 0));
}

/**
 * Value flags per pixel type, on frames with the type's markers written in: a block of them in
 * a bright spot, scattered single pixels and a column through the top modules. Each set also
 * names a value no pixel can hold (between integers, out of range), which must change nothing.
 */
const FLAG_SETS: Record<Kind, { marker: number; flags: Flags[] }> = {
  uint16: { marker: 0xffff, flags: [{ flagEqual: [0xffff] }, { flagMoreThan: 1000 }, { flagLessThan: 1, flagEqual: [0xffff, 2.5, 70000, 3] }] },
  uint32: { marker: 0xffffffff, flags: [{ flagEqual: [0xffffffff] }, { flagMoreThan: 200_000, flagLessThan: 100_003 }, { flagEqual: [100_006, 0xffffffff, -1] }] },
  int32: { marker: -1000, flags: [{ flagEqual: [-1000] }, { flagLessThan: -2, flagMoreThan: 400 }, { flagEqual: [-1000, 4, 5.5, 2 ** 40] }] },
  float32: { marker: 1e9, flags: [{ flagEqual: [1e9] }, { flagMoreThan: 1e6, flagLessThan: -0.5 }, { flagEqual: [1e9, 0.1, 3] }] },
};

for (const kind of KINDS) {
  test(`with value flags, native equals reference and the equivalent mask: ${kind}`, (t) => {
    const rand = makeRandom(104729 * (KINDS.indexOf(kind) + 1));
    const [width, height, beam] = [257, 230, { x: 101.3, y: 97.8 }];
    const { radius, panel, midX, gapTop } = moduleMaps(width, height, beam);
    const spots = randomSpots(45, width, height, rand);
    spots.push([midX / 2, gapTop / 2, 3000, 1.5]);
    const frame = syntheticFrame(kind, width, height, spots, rand);
    const { marker, flags: flagSets } = FLAG_SETS[kind];
    for (let dy = 0; dy < 3; dy++) frame.fill(marker, (Math.floor(gapTop / 2) + dy) * width + Math.floor(midX / 2), (Math.floor(gapTop / 2) + dy) * width + Math.floor(midX / 2) + 3);
    for (let i = 0; i < frame.length; i++) if (rand() < 0.003) frame[i] = marker;
    for (let y = 0; y < gapTop; y++) frame[y * width + midX + 20] = marker;
    const bad = Uint8Array.from({ length: width * height }, () => (rand() < 0.01 ? 1 : 0));
    const mismatches: string[] = [];
    const counts: number[] = [];
    for (const flags of flagSets) {
      for (const set of PARAM_SETS) {
        const params = scaleParams(kind, set);
        const flagged = { frame, width, height, radius, panel, bad, ...flags };
        const native = findPeaks(flagged, params);
        const what = `${JSON.stringify(flags)} ${JSON.stringify(params)}`;
        const vsReference = comparePeaks(native, findPeaksReference(flagged, params));
        if (vsReference !== undefined) mismatches.push(`${what} vs reference: ${vsReference}`);
        const vsMask = comparePeaks(native, findPeaks({ frame, width, height, radius, panel, bad: maskFlagged(frame, bad, flags) }, params));
        if (vsMask !== undefined) mismatches.push(`${what} vs masked: ${vsMask}`);
        counts.push(native.count);
      }
    }
    t.deepEqual(mismatches, []);
    t.log(`peaks per run: ${counts.join(' ')}`);
    t.true(counts.every((n) => n >= 5), `too few peaks for a meaningful comparison: ${counts}`);
  });
}

/**
 * A 300 x 300 frame with the beam at its centre, all pixels on panel 0 and good: background
 * `bg` plus `spot` (rows of values above it) centred on pixel (cx, cy). Spots sit ~80 px out,
 * where a radial bin has hundreds of pixels, so they barely move its statistics.
 */
function spotFrame(bg: (x: number, y: number) => number, spot: number[][], cx: number, cy: number) {
  const [width, height] = [300, 300];
  const frame = new Float32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) frame[y * width + x] = bg(x, y);
  const [halfX, halfY] = [Math.floor(spot[0].length / 2), Math.floor(spot.length / 2)];
  spot.forEach((row, dy) => row.forEach((v, dx) => (frame[(cy + dy - halfY) * width + cx + dx - halfX] += v)));
  const radius = Float32Array.from({ length: width * height }, (_, i) => Math.hypot((i % width) + 0.5 - 150, Math.floor(i / width) + 0.5 - 150));
  return { frame, width, height, radius, panel: new Int16Array(width * height), bad: new Uint8Array(width * height) };
}

const SPOT = [
  [4, 8, 4],
  [8, 40, 16],
  [4, 8, 4],
];

const W = 300;
const at = (x: number, y: number) => y * W + x;

for (const [name, impl] of [['native', findPeaks], ['reference', findPeaksReference]] as const) {
  test(`${name}: a 3x3 spot on a flat background`, (t) => {
    const input = spotFrame(() => 2, SPOT, 230, 170);
    const peaks = impl(input, { threshold: 3, minRes: 0 });
    t.is(peaks.count, 1);
    // Centre of mass of the background-subtracted values, + 0.5: x = 230 + (24 - 16) / 96.
    t.true(Math.abs(peaks.fs[0] - (230 + 8 / 96 + 0.5)) < 0.01, `fs ${peaks.fs[0]}`);
    t.true(Math.abs(peaks.ss[0] - 170.5) < 0.01, `ss ${peaks.ss[0]}`);
    t.is(peaks.npix[0], 9);
    t.is(peaks.intensity[0], 96);
    t.is(peaks.snr[0], Infinity); // a noiseless background
    t.is(peaks.maxValue![0], 42);
    t.is(peaks.panel[0], 0);
  });

  test(`${name}: local background and SNR from the ring R < d <= 2R`, (t) => {
    const bg = (x: number, y: number) => ((x + y) % 2 === 0 ? 1 : 3);
    const input = spotFrame(bg, SPOT.map((row) => row.map((v) => v * 2)), 230, 170);
    const peaks = impl(input, { threshold: 3, minRes: 0, localBgRadius: 3 });
    const ring: number[] = [];
    for (let dy = -6; dy <= 6; dy++) for (let dx = -6; dx <= 6; dx++) if (dx * dx + dy * dy > 9 && dx * dx + dy * dy <= 36) ring.push(bg(230 + dx, 170 + dy));
    const mean = ring.reduce((sum, v) => sum + v, 0) / ring.length;
    const sigma = Math.sqrt(ring.reduce((sum, v) => sum + (v - mean) ** 2, 0) / ring.length);
    let expected = 0;
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) expected += input.frame[at(230 + dx, 170 + dy)] - mean;
    t.is(peaks.count, 1);
    t.is(peaks.npix[0], 9);
    t.true(Math.abs(peaks.intensity[0] - expected) < 1e-4 * expected, `intensity ${peaks.intensity[0]} vs ${expected}`);
    t.true(Math.abs(peaks.snr[0] - expected / sigma) < 1e-4 * (expected / sigma), `snr ${peaks.snr[0]} vs ${expected / sigma}`);
  });

  test(`${name}: a spot split by a panel border gives one peak per panel`, (t) => {
    const input = spotFrame(() => 2, [[10, 30, 30, 10], [30, 90, 90, 30], [10, 30, 30, 10]], 230, 170);
    const whole = impl(input, { threshold: 5, minRes: 0 });
    t.deepEqual(Array.from(whole.npix), [12]);
    for (let i = 0; i < input.panel.length; i++) input.panel[i] = i % W < 230 ? 0 : 1;
    const split = impl(input, { threshold: 5, minRes: 0 });
    t.deepEqual(Array.from(split.panel), [0, 1]);
    t.deepEqual(Array.from(split.npix), [6, 6]);
    t.true(split.fs[0] < 230 && split.fs[1] > 230, `fs ${split.fs}`);
  });

  test(`${name}: pixel-count limits, masks and the per-panel cap`, (t) => {
    const block = Array.from({ length: 8 }, () => new Array(8).fill(50));
    const input = spotFrame(() => 2, block, 270, 150);
    t.is(impl(input, { threshold: 5, minRes: 0 }).count, 0, '64 pixels > maxPixCount 50');
    t.deepEqual(Array.from(impl(input, { threshold: 5, minRes: 0, maxPixCount: 64 }).npix), [64]);
    t.is(impl(input, { threshold: 5, minRes: 0, minPixCount: 65, maxPixCount: 100 }).count, 0);
    // A masked column through the block cuts it in two.
    for (let y = 0; y < W; y++) input.bad[at(268, y)] = 1;
    t.deepEqual(Array.from(impl(input, { threshold: 5, minRes: 0, maxPixCount: 64 }).npix), [16, 40]);

    const many = spotFrame(() => 2, SPOT, 50, 60);
    for (let k = 1; k < 9; k++) SPOT.forEach((row, dy) => row.forEach((v, dx) => (many.frame[at(49 + 20 * k + dx, 59 + dy)] += v)));
    const all = impl(many, { threshold: 3, minRes: 0 });
    t.is(all.count, 9);
    const capped = impl(many, { threshold: 3, minRes: 0, maxPeaksPerPanel: 4 });
    t.deepEqual(Array.from(capped.fs), Array.from(all.fs.subarray(0, 4)));
  });

  test(`${name}: the resolution window and bad values`, (t) => {
    const input = spotFrame(() => 2, SPOT, 230, 170);
    const r = input.radius[at(230, 170)];
    t.is(impl(input, { threshold: 3, minRes: r + 5 }).count, 0);
    t.is(impl(input, { threshold: 3, minRes: 0, maxRes: r - 5 }).count, 0);
    t.is(impl(input, { threshold: 3, minRes: r - 5, maxRes: r + 5 }).count, 1);
    input.frame[at(230, 170)] = NaN;
    t.deepEqual(Array.from(impl(input, { threshold: 3, minRes: 0 }).npix), [8]);
    input.radius.fill(NaN);
    t.is(impl(input, { threshold: 3, minRes: 0 }).count, 0);
  });
}

for (const [name, impl] of [['native', findPeaks], ['reference', findPeaksReference]] as const) {
  test(`${name}: value flags act exactly as masking the flagged pixels`, (t) => {
    const spot = spotFrame(() => 2, SPOT, 230, 170);
    const block = (value: number) => {
      // A 4 x 4 block of one value 4 px from the spot: inside its local background ring.
      const frame = Uint16Array.from(spot.frame);
      for (let y = 168; y < 172; y++) frame.fill(value, at(234, y), at(238, y));
      return { ...spot, frame };
    };
    const params = { threshold: 3, minRes: 0 };
    const clean = impl({ ...spot, frame: Uint16Array.from(spot.frame) }, params);
    t.is(clean.count, 1);

    // Eiger's marker: without flags the block is a peak of its own (met first, from row 168).
    const marked = block(0xffff);
    const maskedBlock = (input: PeakFinderInput) => ({ ...input, bad: maskFlagged(input.frame, input.bad, { flagEqual: [0xffff, 0] }) });
    const unflagged = impl(marked, params);
    t.deepEqual(Array.from(unflagged.npix), [16, 9]);
    const masked = impl(maskedBlock(marked), params);
    t.deepEqual(Array.from(masked.npix), [9]);
    t.is(comparePeaks(impl({ ...marked, flagEqual: [0xffff] }, params), masked), undefined);
    t.is(comparePeaks(impl({ ...marked, flagMoreThan: 65534 }, params), masked), undefined);
    t.is(comparePeaks(impl({ ...marked, flagMoreThan: 1000 }, params), masked), undefined);

    // Dead pixels reading 0: no peak, but without flags they pull the local background down.
    const dead = block(0);
    const deadMasked = impl(maskedBlock(dead), params);
    t.not(comparePeaks(impl(dead, params), deadMasked), undefined);
    t.is(comparePeaks(impl({ ...dead, flagLessThan: 1 }, params), deadMasked), undefined);
    t.is(comparePeaks(impl({ ...dead, flagEqual: [7, 0] }, params), deadMasked), undefined);
    // The spot's own pixels flagged: no peak is left.
    t.is(impl({ ...dead, flagMoreThan: 5 }, params).count, 0);
  });
}

test('peak lists own one ArrayBuffer per column, so each can be transferred', (t) => {
  const input = spotFrame(() => 2, SPOT, 230, 170);
  for (const peaks of [findPeaks(input, { threshold: 3, minRes: 0 }), findPeaksReference(input, { threshold: 3, minRes: 0 })]) {
    const columns = [peaks.fs, peaks.ss, peaks.panel, peaks.intensity, peaks.snr, peaks.npix, peaks.maxValue!];
    t.is(new Set(columns.map((c) => c.buffer)).size, columns.length);
    t.true(columns.every((c) => c.byteOffset === 0 && c.length === 1));
  }
});

test('isHit compares the peak count with minPeaks', (t) => {
  const peaks = findPeaks(spotFrame(() => 2, SPOT, 230, 170), { threshold: 3, minRes: 0 });
  t.false(isHit(peaks));
  t.true(isHit(peaks, { minPeaks: 1 }));
  t.is(DEFAULT_PEAKFINDER_PARAMS.minPeaks, 10);
  t.true(Object.isFrozen(DEFAULT_PEAKFINDER_PARAMS));
});

function usageMessage(t: { fail: (m: string) => void }, fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isSxError(err, 'usage')) return err.message;
    throw err;
  }
  t.fail('expected an SxError(usage)');
  return '';
}

for (const [name, impl] of [['native', findPeaks], ['reference', findPeaksReference]] as const) {
  test(`${name}: every misuse is reported, all at once`, (t) => {
    const good = spotFrame(() => 2, SPOT, 230, 170);
    const call = (input: unknown, params?: unknown) => usageMessage(t, () => impl(input as PeakFinderInput, params as Partial<PeakFinderParams>));
    t.regex(call(null), /Expected an input object \{ frame, width, height, radius, panel, bad \} for findPeaks but received null/);
    t.regex(call({ ...good, frame: new Float64Array(9) }), /Expected frame to be a Uint16Array, Uint32Array, Int32Array or Float32Array but received Float64Array\(9\)/);
    t.regex(call({ ...good, width: 299 }), /Expected frame to have width\*height = 89700 elements but received 90000/);
    t.regex(call({ ...good, width: 0 }), /Expected width to be a positive integer but received 0/);
    t.regex(call({ ...good, height: 2.5 }), /Expected height to be a positive integer but received 2.5/);
    t.regex(call({ ...good, radius: new Float32Array(7) }), /Expected radius to have width\*height = 90000 elements but received 7/);
    t.regex(call({ ...good, panel: new Int32Array(3) }), /Expected panel to be a Int16Array but received Int32Array\(3\)/);
    t.regex(call({ ...good, bad: undefined }), /Expected bad to be a Uint8Array but received undefined/);
    t.regex(call(good, { min_snr: 4 }), /Unknown peak finder parameter "min_snr"; expected one of threshold, minSnr, /);
    t.regex(call(good, { threshold: NaN }), /Expected threshold to be a finite number but received NaN/);
    t.regex(call(good, { minSnr: -1 }), /Expected minSnr to be a finite number >= 0 but received -1/);
    t.regex(call(good, { minPixCount: 0 }), /Expected minPixCount to be an integer >= 1 but received 0/);
    t.regex(call(good, { minPixCount: 5, maxPixCount: 4 }), /Expected maxPixCount to be an integer >= minPixCount \(5\) but received 4/);
    t.regex(call(good, { localBgRadius: 2.5 }), /Expected localBgRadius to be an integer from 1 to 1024 but received 2.5/);
    t.regex(call(good, { minRes: 30, maxRes: 20 }), /Expected maxRes to be 0 \(no cut\) or a finite number > minRes \(30\) but received 20/);
    t.regex(call(good, { maxPeaksPerPanel: 0 }), /Expected maxPeaksPerPanel to be an integer >= 1 but received 0/);
    t.regex(call(good, { minPeaks: -1 }), /Expected minPeaks to be an integer >= 0 but received -1/);
    t.regex(call(good, 'fast'), /Expected peak finder params to be an object but received "fast"/);
    t.regex(call({ ...good, flagLessThan: NaN }), /Expected flagLessThan to be a finite number or undefined but received NaN/);
    t.regex(call({ ...good, flagMoreThan: '60000' }), /Expected flagMoreThan to be a finite number or undefined but received "60000"/);
    t.regex(call({ ...good, flagEqual: 65535 }), /Expected flagEqual to be an array of at most 4 finite numbers or undefined but received 65535/);
    t.regex(call({ ...good, flagEqual: [1, 2, 3, 4, 5] }), /Expected flagEqual to be an array of at most 4 finite numbers or undefined but received \[1, 2, 3, 4, 5\]/);
    t.regex(call({ ...good, flagEqual: [65535, Infinity] }), /Expected flagEqual to be an array of at most 4 finite numbers or undefined but received \[65535, Infinity\]/);
    const all = call({ ...good, radius: new Float32Array(1), bad: new Uint8Array(2) }, { threshold: 'high', maxPixCount: 1, minPixCount: 2 });
    t.is(all.split('; ').length, 4, all);
  });
}

test('the addon checks its arguments again', (t) => {
  const input = spotFrame(() => 2, SPOT, 230, 170);
  const params = { ...DEFAULT_PEAKFINDER_PARAMS };
  const native = loadNative(); // below the TypeScript checks
  t.throws(() => native.peakfinder8(input.frame, W, W, new Float32Array(3), input.panel, input.bad, params), { message: /Expected radius of 90000 elements but received 3/ });
  t.throws(() => native.peakfinder8(input.frame, W, W, input.radius, new Int16Array(5), input.bad, params), { message: /Expected panel of 90000 elements but received 5/ });
  t.throws(() => native.peakfinder8(input.frame, W, W, input.radius, input.panel, input.bad, { ...params, minPixCount: 2, maxPixCount: 1 }), { message: /Expected maxPixCount to be an integer from 2/ });
  t.throws(() => native.peakfinder8(new Float64Array(9) as never, W, W, input.radius, input.panel, input.bad, params), { message: /Expected frame to be a Uint16Array/ });
  t.throws(() => native.peakfinder8(input.frame, W, W, input.radius, input.panel, input.bad, { ...params, maxRes: -1 }), { message: /non-negative/ });
  t.throws(() => native.peakfinder8(input.frame, W, W, input.radius, input.panel, input.bad, params, { flagEqual: [1, 2, 3, 4, 5] }), { message: /Expected flagEqual to be an array of at most 4 numbers/ });
  t.throws(() => native.peakfinder8(input.frame, W, W, input.radius, input.panel, input.bad, params, { flagMoreThan: NaN }), { message: /Expected flagMoreThan to be a number/ });
});
