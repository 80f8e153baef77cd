import { ensureGroup, type Group, type H5File } from '../store/hdf5.ts';
import { CELL, SPACE_GROUP } from './crystal.ts';
import { wavelengthOf, type DetectorSpec } from './detectors.ts';
import { SPOT_PEAK_PHOTONS } from './render.ts';

/** What the simulator knows about each frame, for checking hit finders and indexers. */
export interface FrameTruth {
  isHit: Uint8Array;
  /** [n, 4]: (w, x, y, z) per frame; zeros for blanks. */
  quaternion: Float64Array;
  crystalScale: Float64Array;
  nSpots: Int32Array;
  /** Å; 0 for blanks. */
  resolutionLimit: Float64Array;
}

export function allocTruth(frames: number): FrameTruth {
  return {
    isHit: new Uint8Array(frames),
    quaternion: new Float64Array(frames * 4),
    crystalScale: new Float64Array(frames),
    nSpots: new Int32Array(frames),
    resolutionLimit: new Float64Array(frames),
  };
}

export function writeTruth(file: H5File, truth: FrameTruth, run: { seed: number; hitRate: number; detector: string }): void {
  const group = ensureGroup(file, '/entry/truth');
  const frames = truth.isHit.length;
  group.create_dataset({ name: 'is_hit', data: truth.isHit });
  const quaternion = group.create_dataset({ name: 'quaternion', data: truth.quaternion, shape: [frames, 4] });
  quaternion.create_attribute('convention', 'w, x, y, z: rotates crystal (reciprocal-lattice) coordinates into the lab frame, +z along the beam');
  group.create_dataset({ name: 'crystal_scale', data: truth.crystalScale });
  const nSpots = group.create_dataset({ name: 'n_spots', data: truth.nSpots });
  nSpots.create_attribute('definition', `reflections whose brightest pixel expects >= ${SPOT_PEAK_PHOTONS} photons above background`);
  const resolution = group.create_dataset({ name: 'resolution_limit', data: truth.resolutionLimit });
  resolution.create_attribute('units', 'angstrom');
  group.create_attribute('seed', Uint32Array.of(run.seed), [], '<I');
  group.create_attribute('hit_rate', run.hitRate);
  group.create_attribute('detector', run.detector);
  group.create_attribute('cell', Float64Array.of(CELL.a, CELL.b, CELL.c, CELL.alpha, CELL.beta, CELL.gamma));
  group.create_attribute('cell_units', 'angstrom, angstrom, angstrom, degree, degree, degree');
  group.create_attribute('space_group', SPACE_GROUP);
}

/** NXmx-style instrument description, so generic Eiger readers find what they expect. */
export function writeInstrument(file: H5File, spec: DetectorSpec, mask: Uint32Array, bits: number): void {
  ensureGroup(file, '/entry').create_attribute('NX_class', 'NXentry');
  ensureGroup(file, '/entry/data').create_attribute('NX_class', 'NXdata');
  ensureGroup(file, '/entry/instrument').create_attribute('NX_class', 'NXinstrument');
  const detector = ensureGroup(file, '/entry/instrument/detector');
  detector.create_attribute('NX_class', 'NXdetector');
  writeScalar(detector, 'x_pixel_size', spec.pixelSize, 'm');
  writeScalar(detector, 'y_pixel_size', spec.pixelSize, 'm');
  writeScalar(detector, 'detector_distance', spec.clen, 'm');
  writeScalar(detector, 'beam_center_x', spec.beamCenter.x, 'pixel');
  writeScalar(detector, 'beam_center_y', spec.beamCenter.y, 'pixel');
  detector.create_dataset({ name: 'bit_depth_image', data: Uint32Array.of(bits), shape: [], dtype: '<I' });
  detector.create_dataset({ name: 'saturation_value', data: Uint32Array.of(2 ** bits - 2), shape: [], dtype: '<I' });
  // gzip rather than the frames' compression: every HDF5 reader can open it without plugins,
  // and a mostly-zero mask shrinks to almost nothing either way.
  const pixelMask = detector.create_dataset({
    name: 'pixel_mask',
    data: mask,
    shape: [spec.height, spec.width],
    chunks: [spec.height, spec.width],
    compression: 'gzip',
    compression_opts: 4,
  });
  pixelMask.create_attribute('bits', 'bit 0: gap between modules (value 2^bits - 1), bit 1: beamstop shadow');
  const beam = ensureGroup(file, '/entry/instrument/beam');
  beam.create_attribute('NX_class', 'NXbeam');
  writeScalar(beam, 'incident_wavelength', wavelengthOf(spec), 'angstrom');
}

function writeScalar(group: Group, name: string, value: number, units: string): void {
  group.create_dataset({ name, data: Float64Array.of(value), shape: [], dtype: '<d' }).create_attribute('units', units);
}
