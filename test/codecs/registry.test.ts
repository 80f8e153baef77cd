import test from 'ava';
import { BitshuffleLz4Codec } from '../../codecs/bitshuffle-lz4.ts';
import { BloscCodec } from '../../codecs/blosc.ts';
import { CODEC_IDS, CONTAINER_CODEC_IDS, containerFilter, getCodec, getCodecClass, isCodecId } from '../../codecs/registry.ts';
import { ZstdCodec } from '../../codecs/zstd.ts';
import { isSxError } from '../../src/errors.ts';

test('lists every codec id', (t) => {
  t.deepEqual([...CODEC_IDS], ['binned', 'bitshuffle-lz4', 'blosc', 'none', 'peaks', 'quantized', 'zstd']);
  t.true(isCodecId('zstd'));
  t.false(isCodecId('toString'));
  t.false(isCodecId(3));
});

test('every registered class loads and carries its id', async (t) => {
  for (const id of CODEC_IDS) {
    const codecClass = await getCodecClass(id);
    t.is(codecClass.id, id);
  }
});

test('builds codecs from configs and bare ids', async (t) => {
  const zstd = await getCodec({ id: 'zstd', level: 7 });
  t.true(zstd instanceof ZstdCodec);
  t.deepEqual(zstd.toConfig(), { id: 'zstd', level: 7 });
  const bslz4 = await getCodec('bitshuffle-lz4');
  t.true(bslz4 instanceof BitshuffleLz4Codec);
  t.is(bslz4.kind, 'array-to-bytes');
  for (const id of ['bitshuffle-lz4', 'zstd', 'blosc', 'none']) {
    const codec = await getCodec(id);
    t.deepEqual((await getCodec(codec.toConfig())).toConfig(), { id });
  }
});

test('unknown ids and bad configs are usage errors', async (t) => {
  const unknown = await t.throwsAsync(getCodec({ id: 'lz5' }));
  t.true(isSxError(unknown, 'usage'));
  t.is(unknown.message, 'Unknown codec "lz5"; known codecs: binned, bitshuffle-lz4, blosc, none, peaks, quantized, zstd');
  await t.throwsAsync(getCodec('toString'), { message: /^Unknown codec "toString"/ });
  const bad = await t.throwsAsync(getCodec({ id: 'zstd', level: 40 }));
  t.true(isSxError(bad, 'usage'));
  t.is(bad.message, 'Expected level 1..22 for zstd but received 40');
  await t.throwsAsync(getCodec(null as never), { message: /^Expected a codec id or a config object/ });
  await t.throwsAsync(getCodec({} as never), { message: 'Unknown codec undefined; known codecs: binned, bitshuffle-lz4, blosc, none, peaks, quantized, zstd' });
});

test('container codecs: one list of ids, and the HDF5 filter settings of every option', (t) => {
  t.deepEqual([...CONTAINER_CODEC_IDS], ['bitshuffle-lz4', 'zstd', 'blosc', 'none']);
  for (const id of CONTAINER_CODEC_IDS) t.true(isCodecId(id), `${id} is a registered codec`);
  t.deepEqual(containerFilter('bitshuffle-lz4'), { id: 32008, cd_values: [0, 2] });
  t.deepEqual(containerFilter({ id: 'bitshuffle-lz4', blockSize: 2048 }), { id: 32008, cd_values: [2048, 2] });
  t.deepEqual(containerFilter('zstd'), { id: 32015, cd_values: [3] });
  t.deepEqual(containerFilter({ id: 'zstd', level: 9 }), { id: 32015, cd_values: [9] });
  t.deepEqual(containerFilter('blosc'), { id: 32001, cd_values: [0, 0, 0, 0, 5, 2, 1] }, 'the one blosc default: lz4, clevel 5, bit shuffle');
  t.deepEqual(BloscCodec.fromConfig({ id: 'blosc' }).shuffle, 'bitshuffle', 'the standalone codec has the same default');
  const codes = { blosclz: 0, lz4: 1, lz4hc: 2, zlib: 4, zstd: 5 };
  for (const [cname, code] of Object.entries(codes)) {
    t.deepEqual(containerFilter({ id: 'blosc', cname, clevel: 9, shuffle: 'noshuffle' }), { id: 32001, cd_values: [0, 0, 0, 0, 9, 0, code] }, cname);
  }
  t.is(containerFilter('none'), null);
});

test('container codecs: what a filter cannot honour is refused with the codec\'s own message', (t) => {
  t.throws(() => containerFilter({ id: 'zstd', level: 40 }), { message: 'Expected level 1..22 for zstd but received 40' });
  t.throws(() => containerFilter({ id: 'blosc', typesize: 2 }), { message: /^Expected no typesize for blosc in an HDF5 container .* but received typesize 2$/ });
  t.throws(() => containerFilter({ id: 'peaks', box: 3 }), { message: 'Expected a container codec (bitshuffle-lz4, zstd, blosc, none) but received "peaks"' });
  t.throws(() => containerFilter({ id: 'none', level: 1 }), { message: 'Unknown option "level" for none; it takes no options' });
  for (const id of CONTAINER_CODEC_IDS) {
    const error = t.throws(() => containerFilter({ id, bogus: 1 }));
    t.true(isSxError(error, 'usage'), id);
  }
});
