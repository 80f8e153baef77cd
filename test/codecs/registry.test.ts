import test from 'ava';
import { BitshuffleLz4Codec } from '../../codecs/bitshuffle-lz4.ts';
import { CODEC_IDS, getCodec, getCodecClass, isCodecId } from '../../codecs/registry.ts';
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
