/**
 * CrystFEL stream (indexamajig output, format 2.x): a streaming, line-driven parser.
 *
 * Lengths follow the stream's units except where a field name says otherwise: the cell is
 * converted from nm to Å (`aA`, `bA`, `cA`), reciprocal quantities keep nm^-1 (`...PerNm`).
 * A chunk with a problem that matters (a cell that is not six numbers, a reflection row with
 * the wrong number of columns, a chunk that never ends) is reported as a `bad-chunk` item with
 * every problem as `file:line` and parsing goes on with the next chunk.
 */
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { SxError } from '../errors.ts';
import type { BadChunk, StreamChunk, StreamCrystal, StreamHeader, StreamItem, StreamParserOptions, StreamProblem, Vector3 } from './crystfel-stream-types.ts';

export * from './crystfel-stream-types.ts';

const CHUNK_BEGIN = '----- Begin chunk -----';
const CHUNK_END = '----- End chunk -----';
const GEOMETRY_BEGIN = '----- Begin geometry file -----';
const GEOMETRY_END = '----- End geometry file -----';
const CELL_BEGIN = '----- Begin unit cell -----';
const CELL_END = '----- End unit cell -----';
const CRYSTAL_BEGIN = '--- Begin crystal';
const CRYSTAL_END = '--- End crystal';
const PEAKS_BEGIN = 'Peaks from peak search';
const PEAKS_END = 'End of peak list';
const REFLECTIONS_BEGIN = 'Reflections measured after indexing';
const REFLECTIONS_END = 'End of reflections';
const NO_REFLECTIONS = 'No integrated reflections.';

/** Problems listed per chunk; a chunk whose every row is broken would otherwise flood the report. */
const MAX_PROBLEMS_PER_CHUNK = 10;

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NOT_FINITE = /^[+-]?(nan|inf|infinity)$/i;

/** A number as C's printf writes it, including `nan` and `inf`; undefined if it is not one. */
function parseNumber(token: string | undefined): number | undefined {
  if (token === undefined) return undefined;
  if (NUMBER.test(token)) return Number(token);
  if (NOT_FINITE.test(token)) return /nan/i.test(token) ? Number.NaN : token.startsWith('-') ? -Infinity : Infinity;
  return undefined;
}

type Section = 'chunk' | 'peaks' | 'crystal' | 'reflections';

interface OpenChunk {
  chunk: StreamChunk;
  problems: StreamProblem[];
  extraProblems: number;
  section: Section;
  /** Whether the current table's column header names a panel column (old streams have none). */
  tableHasPanel: boolean;
  tableHeaderSeen: boolean;
  sectionLine: number;
  crystal: StreamCrystal | null;
  cellLineSeen: boolean;
  hasFilename: boolean;
}

function newChunk(line: number): StreamChunk {
  return {
    line, endLine: line, filename: '', event: '//', serial: null, hit: null, indexedBy: null, indexed: false,
    nIndexingTries: null, photonEnergyEv: null, beamDivergenceRad: null, beamBandwidth: null, averageCameraLengthM: null,
    numPeaks: null, peakResolutionPerNm: null, headers: {}, peaks: [], crystals: [], extra: {}, warnings: [],
  };
}

function newCrystal(line: number): StreamCrystal {
  return {
    line, aA: Number.NaN, bA: Number.NaN, cA: Number.NaN, alphaDeg: Number.NaN, betaDeg: Number.NaN, gammaDeg: Number.NaN,
    astarPerNm: null, bstarPerNm: null, cstarPerNm: null, latticeType: null, centering: null, uniqueAxis: null,
    profileRadiusPerNm: null, resolutionLimitPerNm: null, resolutionLimitA: null, numReflections: null, numSaturatedReflections: null,
    reflections: [], extra: {},
  };
}

/** Splits `key = value` at the first " = "; undefined for other lines. */
function splitKeyValue(line: string): [string, string] | undefined {
  const at = line.indexOf(' = ');
  return at < 0 ? undefined : [line.slice(0, at).trim(), line.slice(at + 3).trim()];
}

/**
 * The parser as a state machine fed one line at a time, so that a stream still being written
 * can be parsed as it grows. `push` returns the item a line completes, if any.
 *
 * @example
 * const parser = new CrystfelStreamParser({ file: 'run7.stream' });
 * for (const line of lines) { const item = parser.push(line); if (item?.kind === 'chunk') use(item.chunk); }
 * const last = parser.finish(); // a chunk never closed at the end of the input becomes a bad chunk
 */
