// The bitshuffle transpose has scalar, SSE2 and AVX2 paths (native/kernels/bitshuffle.cpp),
// chosen from the CPU at run time. Every path must write the same bytes as the scalar one and as
// the TypeScript reference, so chunks never depend on the machine that wrote or read them. The
// path is a process-wide setting, hence serial tests that always go back to 'auto'.
import test from 'ava';
import { bitshuffle, BitshuffleLz4Codec } from '../../codecs/bitshuffle-lz4.ts';
import { bitshuffleReference, bitunshuffleReference } from '../../codecs/bitshuffle-reference.ts';
import { isSxError } from '../../src/errors.ts';
import { loadNative } from '../../src/native.ts';
import { assertSameBytes, makeRandom, PIXEL_TYPES, randomPixels, rowShape } from './lossless-helpers.ts';

type Isa = 'scalar' | 'sse2' | 'avx2';
const ISAS: Isa[] = ['scalar', 'sse2', 'avx2'];
const native = loadNative();

/** The paths this CPU has, best last: setBitshuffleIsa refuses the others. */
const available = ISAS.filter((isa) => {
  try {
    return native.setBitshuffleIsa(isa) === isa;
  } catch {
    return false;
  }
});
native.setBitshuffleIsa('auto');
const best: Isa = available.at(-1) ?? 'scalar';

/** fn's result on every available path, in the order of `available`; back on 'auto' afterwards. */
function onEachPath<T>(fn: (isa: Isa) => T): T[] {
  try {
    return available.map((isa) => {
      native.setBitshuffleIsa(isa);
      return fn(isa);
    });
  } finally {
    native.setBitshuffleIsa('auto');
  }
}

/** Bytes with every bit pattern (half uniform, half sparse like photon counts), at an odd byte offset so no load is aligned. */
function mixedBytes(n: number, seed: number): Uint8Array {
  const rand = makeRandom(seed);
  const backing = new Uint8Array(n + 3);
  for (let i = 0; i < n; i++) backing[i + 3] = i < n / 2 ? Math.floor(rand() * 256) : rand() < 0.8 ? 0 : Math.floor(rand() * 8);
  return backing.subarray(3);
}

// Around the SIMD steps (16 and 32 elements when shuffling, 128 and 256 when unshuffling), tiny
// and empty buffers, several blocks plus a partial one.
const LENGTHS = [0, 1, 5, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 40, 63, 64, 65, 127, 128, 129, 136, 255, 256, 257, 264, 384, 392, 511, 520, 1000, 2047, 2056, 4095, 4096, 4103, 4360, 8200, 10_007];
const BLOCK_SIZES = [0, 8, 16, 24, 32, 128, 136, 256, 264, 4096];

test.serial('auto takes the best path the CPU has and every path can be forced', (t) => {
  t.true(available.includes('scalar'));
  if (process.arch === 'x64') t.true(available.includes('sse2'), 'every x86-64 has SSE2');
  t.is(native.setBitshuffleIsa('auto'), best);
  for (const isa of ISAS) {
    if (available.includes(isa)) {
      t.is(native.setBitshuffleIsa(isa), isa);
    } else {
      t.throws(() => native.setBitshuffleIsa(isa), { instanceOf: Error, message: new RegExp(`no ${isa} bitshuffle path`) });
    }
  }
  t.throws(() => native.setBitshuffleIsa('avx512' as never), { instanceOf: TypeError, message: /Expected name to be 'auto', 'scalar', 'sse2' or 'avx2'/ });
  t.throws(() => native.setBitshuffleIsa(2 as never), { instanceOf: TypeError });
  t.is(native.setBitshuffleIsa('auto'), best);
  t.log(`bitshuffle paths here: ${available.join(', ')}`);
});

test.serial('shuffle and unshuffle give the same bytes on every path, as the scalar path and the reference do', (t) => {
  for (const elemSize of [1, 2, 3, 4, 8]) {
    for (const n of LENGTHS.filter((x) => x * elemSize <= 40_000)) {
      for (const blockSize of BLOCK_SIZES) {
        const input = mixedBytes(n * elemSize, n * 31 + elemSize + blockSize);
        const planes = bitshuffleReference(input, elemSize, blockSize);
        const what = `elemSize ${elemSize}, ${n} elements, block ${blockSize}`;
        assertSameBytes(t, bitunshuffleReference(planes, elemSize, blockSize), input, `reference round trip, ${what}`);
        const offsetPlanes = new Uint8Array(planes.length + 1).subarray(1);
        offsetPlanes.set(planes);
        onEachPath((isa) => {
          assertSameBytes(t, bitshuffle(input, elemSize, blockSize), planes, `${isa} shuffle, ${what}`);
          assertSameBytes(t, bitshuffle(offsetPlanes, elemSize, blockSize, true), input, `${isa} unshuffle, ${what}`);
        });
      }
    }
  }
});

