// The catalog side of imported indexing results (src/results/): a result per (experiment,
// source, event), replaced when seen again, its crystals, its link to a frame and the labels it
// gives that frame. The caller holds the transaction (`Catalog.writeTransaction`).
import type { SqlDatabase } from './sql.ts';
import { prepared } from './statements.ts';

/** A result as the results table holds it (flags 0/1); `details` is JSON text. */
export interface NewResultRow {
  experiment_id: number;
  source: string;
  event: string;
  frame_id: number | null;
  matched_by: string | null;
  stream_path: string;
  stream_line: number;
  serial: number | null;
  hit: number | null;
  indexed: number;
  indexed_by: string | null;
  n_crystals: number;
  n_peaks: number | null;
  n_reflections: number;
  resolution_a: number | null;
  peak_resolution_a: number | null;
  photon_energy_ev: number | null;
  camera_length_m: number | null;
  intensities_bytes: number;
  details: string;
  imported_at: string;
}

/** A crystal as the crystals table holds it: cell in Å and degrees, reflections packed (src/results/reflection-pack.ts). */
export interface CrystalRow {
  result_id: number;
  number: number;
  a_a: number;
  b_a: number;
  c_a: number;
  alpha_deg: number;
  beta_deg: number;
  gamma_deg: number;
  /** JSON of the three reciprocal vectors. */
  reciprocal_per_nm: string | null;
  lattice_type: string | null;
  centering: string | null;
  unique_axis: string | null;
  profile_radius_per_nm: number | null;
  resolution_a: number | null;
  n_reflections: number;
  n_saturated: number | null;
  reflections: Buffer;
  /** JSON of the panel names the packed reflections index. */
  panels: string;
}

/** A result no frame was found for yet. */
export interface UnlinkedResultRow {
  id: number;
  source: string;
  event: string;
  stream_path: string;
  hit: number | null;
  indexed: number;
  n_crystals: number;
}

/** The results queries an open catalog answers (`catalog.results`). */
export interface ResultQueries {
  /**
   * Records the result, replacing the one with the same experiment, source and event. Its frame
   * link as it stands after: one found earlier stays when this one has none.
   */
  upsertResult(row: NewResultRow): { id: number; frameId: number | null; matchedBy: string | null };
  /** The result's crystals are these now. */
  replaceCrystals(resultId: number, crystals: readonly CrystalRow[]): void;
  linkResult(resultId: number, frameId: number, matchedBy: string): void;
  /** What a result tells of its frame: indexed and crystals, and a hit only while the frame has no label. */
  labelFrame(frameId: number, indexed: number, nCrystals: number, hit: number | null): void;
  unlinkedResults(experimentId: number): UnlinkedResultRow[];
  /** By number. */
  crystals(resultId: number): CrystalRow[];
}

const RESULT_COLUMNS = [
  'experiment_id', 'source', 'event', 'frame_id', 'matched_by', 'stream_path', 'stream_line', 'serial', 'hit', 'indexed',
  'indexed_by', 'n_crystals', 'n_peaks', 'n_reflections', 'resolution_a', 'peak_resolution_a', 'photon_energy_ev',
  'camera_length_m', 'intensities_bytes', 'details', 'imported_at',
];
const REPLACED = RESULT_COLUMNS.filter((c) => !['experiment_id', 'source', 'event', 'frame_id', 'matched_by'].includes(c));
const UPSERT = `INSERT INTO results (${RESULT_COLUMNS.join(', ')}) VALUES (${RESULT_COLUMNS.map((c) => `@${c}`).join(', ')})
       ON CONFLICT (experiment_id, source, event) DO UPDATE SET
         ${REPLACED.map((c) => `${c} = excluded.${c}`).join(', ')},
         -- a link found earlier stays when this import cannot find the frame (e.g. now ambiguous)
         matched_by = CASE WHEN excluded.frame_id IS NULL THEN results.matched_by ELSE excluded.matched_by END,
         frame_id = COALESCE(excluded.frame_id, results.frame_id)
       RETURNING id, frame_id, matched_by`;
const DELETE_CRYSTALS = 'DELETE FROM crystals WHERE result_id = ?';
const INSERT_CRYSTAL = `INSERT INTO crystals (result_id, number, a_a, b_a, c_a, alpha_deg, beta_deg, gamma_deg, reciprocal_per_nm, lattice_type, centering,
         unique_axis, profile_radius_per_nm, resolution_a, n_reflections, n_saturated, reflections, panels)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const LABEL_FRAME = 'UPDATE frames SET indexed = ?, n_crystals = ?, hit = COALESCE(hit, ?) WHERE id = ?';
const LINK = 'UPDATE results SET frame_id = ?, matched_by = ? WHERE id = ?';
const UNLINKED = 'SELECT id, source, event, stream_path, hit, indexed, n_crystals FROM results WHERE experiment_id = ? AND frame_id IS NULL';
const CRYSTALS = 'SELECT * FROM crystals WHERE result_id = ? ORDER BY number';

/** The results queries on a SQLite catalog; `Catalog` holds one as `results`. */
export class SqliteResultQueries implements ResultQueries {
  constructor(private readonly db: SqlDatabase) {}

  upsertResult(row: NewResultRow): { id: number; frameId: number | null; matchedBy: string | null } {
    const stored = prepared(this.db, UPSERT).get(row) as { id: number; frame_id: number | null; matched_by: string | null };
    return { id: stored.id, frameId: stored.frame_id, matchedBy: stored.matched_by };
  }

  replaceCrystals(resultId: number, crystals: readonly CrystalRow[]): void {
    prepared(this.db, DELETE_CRYSTALS).run(resultId);
    const insert = prepared(this.db, INSERT_CRYSTAL);
    for (const x of crystals) {
      insert.run(
        x.result_id, x.number, x.a_a, x.b_a, x.c_a, x.alpha_deg, x.beta_deg, x.gamma_deg, x.reciprocal_per_nm, x.lattice_type, x.centering, x.unique_axis,
        x.profile_radius_per_nm, x.resolution_a, x.n_reflections, x.n_saturated, x.reflections, x.panels,
      );
    }
  }

  linkResult(resultId: number, frameId: number, matchedBy: string): void {
    prepared(this.db, LINK).run(frameId, matchedBy, resultId);
  }

  labelFrame(frameId: number, indexed: number, nCrystals: number, hit: number | null): void {
    prepared(this.db, LABEL_FRAME).run(indexed, nCrystals, hit, frameId);
  }

  unlinkedResults(experimentId: number): UnlinkedResultRow[] {
    return prepared(this.db, UNLINKED).all(experimentId) as UnlinkedResultRow[];
  }

  crystals(resultId: number): CrystalRow[] {
    return prepared(this.db, CRYSTALS).all(resultId) as CrystalRow[];
  }
}
