// `npm run bench`: one JSON line per stage. Speeds are also given as a ratio to the single-core
// memory-copy speed measured in the same run, so results compare across noisy machines.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { getCodec } from '../../codecs/registry.ts';
import { quantizeErrorBound } from '../../codecs/quantized.ts';
import type { ArrayToArrayCodec } from '../../codecs/types.ts';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCatalog, type NewFrame } from '../../src/catalog/catalog.ts';
import { loadFacility } from '../../src/config/facility.ts';
import { ingest } from '../../src/ingest/ingest.ts';
import { importStream } from '../../src/results/import-stream.ts';
import { formatStream } from '../helpers/crystfel-stream.ts';
import { binFrame } from '../../src/reduce/binning.ts';
import { binFrameReference } from '../../src/reduce/binning-reference.ts';
import { simulate } from '../../src/simulate/simulate.ts';
import { BitshuffleLz4Codec } from '../../codecs/bitshuffle-lz4.ts';
import { openFrameSource } from '../../src/frames/hdf5-source.ts';
import { Buffers, fetchFrame, SourceFiles } from '../../src/ingest/frame-products.ts';
import { readGeometry } from '../../src/formats/crystfel-geometry.ts';
import { buildPixelMap } from '../../src/core/pixel-map.ts';
import { Labeller } from '../../src/core/labels.ts';
import { DEFAULT_PEAKFINDER_PARAMS, findPeaks } from '../../src/core/peakfinder8.ts';
import { findPeaksReference } from '../../src/core/peakfinder8-reference.ts';
import { benchMigration } from './lifecycle.ts';
import type { OnlineMeasure } from './online.ts';
import type { PipelineMeasure } from './pipeline.ts';
import { benchReports } from './report.ts';

const MB = 1e6;
const work = mkdtempSync(join(tmpdir(), 'sxarchive-bench-'));

function emit(record: Record<string, unknown>): void {
  console.log(JSON.stringify(record));
}

/** Repeats `fn` until at least `minSeconds` have passed; returns seconds per call. */
function timeIt(fn: () => void, minSeconds = 1): number {
  fn();
  let calls = 0;
  const start = performance.now();
  do {
    fn();
    calls += 1;
  } while (performance.now() - start < minSeconds * 1000);
  return (performance.now() - start) / 1000 / calls;
}

function memcpyMBps(): number {
  const size = 256 << 20;
  const src = Buffer.alloc(size, 7);
  const dst = Buffer.alloc(size);
  return size / MB / timeIt(() => src.copy(dst), 2);
}

const round = (x: number, digits = 1) => Number(x.toFixed(digits));

/** Every target the issues set, with what this run measured: printed as it is met or not, and summed up at the end. */
interface TargetCheck {
  stage: string;
  detector?: string;
  measured: number;
  target: string;
  met: boolean;
}
const targets: TargetCheck[] = [];

/** Checks `measured` against a target; the fields go into the stage's own line too. */
function target(stage: string, detector: string | undefined, measured: number, comparison: '>=' | '<', bound: number, unit: string): { target: string; met: boolean } {
  const check = { stage, detector, measured, target: `${comparison} ${bound} ${unit}`, met: comparison === '>=' ? measured >= bound : measured < bound };
  targets.push(check);
  return { target: check.target, met: check.met };
}

/** Policies that keep one product of every frame (or of the hits, as shipped), to measure each product. */
const PRODUCT_POLICIES: Record<string, string> = {
  'raw-all': `{ product: raw, codec: bitshuffle-lz4, lifecycle: [hdd: 1y] }`,
  'binned2-all': `{ product: binned, factor: 2, codec: bitshuffle-lz4, lifecycle: [hdd: 1y] }`,
  'binned4-all': `{ product: binned, factor: 4, codec: bitshuffle-lz4, lifecycle: [hdd: 1y] }`,
  'quantized1-all': `{ product: quantized, step: 1, codec: bitshuffle-lz4, lifecycle: [hdd: 1y] }`,
};

/**
 * The whole ingest (test/bench/pipeline.ts) in a process of its own, as `sxarchive ingest` runs:
 * this one holds the earlier stages' frames, whose garbage collection would be measured too.
 */
