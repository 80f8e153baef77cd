/**
 * Value parsers for CrystFEL geometry lines. Each returns `undefined` after recording a
 * `file:line: what is wrong; expected what` problem, so a file's every mistake is reported.
 */
import type { BeamEnergy, Dim, Distance, Vec3 } from './crystfel-geometry-types.ts';

/** One `key = value` as written, with where it was written. */
export interface Entry {
  key: string;
  value: string;
  line: number;
}

/** Collects problems (fatal) and warnings (reported, not fatal), deduplicated, by line. */
export class Findings {
  private readonly problemLines = new Map<string, number>();
  private readonly warningLines = new Map<string, number>();
  constructor(readonly file: string) {}

  problem(line: number, what: string, expected: string): undefined {
    this.problemLines.set(`${this.file}:${line}: ${what}; expected ${expected}`, line);
    return undefined;
  }

  warn(line: number, what: string): void {
    this.warningLines.set(`${this.file}:${line}: ${what}`, line);
  }

  get problems(): string[] {
    return byLine(this.problemLines);
  }

  get warnings(): string[] {
    return byLine(this.warningLines);
  }
}

function byLine(messages: Map<string, number>): string[] {
  return [...messages].sort((a, b) => a[1] - b[1]).map(([text]) => text);
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+(?:\.0*)?$/;
const BITS = /^(?:0[xX][0-9a-fA-F]+|\d+)$/;

/** `Number` only for plain decimal numbers ("", "0x10", "Infinity" and "1e" are not). */
export function toNumber(text: string): number | undefined {
  return NUMBER.test(text) ? Number(text) : undefined;
}

export function parseNumber(f: Findings, e: Entry): number | undefined {
  const n = toNumber(e.value);
  return n ?? f.problem(e.line, `${e.key} = '${e.value}' is not a number`, `a decimal number such as 13333.3`);
}

export function parsePositive(f: Findings, e: Entry): number | undefined {
  const n = parseNumber(f, e);
  if (n === undefined || n > 0) return n;
  return f.problem(e.line, `${e.key} = ${e.value} is not positive`, `a number > 0`);
}

/** Pixel indices; `12.0` is accepted because some tools write indices that way. */
export function parseIndex(f: Findings, e: Entry): number | undefined {
  if (INTEGER.test(e.value)) {
    const n = Math.trunc(Number(e.value));
    if (n >= 0) return n;
  }
  return f.problem(e.line, `${e.key} = '${e.value}' is not a pixel index`, `a non-negative integer`);
}

/** Mask bits: decimal or `0x` hexadecimal. */
export function parseBits(f: Findings, e: Entry): number | undefined {
  if (BITS.test(e.value)) {
    const n = Number(e.value);
    if (Number.isSafeInteger(n)) return n;
  }
  return f.problem(e.line, `${e.key} = '${e.value}' is not a bit pattern`, `an integer such as 0x0001 or 1`);
}

export function parseBoolean(f: Findings, e: Entry): boolean | undefined {
  const v = e.value.toLowerCase();
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  return f.problem(e.line, `${e.key} = '${e.value}' is not a boolean`, `1, 0, true or false`);
}

/**
 * A lab-frame direction such as `-0.005902x +0.999983y`, `x`, `-y` or `+0.5x -0.2y +0.01z`.
 * Spaces are optional; a missing coefficient means 1; each axis at most once.
 */
export function parseVector(f: Findings, e: Entry): Vec3 | undefined {
  const text = e.value.replace(/\s+/g, '');
  const term = /([+-]?)(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)?([xyz])/gy;
  const v: Vec3 = { x: 0, y: 0, z: 0 };
  const seen = new Set<string>();
  let pos = 0;
  let bad = text === '';
  for (let m = term.exec(text); m !== null && !bad; m = term.exec(text)) {
    const axis = m[3] as keyof Vec3;
    if (seen.has(axis)) bad = true;
    seen.add(axis);
    v[axis] = (m[1] === '-' ? -1 : 1) * (m[2] === undefined ? 1 : Number(m[2]));
    pos = term.lastIndex;
  }
  if (bad || pos !== text.length) {
    return f.problem(e.line, `${e.key} = '${e.value}' is not a vector`, `terms like '-0.0059x +0.99998y' (x, y, z each at most once)`);
  }
  if (v.x === 0 && v.y === 0 && v.z === 0) {
    return f.problem(e.line, `${e.key} = '${e.value}' is a zero vector`, `a direction with a non-zero length`);
  }
  return v;
}

/** Splits `value [unit]`; more than two words is a problem. */
function splitUnit(f: Findings, e: Entry, expected: string): [string, string | undefined] | undefined {
  const words = e.value.split(/\s+/);
  if (words.length > 2 || words[0] === '') return f.problem(e.line, `${e.key} = '${e.value}' is not understood`, expected);
  return [words[0], words[1]];
}

/** A number, or a header path (`/...`) read per frame, with an optional unit from `units`. */
function parseQuantity(
  f: Findings,
  e: Entry,
  units: Record<string, number>,
  defaults: { literal?: string; header?: string },
): { literal: number; scale: number } | { headerPath: string; scale: number; unitGiven: boolean } | undefined {
  const names = Object.keys(units);
  const expected = `a number or a header path, then ${defaults.literal ? 'optionally ' : ''}${names.join(' or ')}`;
  const parts = splitUnit(f, e, expected);
  if (parts === undefined) return undefined;
  const [head, unit] = parts;
  if (unit !== undefined && !(unit in units)) {
    return f.problem(e.line, `${e.key} unit '${unit}' is not known`, names.join(' or '));
  }
  const n = toNumber(head);
  if (n !== undefined) {
    const u = unit ?? defaults.literal;
    if (u === undefined) return f.problem(e.line, `${e.key} = ${e.value} has no unit`, `a unit: ${names.join(' or ')}`);
    return { literal: n, scale: units[u] };
  }
  if (head.startsWith('/')) {
    return { headerPath: head, scale: units[unit ?? defaults.header ?? names[0]], unitGiven: unit !== undefined };
  }
  return f.problem(e.line, `${e.key} = '${e.value}' is neither a number nor a header path`, expected);
}

/** `clen` (bare number = m, bare header = mm) and `detector_shift_x/y` (m by default). */
export function parseDistance(f: Findings, e: Entry, headerDefault: 'm' | 'mm'): Distance | undefined {
  const q = parseQuantity(f, e, { m: 1, mm: 1e-3 }, { literal: 'm', header: headerDefault });
  if (q === undefined) return undefined;
  if ('literal' in q) return { kind: 'metres', metres: q.literal * q.scale };
  return { kind: 'header', headerPath: q.headerPath, metresPerUnit: q.scale };
}

/** One of the beam-energy keys, as a `BeamEnergy`. */
export function parseBeamEnergy(f: Findings, e: Entry): BeamEnergy | undefined {
  if (e.key === 'photon_energy') {
    const q = parseQuantity(f, e, { eV: 1, keV: 1e3 }, { literal: 'eV', header: 'eV' });
    if (q === undefined) return undefined;
    if ('headerPath' in q) return { kind: 'header', quantity: 'photon_energy', headerPath: q.headerPath, scale: q.scale };
    return positive(f, e, q.literal) ? { kind: 'photon-energy', ev: q.literal * q.scale } : undefined;
  }
  if (e.key === 'wavelength') {
    const q = parseQuantity(f, e, { m: 1, A: 1e-10, 'Å': 1e-10 }, { header: 'm' });
    if (q === undefined) return undefined;
    if ('headerPath' in q) {
      if (!q.unitGiven) f.warn(e.line, `wavelength header '${q.headerPath}' has no unit; assuming metres`);
      return { kind: 'header', quantity: 'wavelength', headerPath: q.headerPath, scale: q.scale };
    }
    return positive(f, e, q.literal) ? { kind: 'wavelength', metres: q.literal * q.scale } : undefined;
  }
  const q = parseQuantity(f, e, { V: 1, kV: 1e3 }, { literal: 'V', header: 'V' });
  if (q === undefined) return undefined;
  if ('headerPath' in q) return { kind: 'header', quantity: 'electron_voltage', headerPath: q.headerPath, scale: q.scale };
  return positive(f, e, q.literal) ? { kind: 'electron-voltage', volts: q.literal * q.scale } : undefined;
}

function positive(f: Findings, e: Entry, n: number): boolean {
  if (n > 0) return true;
  f.problem(e.line, `${e.key} = ${e.value} is not positive`, `a value > 0`);
  return false;
}

/** One `dimN` value. */
export function parseDim(f: Findings, e: Entry): Dim | undefined {
  if (e.value === '%' || e.value === 'ss' || e.value === 'fs') return e.value;
  if (/^\d+$/.test(e.value)) return Number(e.value);
  return f.problem(e.line, `${e.key} = '${e.value}' is not a dimension`, `%, ss, fs or a fixed index`);
}

/**
 * Checks a dims layout: one `ss`, one `fs`, `ss` before `fs` ("fast scan is always fast scan").
 * `entries` are the dimN lines the layout came from (for the message).
 */
export function checkDims(f: Findings, dims: Dim[], entries: Entry[]): boolean {
  const count = (d: Dim) => dims.filter((x) => x === d).length;
  const issues: string[] = [];
  if (count('ss') !== 1) issues.push(count('ss') === 0 ? "no 'ss'" : "'ss' more than once");
  if (count('fs') !== 1) issues.push(count('fs') === 0 ? "no 'fs'" : "'fs' more than once");
  if (issues.length === 0 && dims.indexOf('ss') > dims.indexOf('fs')) issues.push("'fs' before 'ss'");
  if (issues.length === 0) return true;
  const line = Math.max(...entries.map((x) => x.line));
  const spec = entries.map((x) => `${x.key} = ${x.value}`).join(', ');
  f.problem(line, `dims (${spec}) have ${issues.join(' and ')}`, `exactly one 'ss' and one 'fs' dimension, ss before fs`);
  return false;
}
