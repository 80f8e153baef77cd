import test from 'ava';
import { join } from 'node:path';
import { readFrame } from '../../src/store/hdf5.ts';
import { simulate, type SimulateOptions } from '../../src/simulate/simulate.ts';
import { dataset, makeTempDir, openH5, values } from './helpers.ts';

const temp = await makeTempDir();
test.after.always(() => temp.cleanup());

let runs = 0;
async function framesOf(options: Omit<SimulateOptions, 'out'>): Promise<{ frames: Buffer[]; truth: number[][] }> {
  const out = join(temp.dir, `run-${runs++}.h5`);
  await simulate({ ...options, out });
  const file = await openH5(out);
  try {
    const data = dataset(file, '/entry/data/data');
    const frames = Array.from({ length: options.frames }, (_, n) => {
      const frame = readFrame(data, n);
      return Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
    });
    const truth = ['is_hit', 'quaternion', 'crystal_scale', 'n_spots', 'resolution_limit'].map((name) =>
      Array.from(values(file, `/entry/truth/${name}`)),
    );
    return { frames, truth };
  } finally {
    file.close();
  }
}

const base = { detector: 'tiny', frames: 12, hitRate: 0.5, seed: 2024 } as const;

test('the same options give byte-identical frames and truth', async (t) => {
  const first = await framesOf(base);
  const second = await framesOf(base);
  t.true(first.truth[0].includes(1) && first.truth[0].includes(0), 'the run mixes hits and blanks');
  first.frames.forEach((frame, n) => t.true(frame.equals(second.frames[n]), `frame ${n}`));
  t.deepEqual(first.truth, second.truth);
});

test('frame n does not depend on the number of frames in the run', async (t) => {
  const long = await framesOf(base);
  const short = await framesOf({ ...base, frames: 5 });
  short.frames.forEach((frame, n) => t.true(frame.equals(long.frames[n]), `frame ${n}`));
});

test('a different seed gives different frames', async (t) => {
  const first = await framesOf(base);
  const other = await framesOf({ ...base, seed: 2025 });
  first.frames.forEach((frame, n) => t.false(frame.equals(other.frames[n]), `frame ${n}`));
});

test('compression does not change the frames', async (t) => {
  const packed = await framesOf({ ...base, frames: 4, pixelType: 'uint32' });
  const zstd = await framesOf({ ...base, frames: 4, pixelType: 'uint32', compression: 'zstd' });
  const plain = await framesOf({ ...base, frames: 4, pixelType: 'uint32', compression: 'none' });
  packed.frames.forEach((frame, n) => {
    t.is(frame.byteLength, 256 * 256 * 4);
    t.true(frame.equals(zstd.frames[n]));
    t.true(frame.equals(plain.frames[n]));
  });
});
