import test from 'ava';
import { Buffers } from '../../src/ingest/frame-products.ts';

test('a buffer given back serves any request it can hold, the smallest such first', (t) => {
  const buffers = new Buffers();
  const big = buffers.take(9_000_000);
  const small = buffers.take(3_000_000);
  t.true(big.byteLength >= 9_000_000 && small.byteLength >= 3_000_000);
  buffers.give(big);
  buffers.give(small);
  t.true(buffers.take(2_500_000) === small, 'a smaller chunk than the last takes its buffer');
  t.true(buffers.take(3_500_000) === big, 'one that only the frame buffer holds takes that');
  const fresh = buffers.take(1_000_000);
  t.true(fresh !== big && fresh !== small, 'none left: a new one');
});

test('stored chunks of every size do not pile up: at most 16 buffers and 256 MiB are kept', (t) => {
  const buffers = new Buffers();
  // A run whose chunks all differ in size (real data): each frame's buffer is given back.
  const taken = Array.from({ length: 60 }, (_, i) => buffers.take(2_000_000 + i * 150_001));
  for (const b of taken) buffers.give(b);
  t.true(buffers.held.count <= 16, `${buffers.held.count} kept`);
  t.true(buffers.held.bytes <= 256 << 20, `${buffers.held.bytes} bytes kept`);
  // The newest given are kept: the run's next frames look like its last ones.
  t.true(taken.slice(-buffers.held.count).includes(buffers.take(2_000_000 + 59 * 150_001)));
  for (let i = 0; i < 40; i++) buffers.give(new ArrayBuffer(40 << 20));
  t.true(buffers.held.bytes <= 256 << 20, 'frames of an Eiger 16M too');
});

test('small buffers (masks, peak lists) are not kept', (t) => {
  const buffers = new Buffers();
  buffers.give(new ArrayBuffer(1000));
  t.is(buffers.held.count, 0);
});
