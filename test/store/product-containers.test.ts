import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { BinnedCodec } from '../../codecs/binned.ts';
import { BitshuffleLz4Codec } from '../../codecs/bitshuffle-lz4.ts';
import { PeaksCodec } from '../../codecs/peaks.ts';
import { containerFilter } from '../../codecs/registry.ts';
import { CONTAINER_DIMS, binGeometry, parseGeometry } from '../../src/formats/crystfel-geometry.ts';
import { CXI_DATA_PATH, CXI_GEOMETRY_PATH } from '../../src/store/cxi-container.ts';
import { loadH5, readFrame, type Dataset, type Group } from '../../src/store/hdf5.ts';
import {
  BinnedContainerWriter,
  CXI_MASK_PATH,
  PEAK_BOXES_OFFSET_PATH,
  PEAK_BOXES_PATH,
  PeaksContainerWriter,
  readPeakBoxes,
} from '../../src/store/product-containers.ts';
import { DEFLATE_FILTER } from '../../src/store/deflate.ts';
import { DEBIAN_PYTHON, readWithH5py } from '../helpers/h5py.ts';
import { tempDir } from '../helpers/tmp.ts';
import { simulateRunWithPeaks, type SimulatedRun } from '../codecs/sim-run.ts';

// One simulated 40 %-hit eiger4m run (10 hits in 25 frames) shared by the tests.
let runPromise: Promise<SimulatedRun> | undefined;
const getRun = () => (runPromise ??= simulateRunWithPeaks('eiger4m', 25, 0.4, 1));

const sha = (a: ArrayBufferView) => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');

for (const factor of [2, 4] as const) {
  test(`binned ${factor}x${factor} container of an eiger4m run: CXI layout, binned geometry, h5py reads it`, async (t) => {
    const run = await getRun();
    const { width, height } = run;
    const path = join(tempDir(t), `bin${factor}.h5`);
    const codec = BinnedCodec.fromConfig({ id: 'binned', factor });
    const bslz4 = BitshuffleLz4Codec.fromConfig({ id: 'bitshuffle-lz4' });
    const geometry = parseGeometry(run.geometryText, 'run.geom');
    const binned = run.frames.map((data) => codec.encode({ data, width, height, mask: run.map.bad }));
    const [w, h] = [binned[0].width, binned[0].height];
    const filter = containerFilter('bitshuffle-lz4');
    const record = { product: 'binned', reduction: codec.toConfig(), compression: { id: 'bitshuffle-lz4' }, hdf5_filter: filter };
    const geometryText = binGeometry(geometry, factor, { data: CXI_DATA_PATH, dims: [...CONTAINER_DIMS], masks: [{ data: CXI_MASK_PATH, goodBits: 0, badBits: 1 }] });
    const writer = await BinnedContainerWriter.create(path, { width: w, height: h, pixelType: 'uint32', filter, codec: record, geometry: geometryText });
    binned.forEach((b, i) => writer.append(b, { source: 'run.h5', event: `//${i}` }));
    writer.close();

    // Sizes: raw uint16 and both after bitshuffle-lz4; fidelity: counts kept in good bins.
    let raw = 0, rawPacked = 0, out = 0, outPacked = 0, goodCounts = 0, keptCounts = 0, badBins = 0;
    run.frames.forEach((data, i) => {
      raw += data.byteLength;
      rawPacked += bslz4.encode({ data, width, height }).length;
      out += binned[i].data.byteLength;
      outPacked += bslz4.encode(binned[i]).length;
      for (let j = 0; j < data.length; j++) if (run.map.bad[j] === 0) goodCounts += data[j];
      for (let j = 0; j < binned[i].data.length; j++) {
        if (binned[i].mask![j] === 0) keptCounts += binned[i].data[j];
        else badBins++;
      }
    });
    t.log(
      `binned ${factor}: ${width}x${height} -> ${w}x${h}; uncompressed ${(raw / out).toFixed(2)}x (uint16 -> uint32 bins); ` +
        `bitshuffle-lz4 ${rawPacked} -> ${outPacked} bytes (${(rawPacked / outPacked).toFixed(2)}x; ${(raw / outPacked).toFixed(1)}x vs raw); ` +
        `container ${statSync(path).size} bytes; ${(100 * badBins / (binned.length * w * h)).toFixed(2)} % bad bins; ` +
        `good-bin counts / good-pixel counts ${(keptCounts / goodCounts).toFixed(4)}`,
    );
    t.true(rawPacked / outPacked > factor * factor / 3);

    const h5 = await loadH5();
    const file = new h5.File(path, 'r');
    t.teardown(() => file.close());
    const data = file.get(CXI_DATA_PATH) as Dataset;
    t.deepEqual(data.shape, [25, h, w]);
    binned.forEach((b, i) => t.deepEqual(readFrame(data, i), b.data));
    const mask = file.get(CXI_MASK_PATH) as Dataset;
    t.deepEqual(mask.shape, [25, h, w]);
    t.deepEqual(mask.slice([[3, 4]]), binned[3].mask);
    t.deepEqual(JSON.parse((file.get('/entry_1') as Group).attrs.sxarchive_codec.value as string), record);

    const text = (file.get(CXI_GEOMETRY_PATH) as Dataset).value as string;
    const g = parseGeometry(text, 'binned.geom');
    t.regex(text, /data = \/entry_1\/data_1\/data/);
    t.regex(text, /dim0 = %/);
    t.regex(text, /mask0_data = \/entry_1\/data_1\/mask/);
    t.is(g.panels.length, geometry.panels.length);
    g.panels.forEach((p, i) => {
      t.true(Math.abs(p.res - geometry.panels[i].res / factor) < 1e-3);
      t.true(p.maxFs < w && p.maxSs < h);
    });

    const view = readWithH5py(path, CXI_DATA_PATH, [CXI_GEOMETRY_PATH, '/entry_1/experiment_identifier']);
    t.deepEqual(view.shape, [25, h, w]);
    t.is(view.dtype, 'uint32');
    t.deepEqual(view.frames, binned.map((b) => sha(b.data)));
    t.is(view.extra[CXI_GEOMETRY_PATH], text);
    t.is((view.extra['/entry_1/experiment_identifier'] as string[])[24], '//24');
    const maskView = readWithH5py(path, CXI_MASK_PATH);
    t.is(maskView.dtype, 'uint8');
    t.deepEqual(maskView.frames, binned.map((b) => sha(b.mask!)));
  });
}