async function benchPipeline(detector: string, file: string, geometryFile: string, relative: (mbPerS: number) => Record<string, number>): Promise<void> {
  const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./pipeline.ts', import.meta.url)), detector, file, geometryFile, work], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (child.status !== 0) throw new Error(`ingest-pipeline ${detector}: the benchmark process ended with ${child.status ?? child.signal}`);
  const m: PipelineMeasure = JSON.parse(child.stdout.trim().split('\n').at(-1)!);
  const mbPerS = m.rawBytes / MB / m.seconds;
  emit({
    stage: 'ingest-pipeline', detector, compression: 'bitshuffle-lz4', policy: 'facility-default', labelled: m.labelled, hits: m.hits, cores: availableParallelism(),
    frames: m.frames, frames_per_s: round(m.frames / m.seconds, 2), ...relative(mbPerS),
    compression_ratio: round(m.rawBytes / m.storedBytes, 2), rules: m.rules,
    stage_seconds: Object.fromEntries(Object.entries(m.stageSeconds).map(([k, v]) => [k, round(v, 2)])), wall_seconds: round(m.seconds, 2),
    ...target('ingest-pipeline', detector, round(mbPerS), '>=', 1500, 'MB/s of raw input on this machine'),
  });
}

/** The online target: raw input a 2-core node takes from a detector, as the file ingest does. */
const ONLINE_TARGET_MB_S = 1500;

/**
 * The online pipeline (test/bench/online.ts) in a process of its own, detector-sim in another on
 * the same 2 cores: received, labelled, decided, reduced, written and recorded, end to end. Once
 * as fast as the sender goes (the queue behind the socket absorbs what the pipeline has not taken:
 * its capacity), once with the detector paced at the target rate for twice as long (sustained: it
 * keeps up if the queue stays a few images deep and nothing is spooled or dropped).
 */
