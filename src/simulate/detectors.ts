/**
 * Detector layouts the simulator knows. Data coordinates: fs runs along a row (width), ss
 * down the rows (height); a continuous coordinate u lies in pixel floor(u), so the centre of
 * pixel i is at i + 0.5. The beam centre is given in the same coordinates.
 */

export type DetectorName = 'eiger4m' | 'eiger16m' | 'eiger1m' | 'det1024' | 'tiny';

/** A rectangle of sensor pixels; ranges are inclusive, as in CrystFEL geometry files. */
export interface PanelSpec {
  name: string;
  minFs: number;
  maxFs: number;
  minSs: number;
  maxSs: number;
}

export interface DetectorSpec {
  name: DetectorName;
  description: string;
  width: number;
  height: number;
  /** Metres. */
  pixelSize: number;
  /** Sample-to-detector distance, metres. */
  clen: number;
  /** Pixels, in data coordinates (see the top of this file). */
  beamCenter: { x: number; y: number };
  photonEnergyEv: number;
  panels: readonly PanelSpec[];
}

/** Bits of /entry/instrument/detector/pixel_mask. */
export const MASK_GAP = 1;
export const MASK_BEAMSTOP = 2;

const PIXEL_SIZE = 75e-6;
const PHOTON_ENERGY_EV = 12000;
const HC_EV_ANGSTROM = 12398.419843;

// Eiger modules are 1028 x 512 px, tiled with 12 px between columns and 38 px between rows.
const MODULE_WIDTH = 1028;
const MODULE_HEIGHT = 512;
const GAP_FS = 12;
const GAP_SS = 38;

function eiger(name: DetectorName, columns: number, rows: number, beamCenter: { x: number; y: number }): DetectorSpec {
  const panels: PanelSpec[] = [];
  for (let row = 0; row < rows; row++) {
    for (let col = 0; col < columns; col++) {
      const minFs = col * (MODULE_WIDTH + GAP_FS);
      const minSs = row * (MODULE_HEIGHT + GAP_SS);
      panels.push({ name: `m${row}${col}`, minFs, maxFs: minFs + MODULE_WIDTH - 1, minSs, maxSs: minSs + MODULE_HEIGHT - 1 });
    }
  }
  return {
    name,
    description: `Eiger-like: ${columns} x ${rows} modules of ${MODULE_WIDTH} x ${MODULE_HEIGHT} px, gaps ${GAP_FS} px (fs) and ${GAP_SS} px (ss)`,
    width: columns * MODULE_WIDTH + (columns - 1) * GAP_FS,
    height: rows * MODULE_HEIGHT + (rows - 1) * GAP_SS,
    pixelSize: PIXEL_SIZE,
    clen: 0.1,
    beamCenter,
    photonEnergyEv: PHOTON_ENERGY_EV,
    panels,
  };
}

function singlePanel(name: DetectorName, size: number, clen: number, beamCenter: { x: number; y: number }): DetectorSpec {
  return {
    name,
    description: `one ${size} x ${size} px panel`,
    width: size,
    height: size,
    pixelSize: PIXEL_SIZE,
    clen,
    beamCenter,
    photonEnergyEv: PHOTON_ENERGY_EV,
    panels: [{ name: 'p0', minFs: 0, maxFs: size - 1, minSs: 0, maxSs: size - 1 }],
  };
}

/**
 * The detectors `simulate` can model. Beam centres sit a little off the middle, as on a real
 * beamline, so code that assumes a centred beam shows up in tests; on the Eigers they are
 * moved off the central gap onto a module, as users do to keep low-resolution spots.
 *
 * @example
 * const { width, height, panels } = DETECTORS.eiger4m; // 2068 x 2162, 8 panels
 */
export const DETECTORS: Record<DetectorName, DetectorSpec> = {
  eiger16m: eiger('eiger16m', 4, 8, { x: 2088.4, y: 2130.6 }),
  eiger4m: eiger('eiger4m', 2, 4, { x: 1048.3, y: 1030.6 }),
  eiger1m: eiger('eiger1m', 1, 2, { x: 528.3, y: 490.6 }),
  det1024: singlePanel('det1024', 1024, 0.075, { x: 519.6, y: 506.2 }),
  tiny: singlePanel('tiny', 256, 0.05, { x: 131.4, y: 124.7 }),
};

export const DETECTOR_NAMES = Object.keys(DETECTORS) as DetectorName[];

export function wavelengthOf(spec: DetectorSpec): number {
  return HC_EV_ANGSTROM / spec.photonEnergyEv;
}

/** Distance in pixels from the beam centre to the farthest detector corner. */
export function farthestRadiusOf(spec: DetectorSpec): number {
  const { width, height, beamCenter: { x, y } } = spec;
  return Math.max(Math.hypot(x, y), Math.hypot(width - x, y), Math.hypot(x, height - y), Math.hypot(width - x, height - y));
}

/** s = 1/d (Å⁻¹) seen at `radius` pixels from the beam centre. */
export function resolutionAt(spec: DetectorSpec, radius: number): number {
  const twoTheta = Math.atan((radius * spec.pixelSize) / spec.clen);
  return (2 * Math.sin(twoTheta / 2)) / wavelengthOf(spec);
}

/**
 * The beamstop: a disc around the beam plus the arm that holds it, running along +fs to the
 * detector edge. Sizes scale with the detector so the tiny test detector still has a shadow.
 */
export function beamstopOf(spec: DetectorSpec): { radius: number; armHalfWidth: number } {
  return {
    radius: Math.max(6, Math.round(0.015 * spec.width)),
    armHalfWidth: Math.max(2, Math.round(0.002 * spec.width)),
  };
}

/** Per-pixel MASK_GAP / MASK_BEAMSTOP bits, row-major [height, width]. */
export function buildPixelMask(spec: DetectorSpec): Uint32Array {
  const { width, height } = spec;
  const mask = new Uint32Array(width * height).fill(MASK_GAP);
  for (const p of spec.panels) {
    for (let ss = p.minSs; ss <= p.maxSs; ss++) mask.fill(0, ss * width + p.minFs, ss * width + p.maxFs + 1);
  }
  const { x: cx, y: cy } = spec.beamCenter;
  const { radius, armHalfWidth } = beamstopOf(spec);
  const r2 = radius * radius;
  // Disc and arm both lie within `radius` rows of the beam.
  const first = Math.max(0, Math.floor(cy - radius));
  const last = Math.min(height - 1, Math.ceil(cy + radius));
  for (let ss = first; ss <= last; ss++) {
    const dy = ss + 0.5 - cy;
    for (let fs = 0; fs < width; fs++) {
      const dx = fs + 0.5 - cx;
      const inDisc = dx * dx + dy * dy <= r2;
      const inArm = dx >= 0 && Math.abs(dy) <= armHalfWidth;
      if (inDisc || inArm) mask[ss * width + fs] |= MASK_BEAMSTOP;
    }
  }
  return mask;
}