export class CrystfelStreamParser {
  readonly file: string;
  private lineNo = 0;
  private header: StreamHeader | null = null;
  private headerSent = false;
  private block: 'geometry' | 'cell' | null = null;
  private blockLines: string[] = [];
  private open: OpenChunk | null = null;

  constructor(options: StreamParserOptions = {}) {
    this.file = options.file ?? '<stream>';
  }

  /** Lines consumed so far. */
  get lineNumber(): number {
    return this.lineNo;
  }

  /** The line of a chunk that has begun but not ended yet, or null. */
  get openChunkLine(): number | null {
    return this.open?.chunk.line ?? null;
  }

  push(rawLine: string): StreamItem | undefined {
    this.lineNo += 1;
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (this.header === null) return this.startHeader(line);
    if (this.open) {
      if (line === CHUNK_END) return this.closeChunk();
      if (line === CHUNK_BEGIN) {
        const unfinished = this.problem(this.open.chunk.line, `chunk never ended; expected "${CHUNK_END}" before the next "${CHUNK_BEGIN}" at line ${this.lineNo}`);
        const bad = this.badChunk(this.open, [unfinished]);
        this.open = this.openChunk();
        return bad;
      }
      this.chunkLine(this.open, line);
      return undefined;
    }
    return this.outsideLine(line);
  }

  /** The end of the input: a chunk still open is bad, as the stream was cut short. */
  finish(): StreamItem | undefined {
    if (this.header === null) {
      throw new SxError('input', `${this.file}:1: not a CrystFEL stream: expected "CrystFEL stream format 2.x" but the input is empty`);
    }
    if (this.open) {
      const open = this.open;
      this.open = null;
      open.chunk.endLine = this.lineNo;
      return this.badChunk(open, [this.problem(open.chunk.line, `chunk never ended; expected "${CHUNK_END}" before the end of the input`)]);
    }
    return this.sendHeader();
  }

  private problem(line: number, message: string): StreamProblem {
    return { file: this.file, line, message };
  }

  private startHeader(line: string): StreamItem | undefined {
    if (line.trim() === '') return undefined;
    const m = /^CrystFEL stream format (\d+)\.(\d+)\s*$/.exec(line);
    if (!m) {
      throw new SxError('input', `${this.file}:${this.lineNo}: not a CrystFEL stream: expected "CrystFEL stream format 2.x" but found ${JSON.stringify(line.slice(0, 80))}`);
    }
    if (m[1] !== '2') {
      throw new SxError('input', `${this.file}:${this.lineNo}: unsupported stream format ${m[1]}.${m[2]}; expected 2.x`);
    }
    this.header = { formatVersion: `${m[1]}.${m[2]}`, generatedBy: null, commandLine: null, indexingMethods: [], geometry: null, unitCell: null };
    return undefined;
  }

  private sendHeader(): StreamItem | undefined {
    if (this.headerSent || !this.header) return undefined;
    this.headerSent = true;
    return { kind: 'header', header: this.header };
  }

  /** Header lines, and what lies between chunks (a concatenated stream repeats its header there). */
  private outsideLine(line: string): StreamItem | undefined {
    const header = this.header!;
    if (this.block) {
      if (line === (this.block === 'geometry' ? GEOMETRY_END : CELL_END)) {
        // Only the first stream's header is kept when streams were concatenated.
        if (!this.headerSent) header[this.block === 'geometry' ? 'geometry' : 'unitCell'] = this.blockLines.join('\n');
        this.block = null;
        this.blockLines = [];
      } else {
        this.blockLines.push(line);
      }
      return undefined;
    }
    if (line === CHUNK_BEGIN) {
      const item = this.sendHeader();
      this.open = this.openChunk();
      return item;
    }
    if (line === GEOMETRY_BEGIN) this.block = 'geometry';
    else if (line === CELL_BEGIN) this.block = 'cell';
    else if (!this.headerSent) {
      if (line.startsWith('Generated by ')) header.generatedBy = line.slice('Generated by '.length).trim();
      else if (line.startsWith('Indexing methods selected:')) {
        header.indexingMethods = line.slice('Indexing methods selected:'.length).split(',').map((s) => s.trim()).filter(Boolean);
      } else if (header.commandLine === null && line.trim() !== '') header.commandLine = line;
    }
    return undefined;
  }

  private openChunk(): OpenChunk {
    return {
      chunk: newChunk(this.lineNo), problems: [], extraProblems: 0, section: 'chunk', tableHasPanel: true, tableHeaderSeen: false,
      sectionLine: this.lineNo, crystal: null, cellLineSeen: false, hasFilename: false,
    };
  }

