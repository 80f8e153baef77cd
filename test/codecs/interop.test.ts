// Our chunks against the reference implementations Debian ships: the HDF5 bitshuffle filter
// (32008) and blosc filter (32001) through h5py, and python3-zstandard. Both directions each.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { BitshuffleLz4Codec, bitshuffle } from '../../codecs/bitshuffle-lz4.ts';
import { BloscCodec } from '../../codecs/blosc.ts';
import { bytesOf } from '../../codecs/codec-support.ts';
import { ZstdCodec } from '../../codecs/zstd.ts';
import { DEBIAN_PYTHON } from '../helpers/h5py.ts';
import { tempDir } from '../helpers/tmp.ts';
import { assertSameBytes, PIXEL_TYPES, randomPixels } from './lossless-helpers.ts';
import type { PixelType } from '../../src/pixels.ts';

const SCRIPT = fileURLToPath(new URL('../python/codec_interop.py', import.meta.url));
const DTYPE: Record<PixelType, string> = { uint16: '<u2', uint32: '<u4', int32: '<i4', float32: '<f4' };
/** Shapes: below one block with a 1-pixel tail, several blocks with a partial block and a tail, an Eiger-module-sized frame. */
const SHAPES: [number, number][] = [[3, 5], [37, 53], [514, 1030]];

type Job = Record<string, unknown>;
type Result = { ok: boolean; error?: string; [key: string]: unknown };

function runJobs(dir: string, jobs: Job[]): Result[] {
  const file = join(dir, 'jobs.json');
  writeFileSync(file, JSON.stringify(jobs));
  return JSON.parse(execFileSync(DEBIAN_PYTHON, [SCRIPT, file], { encoding: 'utf8' })) as Result[];
}

const bslz4 = BitshuffleLz4Codec.fromConfig({ id: 'bitshuffle-lz4' });

test('bitshuffle-lz4 chunks interoperate with the HDF5 filter 32008 (h5py + Debian bitshuffle)', (t) => {
  const dir = tempDir(t);
  const cases = PIXEL_TYPES.flatMap((type) => SHAPES.map(([h, w], k) => ({ type, h, w, name: `${type}-${h}x${w}`, seed: k + 1 })));
  const jobs: Job[] = [];
  for (const c of cases) {
    const data = randomPixels(c.type, c.h * c.w, c.seed);
    const base = join(dir, c.name);
    writeFileSync(`${base}.raw`, bytesOf(data));
    writeFileSync(`${base}.ours`, bslz4.encode({ data, width: c.w, height: c.h }));
    const common = { filter: 'bitshuffle-lz4', dtype: DTYPE[c.type], shape: [c.h, c.w] };
    jobs.push({ op: 'read-direct', chunk: `${base}.ours`, h5: `${base}-a.h5`, out: `${base}.h5py`, ...common });
    jobs.push({ op: 'write-filtered', raw: `${base}.raw`, h5: `${base}-b.h5`, out: `${base}.theirs`, ...common });
    jobs.push({ op: 'bitshuffle', raw: `${base}.raw`, dtype: DTYPE[c.type], out: `${base}.planes` });
  }
  const results = runJobs(dir, jobs);
  t.deepEqual(results.filter((r) => !r.ok), []);
  let identical = 0;
  for (const c of cases) {
    const base = join(dir, c.name);
    const raw = readFileSync(`${base}.raw`);
    assertSameBytes(t, readFileSync(`${base}.h5py`), raw, `h5py reads our ${c.name} chunk`);
    const theirs = new Uint8Array(readFileSync(`${base}.theirs`));
    const decoded = bslz4.decode(theirs, { width: c.w, height: c.h, pixelType: c.type });
    assertSameBytes(t, decoded.data, raw, `we read h5py's ${c.name} chunk`);
    assertSameBytes(t, bitshuffle(new Uint8Array(raw), raw.length / (c.h * c.w)), readFileSync(`${base}.planes`), `transpose of ${c.name}`);
    if (Buffer.compare(readFileSync(`${base}.ours`), theirs) === 0) identical++;
  }
  t.log(`${identical} of ${cases.length} chunks byte-identical to the filter's own`);
});

test('zstd frames interoperate with python3-zstandard', (t) => {
  const dir = tempDir(t);
  const zstd = ZstdCodec.fromConfig({ id: 'zstd', level: 3 });
  const input = bytesOf(randomPixels('uint16', 200_003, 4));
  writeFileSync(join(dir, 'input'), input);
  writeFileSync(join(dir, 'ours.zst'), zstd.encode(input));
  const variants = [
    { name: 'sized', content_size: true, frames: 1 },
    { name: 'streamed', content_size: false, frames: 1 },
    { name: 'multi', content_size: true, frames: 3 },
  ];
  const results = runJobs(dir, [
    { op: 'zstd-decompress', in: join(dir, 'ours.zst'), out: join(dir, 'ours.out') },
    ...variants.map((v) => ({ op: 'zstd-compress', in: join(dir, 'input'), out: join(dir, `${v.name}.zst`), level: 5, ...v })),
  ]);
  t.deepEqual(results.filter((r) => !r.ok), []);
  t.is(results[0].content_size, input.length, 'our frames record their content size');
  assertSameBytes(t, readFileSync(join(dir, 'ours.out')), input);
  for (const v of variants) {
    const theirs = new Uint8Array(readFileSync(join(dir, `${v.name}.zst`)));
    assertSameBytes(t, zstd.decode(theirs), input, v.name);
    assertSameBytes(t, zstd.decode(theirs, new Uint8Array(input.length)), input, `${v.name} into out`);
  }
});

test('blosc buffers interoperate with the HDF5 blosc filter 32001 (h5py + Debian plugin)', (t) => {
  const dir = tempDir(t);
  const jobs: Job[] = [];
  const cases = PIXEL_TYPES.map((type, k) => ({ type, h: 37, w: 53 + k, name: type }));
  for (const c of cases) {
    const blosc = BloscCodec.fromConfig({ id: 'blosc', cname: 'lz4', clevel: 5, shuffle: 'shuffle', typesize: c.type === 'uint16' ? 2 : 4 });
    const data = randomPixels(c.type, c.h * c.w, 3);
    const base = join(dir, c.name);
    writeFileSync(`${base}.raw`, bytesOf(data));
    writeFileSync(`${base}.ours`, blosc.encode(bytesOf(data)));
    const common = { filter: 'blosc', dtype: DTYPE[c.type], shape: [c.h, c.w] };
    jobs.push({ op: 'read-direct', chunk: `${base}.ours`, h5: `${base}-a.h5`, out: `${base}.h5py`, ...common });
    jobs.push({ op: 'write-filtered', raw: `${base}.raw`, h5: `${base}-b.h5`, out: `${base}.theirs`, ...common });
  }
  const results = runJobs(dir, jobs);
  t.deepEqual(results.filter((r) => !r.ok), []);
  const decoder = BloscCodec.fromConfig({ id: 'blosc' });
  for (const c of cases) {
    const base = join(dir, c.name);
    const raw = readFileSync(`${base}.raw`);
    assertSameBytes(t, readFileSync(`${base}.h5py`), raw, `h5py reads our ${c.name} buffer`);
    assertSameBytes(t, decoder.decode(new Uint8Array(readFileSync(`${base}.theirs`))), raw, `we read h5py's ${c.name} chunk`);
  }
});
