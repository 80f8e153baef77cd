// The spool's segments as a replay reads them: every image whole, bit-exact, in order; a segment
// cut short by a kill yields what is whole and says where it ends.
import test from 'ava';
import { readdirSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { readSegment, Spool } from '../../src/online/spool.ts';
import type { StreamImage } from '../../src/online/stream-events.ts';
import { tempDir } from '../helpers/tmp.ts';

const image = (imageId: number, fill: number): StreamImage => ({
  kind: 'image', series: 'series-a', seriesId: 4, imageId,
  frames: [
    { channel: 'threshold_1', width: 4, height: 2, pixelType: 'uint16', chunk: { codec: 'bitshuffle-lz4', bytes: new Uint8Array(30 + imageId).fill(fill) } },
    { channel: 'threshold_2', width: 4, height: 2, pixelType: 'uint16', unsupported: 'bszstd' },
  ],
});

test('a segment holds each image with what makes it frames again; a cut-short last image is said, the ones before it read', (t) => {
  const dir = tempDir(t);
  const spool = new Spool(dir);
  const origin = { experiment: { name: 'lyso', sampleTags: ['a'] }, named: 'lyso-b' };
  const refs = [1, 2, 3].map((i) => spool.write(image(i, i * 10), origin));
  t.deepEqual(spool.read(image(2, 0), refs[1]).frames[0].chunk!.bytes, new Uint8Array(32).fill(20));
  const [name] = readdirSync(dir);
  const path = join(dir, name);
  const whole = [...readSegment(path)];
  t.deepEqual(whole, [1, 2, 3].map((i) => ({ image: image(i, i * 10), origin })));
  truncateSync(path, statSync(path).size - 5);
  const cut = [...readSegment(path)];
  t.deepEqual(cut.slice(0, 2), whole.slice(0, 2));
  t.is(cut.length, 3);
  t.regex((cut[2] as { truncated: string }).truncated, /cut short/);
  // Recorded images free the spool; the segment still being written stays until closed.
  for (const ref of refs) spool.recorded(ref);
  t.is(spool.bytes, 0);
  t.deepEqual(spool.close(), []);
  t.deepEqual(readdirSync(dir), []);
});

test('closing a spool with images not recorded leaves their segment for a replay', (t) => {
  const dir = tempDir(t);
  const spool = new Spool(dir);
  spool.recorded(spool.write(image(1, 1), { experiment: { name: 'x' } }));
  spool.write(image(2, 2), { experiment: { name: 'x' } });
  const left = spool.close();
  t.is(left.length, 1);
  t.deepEqual([...readSegment(left[0])].map((r) => 'image' in r && r.image.imageId), [1, 2]);
});
