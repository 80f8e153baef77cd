/**
 * Turns the raw lines of a geometry file, grouped by panel and bad region, into typed values,
 * recording every problem in the shared `Findings`.
 */
import type { BadRegion, Beam, Panel, PanelMask } from './crystfel-geometry-types.ts';
import {
  checkDims, type Entry, Findings, parseBeamEnergy, parseBits, parseBoolean, parseDim, parseDistance,
  parseIndex, parseNumber, parsePositive, parseVector,
} from './crystfel-geometry-values.ts';

/** Keys a panel may set, or the file may set globally as a default for later panels. */
export const PANEL_KEY = new RegExp(
  '^(?:min_fs|max_fs|min_ss|max_ss|corner_x|corner_y|fs|ss|res|clen|coffset|adu_per_eV|adu_per_photon|' +
    'max_adu|saturation_map|saturation_map_file|data|dim\\d+|mask[0-7]_(?:data|file|goodbits|badbits)|' +
    'no_index|mask_edge_pixels|flag_lessthan|flag_morethan|flag_equal)$',
);
export const LEGACY_MASK: Record<string, string> = {
  mask: 'mask0_data', mask_file: 'mask0_file', mask_good: 'mask0_goodbits', mask_bad: 'mask0_badbits',
};
export const BEAM_KEYS = ['photon_energy', 'wavelength', 'electron_voltage'];
export const GLOBAL_KEYS = new Set([...BEAM_KEYS, 'bandwidth', 'peak_list', 'peak_list_type', 'detector_shift_x', 'detector_shift_y']);
/** Keys of older CrystFEL versions that no longer do anything. */
export const OBSOLETE_KEYS = new Set(['badrow_direction', 'clen_for_centering', 'peak_sep', 'n_panels']);
export const DATA_LIMITS = ['min_fs', 'max_fs', 'min_ss', 'max_ss'];
export const LAB_LIMITS = ['min_x', 'max_x', 'min_y', 'max_y'];
export const REQUIRED = [...DATA_LIMITS, 'corner_x', 'corner_y', 'fs', 'ss', 'res'];

export interface RawPanel {
  name: string;
  line: number;
  /** Defaults in force at the first mention (`inherited`), then the panel's own lines. */
  entries: Map<string, Entry & { inherited: boolean }>;
}

export interface RawSection {
  line: number;
  entries: Map<string, Entry>;
}