const H5PY_PEAKS = `
import hashlib, json, sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    r = f["/entry_1/result_1"]
    off = f["${PEAK_BOXES_OFFSET_PATH}"][()]
    payload = f["${PEAK_BOXES_PATH}"]
    out = {k: [list(r[k].shape), str(r[k].dtype)] for k in r}
    out["nPeaks"] = r["nPeaks"][()].tolist()
    out["x0"] = r["peakXPosRaw"][:, 0].tolist()
    out["payload"] = [hashlib.sha256(payload[int(off[i]):int(off[i + 1])].tobytes()).hexdigest() for i in range(len(off) - 1)]
    out["offsetDtype"] = str(off.dtype)
    d = f["/entry_1/data_1/data"]
    out["stack"] = [list(d.shape), d.id.get_num_chunks(), int(d[3].max())]
print(json.dumps(out))
`;

test('peaks container of an eiger4m run: CXI peak tables and sparse payloads, read back by h5wasm and h5py', async (t) => {
  const run = await getRun();
  const { width, height } = run;
  const path = join(tempDir(t), 'peaks.h5');
  const codec = PeaksCodec.fromConfig({ id: 'peaks', box: 3 });
  const payloads = run.frames.map((data, i) => codec.encode({ data, width, height }, { peaks: run.peaks[i] }));
  const writer = await PeaksContainerWriter.create(path, { codec: { product: 'peaks', reduction: codec.toConfig(), hdf5_filter: DEFLATE_FILTER }, width, height, pixelType: 'uint16', geometry: run.geometryText });
  payloads.forEach((p, i) => writer.append(p, run.peaks[i], { source: 'run.h5', event: `//${i}` }));
  writer.close();
  const raw = run.frames.reduce((n, f) => n + f.byteLength, 0);
  const size = statSync(path).size;
  t.log(`peaks box 3: raw ${raw} bytes -> payloads ${payloads.reduce((n, p) => n + p.length, 0)} bytes -> container ${size} bytes (${(raw / size).toFixed(0)}x, with the peak tables)`);
  t.true(raw / size >= 50);

  const h5 = await loadH5();
  const file = new h5.File(path, 'r');
  t.teardown(() => file.close());
  const maxPeaks = Math.max(...run.peaks.map((p) => p.count));
  t.deepEqual((file.get('/entry_1/result_1/nPeaks') as Dataset).value, Int32Array.from(run.peaks, (p) => p.count));
  const xs = file.get('/entry_1/result_1/peakXPosRaw') as Dataset;
  t.deepEqual(xs.shape, [25, maxPeaks]);
  const busiest = run.peaks.findIndex((p) => p.count === maxPeaks);
  const row = xs.slice([[busiest, busiest + 1]]) as Float32Array;
  t.is(row[0], Math.fround(run.peaks[busiest].fs[0] - 0.5), 'array-index positions, as Cheetah writes them');
  for (const i of [0, busiest]) {
    const back = codec.decode(readPeakBoxes(file, i), { width, height, pixelType: 'uint16' });
    t.deepEqual(readPeakBoxes(file, i), payloads[i]);
    t.is(back.peaks.count, run.peaks[i].count);
  }

  const view = JSON.parse(execFileSync(DEBIAN_PYTHON, ['-c', H5PY_PEAKS, path], { encoding: 'utf8' })) as Record<string, unknown>;
  for (const name of ['peakXPosRaw', 'peakYPosRaw', 'peakTotalIntensity', 'peakMaximumValue', 'peakSNR', 'peakNPixels']) {
    t.deepEqual(view[name], [[25, maxPeaks], 'float32'], name);
  }
  t.deepEqual(view.nPeaks, run.peaks.map((p) => p.count));
  t.deepEqual(view.payload, payloads.map(sha));
  t.is(view.offsetDtype, 'uint64');
  t.deepEqual(view.stack, [[25, height, width], 0, 0], 'a frame stack for CrystFEL\'s event list that stores nothing and reads as zeros');
  t.is((view.x0 as number[])[busiest], Math.fround(run.peaks[busiest].fs[0] - 0.5));
});