  private report(open: OpenChunk, message: string, line = this.lineNo): void {
    if (open.problems.length < MAX_PROBLEMS_PER_CHUNK) open.problems.push(this.problem(line, message));
    else open.extraProblems += 1;
  }

  private badChunk(open: OpenChunk, more: StreamProblem[] = []): StreamItem {
    const problems = [...open.problems, ...more];
    if (open.extraProblems > 0) problems.push(this.problem(open.chunk.line, `... and ${open.extraProblems} more problem(s) in this chunk`));
    const c = open.chunk;
    return { kind: 'bad-chunk', bad: { line: c.line, endLine: this.lineNo, filename: open.hasFilename ? c.filename : null, event: open.hasFilename ? c.event : null, problems } };
  }

  private closeChunk(): StreamItem {
    const open = this.open!;
    this.open = null;
    const c = open.chunk;
    c.endLine = this.lineNo;
    if (open.section !== 'chunk') {
      const [what, end] = {
        peaks: ['peak list', PEAKS_END],
        crystal: ['crystal', CRYSTAL_END],
        reflections: ['reflection list', REFLECTIONS_END],
      }[open.section];
      this.report(open, `${what} starting at line ${open.sectionLine} never ended; expected "${end}" before "${CHUNK_END}"`);
    }
    if (!open.hasFilename) this.report(open, 'chunk has no "Image filename:" line; expected one in every chunk', c.line);
    if (open.problems.length > 0) return this.badChunk(open);
    c.indexed = c.crystals.length > 0;
    if (c.indexed !== (c.indexedBy !== null)) {
      c.warnings.push(this.problem(c.line, `indexed_by = ${c.indexedBy ?? 'none'} but the chunk has ${c.crystals.length} crystal(s)`));
    }
    return { kind: 'chunk', chunk: c };
  }

  private chunkLine(open: OpenChunk, line: string): void {
    switch (open.section) {
      case 'peaks':
        return this.peakLine(open, line);
      case 'reflections':
        return this.reflectionLine(open, line);
      case 'crystal':
        return this.crystalLine(open, line);
      default:
        return this.chunkFieldLine(open, line);
    }
  }

  private startTable(open: OpenChunk, section: Section): void {
    open.section = section;
    open.sectionLine = this.lineNo;
    open.tableHeaderSeen = false;
    open.tableHasPanel = true;
  }

  private number(open: OpenChunk, key: string, value: string, integer = false): number | null {
    const n = parseNumber(value.split(/\s+/)[0]);
    if (n === undefined || (integer && !Number.isInteger(n))) {
      this.report(open, `${key}: expected ${integer ? 'an integer' : 'a number'} but found ${JSON.stringify(value)}`);
      return null;
    }
    return Number.isNaN(n) ? null : n;
  }

  private chunkFieldLine(open: OpenChunk, line: string): void {
    const c = open.chunk;
    if (line.startsWith('Image filename:')) {
      c.filename = line.slice('Image filename:'.length).trim();
      open.hasFilename = true;
      return;
    }
    if (line.startsWith('Event:')) {
      c.event = line.slice('Event:'.length).trim();
      return;
    }
    if (line.startsWith('Image serial number:')) {
      c.serial = this.number(open, 'Image serial number', line.slice('Image serial number:'.length).trim(), true);
      return;
    }
    if (line === PEAKS_BEGIN) return this.startTable(open, 'peaks');
    if (line === CRYSTAL_BEGIN) {
      open.section = 'crystal';
      open.sectionLine = this.lineNo;
      open.crystal = newCrystal(this.lineNo);
      open.cellLineSeen = false;
      return;
    }
    if (line.trim() === '') return;
    const kv = splitKeyValue(line);
    if (!kv) {
      c.warnings.push(this.problem(this.lineNo, `line not understood, ignored: ${JSON.stringify(line.slice(0, 80))}`));
      return;
    }
    const [key, value] = kv;
    switch (key) {
      case 'hit':
        if (value === '0' || value === '1') c.hit = value === '1';
        else this.report(open, `hit: expected 0 or 1 but found ${JSON.stringify(value)}`);
        return;
      case 'indexed_by':
        c.indexedBy = value === 'none' || value === '' ? null : value;
        return;
      case 'n_indexing_tries':
        c.nIndexingTries = this.number(open, key, value, true);
        return;
      case 'photon_energy_eV':
        c.photonEnergyEv = this.number(open, key, value);
        return;
      case 'beam_divergence':
        c.beamDivergenceRad = this.number(open, key, value);
        return;
      case 'beam_bandwidth':
        c.beamBandwidth = this.number(open, key, value);
        return;
      case 'average_camera_length':
        c.averageCameraLengthM = this.number(open, key, value);
        return;
      case 'num_peaks':
        c.numPeaks = this.number(open, key, value, true);
        return;
      case 'peak_resolution':
        c.peakResolutionPerNm = this.number(open, key, value);
        return;
    }
    const hv = /^(?:header\/(float|int|str)\/|hdf5(?=\/))(.+)$/.exec(key);
    if (hv) {
      const n = hv[1] === 'str' ? undefined : parseNumber(value);
      c.headers[hv[2]] = n === undefined ? value : n;
      return;
    }
    c.extra[key] = value;
  }

