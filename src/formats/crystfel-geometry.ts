/**
 * CrystFEL geometry (`.geom`) files: `parseGeometry` turns the text into a typed `Geometry`,
 * reporting every problem of a file at once. Written from the crystfel_geometry(5) description.
 */
import { SxError } from '../errors.ts';
import { readTextFile } from '../text-file.ts';
import {
  checkOverlaps, DATA_LIMITS, GLOBAL_KEYS, LAB_LIMITS, LEGACY_MASK, OBSOLETE_KEYS, PANEL_KEY, type RawPanel,
  type RawSection, resolveBadRegions, resolveBeam, resolvePanel,
} from './crystfel-geometry-resolve.ts';
import type { Distance, Geometry, Panel, PeakListType } from './crystfel-geometry-types.ts';
import { type Entry, Findings, parseDistance } from './crystfel-geometry-values.ts';

export type * from './crystfel-geometry-types.ts';
export { photonEnergyEv, wavelengthMetres } from './crystfel-geometry-beam.ts';
export { binGeometry, binnedGeometry, formatGeometry, type BinGeometryOptions } from './crystfel-geometry-write.ts';
export { CONTAINER_DIMS, containerGeometry, type ContainerGeometryOptions } from './crystfel-geometry-container.ts';

const NO_SHIFT: Distance = { kind: 'metres', metres: 0 };

export interface ParseGeometryOptions {
  /** Added to line numbers in messages, for geometry embedded in a larger file (a stream). */
  lineOffset?: number;
}

/**
 * Parses CrystFEL geometry text. Unknown and obsolete keys become `warnings`; anything malformed
 * throws one `SxError('input')` listing every problem as `file:line: what; expected what`.
 *
 * @example
 * const g = parseGeometry('photon_energy = 12 keV\nclen = 0.1\nres = 13333.3\np0/min_fs = 0\n...', 'det.geom');
 * g.panels[0].res; // 13333.3
 */
