// A detector's pixel mask in the start message (DECTRIS stream V2, header_detail "all") joins the
// geometry's bad pixels for labelling: what it marks is never a peak.
import test from 'ava';
import { join } from 'node:path';
import { Push } from 'zeromq';
import { containerChunkCodec } from '../../codecs/registry.ts';
import { openCatalog } from '../../src/catalog/catalog.ts';
import { loadFacility } from '../../src/config/facility.ts';
import { openFrameSource } from '../../src/frames/hdf5-source.ts';
import { runStream } from '../../src/online/online.ts';
import { simulate } from '../../src/simulate/simulate.ts';
import { decodeStream2, encodeStream2, type Stream2Channel } from '../../src/streams/dectris-stream2.ts';
import { tempDir } from '../helpers/tmp.ts';

const bslz4 = containerChunkCodec('bitshuffle-lz4');

test('a series whose start message masks the pixels of its Bragg spots has no hits; the same frames without the mask are hits; a mask of the wrong size is said and not used', async (t) => {
  const dir = tempDir(t);
  const sim = await simulate({ detector: 'tiny', frames: 4, hitRate: 1, seed: 41, out: join(dir, 'run.h5'), geometryOut: join(dir, 'tiny.geom') });
  const source = await openFrameSource(sim.out);
  const { width, height, count } = source;
  const frames = Array.from({ length: count }, (_, i) => source.read(i) as Uint16Array);
  source.close();
  // Every pixel well above the background in any frame, and its neighbours: the spots.
  const mask = new Uint32Array(width * height);
  for (const f of frames) {
    for (let i = 0; i < f.length; i++) {
      if (f[i] < 5) continue;
      const x = i % width;
      const y = Math.floor(i / width);
      for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) {
        const xx = x + dx;
        const yy = y + dy;
        if (xx >= 0 && xx < width && yy >= 0 && yy < height) mask[yy * width + xx] = 1;
      }
    }
  }
  t.true(sim.hits === count && mask.reduce((n, v) => n + v, 0) < mask.length / 2, 'hits to mask, and most pixels left alone');
  const maskChannel = (w: number, h: number, bytes: Uint8Array): Stream2Channel => ({ channel: 'threshold_1', width: w, height: h, pixelType: 'uint32', compression: 'none', elemSize: 0, bytes });
  const facility = loadFacility(join(dir, 'data'));
  const catalog = openCatalog(facility.catalogLocation);
  t.teardown(() => catalog.close());
  const endpoint = `ipc://${join(dir, 'det')}`;
  const push = new Push({ linger: 5000 });
  await push.bind(endpoint);
  t.teardown(() => push.close());
  const said: string[] = [];
  const receiving = runStream({ connect: endpoint, format: 'stream2', experiment: { name: 'masked' }, geometryFile: sim.geometryOut, policy: 'keep-all', facility, catalog, series: 3, onStatus: (m) => said.push(m) });
  const send = async (seriesId: number, pixelMask?: Stream2Channel[]) => {
    const series = { seriesId, seriesUniqueId: `mask-${seriesId}` };
    await push.send(encodeStream2({ type: 'start', ...series, channels: ['threshold_1'], pixelType: 'uint16', width, height, numberOfImages: count, ...(pixelMask ? { pixelMask } : {}) }));
    for (const [imageId, f] of frames.entries()) {
      await push.send(encodeStream2({ type: 'image', ...series, imageId, data: [{ channel: 'threshold_1', width, height, pixelType: 'uint16', compression: 'bslz4', elemSize: 2, bytes: bslz4.encode({ data: f, width, height }) }] }));
    }
    await push.send(encodeStream2({ type: 'end', ...series }));
  };
  await send(1, [maskChannel(width, height, new Uint8Array(mask.buffer))]);
  await send(2);
  await send(3, [maskChannel(width - 1, height, new Uint8Array((width - 1) * height * 4))]);
  const result = await receiving;

  t.deepEqual(result.series.map((s) => [s.seriesId, s.frames, s.labelled]), [[1, count, count], [2, count, count], [3, count, count]]);
  t.is(result.series[0].hits, 0, 'the masked spots are no peaks');
  t.is(result.series[1].hits, sim.hits, 'the same frames without the mask');
  t.is(result.series[2].hits, sim.hits, 'a mask that does not fit is not used');
  t.true(said.some((m) => /series mask-1: the detector's pixel mask marks \d+ more pixel\(s\) bad for labelling/.test(m)), said.join('\n'));
  t.true(said.some((m) => m.includes(`series mask-3: the detector's pixel mask is not used: the pixel mask of threshold_1 is ${width - 1} x ${height}, the geometry's frames ${width} x ${height}`)), said.join('\n'));
  const masks = (catalog.db.prepare('SELECT labelling FROM runs ORDER BY number').all() as { labelling: string }[]).map((r) => JSON.parse(r.labelling).detector_pixel_mask);
  t.true(masks[0].pixels_added > 0, 'the run records that a detector mask was used');
  t.deepEqual(masks.slice(1), [undefined, undefined]);
  // The frames are kept as sent, mask or not.
  const kept = catalog.db.prepare("SELECT COUNT(*) AS n FROM decisions WHERE product = 'raw'").get() as { n: number };
  t.is(kept.n, 3 * count);
});

test('a pixel mask whose bytes do not fill its shape is a start message that does not decode, naming the field; a good one decodes', (t) => {
  const start = { type: 'start' as const, seriesId: 1, seriesUniqueId: 'x', channels: ['threshold_1'], pixelType: 'uint16' as const, width: 2, height: 2, numberOfImages: 1 };
  const bad = { channel: 'threshold_1', width: 2, height: 2, pixelType: 'uint32' as const, compression: 'none' as const, elemSize: 0, bytes: new Uint8Array(15) };
  t.throws(() => decodeStream2(encodeStream2({ ...start, pixelMask: [bad] })), { message: /stream2 start message: pixel_mask\.threshold_1: 2 x 2 uint32 needs 16 bytes, got 15/ });
  const good = decodeStream2(encodeStream2({ ...start, pixelMask: [{ ...bad, bytes: new Uint8Array(16) }] }));
  t.like(good, { type: 'start', pixelMask: [{ channel: 'threshold_1', width: 2, height: 2, pixelType: 'uint32', compression: 'none' }] });
});