  private vector(open: OpenChunk, key: string, value: string): Vector3 | null {
    const m = /^(\S+)\s+(\S+)\s+(\S+)\s+nm\^-1$/.exec(value);
    const v = m ? [m[1], m[2], m[3]].map((t) => parseNumber(t)) : [];
    if (v.length !== 3 || v.some((x) => x === undefined || !Number.isFinite(x))) {
      this.report(open, `${key}: expected "x y z nm^-1" with three numbers but found ${JSON.stringify(value)}`);
      return null;
    }
    return v as Vector3;
  }

  private crystalLine(open: OpenChunk, line: string): void {
    const x = open.crystal!;
    if (line === CRYSTAL_END) {
      if (!open.cellLineSeen) this.report(open, 'crystal has no "Cell parameters" line; expected one in every crystal', x.line);
      open.chunk.crystals.push(x);
      open.crystal = null;
      open.section = 'chunk';
      return;
    }
    if (line === REFLECTIONS_BEGIN) return this.startTable(open, 'reflections');
    if (line === NO_REFLECTIONS || line.trim() === '') return;
    if (line.startsWith('Cell parameters')) {
      open.cellLineSeen = true;
      const m = /^Cell parameters\s+(\S+)\s+(\S+)\s+(\S+)\s+nm,\s+(\S+)\s+(\S+)\s+(\S+)\s+deg$/.exec(line);
      const v = m ? m.slice(1, 7).map((t) => parseNumber(t)) : [];
      if (v.length !== 6 || v.some((n) => n === undefined || !Number.isFinite(n))) {
        this.report(open, `cell: expected "Cell parameters a b c nm, al be ga deg" with six numbers but found ${JSON.stringify(line)}`);
        return;
      }
      const [a, b, c, al, be, ga] = v as number[];
      // Streams write lengths in nm; sxarchive keeps Å, as crystallographers quote cells.
      Object.assign(x, { aA: a * 10, bA: b * 10, cA: c * 10, alphaDeg: al, betaDeg: be, gammaDeg: ga });
      return;
    }
    const kv = splitKeyValue(line);
    if (!kv) {
      open.chunk.warnings.push(this.problem(this.lineNo, `line not understood, ignored: ${JSON.stringify(line.slice(0, 80))}`));
      return;
    }
    const [key, value] = kv;
    switch (key) {
      case 'astar':
        x.astarPerNm = this.vector(open, key, value);
        return;
      case 'bstar':
        x.bstarPerNm = this.vector(open, key, value);
        return;
      case 'cstar':
        x.cstarPerNm = this.vector(open, key, value);
        return;
      case 'lattice_type':
        x.latticeType = value;
        return;
      case 'centering':
        x.centering = value;
        return;
      case 'unique_axis':
        x.uniqueAxis = value;
        return;
      case 'profile_radius':
        x.profileRadiusPerNm = this.number(open, key, value);
        return;
      case 'diffraction_resolution_limit': {
        const r = this.number(open, key, value);
        x.resolutionLimitPerNm = r;
        x.resolutionLimitA = r && r > 0 ? 10 / r : null;
        return;
      }
      case 'num_reflections':
        x.numReflections = this.number(open, key, value, true);
        return;
      case 'num_saturated_reflections':
        x.numSaturatedReflections = this.number(open, key, value, true);
        return;
    }
    x.extra[key] = value;
  }

  /** The column header line of a table; tells whether the table has a panel column. */
  private tableHeader(open: OpenChunk, line: string, marker: RegExp): boolean {
    if (open.tableHeaderSeen || !marker.test(line)) return false;
    open.tableHeaderSeen = true;
    open.tableHasPanel = /\bpanel\b/i.test(line);
    return true;
  }

