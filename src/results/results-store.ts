import type Database from 'better-sqlite3';
import { dirname } from 'node:path';
import type { StreamChunk, StreamCrystal, Vector3 } from '../formats/crystfel-stream.ts';
import { FrameMatcher, type MatchOutcome, type MatchRule } from './frame-matcher.ts';
import { packReflections, unpackReflections } from './reflection-pack.ts';

/** What the results store needs of the catalog. */
export interface ResultsCatalog {
  readonly db: Database.Database;
}

export interface RecordedChunk {
  resultId: number;
  match: MatchOutcome;
}

export interface BatchOutcome {
  recorded: RecordedChunk[];
  /** Results recorded earlier (by any stream) that found their frame during this batch. */
  relinked: number;
}

/** A crystal as the catalog holds it, with its reflections unpacked. */
export interface StoredCrystal {
  resultId: number;
  number: number;
  aA: number;
  bA: number;
  cA: number;
  alphaDeg: number;
  betaDeg: number;
  gammaDeg: number;
  reciprocalPerNm: [Vector3, Vector3, Vector3] | null;
  latticeType: string | null;
  centering: string | null;
  uniqueAxis: string | null;
  resolutionA: number | null;
  nReflections: number;
  reflections: ReturnType<typeof unpackReflections>;
}

const finiteOrNull = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? null : x);
const inverseA = (perNm: number | null) => (perNm !== null && perNm > 0 && Number.isFinite(perNm) ? 10 / perNm : null);
const bit = (b: boolean | null) => (b === null ? null : b ? 1 : 0);

interface PendingRow {
  id: number;
  source: string;
  event: string;
  stream_path: string;
  hit: number | null;
  indexed: number;
  n_crystals: number;
}

/**
 * Writes stream results into the catalog for one experiment: a `results` row per chunk keyed by
 * (experiment, source, event) and replaced when seen again, its crystals with packed
 * reflections, and, when a frame matches, the frame's `indexed` and `n_crystals`. The frame's
 * `hit` is set only while it has none: the peak finder's label (written by `label`) wins over
 * indexamajig's, whose hit finding ran with settings sxarchive does not control.
 *
 * @example
 * const store = new ResultsStore(catalog, experiment.id);
 * const { recorded } = store.recordBatch(chunks, '/data/run7.stream');
 */
export class ResultsStore {
  private readonly matcher: FrameMatcher;
  private readonly upsert: Database.Statement;
  private readonly deleteCrystals: Database.Statement;
  private readonly insertCrystal: Database.Statement;
  private readonly labelFrame: Database.Statement;
  private readonly link: Database.Statement;
  private readonly pending: Database.Statement<[number], PendingRow>;

