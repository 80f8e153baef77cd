/**
 * The typed model of a CrystFEL geometry (`.geom`) file, as `parseGeometry` returns it.
 * Lengths carry their units in the field name; pixel quantities are in the panel's own pixels.
 */

/** A vector in the lab frame (+z along the beam, +y up), in pixels of its panel. */
export interface Vec3 {
  x: number;
  y: number;
  z: number;
}

/**
 * A length given either literally (converted to metres) or as a data-file header path read per
 * frame, whose value is multiplied by `metresPerUnit` (0.001 when the header holds millimetres).
 */
export type Distance =
  | { kind: 'metres'; metres: number }
  | { kind: 'header'; headerPath: string; metresPerUnit: number };

/** Camera length: a bare `clen` number is metres, a bare header path millimetres. */
export type Clen = Distance | { kind: 'unset' };

/** Where the incident energy comes from: exactly one of photon_energy, wavelength, electron_voltage. */
export type BeamEnergy =
  | { kind: 'photon-energy'; ev: number }
  | { kind: 'wavelength'; metres: number }
  | { kind: 'electron-voltage'; volts: number }
  | {
      kind: 'header';
      /** The geometry key that names the header. */
      quantity: 'photon_energy' | 'wavelength' | 'electron_voltage';
      headerPath: string;
      /** Multiply the header value by this to get eV, metres or volts respectively. */
      scale: number;
    }
  | { kind: 'none' };

export interface Beam {
  energy: BeamEnergy;
  /** Bandwidth as a fraction of the wavelength (standard deviation), when given. */
  bandwidth?: number;
  /** Line of the energy key, 0 when there is none. */
  line: number;
}

/** One `dimN` entry: the event placeholder, a spatial axis or a fixed index. */
export type Dim = '%' | 'ss' | 'fs' | number;

/** A bad-pixel mask: bad if `(v & goodBits) != goodBits` or `(v & badBits) != 0`. */
export interface PanelMask {
  /** HDF5 path of the mask dataset (may hold `%` placeholders). */
  data: string;
  /** Separate file holding the mask; absent = the image's own file. */
  file?: string;
  goodBits: number;
  badBits: number;
}

export interface Panel {
  name: string;
  /** Line where the panel is first mentioned (the global defaults in force there apply). */
  line: number;
  /** Inclusive ranges in the data array. */
  minFs: number;
  maxFs: number;
  minSs: number;
  maxSs: number;
  /** Lab x/y of the outer corner of the panel's first pixel, in pixels. */
  cornerX: number;
  cornerY: number;
  fs: Vec3;
  ss: Vec3;
  /** Pixels per metre. */
  res: number;
  clen: Clen;
  /** Extra z offset in metres, added to clen. */
  coffset: number;
  aduPerPhoton?: number;
  aduPerEv?: number;
  /** Saturation value; Infinity when unset. */
  maxAdu: number;
  saturationMap?: string;
  saturationMapFile?: string;
  /** HDF5 path of the data array (default `/data/data`; `%` = per-event placeholder). */
  data: string;
  /** Layout of the data array, slowest axis first (default `['ss', 'fs']`). */
  dims: Dim[];
  noIndex: boolean;
  maskEdgePixels: number;
  /** Pixels with values strictly below / above / equal to these are bad. */
  flagLessThan?: number;
  flagMoreThan?: number;
  flagEqual?: number;
  masks: PanelMask[];
}

/** A rectangle of bad pixels, inclusive, in data coordinates or in lab pixels. */
export type BadRegion =
  | {
      kind: 'data';
      name: string;
      /** Restricts the region to this panel; the coordinates are still data-array ones. */
      panel?: string;
      minFs: number;
      maxFs: number;
      minSs: number;
      maxSs: number;
      line: number;
    }
  | { kind: 'lab'; name: string; minX: number; maxX: number; minY: number; maxY: number; line: number };

export type PeakListType = 'cxi' | 'list3' | 'auto';

export interface Geometry {
  /** The name used in messages (usually the path the text came from). */
  file: string;
  beam: Beam;
  /** Whole-detector shift in x/y; zero when not given. */
  detectorShiftX: Distance;
  detectorShiftY: Distance;
  peakList?: string;
  peakListType: PeakListType;
  panels: Panel[];
  badRegions: BadRegion[];
  /** `group_<name> = a,b` as name -> members (panels or other groups). */
  groups: Record<string, string[]>;
  /** Things ignored or suspicious, each `file:line: ...`. */
  warnings: string[];
}
