import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SxError } from '../errors.ts';
import { CONTAINER_CODEC_IDS, DEFAULT_CONTAINER_CODEC, containerFilter, type ContainerCodecId } from '../../codecs/registry.ts';
import { FrameStackWriter, loadH5, type H5File } from '../store/hdf5.ts';
import { writeAtomically, type WrittenFile } from '../store/atomic.ts';
import { BackgroundSampler, type Frame } from './background.ts';
import { BEST_RESOLUTION, buildReflectionTable, drawCrystal, type Crystal } from './crystal.ts';
import { buildPixelMask, DETECTOR_NAMES, DETECTORS, farthestRadiusOf, MASK_GAP, resolutionAt, type DetectorName } from './detectors.ts';
import { formatGeometry } from './geometry-writer.ts';
import { allocTruth, writeInstrument, writeTruth } from './metadata.ts';
import { DEFAULT_FRAMES_PER_DATA_FILE, writeNxmxSeries } from './nxmx-writer.ts';
import { SpotRenderer } from './render.ts';
import { Rng } from './rng.ts';

export { DETECTORS, type DetectorName, type DetectorSpec } from './detectors.ts';

export interface SimulateOptions {
  detector: DetectorName;
  frames: number;
  /** Probability that a frame holds a crystal, 0..1. */
  hitRate: number;
  /** Integer 0..2^32-1; the same options give byte-identical frames. */
  seed: number;
  pixelType?: 'uint16' | 'uint32';
  compression?: ContainerCodecId;
  /** HDF5 file to write (with layout 'nxmx': the master); it appears complete or not at all. */
  out: string;
  /**
   * 'stack' (default): every frame in `out`'s `/entry/data/data`. 'nxmx': an Eiger-style
   * series, `out` being the NXmx master that links to data files `<stem>_data_000001.h5`, ...
   */
  layout?: SimulateLayout;
  /** With layout 'nxmx': frames per data file (default 100). */
  framesPerDataFile?: number;
  /** CrystFEL geometry file to write next to it. */
  geometryOut?: string;
  onFrame?: (done: number, total: number) => void;
}

export interface SimulateResult {
  out: string;
  geometryOut?: string;
  frames: number;
  hits: number;
  width: number;
  height: number;
  /** Size and checksum of `out` (with layout 'nxmx': of the master alone). */
  bytes: number;
  sha256: string;
  /** With layout 'nxmx': the data files, in series order. */
  dataFiles?: WrittenFile[];
}

export type SimulateLayout = 'stack' | 'nxmx';
export const LAYOUTS: readonly SimulateLayout[] = ['stack', 'nxmx'];

export const DEFAULT_PIXEL_TYPE = 'uint16';
const PIXEL_TYPES = ['uint16', 'uint32'];
// Shot-to-shot spread of the background level (jet thickness, pulse energy).
const BACKGROUND_JITTER = 0.1;

/**
 * Simulates a run of serial-crystallography frames: Poisson background with a water ring,
 * module gaps, a beamstop shadow and, on hits, Bragg spots of a randomly oriented
 * lysozyme-like crystal. Frames go to `/entry/data/data` one at a time (with layout 'nxmx',
 * to that path in Eiger-style data files linked from an NXmx master); what was simulated goes
 * to `/entry/truth`. Frame i depends only on (seed, i, detector, pixel type), so a longer run
 * starts with the frames of a shorter one, and both layouts hold the same frames.
 *
 * @example
 * const result = await simulate({ detector: 'eiger4m', frames: 200, hitRate: 0.3, seed: 1, out: 'run.h5', geometryOut: 'run.geom' });
 * console.log(`${result.hits} hits in ${result.frames} frames`);
 */
export async function simulate(options: SimulateOptions): Promise<SimulateResult> {
  validateSimulateOptions(options);
  const { frames, hitRate, seed } = options;
  const spec = DETECTORS[options.detector];
  const pixelType = options.pixelType ?? DEFAULT_PIXEL_TYPE;
  const bits = pixelType === 'uint16' ? 16 : 32;
  const maxAdu = 2 ** bits - 2;
  const { width, height } = spec;

  const h5 = await loadH5();
  const mask = buildPixelMask(spec);
  const background = new BackgroundSampler(spec, mask);
  const sMax = Math.min(1 / BEST_RESOLUTION, resolutionAt(spec, farthestRadiusOf(spec)));
  const spots = new SpotRenderer(spec, mask, buildReflectionTable(sMax), maxAdu);
  const frame: Frame = bits === 16 ? new Uint16Array(width * height) : new Uint32Array(width * height);
  // Gap pixels are never drawn on, so they keep the value Eiger writes there for every frame.
  for (let i = 0; i < mask.length; i++) if (mask[i] & MASK_GAP) frame[i] = maxAdu + 1;

  const truth = allocTruth(frames);
  let hits = 0;
  const render = async (n: number): Promise<Frame> => {
    const rng = new Rng(seed, n);
    const isHit = rng.next() < hitRate;
    background.fill(frame, rng, Math.exp(BACKGROUND_JITTER * rng.normal()));
    if (isHit) {
      const crystal = drawVisibleCrystal(rng, spots);
      hits += 1;
      truth.isHit[n] = 1;
      truth.quaternion.set(crystal.quaternion, 4 * n);
      truth.crystalScale[n] = crystal.scale;
      truth.resolutionLimit[n] = crystal.resolutionLimit;
      truth.nSpots[n] = spots.render(frame, rng, crystal);
    }
    options.onFrame?.(n + 1, frames);
    // Let timers (progress bars, signals) run; the simulation itself is synchronous.
    await new Promise(setImmediate);
    return frame;
  };
  const writeMetadata = (file: H5File): void => {
    writeTruth(file, truth, { seed, hitRate, detector: spec.name });
    writeInstrument(file, spec, mask, bits);
  };
  const compression = options.compression ?? DEFAULT_CONTAINER_CODEC;

  let written: WrittenFile;
  let dataFiles: WrittenFile[] | undefined;
  if (options.layout === 'nxmx') {
    const framesPerDataFile = options.framesPerDataFile ?? DEFAULT_FRAMES_PER_DATA_FILE;
    ({ master: written, dataFiles } = await writeNxmxSeries({ out: options.out, frames, framesPerDataFile, height, width, pixelType, compression }, render, writeMetadata));
  } else {
    written = await writeAtomically(options.out, async (tmpPath) => {
      const file = new h5.File(tmpPath, 'w');
      try {
        const writer = new FrameStackWriter(file, '/entry/data/data', height, width, pixelType, containerFilter(compression));
        for (let n = 0; n < frames; n++) writer.append(await render(n));
        writeMetadata(file);
      } finally {
        file.close();
      }
    });
  }

  let geometryOut: string | undefined;
  if (options.geometryOut !== undefined) {
    const geometry = formatGeometry(spec, bits);
    geometryOut = (await writeAtomically(options.geometryOut, (tmpPath) => writeFile(tmpPath, geometry))).path;
  }
  return { out: written.path, geometryOut, frames, hits, width, height, bytes: written.bytes, sha256: written.sha256, ...(dataFiles ? { dataFiles } : {}) };
}

