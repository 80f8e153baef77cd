import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSxError } from '../../src/errors.ts';
import { CXI_DATA_PATH } from '../../src/store/cxi-container.ts';
import { FrameStackWriter, loadH5 } from '../../src/store/hdf5.ts';
import { verifyContainer } from '../../src/store/verify.ts';
import { tempDir } from '../helpers/tmp.ts';

/** Three uncompressed 16x16 frames whose pixels are 1000 + frame*256 + index, so each frame's bytes can be found in the file. */
async function writeStack(path: string): Promise<readonly number[]> {
  const h5 = await loadH5();
  const file = new h5.File(path, 'w');
  const stack = new FrameStackWriter(file, CXI_DATA_PATH, 16, 16, 'uint16', null);
  for (let f = 0; f < 3; f++) stack.append(Uint16Array.from({ length: 256 }, (_, i) => 1000 + f * 256 + i));
  file.close();
  return stack.digests;
}

test('the read-back check passes a whole container and names a missing or changed frame', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'stack.h5');
  const digests = await writeStack(path);
  t.is(digests.length, 3);
  await t.notThrowsAsync(verifyContainer(path, { frames: 3, frameDigests: digests }));

  const short = await t.throwsAsync(verifyContainer(path, { frames: 4, frameDigests: digests }));
  t.true(isSxError(short, 'store'));
  t.is(short!.message, `${path}: the written container holds 3 frames; 4 were written`);

  // A changed pixel in frame 1, as a bad disk or a half-done write leaves it.
  const bytes = readFileSync(path);
  const frame1 = Buffer.from(Uint16Array.from({ length: 256 }, (_, i) => 1000 + 256 + i).buffer);
  const at = bytes.indexOf(frame1);
  t.true(at > 0);
  bytes[at + 100] ^= 0xff;
  const changed = join(dir, 'changed.h5');
  writeFileSync(changed, bytes);
  const err = await t.throwsAsync(verifyContainer(changed, { frames: 3, frameDigests: digests }));
  t.is(err!.message, `${changed}: frame 1 of the written container reads back different from what was written`);

  const cut = join(dir, 'cut.h5');
  writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const truncated = await t.throwsAsync(verifyContainer(cut, { frames: 3, frameDigests: digests }));
  t.regex(truncated!.message, /cut\.h5: the written container cannot be opened again/);
});