test.serial('whole detector-sized buffers transpose identically on every path', (t) => {
  // Large enough that every path runs through thousands of default blocks and an odd last block.
  for (const [type, n] of [['uint16', 1030 * 514 + 3], ['uint32', 515 * 257 + 5]] as const) {
    const data = randomPixels(type, n, 17);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const elemSize = data.BYTES_PER_ELEMENT;
    const [scalar, ...others] = onEachPath(() => bitshuffle(bytes, elemSize));
    others.forEach((planes, i) => assertSameBytes(t, planes, scalar, `${available[i + 1]} ${type}`));
    onEachPath((isa) => assertSameBytes(t, bitshuffle(scalar, elemSize, 0, true), bytes, `${isa} ${type} unshuffle`));
  }
});

test.serial('bitshuffle-LZ4 chunks are byte-identical on every path and decode on every path', (t) => {
  for (const blockSize of [0, 128, 264]) {
    const codec = BitshuffleLz4Codec.fromConfig({ id: 'bitshuffle-lz4', blockSize });
    for (const type of PIXEL_TYPES) {
      for (const n of [0, 1, 7, 8, 33, 129, 257, 4103, 10_007, 70_001]) {
        const data = randomPixels(type, n, n + blockSize);
        const shape = rowShape(n, type);
        const what = `${type} x ${n}, block ${blockSize}`;
        const [scalarChunk, ...others] = onEachPath(() => codec.encode({ data, width: shape.width, height: shape.height }));
        others.forEach((chunk, i) => assertSameBytes(t, chunk, scalarChunk, `${available[i + 1]} encode, ${what}`));
        onEachPath((isa) => {
          assertSameBytes(t, codec.decode(scalarChunk, shape).data, data, `${isa} decode, ${what}`);
          const out = new (data.constructor as new (n: number) => typeof data)(n);
          codec.decode(scalarChunk, shape, out);
          assertSameBytes(t, out, data, `${isa} decode into out, ${what}`);
        });
      }
    }
  }
});

test.serial('corrupt chunks throw on every path, and damage LZ4 accepts decodes the same everywhere', (t) => {
  const codec = BitshuffleLz4Codec.fromConfig({ id: 'bitshuffle-lz4' });
  const data = randomPixels('uint16', 10_007, 7);
  const shape = rowShape(10_007, 'uint16');
  const chunk = codec.encode({ data, width: shape.width, height: shape.height });
  const outcome = (input: Uint8Array): string => {
    try {
      const { data: pixels } = codec.decode(input, shape);
      return `pixels ${Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength).toString('base64')}`;
    } catch (error) {
      t.true(isSxError(error, 'input'), String(error));
      return `error ${(error as Error).message}`;
    }
  };
  const expectSameEverywhere = (input: Uint8Array, pattern?: RegExp) => {
    const [first, ...rest] = onEachPath(() => outcome(input));
    for (const [i, other] of rest.entries()) t.is(other, first, `${available[i + 1]} vs scalar`);
    if (pattern) t.regex(first, pattern);
  };
  expectSameEverywhere(chunk.subarray(0, 5), /^error .*shorter than its 12-byte header/);
  expectSameEverywhere(chunk.subarray(0, 12), /^error .*chunk ends inside the block/);
  expectSameEverywhere(chunk.subarray(0, chunk.length - 1), /^error /);
  expectSameEverywhere(chunk.subarray(0, 200), /^error .*claims \d+ bytes but only \d+ remain/);
  expectSameEverywhere(Uint8Array.from([...chunk, 0]), /^error .*trailing bytes/);
  const badBlock = chunk.slice();
  new DataView(badBlock.buffer).setUint32(8, 8190, false);
  expectSameEverywhere(badBlock, /^error .*invalid block size of 8190 bytes/);
  const rand = makeRandom(23);
  let errors = 0;
  for (let trial = 0; trial < 150; trial++) {
    const damaged = chunk.slice();
    for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) damaged[12 + Math.floor(rand() * (damaged.length - 12))] = Math.floor(rand() * 256);
    const [first, ...rest] = onEachPath(() => outcome(damaged));
    if (first.startsWith('error')) errors++;
    for (const [i, other] of rest.entries()) t.is(other, first, `trial ${trial}: ${available[i + 1]} vs scalar`);
  }
  t.true(errors > 0, 'some damage is detected');
});
