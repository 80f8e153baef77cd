// The hit finder's labels against a simulation's truth (`/entry/truth/is_hit` of the file the
// simulator wrote): how many true hits were found, missed, and how many blanks were called hits.
import { SxError } from '../errors.ts';
import { loadH5 } from '../store/hdf5.ts';

export const TRUTH_HITS_PATH = '/entry/truth/is_hit';

export interface HitTruthComparison {
  frames: number;
  /** Frames the simulator gave a crystal. */
  trueHits: number;
  /** True hits the labels call hits, and those they do not. */
  found: number;
  missed: number;
  /** Blanks the labels call hits. */
  falseHits: number;
  /** Frames without a label (not compared). */
  unlabelled: number;
}

/**
 * The simulator's truth: whether frame i of `file` holds a crystal.
 *
 * @example
 * const truth = await readTruthHits('run7.h5'); // [true, false, ...]
 */
export async function readTruthHits(file: string): Promise<boolean[]> {
  const h5 = await loadH5();
  const f = new h5.File(file, 'r');
  try {
    const d = f.get(TRUTH_HITS_PATH);
    if (d === null || !('shape' in d)) throw new SxError('input', `${file}: no ${TRUTH_HITS_PATH}; expected a file written by sxarchive simulate`);
    return Array.from(d.value as ArrayLike<number>, (v) => v !== 0);
  } finally {
    f.close();
  }
}

/**
 * Compares the hit label of each frame (by index into `truth`; null = unlabelled) with the truth.
 *
 * @example
 * compareHitsWithTruth([true, false, true], [true, true, null]) // { found: 1, falseHits: 1, unlabelled: 1, ... }
 */
export function compareHitsWithTruth(truth: readonly boolean[], labels: readonly (boolean | null)[]): HitTruthComparison {
  if (labels.length !== truth.length) throw new SxError('input', `${labels.length} labelled frames against a truth of ${truth.length} frames; expected the same frames`);
  const c: HitTruthComparison = { frames: truth.length, trueHits: 0, found: 0, missed: 0, falseHits: 0, unlabelled: 0 };
  truth.forEach((isHit, i) => {
    if (isHit) c.trueHits += 1;
    const label = labels[i];
    if (label === null) c.unlabelled += 1;
    else if (isHit) c[label ? 'found' : 'missed'] += 1;
    else if (label) c.falseHits += 1;
  });
  return c;
}

/**
 * One line for people: `hits found against the simulation's truth: 97 of 100 (97.0 %), 3 missed, 2 false hits among 150 blanks`.
 *
 * @example
 * formatHitTruth(compareHitsWithTruth(truth, labels));
 */
export function formatHitTruth(c: HitTruthComparison): string {
  const share = c.trueHits > 0 ? ` (${((100 * c.found) / c.trueHits).toFixed(1)} %)` : '';
  const unlabelled = c.unlabelled > 0 ? `; ${c.unlabelled} frame(s) unlabelled` : '';
  return `hits found against the simulation's truth: ${c.found} of ${c.trueHits}${share}, ${c.missed} missed, ${c.falseHits} false hit(s) among ${c.frames - c.trueHits} blanks${unlabelled}`;
}
