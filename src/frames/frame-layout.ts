import { SxError } from '../errors.ts';

/**
 * What one dataset dimension means, as in a CrystFEL geometry's `dimN`: `%` runs over frames,
 * `ss`/`fs` are the frame's slow-scan (rows) and fast-scan (columns) axes, and a number pins
 * the dimension to that index.
 */
export type FrameDim = '%' | 'ss' | 'fs' | number;

/**
 * Where a file's frames are: the two fields of a CrystFEL panel that say so. A geometry
 * parser's panel fits this shape as is, so frame sources need nothing else from it.
 *
 * @example
 * const layout: FrameLayout = { data: '/entry/data/data', dims: ['%', 'ss', 'fs'] }; // a stack
 * const perEvent: FrameLayout = { data: '/data/%/data_array', dims: ['%', 'ss', 'fs', 1] };
 */
export interface FrameLayout {
  /** HDF5 path of the frames; each `%` in it stands for one path component, listed from the file. */
  data: string;
  /**
   * Meaning of each dimension of the dataset, dim0 first. CrystFEL's default is
   * `['ss', 'fs']` (one 2-D frame per dataset). Left out, it is taken from the dataset's rank:
   * 2-D is one frame, 3-D a stack `[%, ss, fs]`.
   */
  dims?: readonly FrameDim[];
}

/** CrystFEL's dims when a geometry names none: one 2-D frame per dataset. */
export const DEFAULT_DIMS: readonly FrameDim[] = ['ss', 'fs'];

/** Dims for a dataset of `rank` when nothing says otherwise, or undefined if no frame fits. */
export function inferDims(rank: number): FrameDim[] | undefined {
  if (rank === 2) return ['ss', 'fs'];
  if (rank === 3) return ['%', 'ss', 'fs'];
  return undefined;
}

export function formatDims(dims: readonly FrameDim[]): string {
  return dims.map(String).join(', ');
}

/**
 * Throws SxError('input') listing every problem with `dims`: exactly one `ss` and one `fs`,
 * `ss` first (as CrystFEL requires), and fixed indices that are non-negative integers.
 */
export function checkDims(dims: readonly FrameDim[], where: string): void {
  const problems: string[] = [];
  for (const axis of ['ss', 'fs'] as const) {
    const n = dims.filter((d) => d === axis).length;
    if (n !== 1) problems.push(`expected exactly one dimension "${axis}" but found ${n}`);
  }
  if (problems.length === 0 && dims.indexOf('fs') < dims.indexOf('ss')) problems.push('"fs" comes before "ss" (CrystFEL requires ss first)');
  dims.forEach((d, i) => {
    const ok = d === '%' || d === 'ss' || d === 'fs' || (typeof d === 'number' && Number.isInteger(d) && d >= 0);
    if (!ok) problems.push(`dim${i}: expected %, ss, fs or an index >= 0 but received ${JSON.stringify(d)}`);
  });
  if (problems.length > 0) throw new SxError('input', `${where}: bad frame dimensions (${formatDims(dims)}): ${problems.join('; ')}`);
}

/**
 * CrystFEL's event name: the values that replaced the `%`s of the data path, joined by `/`,
 * then `//`, then the indices along the `%` dimensions, joined by `/`.
 *
 * @example
 * formatEvent([], [17]);                 // '//17'  (frame 17 of a stack)
 * formatEvent(['ev_1', 'dataABCset'], []); // 'ev_1/dataABCset//'
 * formatEvent([], []);                   // '//'    (a file holding one frame)
 */
export function formatEvent(pathValues: readonly string[], indices: readonly number[]): string {
  return `${pathValues.join('/')}//${indices.join('/')}`;
}

/** A dataset path matched by a data path with `%`s, and what each `%` stood for. */
export interface PathMatch {
  path: string;
  values: string[];
}

/** The little a path expansion needs to know about a file. */
export interface PathLister {
  /** Member names of the group at `path`, or undefined if there is no group there. */
  list(path: string): string[] | undefined;
  isDataset(path: string): boolean;
}

/**
 * Every dataset path matching `pattern`, in HDF5 name order, each `%` standing for one whole
 * path component or, with a prefix/suffix in the same component (`ev_%`), for the rest of it.
 * As in CrystFEL, a value for which the rest of the path does not exist is skipped.
 *
 * @example
 * expandDataPath('/data/%/data_array', lister);
 * // [{ path: '/data/a/data_array', values: ['a'] }, { path: '/data/b/data_array', values: ['b'] }]
 */
export function expandDataPath(pattern: string, lister: PathLister): PathMatch[] {
  const parts = pattern.split('/').filter((p) => p !== '');
  for (const part of parts) {
    if (part.split('%').length > 2) throw new SxError('input', `data path ${pattern}: at most one % per path component, but "${part}" has more`);
  }
  const matches: PathMatch[] = [];
  const walk = (at: number, path: string, values: string[]): void => {
    if (at === parts.length) {
      if (lister.isDataset(path || '/')) matches.push({ path, values });
      return;
    }
    const part = parts[at];
    const hole = part.indexOf('%');
    if (hole < 0) return walk(at + 1, `${path}/${part}`, values);
    const members = lister.list(path || '/');
    if (members === undefined) return;
    const prefix = part.slice(0, hole);
    const suffix = part.slice(hole + 1);
    const fitting = members.filter((m) => m.length > prefix.length + suffix.length && m.startsWith(prefix) && m.endsWith(suffix));
    // HDF5 keeps link names in byte order (strcmp), which code-unit order matches for ASCII.
    for (const member of fitting.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
      walk(at + 1, `${path}/${member}`, [...values, member.slice(prefix.length, member.length - suffix.length)]);
    }
  };
  walk(0, '', []);
  return matches;
}

/** Where a geometry says its frames are: its first panel's data path (labelling requires every panel to share it). */
export function frameLayoutOf(geometry: { panels: readonly FrameLayout[] }): FrameLayout {
  const [first] = geometry.panels;
  return { data: first.data, dims: first.dims };
}