export function resolvePanel(f: Findings, raw: RawPanel): Panel | undefined {
  const e = (k: string) => raw.entries.get(k);
  const missing = REQUIRED.filter((k) => e(k) === undefined);
  if (missing.length > 0) {
    f.problem(raw.line, `panel '${raw.name}' has no ${missing.join(', ')}`,
      `'${raw.name}/${missing[0]} = ...' or a global '${missing[0]} = ...' before line ${raw.line}`);
  }
  const opt = <T>(k: string, parse: (f: Findings, x: Entry) => T | undefined): T | undefined => {
    const x = e(k);
    return x === undefined ? undefined : parse(f, x);
  };
  const [minFs, maxFs, minSs, maxSs] = DATA_LIMITS.map((k) => opt(k, parseIndex));
  checkOrder(f, raw.name, 'fs', minFs, maxFs, e('max_fs'));
  checkOrder(f, raw.name, 'ss', minSs, maxSs, e('max_ss'));
  const cornerX = opt('corner_x', parseNumber);
  const cornerY = opt('corner_y', parseNumber);
  const fs = opt('fs', parseVector);
  const ss = opt('ss', parseVector);
  const res = opt('res', parsePositive);

  const perPhoton = e('adu_per_photon');
  const perEv = e('adu_per_eV');
  if (perPhoton !== undefined && perEv !== undefined && perPhoton.inherited !== perEv.inherited) {
    // The panel's own gain replaces a global one of the other kind.
    raw.entries.delete(perPhoton.inherited ? 'adu_per_photon' : 'adu_per_eV');
  } else if (perPhoton !== undefined && perEv !== undefined) {
    f.problem(Math.max(perPhoton.line, perEv.line), `panel '${raw.name}' has both adu_per_photon (line ${perPhoton.line}) ` +
      `and adu_per_eV (line ${perEv.line})`, 'only one of them');
  }
  const dimEntries = [...raw.entries.values()].filter((x) => /^dim\d+$/.test(x.key)).sort((a, b) => dimIndex(a) - dimIndex(b));
  const gap = dimEntries.find((x, i) => dimIndex(x) !== i);
  if (gap !== undefined) {
    const i = dimEntries.indexOf(gap);
    f.problem(gap.line, `${gap.key} is set but dim${i} is not (panel '${raw.name}')`, `dim0, dim1, ... without gaps`);
  }
  let dims: Panel['dims'] = dimEntries.map((x) => parseDim(f, x) ?? 'ss');
  if (dimEntries.length === 0 || gap !== undefined || !checkDims(f, dims, dimEntries)) dims = ['ss', 'fs'];
  const data = e('data');
  if (data !== undefined && !data.value.startsWith('/')) {
    f.problem(data.line, `data = '${data.value}' is not an HDF5 path`, `a path starting with '/'`);
  }

  const values = [minFs, maxFs, minSs, maxSs, cornerX, cornerY, fs, ss, res];
  if (values.some((v) => v === undefined) || maxFs! < minFs! || maxSs! < minSs!) return undefined;
  return {
    name: raw.name,
    line: raw.line,
    minFs: minFs!, maxFs: maxFs!, minSs: minSs!, maxSs: maxSs!,
    cornerX: cornerX!, cornerY: cornerY!,
    fs: fs!, ss: ss!,
    res: res!,
    clen: opt('clen', (g, x) => parseDistance(g, x, 'mm')) ?? { kind: 'unset' },
    coffset: opt('coffset', parseNumber) ?? 0,
    aduPerPhoton: opt('adu_per_photon', parseNumber),
    aduPerEv: opt('adu_per_eV', parseNumber),
    maxAdu: opt('max_adu', parseNumber) ?? Infinity,
    saturationMap: e('saturation_map')?.value,
    saturationMapFile: e('saturation_map_file')?.value,
    data: data?.value ?? '/data/data',
    dims,
    noIndex: opt('no_index', parseBoolean) ?? false,
    maskEdgePixels: opt('mask_edge_pixels', parseIndex) ?? 0,
    flagLessThan: opt('flag_lessthan', parseNumber),
    flagMoreThan: opt('flag_morethan', parseNumber),
    flagEqual: opt('flag_equal', parseNumber),
    masks: resolveMasks(f, raw),
  };
}

function dimIndex(e: Entry): number {
  return Number(e.key.slice(3));
}

function checkOrder(f: Findings, name: string, axis: string, min?: number, max?: number, maxEntry?: Entry): void {
  if (min !== undefined && max !== undefined && max < min) {
    f.problem(maxEntry!.line, `panel '${name}' has max_${axis} ${max} < min_${axis} ${min}`,
      `max_${axis} >= min_${axis} (both inclusive)`);
  }
}

function resolveMasks(f: Findings, raw: RawPanel): PanelMask[] {
  const masks: PanelMask[] = [];
  for (let i = 0; i < 8; i++) {
    const [data, file, good, bad] = ['data', 'file', 'goodbits', 'badbits'].map((s) => raw.entries.get(`mask${i}_${s}`));
    if (data === undefined) {
      const orphan = file ?? good ?? bad;
      if (orphan !== undefined) {
        f.problem(orphan.line, `${orphan.key} is given but not the mask's dataset`,
          `'mask${i}_data = /path' (or legacy 'mask = /path' for mask 0)`);
      }
      continue;
    }
    masks.push({
      data: data.value,
      ...(file === undefined ? {} : { file: file.value }),
      goodBits: (good && parseBits(f, good)) ?? 0,
      badBits: (bad && parseBits(f, bad)) ?? 0,
    });
  }
  return masks;
}

/** Panels reading the same array (same path and fixed indices) must not share pixels. */
export function checkOverlaps(f: Findings, panels: Panel[]): void {
  const slice = (p: Panel) => `${p.data} [${p.dims.join(',')}]`;
  for (let i = 0; i < panels.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = panels[j];
      const b = panels[i];
      if (a.data !== b.data || slice(a) !== slice(b)) continue;
      if (a.minFs <= b.maxFs && b.minFs <= a.maxFs && a.minSs <= b.maxSs && b.minSs <= a.maxSs) {
        f.problem(b.line, `panel '${b.name}' (fs ${b.minFs}-${b.maxFs}, ss ${b.minSs}-${b.maxSs}) overlaps panel ` +
          `'${a.name}' (line ${a.line}, fs ${a.minFs}-${a.maxFs}, ss ${a.minSs}-${a.maxSs}) in ${a.data}`,
          'disjoint fs/ss ranges for panels in the same data array');
      }
    }
  }
}