export function parseGeometry(text: string, file: string, options: ParseGeometryOptions = {}): Geometry {
  const f = new Findings(file);
  const defaults = new Map<string, Entry>();
  const globals = new Map<string, Entry>();
  const rawPanels = new Map<string, RawPanel>();
  const rawBad = new Map<string, RawSection>();
  const groups: Record<string, string[]> = {};
  const groupLines = new Map<string, number>();
  const rigid: number[] = [];

  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1 + (options.lineOffset ?? 0);
    const content = lines[i].replace(/;.*/, '').trim();
    if (content === '') continue;
    const eq = content.indexOf('=');
    if (eq < 0) {
      f.problem(line, `'${content}' is not a setting`, `'key = value' or 'panel/key = value'`);
      continue;
    }
    const fullKey = content.slice(0, eq).trim();
    const value = content.slice(eq + 1).trim();
    const slash = fullKey.indexOf('/');
    const scope = slash < 0 ? '' : fullKey.slice(0, slash);
    const key = slash < 0 ? fullKey : fullKey.slice(slash + 1);
    if (slash < 0 && key.startsWith('rigid_group')) {
      rigid.push(line);
      continue;
    }
    if (key === '' || key.includes('/') || slash === 0) {
      f.problem(line, `'${fullKey}' is not a key`, `'key' or 'panel/key'`);
      continue;
    }
    if (value === '') {
      f.problem(line, `${fullKey} has no value`, `'${fullKey} = <value>'`);
      continue;
    }
    const entry: Entry = { key, value, line };
    const norm = LEGACY_MASK[key] ?? key;

    if (slash < 0) {
      if (key.startsWith('group_') && key.length > 6) {
        const members = value.split(',').map((m) => m.trim()).filter((m) => m !== '');
        groups[key.slice(6)] = members;
        groupLines.set(key.slice(6), line);
      } else if (GLOBAL_KEYS.has(key)) {
        setOnce(f, globals, key, entry);
      } else if (PANEL_KEY.test(norm)) {
        const first = rawPanels.values().next().value;
        if (first !== undefined) {
          f.warn(line, `global ${key} comes after panel '${first.name}' (line ${first.line}): ` +
            `it applies only to panels first mentioned after this line`);
        }
        setOnce(f, defaults, norm, entry);
      } else if (OBSOLETE_KEYS.has(key)) {
        f.warn(line, `${key} is obsolete; ignored`);
      } else {
        f.warn(line, `unknown key ${key}; ignored`);
      }
      continue;
    }

    if (scope.startsWith('bad')) {
      const section = rawBad.get(scope) ?? { line, entries: new Map<string, Entry>() };
      rawBad.set(scope, section);
      if ([...DATA_LIMITS, ...LAB_LIMITS, 'panel'].includes(key)) setOnce(f, section.entries, key, entry);
      else f.warn(line, `unknown key ${key} for bad region '${scope}'; ignored`);
      continue;
    }
    if (scope.startsWith('group') || scope.startsWith('rigid_group') || /\s/.test(scope)) {
      f.problem(line, `'${scope}' is not a valid panel name`,
        `a name without spaces that does not start with 'bad', 'group' or 'rigid_group'`);
      continue;
    }
    let panel = rawPanels.get(scope);
    if (panel === undefined) {
      const inherited = [...defaults].map(([k, e]) => [k, { ...e, inherited: true }] as const);
      panel = { name: scope, line, entries: new Map(inherited) };
      rawPanels.set(scope, panel);
    }
    if (PANEL_KEY.test(norm)) {
      const before = panel.entries.get(norm);
      if (before !== undefined && !before.inherited) {
        f.warn(line, `${fullKey} set again (line ${before.line} said '${before.value}'); the later value wins`);
      }
      panel.entries.set(norm, { ...entry, inherited: false });
    } else if (GLOBAL_KEYS.has(key)) {
      f.warn(line, `${key} applies to the whole detector, not to panel '${scope}'; ignored`);
    } else if (OBSOLETE_KEYS.has(key)) {
      f.warn(line, `${key} is obsolete; ignored`);
    } else {
      f.warn(line, `unknown key ${key} for panel '${scope}'; ignored`);
    }
  }
  if (rigid.length > 0) {
    f.warn(rigid[0], `${rigid.length} rigid_group lines ignored (obsolete; CrystFEL now uses group_<name>)`);
  }

  const panels: Panel[] = [];
  for (const raw of rawPanels.values()) {
    const p = resolvePanel(f, raw);
    if (p !== undefined) panels.push(p);
  }
  if (rawPanels.size === 0) f.problem(1, 'no panels', `at least one panel, e.g. 'p0/min_fs = 0'`);
  checkOverlaps(f, panels);
  const badRegions = resolveBadRegions(f, rawBad, panels);
  for (const [name, members] of Object.entries(groups)) {
    const unknown = members.filter((m) => !rawPanels.has(m) && !(m in groups));
    if (unknown.length > 0) f.warn(groupLines.get(name) ?? 0, `group ${name} names unknown panels or groups: ${unknown.join(', ')}`);
  }

  const beam = resolveBeam(f, globals);
  const shift = (k: string) => {
    const e = globals.get(k);
    return (e && parseDistance(f, e, 'm')) ?? NO_SHIFT;
  };
  const peakListType = globals.get('peak_list_type');
  if (peakListType && !['cxi', 'list3', 'auto'].includes(peakListType.value)) {
    f.problem(peakListType.line, `peak_list_type = '${peakListType.value}' is not known`, 'cxi, list3 or auto');
  }
  const geometry: Geometry = {
    file,
    beam,
    detectorShiftX: shift('detector_shift_x'),
    detectorShiftY: shift('detector_shift_y'),
    peakList: globals.get('peak_list')?.value,
    peakListType: (peakListType?.value ?? 'auto') as PeakListType,
    panels,
    badRegions,
    groups,
    warnings: f.warnings,
  };
  if (f.problems.length > 0) throw new SxError('input', f.problems.join('\n'));
  return geometry;
}

/**
 * Reads a `.geom` file's text, refusing a missing file, a directory or one larger than
 * MAX_TEXT_FILE_BYTES with an `SxError` ('input') naming the file.
 *
 * @example
 * const text = readGeometryText('det1024.geom');
 */
export function readGeometryText(file: string): string {
  return readTextFile(file, { expected: 'a CrystFEL geometry file (.geom)', tag: 'input', missing: (f) => `${f}: cannot read geometry: no such file` });
}

/**
 * Reads and parses a `.geom` file (synchronously: it is small and read once).
 *
 * @example
 * const g = readGeometry('det1024.geom'); // g.panels.length === 1
 */
export function readGeometry(file: string, options?: ParseGeometryOptions): Geometry {
  return parseGeometry(readGeometryText(file), file, options);
}

function setOnce(f: Findings, map: Map<string, Entry>, key: string, entry: Entry): void {
  const before = map.get(key);
  if (before !== undefined) {
    f.warn(entry.line, `${entry.key} set again (line ${before.line} said '${before.value}'); the later value wins`);
  }
  map.set(key, entry);
}

