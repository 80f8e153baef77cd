import test from 'ava';
import { PeaksCodec, readPeakBoxesHeader } from '../../codecs/peaks.ts';
import { encodePeakBoxesReference } from '../../codecs/peaks-reference.ts';
import { ZstdCodec } from '../../codecs/zstd.ts';
import { SxError } from '../../src/errors.ts';
import { makeRandom, photonFrame, PIXEL_TYPES } from './helpers.ts';
import { simulateRunWithPeaks } from './sim-run.ts';
import { allocPixels, type PixelArray, type PixelType } from '../../src/pixels.ts';

function randomPeaks(n: number, width: number, height: number, rand: () => number) {
  const fs = new Float32Array(n + 3);
  const ss = new Float32Array(n + 3);
  for (let k = 0; k < n; k++) {
    // Some outside the frame, some at its edges, some clustered so boxes overlap and touch.
    fs[k] = k % 7 === 0 ? fs[k - 1 < 0 ? 0 : k - 1] + 4 * rand() : rand() * (width + 10) - 5;
    ss[k] = k % 7 === 0 ? ss[k - 1 < 0 ? 0 : k - 1] + 4 * rand() : rand() * (height + 10) - 5;
  }
  fs[n] = NaN; // never read: beyond count
  return { count: k_count(n, rand), fs, ss };
}
const k_count = (n: number, rand: () => number) => (rand() < 0.5 ? n : n + 1);

/** Every pixel inside a box exact, every pixel outside 0 and masked. */
function checkDecoded(frame: PixelArray, width: number, height: number, peaks: { count: number; fs: Float32Array; ss: Float32Array }, box: number, decoded: { data: PixelArray; mask?: Uint8Array }): string | undefined {
  const inside = new Uint8Array(width * height);
  for (let k = 0; k < peaks.count; k++) {
    const cx = Math.floor(peaks.fs[k]);
    const cy = Math.floor(peaks.ss[k]);
    if (!Number.isFinite(cx) || !Number.isFinite(cy)) continue;
    for (let y = Math.max(0, cy - box); y <= Math.min(height - 1, cy + box); y++) {
      for (let x = Math.max(0, cx - box); x <= Math.min(width - 1, cx + box); x++) inside[y * width + x] = 1;
    }
  }
  for (let i = 0; i < frame.length; i++) {
    const want = inside[i] ? frame[i] : 0;
    if (!Object.is(decoded.data[i], want)) return `pixel ${i}: ${decoded.data[i]} != ${want}`;
    if (decoded.mask![i] !== 1 - inside[i]) return `mask ${i}`;
  }
  return undefined;
}

for (const type of PIXEL_TYPES) {
  test(`${type}: native bytes equal the reference; decode is exact inside the boxes and 0 outside`, (t) => {
    const rand = makeRandom(31 + type.length);
    for (const [width, height] of [[97, 61], [1, 1], [300, 7], [5, 200]] as const) {
      const data = photonFrame(type, width * height, rand);
      for (const box of [1, 3, 7]) {
        const peaks = randomPeaks(Math.floor(rand() * 40), width, height, rand);
        const codec = PeaksCodec.fromConfig({ id: 'peaks', box });
        const bytes = codec.encode({ data, width, height }, { peaks });
        const ref = encodePeakBoxesReference({ data, width, height }, { peaks }, box);
        t.deepEqual(bytes, ref, `${width}x${height} box ${box}`);
        const decoded = codec.decode(bytes, { width, height, pixelType: type });
        t.is(checkDecoded(data, width, height, peaks, box, decoded), undefined, `${width}x${height} box ${box}`);
      }
    }
  });
}

test('overlapping boxes store each pixel once; frames without peaks are 32 bytes', (t) => {
  const width = 50;
  const height = 40;
  const data = allocPixels('uint16', width * height).map((_, i) => i % 1000);
  const codec = PeaksCodec.fromConfig({ id: 'peaks', box: 3 });
  const twice = { count: 3, fs: Float32Array.of(10.5, 10.5, 12.2), ss: Float32Array.of(20.5, 20.5, 21.9) };
  const h = readPeakBoxesHeader(codec.encode({ data, width, height }, { peaks: twice }));
  t.is(h.nPixels, 7 + 6 * 9 + 7, 'boxes 7x7 at (10, 20) and (12, 21): rows 17 and 24 of 7 pixels, 18..23 of 9');
  t.is(h.nRuns, 8);
  const empty = codec.encode({ data, width, height }, { peaks: { count: 0, fs: new Float32Array(0), ss: new Float32Array(0) } });
  t.is(empty.length, 32);
  const back = codec.decode(empty, { width, height, pixelType: 'uint16' });
  t.true(Array.from(back.data).every((v) => v === 0));
  t.true(back.mask!.every((m) => m === 1));
});