export function resolveBadRegions(f: Findings, raw: Map<string, RawSection>, panels: Panel[]): BadRegion[] {
  const regions: BadRegion[] = [];
  for (const [name, { line, entries }] of raw) {
    const has = (keys: string[]) => keys.filter((k) => entries.has(k));
    const data = has(DATA_LIMITS);
    const lab = has(LAB_LIMITS);
    const expected = `min_fs/max_fs/min_ss/max_ss (+ panel) or min_x/max_x/min_y/max_y`;
    if (data.length > 0 && lab.length > 0) {
      f.problem(line, `bad region '${name}' mixes fs/ss limits (${data.join(', ')}) and x/y limits (${lab.join(', ')})`, `one kind: ${expected}`);
      continue;
    }
    const keys = lab.length > 0 ? LAB_LIMITS : DATA_LIMITS;
    const missing = keys.filter((k) => !entries.has(k));
    if (missing.length > 0) {
      f.problem(line, `bad region '${name}' has no ${missing.join(', ')}`, `all four limits: ${expected}`);
      continue;
    }
    const panelEntry = entries.get('panel');
    if (lab.length > 0) {
      const [minX, maxX, minY, maxY] = keys.map((k) => parseNumber(f, entries.get(k)!));
      if (panelEntry) f.warn(panelEntry.line, `bad region '${name}' is in x/y: its panel is ignored`);
      if ([minX, maxX, minY, maxY].some((v) => v === undefined)) continue;
      if (maxX! < minX! || maxY! < minY!) f.problem(line, `bad region '${name}' has a max below its min`, 'min <= max');
      regions.push({ kind: 'lab', name, minX: minX!, maxX: maxX!, minY: minY!, maxY: maxY!, line });
      continue;
    }
    const [minFs, maxFs, minSs, maxSs] = keys.map((k) => parseIndex(f, entries.get(k)!));
    if ([minFs, maxFs, minSs, maxSs].some((v) => v === undefined)) continue;
    if (maxFs! < minFs! || maxSs! < minSs!) f.problem(line, `bad region '${name}' has a max below its min`, 'min <= max');
    const region: BadRegion = { kind: 'data', name, minFs: minFs!, maxFs: maxFs!, minSs: minSs!, maxSs: maxSs!, line };
    if (panelEntry !== undefined) {
      const p = panels.find((q) => q.name === panelEntry.value);
      if (p === undefined) {
        f.problem(panelEntry.line, `bad region '${name}' names panel '${panelEntry.value}', which is not defined`, 'the name of a panel in this file');
        continue;
      }
      region.panel = p.name;
      if (minFs! > p.maxFs || maxFs! < p.minFs || minSs! > p.maxSs || maxSs! < p.minSs) {
        f.warn(line, `bad region '${name}' does not touch panel '${p.name}' (its limits are data-array coordinates)`);
      }
    }
    regions.push(region);
  }
  return regions;
}

export function resolveBeam(f: Findings, globals: Map<string, Entry>): Beam {
  const given = BEAM_KEYS.map((k) => globals.get(k)).filter((e) => e !== undefined);
  if (given.length > 1) {
    const [a, b] = given.sort((x, y) => x.line - y.line);
    f.problem(b.line, `${b.key} and ${a.key} (line ${a.line}) are both given`, 'only one of photon_energy, wavelength, electron_voltage');
  }
  const energyEntry = given[0];
  const energy = (energyEntry && parseBeamEnergy(f, energyEntry)) ?? { kind: 'none' as const };
  const bw = globals.get('bandwidth');
  const bandwidth = bw && parseNumber(f, bw);
  if (bandwidth !== undefined && bandwidth < 0) f.problem(bw!.line, `bandwidth ${bandwidth} is negative`, 'a fraction >= 0');
  return { energy, ...(bandwidth === undefined ? {} : { bandwidth }), line: energyEntry?.line ?? 0 };
}
