import { hashUnit, type Rng } from './rng.ts';

/** Lysozyme-like cell: a b c in Å, angles in degrees. */
export const CELL = { a: 79.1, b: 79.1, c: 38.4, alpha: 90, beta: 90, gamma: 90 } as const;
export const SPACE_GROUP = 'P 43 21 2';

/** Range of per-crystal resolution limits, Å. */
export const BEST_RESOLUTION = 1.8;
export const WORST_RESOLUTION = 4.0;

const B_FACTOR = 20;
// Fixed, not taken from the run seed: every run diffracts from the same "protein", so
// reflections can be compared and merged across runs as well as across frames.
const STRUCTURE_SALT = 0x11502ac;

// Crystal size spread: intensity scales with volume, log-normal across shots. The median
// gives tens to hundreds of strong spots on an Eiger 4M; the tail gives weak hits.
const SCALE_MEDIAN = 200;
const SCALE_SPREAD = 1.3;
const RESOLUTION_MEDIAN = 2.5;
const RESOLUTION_PER_SIGMA = 0.6;

/** Values per reflection in ReflectionTable.data: reciprocal x, y, z (Å⁻¹, crystal frame), s = 1/d, I0. */
export const REFLECTION_STRIDE = 5;

/**
 * Every allowed reflection up to s = 1/d <= sMax, sorted by s so a crystal with a worse
 * resolution limit can stop early. I0 = |F|² × Wilson fall-off, with |F|² drawn once per
 * symmetry-unique hkl from an exponential distribution (acentric Wilson statistics).
 */
export interface ReflectionTable {
  count: number;
  data: Float64Array;
}

export function buildReflectionTable(sMax: number): ReflectionTable {
  const { a, b, c } = CELL;
  const hMax = Math.floor(sMax * a);
  const kMax = Math.floor(sMax * b);
  const lMax = Math.floor(sMax * c);
  const rows: number[][] = [];
  for (let h = -hMax; h <= hMax; h++) {
    for (let k = -kMax; k <= kMax; k++) {
      for (let l = -lMax; l <= lMax; l++) {
        const x = h / a;
        const y = k / b;
        const z = l / c;
        const s = Math.sqrt(x * x + y * y + z * z);
        if (s === 0 || s > sMax || isAbsent(h, k, l)) continue;
        rows.push([x, y, z, s, structureIntensity(h, k, l) * Math.exp((-B_FACTOR * s * s) / 4)]);
      }
    }
  }
  rows.sort((p, q) => p[3] - q[3]);
  const data = new Float64Array(rows.length * REFLECTION_STRIDE);
  rows.forEach((row, n) => data.set(row, n * REFLECTION_STRIDE));
  return { count: rows.length, data };
}

/** Systematic absences of P4(3)2(1)2: h00 and 0k0 need even indices, 00l needs l = 4n. */
export function isAbsent(h: number, k: number, l: number): boolean {
  if (k === 0 && l === 0) return h % 2 !== 0;
  if (h === 0 && l === 0) return k % 2 !== 0;
  if (h === 0 && k === 0) return l % 4 !== 0;
  return false;
}

/**
 * |F|² of a reflection, equal for all reflections related by the 4/mmm Laue symmetry (which
 * includes Friedel pairs), so merged simulated data behave like real data.
 */
export function structureIntensity(h: number, k: number, l: number): number {
  const ah = Math.abs(h);
  const ak = Math.abs(k);
  return -Math.log(1 - hashUnit(STRUCTURE_SALT, Math.max(ah, ak), Math.min(ah, ak), Math.abs(l)));
}

export interface Crystal {
  /** Unit quaternion (w, x, y, z) rotating crystal coordinates into the lab frame. */
  quaternion: [number, number, number, number];
  /** Row-major 3x3 rotation matrix of the same rotation. */
  rotation: Float64Array;
  /** Photons per unit I0 at full partiality. */
  scale: number;
  /** Å; no reflection beyond it is rendered. */
  resolutionLimit: number;
  /** Å⁻¹; partiality = exp(-(excitation error / profileRadius)²). */
  profileRadius: number;
  /** Spot size on the detector, pixels. */
  spotSigma: number;
}

/** A crystal with a uniformly random orientation and a size drawn from the log-normal spread. */
export function drawCrystal(rng: Rng): Crystal {
  const quaternion = randomQuaternion(rng);
  const size = rng.normal();
  const resolution = RESOLUTION_MEDIAN - RESOLUTION_PER_SIGMA * size;
  return {
    quaternion,
    rotation: rotationOf(quaternion),
    scale: SCALE_MEDIAN * Math.exp(SCALE_SPREAD * size),
    resolutionLimit: Math.min(WORST_RESOLUTION, Math.max(BEST_RESOLUTION, resolution)),
    profileRadius: 0.001 + 0.001 * rng.next(),
    spotSigma: 0.6 + 0.3 * rng.next(),
  };
}

/** Shoemake's method: uniform over rotations, unlike random Euler angles. */
export function randomQuaternion(rng: Rng): [number, number, number, number] {
  const u1 = rng.next();
  const a = 2 * Math.PI * rng.next();
  const b = 2 * Math.PI * rng.next();
  const p = Math.sqrt(1 - u1);
  const q = Math.sqrt(u1);
  return [q * Math.cos(b), p * Math.sin(a), p * Math.cos(a), q * Math.sin(b)];
}

export function rotationOf([w, x, y, z]: readonly number[]): Float64Array {
  return Float64Array.of(
    1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
    2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
    2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
  );
}