/**
 * Throws one SxError('usage') listing every problem with `options`, one per line, each
 * named by its CLI flag. `simulate` calls it first; a CLI can call it before opening files.
 *
 * @example
 * validateSimulateOptions({ detector: 'tiny', frames: 0, hitRate: 1.5, seed: 1, out: 'x.h5' });
 * // SxError: Expected --frames to be a positive integer but received 0
 * //          Expected --hit-rate between 0 and 1 but received 1.5
 */
export function validateSimulateOptions(options: SimulateOptions): void {
  const problems: string[] = [];
  const { detector, frames, hitRate, seed, pixelType, compression, out, geometryOut, layout, framesPerDataFile } = options;
  if (!DETECTOR_NAMES.includes(detector)) {
    problems.push(`Unknown --detector ${JSON.stringify(detector)}; expected one of ${DETECTOR_NAMES.join(', ')}`);
  }
  if (!Number.isSafeInteger(frames) || frames < 1) {
    problems.push(`Expected --frames to be a positive integer but received ${String(frames)}`);
  }
  if (typeof hitRate !== 'number' || !(hitRate >= 0 && hitRate <= 1)) {
    problems.push(`Expected --hit-rate between 0 and 1 but received ${String(hitRate)}`);
  }
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    problems.push(`Expected --seed to be an integer between 0 and 4294967295 but received ${String(seed)}`);
  }
  if (pixelType !== undefined && !PIXEL_TYPES.includes(pixelType)) {
    problems.push(`Expected --pixel-type to be one of ${PIXEL_TYPES.join(', ')} but received ${JSON.stringify(pixelType)}`);
  }
  if (compression !== undefined && !CONTAINER_CODEC_IDS.includes(compression)) {
    problems.push(`Expected --compression to be one of ${CONTAINER_CODEC_IDS.join(', ')} but received ${JSON.stringify(compression)}`);
  }
  if (layout !== undefined && !LAYOUTS.includes(layout)) {
    problems.push(`Expected --layout to be one of ${LAYOUTS.join(', ')} but received ${JSON.stringify(layout)}`);
  }
  if (framesPerDataFile !== undefined && (!Number.isSafeInteger(framesPerDataFile) || framesPerDataFile < 1)) {
    problems.push(`Expected --frames-per-data-file to be a positive integer but received ${String(framesPerDataFile)}`);
  } else if (framesPerDataFile !== undefined && layout !== 'nxmx') {
    problems.push('Expected --frames-per-data-file only with --layout nxmx');
  }
  if (typeof out !== 'string' || out === '') {
    problems.push(`Expected --out to be a file path but received ${JSON.stringify(out)}`);
  }
  if (geometryOut !== undefined && (typeof geometryOut !== 'string' || geometryOut === '')) {
    problems.push(`Expected --geometry-out to be a file path but received ${JSON.stringify(geometryOut)}`);
  } else if (geometryOut !== undefined && typeof out === 'string' && resolve(geometryOut) === resolve(out)) {
    problems.push(`Expected --geometry-out to differ from --out but both are ${JSON.stringify(out)}`);
  }
  if (problems.length > 0) throw new SxError('usage', problems.join('\n'));
}

/**
 * A hit must be a hit: fewer than this many spots (of SPOT_PEAK_PHOTONS or more) make a frame
 * that no one could tell from a blank, so such a crystal (too small, or a bad orientation for
 * a small detector) is drawn again. Hits with just above this many spots are the weak hits.
 */
export const MIN_HIT_SPOTS = 15;
const MAX_DRAWS = 50;

function drawVisibleCrystal(rng: Rng, spots: SpotRenderer): Crystal {
  let crystal = drawCrystal(rng);
  for (let draw = 1; draw < MAX_DRAWS && spots.countSpots(crystal) < MIN_HIT_SPOTS; draw++) crystal = drawCrystal(rng);
  return crystal;
}