test('peaks-only on a simulated 40 %-hit eiger4m run: exact boxes, >= 50x smaller than raw', async (t) => {
  const run = await simulateRunWithPeaks('eiger4m', 25, 0.4, 1); // 10 hits of 25
  const { width, height } = run;
  const codec = PeaksCodec.fromConfig({ id: 'peaks', box: 3 });
  const zstd = ZstdCodec.fromConfig({ id: 'zstd' });
  let raw = 0;
  let sparse = 0;
  let packed = 0;
  let kept = 0;
  for (let i = 0; i < run.frames.length; i++) {
    const frame = { data: run.frames[i], width, height };
    const peaks = run.peaks[i];
    const bytes = codec.encode(frame, { peaks });
    if (i < 4) t.deepEqual(bytes, encodePeakBoxesReference(frame, { peaks }, 3), `frame ${i}: native = reference`);
    t.is(checkDecoded(frame.data, width, height, peaks, 3, codec.decode(bytes, { width, height, pixelType: 'uint16' })), undefined, `frame ${i}`);
    raw += frame.data.byteLength;
    sparse += bytes.length;
    packed += zstd.encode(bytes).length;
    kept += readPeakBoxesHeader(bytes).nPixels;
  }
  const hits = run.isHit.filter(Boolean).length;
  const nPeaks = run.peaks.map((p) => p.count);
  t.log(
    `${run.frames.length} frames, ${hits} hits, peaks per frame ${Math.min(...nPeaks)}..${Math.max(...nPeaks)}; kept ${(100 * kept / (run.frames.length * width * height)).toFixed(3)} % of pixels; ` +
      `raw ${raw} bytes -> sparse ${sparse} (${(raw / sparse).toFixed(0)}x), + zstd ${packed} (${(raw / packed).toFixed(0)}x)`,
  );
  t.is(hits, 10);
  t.true(raw / sparse >= 50, `reduction ${raw / sparse}`);
});

test('config round-trips; box defaults to 3 and is always written', (t) => {
  for (const box of [1, 3, 10, 64]) t.deepEqual(PeaksCodec.fromConfig({ id: 'peaks', box }).toConfig(), { id: 'peaks', box });
  t.deepEqual(PeaksCodec.fromConfig({ id: 'peaks' }).toConfig(), { id: 'peaks', box: 3 });
  t.deepEqual(PeaksCodec.fromConfig({ id: 'peaks' }), PeaksCodec.fromConfig({ id: 'peaks', box: 3 }));
  const codec = PeaksCodec.fromConfig({ id: 'peaks' });
  t.is(codec.kind, 'array-to-bytes');
  t.false(codec.lossless);
});

test('misuse: bad box, missing peaks, bad payloads', (t) => {
  for (const box of [0, -1, 1.5, 65, '3', null]) {
    const err = t.throws(() => PeaksCodec.fromConfig({ id: 'peaks', box }), { instanceOf: SxError });
    t.is(err?.tag, 'usage');
    t.regex(err?.message ?? '', /Expected box to be an integer from 1 to 64/);
  }
  t.throws(() => PeaksCodec.fromConfig({ id: 'peaks', radius: 3 }), { message: /Unknown option "radius"/ });
  const codec = PeaksCodec.fromConfig({ id: 'peaks' });
  const frame = { data: new Uint16Array(16), width: 4, height: 4 };
  const none = t.throws(() => codec.encode(frame), { instanceOf: SxError });
  t.is(none?.tag, 'usage');
  t.regex(none?.message ?? '', /Expected context\.peaks .* for codec peaks but received none/);
  t.throws(() => codec.encode(frame, {}), { message: /context\.peaks/ });
  t.throws(() => codec.encode(frame, { peaks: { count: 2, fs: new Float32Array(1), ss: new Float32Array(2) } }), { instanceOf: SxError, message: /hold 2 peaks/ });
  t.throws(() => codec.encode(frame, { peaks: { count: 1, fs: [1] as unknown as Float32Array, ss: new Float32Array(1) } }), { message: /Float32Arrays/ });
  const bytes = codec.encode(frame, { peaks: { count: 1, fs: Float32Array.of(1), ss: Float32Array.of(1) } });
  const shape = { width: 4, height: 4, pixelType: 'uint16' as PixelType };
  t.throws(() => codec.decode(bytes.subarray(0, bytes.length - 1), shape), { instanceOf: SxError, message: /corrupt payload/ });
  t.throws(() => codec.decode(new Uint8Array(40), shape), { message: /magic/ });
  t.throws(() => codec.decode(bytes, { ...shape, pixelType: 'float32' }), { message: /4 x 4 uint16 frame but 4 x 4 float32 was expected/ });
});