async function benchOnline(detector: string, file: string, geometryFile: string, frameBytes: number, relative: (mbPerS: number) => Record<string, number>): Promise<void> {
  const run = (rounds: number, rate?: number): OnlineMeasure => {
    execFileSync('sync');
    const args = [fileURLToPath(new URL('./online.ts', import.meta.url)), detector, file, geometryFile, work, String(rounds), ...(rate === undefined ? [] : [String(rate)])];
    const child = spawnSync(process.execPath, ['--import', 'tsx', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (child.status !== 0) throw new Error(`online ${detector}: the benchmark process ended with ${child.status ?? child.signal}`);
    return JSON.parse(child.stdout.trim().split('\n').at(-1)!);
  };
  const line = (m: OnlineMeasure) => ({
    format: 'stream2 (bslz4) over tcp', policy: 'binned-hits', labelled: m.labelled, hits: m.hits, cores: availableParallelism(),
    images: m.images, frames: m.frames, frames_per_s: round(m.frames / m.seconds, 2), ...relative(m.rawBytes / MB / m.seconds),
    max_queue_images: m.maxQueueImages, spooled: m.spooled, dropped: m.dropped, compression_ratio: round(m.rawBytes / m.storedBytes, 2), rules: m.rules,
    stage_seconds: Object.fromEntries(Object.entries(m.stageSeconds).map(([k, v]) => [k, round(v, 2)])), wall_seconds: round(m.seconds, 2),
  });

  const capacity = run(32);
  emit({
    stage: 'online', detector, ...line(capacity), note: 'detector-sim -> stream -> label -> decide -> reduce -> write, the sender as fast as it goes on the same 2 cores',
    ...target('online', detector, round(capacity.rawBytes / MB / capacity.seconds), '>=', ONLINE_TARGET_MB_S, 'MB/s of raw input on this machine'),
  });
  const rate = Math.ceil((ONLINE_TARGET_MB_S * MB) / frameBytes);
  const sustained = run(64, rate);
  const keptUp = sustained.maxQueueImages <= 16 && sustained.spooled === 0 && Object.keys(sustained.dropped).length === 0;
  emit({
    stage: 'online-sustained', detector, detector_rate_hz: rate, detector_mb_per_s: round((rate * frameBytes) / MB), ...line(sustained),
    note: `the detector paced at ${ONLINE_TARGET_MB_S} MB/s: kept up when the queue stays within 16 images, nothing spooled or dropped`,
    ...target('online-sustained', detector, keptUp ? 1 : 0, '>=', 1, `(1: kept up with a detector at ${ONLINE_TARGET_MB_S} MB/s)`),
  });
}

/** A CrystFEL stream with a chunk for each of the file's frames, none of them indexed. */
function noneIndexedStream(file: string, frames: number): string {
  const path = join(work, 'none-indexed.stream');
  writeFileSync(path, formatStream(Array.from({ length: frames }, (_, i) => ({ file, event: `//${i}`, hit: false, indexed: false }))));
  return path;
}

/**
 * Reduction factor (raw uint16 bytes of the whole 40 %-hit experiment / bytes kept) per product
 * and shipped policy, through the real ingest, and the quantizer's fidelity on the same frames.
 */
async function benchReductions(file: string, geometryFile: string, frames: Uint16Array[], frameMB: number): Promise<void> {
  const dataDir = join(work, 'data-reductions');
  const facility = loadFacility(dataDir);
  const policies: [string, string][] = Object.entries(PRODUCT_POLICIES).map(([name, keep]) => {
    const path = join(work, `${name}.yaml`);
    writeFileSync(path, `policy: ${name}\nversion: 1\nrules:\n  - name: all\n    keep: [${keep}]\n`);
    return [name, path];
  });
  // indexed-only and facility-default are left out: what they keep depends on real indexing results.
  policies.push(['keep-all', 'keep-all'], ['hits-only', 'hits-only'], ['sample-blanks', 'sample-blanks'], ['binned-hits', 'binned-hits'], ['peaks-only', 'peaks-only'], ['results-gated', 'results-gated']);
  for (const [name, policy] of policies) {
    const catalog = openCatalog(facility.catalogLocation);
    // A gated policy waits for indexing results: a stream saying that no frame indexed makes
    // every hit take the unindexed rule at once, as it would after the gate's timeout.
    if (name === 'results-gated') await importStream({ catalog, experiment: `reduce-${name}`, file: noneIndexedStream(file, frames.length) });
    const start = performance.now();
    const result = await ingest({ files: [file], experiment: { name: `reduce-${name}` }, geometryFile, policy, facility, catalog });
    const seconds = (performance.now() - start) / 1000;
    catalog.close();
    const reduction = round(result.rawBytes / Math.max(1, result.storedBytes), 1);
    emit({
      stage: 'reduction', detector: 'eiger4m', hit_rate: 0.4, policy: name, frames: result.frames, hits: result.hits, kept_bytes: result.storedBytes,
      reduction_vs_raw: reduction, ingest_frames_per_s: round(result.frames / seconds, 2),
      ...(name === 'results-gated' ? { note: 'no frame indexed: every hit kept binned 4x4' } : {}),
      ...(name === 'peaks-only' ? target('reduction peaks-only', 'eiger4m', reduction, '>=', 50, 'x') : {}),
    });
  }
  const quantized = (await getCodec({ id: 'quantized', step: 1 })) as ArrayToArrayCodec;
  let exact = 0;
  let worst = 0;
  let sumSq = 0;
  let n = 0;
  const start = performance.now();
  for (const data of frames) {
    const back = quantized.decode(quantized.encode({ data, width: 2068, height: 2162 })).data;
    for (let i = 0; i < data.length; i++) {
      const err = Math.abs(back[i] - data[i]);
      if (err === 0) exact += 1;
      else worst = Math.max(worst, err / quantizeErrorBound(data[i], 1));
      sumSq += err * err;
    }
    n += data.length;
  }
  const seconds = (performance.now() - start) / 1000;
  emit({
    stage: 'quantized-fidelity', detector: 'eiger4m', step: 1, exact_fraction: round(exact / n, 5), rms_error_photons: round(Math.sqrt(sumSq / n), 4),
    worst_error_over_bound: round(worst, 3), round_trip_mb_per_s: round((frames.length * frameMB) / seconds),
  });
}

try {
  const memcpy = memcpyMBps();
  emit({ stage: 'memcpy', mb_per_s: round(memcpy), note: 'single-core Buffer.copy of 256 MiB' });
  const relative = (mbPerS: number) => ({ mb_per_s: round(mbPerS), memcpy_mb_per_s: round(memcpy), ratio_to_memcpy: round(mbPerS / memcpy, 4) });

  // Catalog: 1 M frame rows, batched in transactions of 10 000 as ingest does per container.
  {
    const catalog = openCatalog(join(work, 'catalog.sqlite'));
    const exp = catalog.ensureExperiment({ name: 'bench' });
    const run = catalog.createRun(exp.id);
    const total = 1_000_000;
    const batch: NewFrame[] = [];
    const start = performance.now();
    for (let i = 0; i < total; i += 10_000) {
      batch.length = 0;
      for (let j = i; j < i + 10_000; j++) batch.push({ source: '/detector/run-0001.h5', event: `//${j}`, width: 2068, height: 2162, pixelType: 'uint16', rawBytes: 2068 * 2162 * 2 });
      catalog.insertFrames(run.id, batch);
    }
    const seconds = (performance.now() - start) / 1000;
    catalog.close();
    emit({ stage: 'catalog-insert-frames', frames: total, seconds: round(seconds, 2), frames_per_s: round(total / seconds), ...target('catalog-insert-frames', undefined, round(seconds, 2), '<', 10, 's') });
  }

  // Simulation and the read/write stages on Eiger 4M and 16M frames.
  for (const [detector, frames] of [['eiger4m', 40], ['eiger16m', 10]] as const) {
    const file = join(work, `${detector}.h5`);
    const geometryFile = join(work, `${detector}.geom`);
    let start = performance.now();
    const sim = await simulate({ detector, frames, hitRate: 0.4, seed: 3, out: file, geometryOut: geometryFile });
    let seconds = (performance.now() - start) / 1000;
    const frameMB = (sim.width * sim.height * 2) / MB;
    emit({ stage: 'simulate+write', detector, compression: 'bitshuffle-lz4', frames, frames_per_s: round(frames / seconds, 2), ...relative((frames * frameMB) / seconds) });

    const source = await openFrameSource(file);
    start = performance.now();
    for (let i = 0; i < source.count; i++) source.read(i);
    seconds = (performance.now() - start) / 1000;
    emit({ stage: 'read-h5wasm', detector, compression: 'bitshuffle-lz4', frames, frames_per_s: round(frames / seconds, 2), ...relative((frames * frameMB) / seconds), note: 'h5wasm, as `label` and odd layouts read frames' });
    {
      // What an ingest worker does per frame before labelling: a direct chunk read through libhdf5 and our decode.
      const files = new SourceFiles();
      const buffers = new Buffers();
      const at = (i: number) => source.locate(i)!;
      const once = () => {
        for (let i = 0; i < source.count; i++) {
          const frame = fetchFrame(files, at(i), undefined, buffers);
          buffers.give(frame.pixels.buffer as ArrayBuffer);
          if (frame.stored) buffers.give(frame.stored.bytes.buffer as ArrayBuffer);
        }
      };
      const perCall = timeIt(once, 2);
      files.close();
      const mbPerS = (frames * frameMB) / perCall;
      emit({ stage: 'read', detector, compression: 'bitshuffle-lz4', frames, frames_per_s: round(frames / perCall, 2), ...relative(mbPerS), note: 'libhdf5 direct chunk read + bitshuffle-LZ4 decode, one core', ...target('read', detector, round(mbPerS), '>=', 1500, 'MB/s per core') });
    }

    // Labelling, one core: the peakfinder8 kernel alone, then the whole per-frame labelling
    // (per-frame mask + kernel + resolution estimate), over every frame (hits and blanks).
    const map = buildPixelMap(readGeometry(geometryFile));
    const labeller = new Labeller(map, DEFAULT_PEAKFINDER_PARAMS);
    const all = Array.from({ length: source.count }, (_, i) => source.read(i));
    const pixels = all.length * map.width * map.height;
    const input = (f: (typeof all)[number]) => ({ frame: f, width: map.width, height: map.height, radius: map.radius, panel: map.panel, bad: map.bad });
    const kernel = timeIt(() => all.forEach((f) => findPeaks(input(f), DEFAULT_PEAKFINDER_PARAMS)), 2);
    emit({ stage: 'peakfinder8-native', detector, pixel_type: 'uint16', frames_per_s: round(all.length / kernel, 1), mpixel_per_s: round(pixels / 1e6 / kernel), ...relative((all.length * frameMB) / kernel), ...target('peakfinder8-native', detector, round(pixels / 1e6 / kernel), '>=', 250, 'Mpixel/s per core') });
    const labelling = timeIt(() => all.forEach((f, i) => labeller.label(f, `frame ${i}`)), 2);
    emit({ stage: 'label-native', detector, pixel_type: 'uint16', frames_per_s: round(all.length / labelling, 1), mpixel_per_s: round(pixels / 1e6 / labelling), ...relative((all.length * frameMB) / labelling), ...target('label-native', detector, round(pixels / 1e6 / labelling), '>=', 250, 'Mpixel/s per core') });
    const refFrames = all.slice(0, 2);
    const ref = timeIt(() => refFrames.forEach((f) => findPeaksReference(input(f), DEFAULT_PEAKFINDER_PARAMS)), 1);
    emit({ stage: 'peakfinder8-typescript-reference', detector, mpixel_per_s: round((refFrames.length * map.width * map.height) / 1e6 / ref), native_speedup: round((ref / refFrames.length) / (kernel / all.length), 2) });

    // Lossless codec, one core, over every frame (hits and blanks): target >= 500 MB/s encode.
    const bslz4 = BitshuffleLz4Codec.fromConfig({ id: 'bitshuffle-lz4' });
    const shape = { width: map.width, height: map.height, pixelType: 'uint16' as const };
    const chunks = all.map((f) => bslz4.encode({ data: f, width: map.width, height: map.height }));
    const packedBytes = chunks.reduce((sum, c) => sum + c.length, 0);
    const encode = timeIt(() => all.forEach((f) => bslz4.encode({ data: f, width: map.width, height: map.height })), 2);
    emit({ stage: 'bitshuffle-lz4-encode', detector, pixel_type: 'uint16', frames_per_s: round(all.length / encode, 1), ...relative((all.length * frameMB) / encode), bits_per_pixel: round((8 * packedBytes) / pixels, 2), ...target('bitshuffle-lz4-encode', detector, round((all.length * frameMB) / encode), '>=', 500, 'MB/s per core') });
    const decodeOut = new Uint16Array(map.width * map.height);
    const decode = timeIt(() => chunks.forEach((c) => bslz4.decode(c, shape, decodeOut)), 2);
    emit({ stage: 'bitshuffle-lz4-decode', detector, pixel_type: 'uint16', frames_per_s: round(all.length / decode, 1), ...relative((all.length * frameMB) / decode) });

    const frame = all[0] as Uint16Array;
    source.close();
    const opts = { width: sim.width, height: sim.height, factor: 2 as const };
    const native = timeIt(() => binFrame(frame, opts));
    emit({ stage: 'bin2-native', detector, frames_per_s: round(1 / native, 1), mpixel_per_s: round(frame.length / 1e6 / native), ...relative(frameMB / native) });
    const reference = timeIt(() => binFrameReference(frame, opts));
    emit({ stage: 'bin2-typescript-reference', detector, frames_per_s: round(1 / reference, 1), mpixel_per_s: round(frame.length / 1e6 / reference), ...relative(frameMB / reference), native_speedup: round(reference / native, 2) });

    await benchPipeline(detector, file, geometryFile, relative);
    if (detector === 'eiger16m') await benchOnline(detector, file, geometryFile, frameMB * MB, relative);
    if (detector === 'eiger4m') await benchReductions(file, geometryFile, all as Uint16Array[], frameMB);
  }
  // Migration to each tier kind, against cp of the same bytes, and S3 uploads to a local RGW.
  await benchMigration(emit, target);
  await benchReports(emit, target);
  // The verdict last, one line per target, so that a reader (or CI) need not hunt for them.
  for (const check of targets) emit({ stage: 'target', of: check.stage, ...(check.detector ? { detector: check.detector } : {}), measured: check.measured, target: check.target, met: check.met });
  emit({ stage: 'targets', met: targets.filter((c) => c.met).length, not_met: targets.filter((c) => !c.met).length });
} finally {
  rmSync(work, { recursive: true, force: true });
}
