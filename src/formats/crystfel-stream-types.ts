// The model of a CrystFEL stream as the parser (crystfel-stream.ts) returns it. Lengths follow
// the stream's units except where a field name says otherwise: cells in Å (`aA`), reciprocal
// quantities in nm^-1 (`...PerNm`).

export interface StreamHeader {
  /** e.g. "2.3" */
  formatVersion: string;
  /** e.g. "CrystFEL 0.9.1+2c51b20e" */
  generatedBy: string | null;
  commandLine: string | null;
  indexingMethods: string[];
  /** The geometry file's text as embedded in the stream. */
  geometry: string | null;
  /** The target unit cell file's text, if the stream has one. */
  unitCell: string | null;
}

/** One row of "Peaks from peak search". */
export interface StreamPeak {
  fs: number;
  ss: number;
  /** 1/d in nm^-1, as written. */
  oneOverDPerNm: number;
  intensity: number;
  panel: string | null;
}

/** One row of "Reflections measured after indexing". */
export interface StreamReflection {
  h: number;
  k: number;
  l: number;
  intensity: number;
  sigma: number;
  peak: number;
  background: number;
  fs: number;
  ss: number;
  panel: string | null;
}

export type Vector3 = [number, number, number];

export interface StreamCrystal {
  /** Line of "--- Begin crystal" (1-based). */
  line: number;
  /** Cell lengths in Å (the stream writes nm). */
  aA: number;
  bA: number;
  cA: number;
  alphaDeg: number;
  betaDeg: number;
  gammaDeg: number;
  astarPerNm: Vector3 | null;
  bstarPerNm: Vector3 | null;
  cstarPerNm: Vector3 | null;
  latticeType: string | null;
  centering: string | null;
  uniqueAxis: string | null;
  profileRadiusPerNm: number | null;
  resolutionLimitPerNm: number | null;
  /** `diffraction_resolution_limit` as d in Å (10 / the nm^-1 value). */
  resolutionLimitA: number | null;
  numReflections: number | null;
  numSaturatedReflections: number | null;
  reflections: StreamReflection[];
  /** `key = value` lines sxarchive does not model (e.g. `predict_refine/final_residual`). */
  extra: Record<string, string>;
}

export interface StreamProblem {
  file: string;
  line: number;
  message: string;
}

export interface StreamChunk {
  /** Line of "----- Begin chunk -----" (1-based). */
  line: number;
  endLine: number;
  filename: string;
  /**
   * CrystFEL's event. Streams before CrystFEL 0.10 have no `Event:` line for a file holding a
   * single frame; later versions write that frame's event as `//`, which is what it becomes here.
   */
  event: string;
  serial: number | null;
  /** `hit = 0|1`; null if the stream does not say. */
  hit: boolean | null;
  /** The indexing method, or null for `indexed_by = none`. */
  indexedBy: string | null;
  /** At least one crystal was found. */
  indexed: boolean;
  nIndexingTries: number | null;
  photonEnergyEv: number | null;
  beamDivergenceRad: number | null;
  beamBandwidth: number | null;
  averageCameraLengthM: number | null;
  numPeaks: number | null;
  peakResolutionPerNm: number | null;
  /** Values of `header/float|int|str/<name>` and old `hdf5/<path>` lines, by name or path. */
  headers: Record<string, number | string>;
  peaks: StreamPeak[];
  crystals: StreamCrystal[];
  extra: Record<string, string>;
  /** Lines that were not understood but do not make the chunk unusable. */
  warnings: StreamProblem[];
}

export interface BadChunk {
  line: number;
  endLine: number;
  filename: string | null;
  event: string | null;
  problems: StreamProblem[];
}

export type StreamItem =
  | { kind: 'header'; header: StreamHeader }
  | { kind: 'chunk'; chunk: StreamChunk }
  | { kind: 'bad-chunk'; bad: BadChunk };

export interface StreamParserOptions {
  /** The name problems are reported under (`file:line: ...`). */
  file?: string;
}

/** `file:line: message`, as every problem is shown. */
export function formatProblem(p: StreamProblem): string {
  return `${p.file}:${p.line}: ${p.message}`;
}