  private peakLine(open: OpenChunk, line: string): void {
    if (line === PEAKS_END) {
      open.section = 'chunk';
      return;
    }
    if (this.tableHeader(open, line, /fs\/px/)) return;
    const t = line.trim().split(/\s+/);
    const want = open.tableHasPanel ? 5 : 4;
    const v = t.slice(0, 4).map((s) => parseNumber(s));
    if (t.length !== want || v.some((n) => n === undefined)) {
      this.report(open, `peak row: expected ${want} columns "fs/px ss/px (1/d)/nm^-1 Intensity${open.tableHasPanel ? ' Panel' : ''}" but found ${JSON.stringify(line.trim())}`);
      return;
    }
    const [fs, ss, oneOverDPerNm, intensity] = v as number[];
    open.chunk.peaks.push({ fs, ss, oneOverDPerNm, intensity, panel: open.tableHasPanel ? t[4] : null });
  }

  private reflectionLine(open: OpenChunk, line: string): void {
    if (line === REFLECTIONS_END) {
      open.section = 'crystal';
      return;
    }
    if (this.tableHeader(open, line, /sigma\(I\)/)) return;
    const t = line.trim().split(/\s+/);
    const want = open.tableHasPanel ? 10 : 9;
    const v = t.slice(0, 9).map((s) => parseNumber(s));
    if (t.length !== want || v.some((n) => n === undefined) || !v.slice(0, 3).every((n) => Number.isInteger(n))) {
      this.report(open, `reflection row: expected ${want} columns "h k l I sigma(I) peak background fs/px ss/px${open.tableHasPanel ? ' panel' : ''}" with integer h k l but found ${JSON.stringify(line.trim())}`);
      return;
    }
    const [h, k, l, intensity, sigma, peak, background, fs, ss] = v as number[];
    open.crystal!.reflections.push({ h, k, l, intensity, sigma, peak, background, fs, ss, panel: open.tableHasPanel ? t[9] : null });
  }
}

/** Cuts text arriving in arbitrary pieces into lines (UTF-8 safe across piece boundaries). */
export class LineSplitter {
  private decoder = new StringDecoder('utf8');
  private rest = '';

  push(piece: Buffer | string): string[] {
    const text = this.rest + (typeof piece === 'string' ? piece : this.decoder.write(piece));
    const lines = text.split('\n');
    this.rest = lines.pop()!;
    return lines;
  }

  /** The last line when the input does not end with a newline. */
  end(): string[] {
    const last = this.rest + this.decoder.end();
    this.rest = '';
    return last === '' ? [] : [last];
  }
}

/**
 * Parses a stream: `input` is either an array (any iterable) of lines, or an async iterable of
 * text pieces such as a `Readable` (cut into lines here).
 *
 * @example
 * for await (const item of parseCrystfelStream(createReadStream('run7.stream'), { file: 'run7.stream' })) {
 *   if (item.kind === 'chunk') console.log(item.chunk.filename, item.chunk.event, item.chunk.indexed);
 * }
 */
export async function* parseCrystfelStream(
  input: Iterable<string> | AsyncIterable<Buffer | string>,
  options: StreamParserOptions = {},
): AsyncGenerator<StreamItem> {
  const parser = new CrystfelStreamParser(options);
  if (Symbol.asyncIterator in input) {
    const splitter = new LineSplitter();
    for await (const piece of input) {
      for (const line of splitter.push(piece)) {
        const item = parser.push(line);
        if (item) yield item;
      }
    }
    for (const line of splitter.end()) {
      const item = parser.push(line);
      if (item) yield item;
    }
  } else {
    for (const line of input) {
      const item = parser.push(line);
      if (item) yield item;
    }
  }
  const last = parser.finish();
  if (last) yield last;
}

export interface ParsedStream {
  header: StreamHeader;
  chunks: StreamChunk[];
  badChunks: BadChunk[];
}

/**
 * Reads a whole stream file into memory; for big streams iterate `parseCrystfelStream` instead.
 *
 * @example
 * const { header, chunks, badChunks } = await readCrystfelStreamFile('test.stream');
 */
export async function readCrystfelStreamFile(path: string): Promise<ParsedStream> {
  const out: ParsedStream = { header: null as unknown as StreamHeader, chunks: [], badChunks: [] };
  let input;
  try {
    input = createReadStream(path);
    for await (const item of parseCrystfelStream(input, { file: path })) {
      if (item.kind === 'header') out.header = item.header;
      else if (item.kind === 'chunk') out.chunks.push(item.chunk);
      else out.badChunks.push(item.bad);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new SxError('input', `${path}: no such file`, { cause: err });
    throw err;
  } finally {
    input?.destroy();
  }
  return out;
}
