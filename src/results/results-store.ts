import { dirname } from 'node:path';
import type { Catalog } from '../catalog/catalog.ts';
import type { CrystalRow } from '../catalog/results.ts';
import type { StreamChunk, StreamCrystal, Vector3 } from '../formats/crystfel-stream.ts';
import { FrameMatcher, type MatchOutcome, type MatchRule } from './frame-matcher.ts';
import { packReflections, unpackReflections } from './reflection-pack.ts';

/** What the results store needs of the catalog: frames to match, results to write, and a transaction per batch. */
export type ResultsCatalog = Pick<Catalog, 'frames' | 'results' | 'writeTransaction'>;

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

  constructor(
    private readonly catalog: ResultsCatalog,
    private readonly experimentId: number,
  ) {
    this.matcher = new FrameMatcher(catalog.frames, experimentId);
  }

  /** Records `chunks` from the stream at `streamPath` (absolute) in one transaction. */
  recordBatch(chunks: readonly StreamChunk[], streamPath: string): BatchOutcome {
    const streamDir = dirname(streamPath);
    return this.catalog.writeTransaction(() => {
      // Frames ingested since the last batch may be the ones earlier results were waiting for.
      const relinked = this.matcher.refresh() ? this.linkPending() : 0;
      const recorded = chunks.map((chunk) => this.recordChunk(chunk, streamPath, streamDir));
      return { recorded, relinked };
    });
  }

  /** Links results that waited for frames to the frames ingested since; returns how many. */
  linkNewFrames(): number {
    return this.catalog.writeTransaction(() => (this.matcher.refresh() ? this.linkPending() : 0));
  }

  private linkPending(): number {
    let linked = 0;
    const results = this.catalog.results;
    for (const row of results.unlinkedResults(this.experimentId)) {
      const match = this.matcher.match(row.source, row.event, dirname(row.stream_path));
      if (match.kind !== 'matched') continue;
      results.linkResult(row.id, match.frameId, match.rule);
      results.labelFrame(match.frameId, row.indexed, row.n_crystals, row.hit);
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
    const results = this.catalog.results;
    const row = results.upsertResult({
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
    });
    results.replaceCrystals(row.id, c.crystals.map((x, number) => crystalRow(row.id, number, x, packed[number])));
    if (row.frameId !== null) results.labelFrame(row.frameId, c.indexed ? 1 : 0, c.crystals.length, bit(c.hit));
    // A link found by an earlier import and kept counts as matched.
    if (match.kind === 'unmatched' && row.frameId !== null) return { resultId: row.id, match: { kind: 'matched', frameId: row.frameId, rule: row.matchedBy as MatchRule } };
    return { resultId: row.id, match };
  }
}

function crystalRow(resultId: number, number: number, x: StreamCrystal, packed: ReturnType<typeof packReflections>): CrystalRow {
  return {
    result_id: resultId, number, a_a: x.aA, b_a: x.bA, c_a: x.cA, alpha_deg: x.alphaDeg, beta_deg: x.betaDeg, gamma_deg: x.gammaDeg,
    reciprocal_per_nm: x.astarPerNm && x.bstarPerNm && x.cstarPerNm ? JSON.stringify([x.astarPerNm, x.bstarPerNm, x.cstarPerNm]) : null,
    lattice_type: x.latticeType, centering: x.centering, unique_axis: x.uniqueAxis,
    profile_radius_per_nm: finiteOrNull(x.profileRadiusPerNm), resolution_a: finiteOrNull(x.resolutionLimitA),
    n_reflections: x.reflections.length, n_saturated: x.numSaturatedReflections, reflections: packed.blob, panels: JSON.stringify(packed.panels),
  };
}

/**
 * The crystals recorded for a result, reflections decoded.
 *
 * @example
 * const [first] = readCrystals(catalog, resultId);
 * first.reflections[0]; // { h, k, l, intensity, sigma, peak, background, fs, ss, panel }
 */
export function readCrystals(catalog: Pick<Catalog, 'results'>, resultId: number): StoredCrystal[] {
  return catalog.results.crystals(resultId).map((r) => ({
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