  constructor(
    private readonly catalog: ResultsCatalog,
    private readonly experimentId: number,
  ) {
    const db = catalog.db;
    this.matcher = new FrameMatcher(db, experimentId);
    const columns = [
      'experiment_id', 'source', 'event', 'frame_id', 'matched_by', 'stream_path', 'stream_line', 'serial', 'hit', 'indexed',
      'indexed_by', 'n_crystals', 'n_peaks', 'n_reflections', 'resolution_a', 'peak_resolution_a', 'photon_energy_ev',
      'camera_length_m', 'intensities_bytes', 'details', 'imported_at',
    ];
    const replaced = columns.filter((c) => !['experiment_id', 'source', 'event', 'frame_id', 'matched_by'].includes(c));
    this.upsert = db.prepare(
      `INSERT INTO results (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})
       ON CONFLICT (experiment_id, source, event) DO UPDATE SET
         ${replaced.map((c) => `${c} = excluded.${c}`).join(', ')},
         -- a link found earlier stays when this import cannot find the frame (e.g. now ambiguous)
         matched_by = CASE WHEN excluded.frame_id IS NULL THEN results.matched_by ELSE excluded.matched_by END,
         frame_id = COALESCE(excluded.frame_id, results.frame_id)
       RETURNING id, frame_id, matched_by`,
    );
    this.deleteCrystals = db.prepare('DELETE FROM crystals WHERE result_id = ?');
    this.insertCrystal = db.prepare(
      `INSERT INTO crystals (result_id, number, a_a, b_a, c_a, alpha_deg, beta_deg, gamma_deg, reciprocal_per_nm, lattice_type, centering,
         unique_axis, profile_radius_per_nm, resolution_a, n_reflections, n_saturated, reflections, panels)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.labelFrame = db.prepare('UPDATE frames SET indexed = ?, n_crystals = ?, hit = COALESCE(hit, ?) WHERE id = ?');
    this.link = db.prepare('UPDATE results SET frame_id = ?, matched_by = ? WHERE id = ?');
    this.pending = db.prepare('SELECT id, source, event, stream_path, hit, indexed, n_crystals FROM results WHERE experiment_id = ? AND frame_id IS NULL');
  }

  /** Records `chunks` from the stream at `streamPath` (absolute) in one transaction. */
  recordBatch(chunks: readonly StreamChunk[], streamPath: string): BatchOutcome {
    const streamDir = dirname(streamPath);
    return this.catalog.db.transaction(() => {
      // Frames ingested since the last batch may be the ones earlier results were waiting for.
      const relinked = this.matcher.refresh() ? this.linkPending() : 0;
      const recorded = chunks.map((chunk) => this.recordChunk(chunk, streamPath, streamDir));
      return { recorded, relinked };
    }).immediate();
  }

  /** Links results that waited for frames to the frames ingested since; returns how many. */
  linkNewFrames(): number {
    return this.catalog.db.transaction(() => (this.matcher.refresh() ? this.linkPending() : 0)).immediate();
  }

  private linkPending(): number {
    let linked = 0;
    for (const row of this.pending.all(this.experimentId)) {
      const match = this.matcher.match(row.source, row.event, dirname(row.stream_path));
      if (match.kind !== 'matched') continue;
      this.link.run(match.frameId, match.rule, row.id);
      this.labelFrame.run(row.indexed, row.n_crystals, row.hit, match.frameId);
      linked += 1;
    }
    return linked;
  }

  private recordChunk(c: StreamChunk, streamPath: string, streamDir: string): RecordedChunk {
    const match = this.matcher.match(c.filename, c.event, streamDir);
    const packed = c.crystals.map((x) => packReflections(x.reflections));
    const resolutions = c.crystals.map((x) => x.resolutionLimitA).filter((r): r is number => r !== null && Number.isFinite(r));
    const details = {
      headers: c.headers,
      nIndexingTries: c.nIndexingTries,
      beamDivergenceRad: finiteOrNull(c.beamDivergenceRad),
      beamBandwidth: finiteOrNull(c.beamBandwidth),
      ...(Object.keys(c.extra).length ? { extra: c.extra } : {}),
      ...(c.crystals.some((x) => Object.keys(x.extra).length) ? { crystalExtra: c.crystals.map((x) => x.extra) } : {}),
    };
    const row = this.upsert.get({
      experiment_id: this.experimentId,
      source: c.filename,
      event: c.event,
      frame_id: match.kind === 'matched' ? match.frameId : null,
      matched_by: match.kind === 'matched' ? match.rule : null,
      stream_path: streamPath,
      stream_line: c.line,
      serial: c.serial,
      hit: bit(c.hit),
      indexed: c.indexed ? 1 : 0,
      indexed_by: c.indexedBy,
      n_crystals: c.crystals.length,
      n_peaks: c.numPeaks,
      n_reflections: c.crystals.reduce((n, x) => n + x.reflections.length, 0),
      resolution_a: resolutions.length ? Math.min(...resolutions) : null,
      peak_resolution_a: inverseA(c.peakResolutionPerNm),
      photon_energy_ev: finiteOrNull(c.photonEnergyEv),
      camera_length_m: finiteOrNull(c.averageCameraLengthM),
      intensities_bytes: packed.reduce((n, p) => n + p.blob.length, 0),
      details: JSON.stringify(details),
      imported_at: new Date().toISOString(),
    }) as { id: number; frame_id: number | null; matched_by: MatchRule | null };
    this.deleteCrystals.run(row.id);
    c.crystals.forEach((x, number) => this.insertCrystalRow(row.id, number, x, packed[number]));
    if (row.frame_id !== null) this.labelFrame.run(c.indexed ? 1 : 0, c.crystals.length, bit(c.hit), row.frame_id);
    // A link found by an earlier import and kept counts as matched.
    if (match.kind === 'unmatched' && row.frame_id !== null) return { resultId: row.id, match: { kind: 'matched', frameId: row.frame_id, rule: row.matched_by! } };
    return { resultId: row.id, match };
  }

  private insertCrystalRow(resultId: number, number: number, x: StreamCrystal, packed: ReturnType<typeof packReflections>): void {
    const reciprocal = x.astarPerNm && x.bstarPerNm && x.cstarPerNm ? JSON.stringify([x.astarPerNm, x.bstarPerNm, x.cstarPerNm]) : null;
    this.insertCrystal.run(
      resultId, number, x.aA, x.bA, x.cA, x.alphaDeg, x.betaDeg, x.gammaDeg, reciprocal, x.latticeType, x.centering, x.uniqueAxis,
      finiteOrNull(x.profileRadiusPerNm), finiteOrNull(x.resolutionLimitA), x.reflections.length, x.numSaturatedReflections,
      packed.blob, JSON.stringify(packed.panels),
    );
  }
}

interface CrystalRow {
  result_id: number;
  number: number;
  a_a: number;
  b_a: number;
  c_a: number;
  alpha_deg: number;
  beta_deg: number;
  gamma_deg: number;
  reciprocal_per_nm: string | null;
  lattice_type: string | null;
  centering: string | null;
  unique_axis: string | null;
  resolution_a: number | null;
  n_reflections: number;
  reflections: Buffer;
  panels: string;
}

/**
 * The crystals recorded for a result, reflections decoded.
 *
 * @example
 * const [first] = readCrystals(catalog, resultId);
 * first.reflections[0]; // { h, k, l, intensity, sigma, peak, background, fs, ss, panel }
 */
export function readCrystals(catalog: ResultsCatalog, resultId: number): StoredCrystal[] {
  const rows = catalog.db.prepare('SELECT * FROM crystals WHERE result_id = ? ORDER BY number').all(resultId) as CrystalRow[];
  return rows.map((r) => ({
    resultId: r.result_id,
    number: r.number,
    aA: r.a_a,
    bA: r.b_a,
    cA: r.c_a,
    alphaDeg: r.alpha_deg,
    betaDeg: r.beta_deg,
    gammaDeg: r.gamma_deg,
    reciprocalPerNm: r.reciprocal_per_nm === null ? null : (JSON.parse(r.reciprocal_per_nm) as [Vector3, Vector3, Vector3]),
    latticeType: r.lattice_type,
    centering: r.centering,
    uniqueAxis: r.unique_axis,
    resolutionA: r.resolution_a,
    nReflections: r.n_reflections,
    reflections: unpackReflections(r.reflections, JSON.parse(r.panels) as string[]),
  }));
}
