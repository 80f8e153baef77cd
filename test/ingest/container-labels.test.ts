// Every container stands on its own: for every product, the geometry extracted from the
// container (`sxarchive geometry`) lets `sxarchive label` read the container as it is and find
// the same hits as on the source; h5py reads what a reader expects (photon counts, the codec and
// its parameters) without the catalog.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEBIAN_PYTHON } from '../helpers/h5py.ts';
import { sxarchive } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const INFO = fileURLToPath(new URL('../python/container_info.py', import.meta.url));

interface ContainerInfo {
  product: string;
  codec: { product: string; reduction?: Record<string, unknown>; compression?: Record<string, unknown>; hdf5_filter: { id: number; cd_values: number[] } | null };
  shape: number[];
  dtype: string;
  filters: [number, number[]][];
  stored_chunks: number;
  frames: string[];
  max_error?: number[];
  within_bound?: boolean;
}

const info = (container: string, source?: string): ContainerInfo =>
  JSON.parse(execFileSync(DEBIAN_PYTHON, [INFO, container, ...(source ? [source] : [])], { encoding: 'utf8' })) as ContainerInfo;

function cli(args: string[]): string {
  const r = sxarchive(args);
  if (r.code !== 0) throw new Error(`sxarchive ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** `label --json` of `file` with `geometry`: n_peaks per frame, in order (errors fail the test). */
function peaksPerFrame(file: string, geometry: string): number[] {
  return cli(['label', file, '--geometry', geometry, '--json']).trim().split('\n').map((line) => {
    const row = JSON.parse(line) as { n_peaks?: number; error?: string };
    if (row.error !== undefined) throw new Error(`${file}: ${row.error}`);
    return row.n_peaks!;
  });
}

const MIN_PEAKS = 10;
const hitsOf = (peaks: number[]) => peaks.flatMap((n, i) => (n >= MIN_PEAKS ? [i] : []));

const ALL_PRODUCTS = `policy: all-products
version: 1
rules:
  - name: all
    keep:
      - { product: raw, lifecycle: [hdd: 1y] }
      - { product: binned, factor: 2, lifecycle: [hdd: 1y] }
      - { product: quantized, step: 2, lifecycle: [hdd: 1y] }
      - { product: peaks, box: 3, lifecycle: [hdd: 1y] }
`;

/** Simulates a tiny run and ingests it under `policy` into `dir`; the containers by product. */
function ingestRun(dir: string, policy: string) {
  const run = join(dir, 'run.h5');
  const geometry = join(dir, 'run.geom');
  cli(['simulate', '--detector', 'tiny', '--frames', '24', '--hit-rate', '0.5', '--seed', '5', '--out', run, '--geometry-out', geometry]);
  writeFileSync(join(dir, 'policy.yaml'), policy);
  cli(['--data-dir', join(dir, 'data'), 'policy', 'check', join(dir, 'policy.yaml')]);
  const result = JSON.parse(cli(['--data-dir', join(dir, 'data'), 'ingest', run, '--experiment', 'e1', '--geometry', geometry, '--policy', join(dir, 'policy.yaml'), '--json'])) as { containers: { path: string; product: string }[] };
  const containers = Object.fromEntries(result.containers.map((c) => [c.product, c.path]));
  return { dir, run, geometry, containers };
}

// One ingest of all four products, shared by the first two tests.
const shared = mkdtempSync(join(tmpdir(), 'sxarchive-containers-'));
test.after.always(() => rmSync(shared, { recursive: true, force: true }));
let allProducts: ReturnType<typeof ingestRun> | undefined;
const ingestAllProducts = () => (allProducts ??= ingestRun(shared, ALL_PRODUCTS));

test('every product: label with the geometry extracted from the container finds the source\'s hits', (t) => {
  const { dir, run, geometry, containers } = ingestAllProducts();
  t.deepEqual(Object.keys(containers).sort(), ['binned', 'peaks', 'quantized', 'raw']);
  const source = peaksPerFrame(run, geometry);
  const hits = hitsOf(source);
  t.true(hits.length >= 8, `the run has hits to find: ${source.join(' ')}`);

  // The source's geometry does not read a container (its data path is not in it), and says what does.
  const wrong = JSON.parse(sxarchive(['label', containers.raw, '--geometry', geometry, '--json']).stdout) as { error: string };
  t.regex(wrong.error, /data path \/entry\/data\/data is no such dataset; this file carries its own geometry \(sxarchive geometry /);

  for (const product of ['raw', 'quantized', 'peaks', 'binned']) {
    const extracted = join(dir, `${product}.geom`);
    writeFileSync(extracted, cli(['geometry', containers[product]]));
    const found = peaksPerFrame(containers[product], extracted);
    t.is(found.length, source.length, product);
    if (product === 'binned') {
      // Binned sums 2x2 pixels, so weak spots can merge or fade; every strong hit must stay one.
      const strong = source.flatMap((n, i) => (n >= 4 * MIN_PEAKS ? [i] : []));
      t.true(strong.length >= 5, `strong hits: ${strong.join(' ')}`);
      for (const i of strong) t.true(found[i] >= MIN_PEAKS, `binned frame ${i}: ${found[i]} peaks, ${source[i]} in the source`);
    } else {
      t.deepEqual(hitsOf(found), hits, `${product}: hits`);
    }
    if (product === 'raw' || product === 'peaks') t.deepEqual(found, source, `${product}: the same peaks, frame by frame`);
  }

  // Peaks: written back into full frames, the boxes alone still give every hit.
  const expanded = join(dir, 'expanded.h5');
  cli(['expand', containers.peaks, '--out', expanded]);
  const extracted = join(dir, 'expanded.geom');
  writeFileSync(extracted, cli(['geometry', expanded]));
  t.deepEqual(peaksPerFrame(expanded, extracted), source);
});

test('every container records its codec, parameters and HDF5 filter; quantized ones hold photon counts within the bound', (t) => {
  const { run, containers } = ingestAllProducts();
  const raw = info(containers.raw, run);
  t.deepEqual(raw.codec, { product: 'raw', compression: { id: 'bitshuffle-lz4' }, hdf5_filter: { id: 32008, cd_values: [0, 2] } });
  t.is(raw.product, 'raw');
  t.deepEqual(raw.filters.map(([id]) => id), [32008]);
  t.deepEqual(raw.max_error, raw.frames.map(() => 0), 'raw is the source, exactly');

  const quantized = info(containers.quantized, run);
  t.deepEqual(quantized.codec, { product: 'quantized', reduction: { id: 'quantized', step: 2 }, compression: { id: 'bitshuffle-lz4' }, hdf5_filter: { id: 32008, cd_values: [0, 2] } });
  t.is(quantized.dtype, 'uint16');
  t.true(quantized.within_bound, `every pixel within step*sqrt(x)/2 (+ rounding) of the source: max errors ${quantized.max_error!.join(' ')}`);
  t.true(Math.max(...quantized.max_error!) > 1, 'step 2 does round the bright pixels (so codes would have been far off)');

  const binned = info(containers.binned);
  t.deepEqual(binned.codec, { product: 'binned', reduction: { id: 'binned', factor: 2, minGood: 4 }, compression: { id: 'bitshuffle-lz4' }, hdf5_filter: { id: 32008, cd_values: [0, 2] } });
  t.deepEqual(binned.shape, [24, 128, 128]);

  const peaks = info(containers.peaks);
  t.deepEqual(peaks.codec, { product: 'peaks', reduction: { id: 'peaks', box: 3 }, hdf5_filter: { id: 1, cd_values: [4] } });
  t.deepEqual(peaks.shape, [24, 256, 256], 'a full-size frame stack, so CrystFEL can list the events');
  t.is(peaks.stored_chunks, 0, 'that stores no pixels: the boxes are in peak_boxes');
});

test('what policy check accepts ingest honours: zstd level 9 and blosc parameters are the HDF5 filters written, and read back', (t) => {
  const policy = `policy: tuned
version: 1
rules:
  - name: all
    keep:
      - { product: raw, codec: { id: zstd, level: 9 }, lifecycle: [hdd: 1y] }
      - { product: quantized, step: 1, codec: { id: blosc, cname: zstd, clevel: 7, shuffle: noshuffle }, lifecycle: [hdd: 1y] }
      - { product: binned, factor: 2, codec: { id: blosc }, lifecycle: [hdd: 1y] }
`;
  const { run, containers } = ingestRun(tempDir(t), policy);
  const raw = info(containers.raw, run);
  t.deepEqual(raw.filters, [[32015, [9]]]);
  t.deepEqual(raw.codec.compression, { id: 'zstd', level: 9 });
  t.deepEqual(raw.max_error, raw.frames.map(() => 0), 'zstd chunks decode to the source frames');

  const quantized = info(containers.quantized, run);
  // The blosc filter fills its first four values itself (versions, type size, chunk bytes).
  t.is(quantized.filters[0][0], 32001);
  t.deepEqual(quantized.filters[0][1].slice(4), [7, 0, 5], 'clevel 7, no shuffle, zstd');
  t.is(quantized.filters[0][1][2], 2, 'type size of uint16');
  t.true(quantized.within_bound);

  const binned = info(containers.binned);
  t.deepEqual(binned.filters[0][1].slice(4), [5, 2, 1], 'the one blosc default: clevel 5, bit shuffle, lz4');
  t.deepEqual(binned.codec.hdf5_filter, { id: 32001, cd_values: [0, 0, 0, 0, 5, 2, 1] });
});
