import test from 'ava';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isSxError } from '../../src/errors.ts';
import { simulate, type SimulateOptions } from '../../src/simulate/simulate.ts';
import { makeTempDir } from './helpers.ts';

const temp = await makeTempDir();
test.after.always(() => temp.cleanup());

const valid: SimulateOptions = { detector: 'tiny', frames: 2, hitRate: 0.5, seed: 3, out: join(temp.dir, 'never.h5') };

async function usageError(t: import('ava').ExecutionContext, overrides: Record<string, unknown>): Promise<string> {
  const error = await t.throwsAsync(simulate({ ...valid, ...overrides } as SimulateOptions));
  t.true(isSxError(error, 'usage'), `expected a usage SxError, got ${String(error)}`);
  return error?.message ?? '';
}

const cases: Array<[string, Record<string, unknown>, string]> = [
  ['hit rate above 1', { hitRate: 1.5 }, 'Expected --hit-rate between 0 and 1 but received 1.5'],
  ['negative hit rate', { hitRate: -0.1 }, 'Expected --hit-rate between 0 and 1 but received -0.1'],
  ['NaN hit rate', { hitRate: Number.NaN }, 'Expected --hit-rate between 0 and 1 but received NaN'],
  ['zero frames', { frames: 0 }, 'Expected --frames to be a positive integer but received 0'],
  ['fractional frames', { frames: 2.5 }, 'Expected --frames to be a positive integer but received 2.5'],
  ['unknown detector', { detector: 'pilatus6m' }, 'Unknown --detector "pilatus6m"; expected one of eiger16m, eiger4m, eiger1m, det1024, tiny'],
  ['negative seed', { seed: -1 }, 'Expected --seed to be an integer between 0 and 4294967295 but received -1'],
  ['seed beyond 32 bits', { seed: 2 ** 32 }, 'Expected --seed to be an integer between 0 and 4294967295 but received 4294967296'],
  ['pixel type', { pixelType: 'float32' }, 'Expected --pixel-type to be one of uint16, uint32 but received "float32"'],
  ['compression', { compression: 'gzip' }, 'Expected --compression to be one of bitshuffle-lz4, zstd, blosc, none but received "gzip"'],
  ['empty out', { out: '' }, 'Expected --out to be a file path but received ""'],
  ['geometry over the data', { geometryOut: valid.out }, `Expected --geometry-out to differ from --out but both are ${JSON.stringify(valid.out)}`],
];

for (const [name, overrides, message] of cases) {
  test(`rejects ${name}`, async (t) => {
    t.is(await usageError(t, overrides), message);
  });
}

test('reports every problem at once and writes nothing', async (t) => {
  const message = await usageError(t, { detector: 'nope', frames: -3, hitRate: 2 });
  t.deepEqual(message.split('\n').map((line) => line.split(' ')[0]), ['Unknown', 'Expected', 'Expected']);
  t.regex(message, /--frames .* -3/);
  t.regex(message, /--hit-rate .* 2$/m);
  t.deepEqual(await readdir(temp.dir), []);
});
