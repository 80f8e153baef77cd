/**
 * Writes a `Geometry` back as `.geom` text, and rewrites a geometry for binned data.
 */
import { SxError } from '../errors.ts';
import type { BadRegion, BeamEnergy, Dim, Distance, Geometry, Panel, PanelMask, Vec3 } from './crystfel-geometry-types.ts';

export interface BinGeometryOptions {
  /** Where the binned frames are stored; default: the original `data` path. */
  data?: string;
  /** Layout of the binned array; default: the original dims. */
  dims?: Dim[];
  /** Masks of the binned data (the unbinned masks no longer fit and are dropped); default none. */
  masks?: PanelMask[];
}

/**
 * The geometry of data binned b x b (as `binFrame` does it: output ceil(width/b) x ceil(height/b)).
 * `res` becomes res/b and ranges min/b and (max+1)/b - 1; where a panel edge does not fall on a
 * bin edge the range is rounded inwards (such partial bins are bad after binning anyway) and the
 * corner moves with it. Fs/ss bad regions round outwards (a bin with a bad pixel is bad), x/y bad
 * regions and corners are divided by b, `mask_edge_pixels` becomes ceil(n/b) and `max_adu` b²
 * times larger (a bin sums b² pixels). Masks, saturation maps and `flag_*` values describe the
 * unbinned pixels, so they are dropped; pass the binned mask as `options.masks`.
 *
 * @example
 * const g = readGeometry('eiger4m.geom');
 * writeFileSync('eiger4m-bin2.geom', formatGeometry(binnedGeometry(g, 2)));
 */
export function binnedGeometry(g: Geometry, b: 2 | 3 | 4, options: BinGeometryOptions = {}): Geometry {
  if (b !== 2 && b !== 3 && b !== 4) {
    throw new SxError('usage', `Expected a binning factor of 2, 3 or 4 for ${g.file} but received ${String(b)}`);
  }
  const tooSmall: string[] = [];
  const panels = g.panels.map((p): Panel => {
    const minFs = Math.ceil(p.minFs / b);
    const minSs = Math.ceil(p.minSs / b);
    const maxFs = Math.floor((p.maxFs + 1) / b) - 1;
    const maxSs = Math.floor((p.maxSs + 1) / b) - 1;
    if (maxFs < minFs || maxSs < minSs) tooSmall.push(`${p.name} (line ${p.line})`);
    const offFs = minFs * b - p.minFs;
    const offSs = minSs * b - p.minSs;
    const moved = (axis: keyof Vec3) => offFs * p.fs[axis] + offSs * p.ss[axis];
    const { flagLessThan, flagMoreThan, flagEqual, saturationMap, saturationMapFile, ...kept } = p;
    return {
      ...kept,
      minFs, maxFs, minSs, maxSs,
      cornerX: (p.cornerX + moved('x')) / b,
      cornerY: (p.cornerY + moved('y')) / b,
      coffset: p.coffset + moved('z') / p.res,
      res: p.res / b,
      maskEdgePixels: Math.ceil(p.maskEdgePixels / b),
      maxAdu: p.maxAdu * b * b,
      data: options.data ?? p.data,
      dims: options.dims ?? p.dims,
      masks: options.masks ?? [],
    };
  });
  if (tooSmall.length > 0) {
    throw new SxError('input', `${g.file}: panels smaller than one ${b}x${b} bin: ${tooSmall.join(', ')}; ` +
      'expected panels at least as wide and high as the binning factor');
  }
  const badRegions = g.badRegions.map((r): BadRegion => r.kind === 'lab'
    ? { ...r, minX: r.minX / b, maxX: r.maxX / b, minY: r.minY / b, maxY: r.maxY / b }
    : { ...r, minFs: Math.floor(r.minFs / b), maxFs: Math.floor(r.maxFs / b), minSs: Math.floor(r.minSs / b), maxSs: Math.floor(r.maxSs / b) });
  return { ...g, panels, badRegions, warnings: [] };
}

/**
 * `.geom` text for data binned b x b; see `binnedGeometry` for the rules.
 *
 * @example
 * writeFileSync('det1024-bin2.geom', binGeometry(readGeometry('det1024.geom'), 2)); // res = 6666.6665
 */
export function binGeometry(g: Geometry, b: 2 | 3 | 4, options: BinGeometryOptions = {}): string {
  return formatGeometry(binnedGeometry(g, b, options), [
    `Binned ${b}x${b} from ${g.file} by sxarchive: res/${b}, ranges, corners and bad regions in binned pixels.`,
    'Masks, saturation maps and flag_* values of the unbinned data are not carried over.',
  ]);
}

/**
 * A geometry as `.geom` text. Values shared by every panel are written once, globally, before
 * the panels (so they apply to all of them); the rest per panel.
 *
 * @example
 * parseGeometry(formatGeometry(g), 'copy.geom'); // the same panels, bad regions and beam as g
 */
export function formatGeometry(g: Geometry, comments: string[] = []): string {
  const out = comments.map((c) => `; ${c}`);
  const energy = formatEnergy(g.beam.energy);
  if (energy !== undefined) out.push(energy);
  if (g.beam.bandwidth !== undefined) out.push(`bandwidth = ${num(g.beam.bandwidth)}`);
  for (const [key, d] of [['detector_shift_x', g.detectorShiftX], ['detector_shift_y', g.detectorShiftY]] as const) {
    if (d.kind === 'header' || d.metres !== 0) out.push(`${key} = ${formatDistance(d)}`);
  }
  if (g.peakList !== undefined) out.push(`peak_list = ${g.peakList}`);
  if (g.peakListType !== 'auto') out.push(`peak_list_type = ${g.peakListType}`);

  const fields = g.panels.map(panelFields);
  const keys = [...new Set(fields.flatMap((m) => [...m.keys()]))];
  // Placement stays per panel (so every panel is mentioned); clen must be global where it can be,
  // as current CrystFEL accepts it only once for the whole detector.
  const shared = new Set(keys.filter((k) => !PLACEMENT.has(k) &&
    fields.every((m) => m.get(k) !== undefined && m.get(k) === fields[0].get(k))));
  for (const k of keys) if (shared.has(k)) out.push(`${k} = ${fields[0].get(k)}`);
  g.panels.forEach((p, i) => {
    out.push('');
    for (const [k, v] of fields[i]) if (!shared.has(k)) out.push(`${p.name}/${k} = ${v}`);
  });
  for (const r of g.badRegions) {
    out.push('');
    if (r.kind === 'lab') {
      out.push(...(['min_x', 'max_x', 'min_y', 'max_y'] as const).map((k, i) => `${r.name}/${k} = ${num([r.minX, r.maxX, r.minY, r.maxY][i])}`));
    } else {
      out.push(...(['min_fs', 'max_fs', 'min_ss', 'max_ss'] as const).map((k, i) => `${r.name}/${k} = ${[r.minFs, r.maxFs, r.minSs, r.maxSs][i]}`));
      if (r.panel !== undefined) out.push(`${r.name}/panel = ${r.panel}`);
    }
  }
  const groups = Object.entries(g.groups);
  if (groups.length > 0) out.push('', ...groups.map(([name, members]) => `group_${name} = ${members.join(',')}`));
  return `${out.join('\n')}\n`;
}

const PLACEMENT = new Set(['min_fs', 'max_fs', 'min_ss', 'max_ss', 'corner_x', 'corner_y', 'fs', 'ss']);

/** key -> value text for one panel, in file order; keys at their default value are left out. */
function panelFields(p: Panel): Map<string, string> {
  const m = new Map<string, string>();
  const set = (k: string, v: string | undefined) => v !== undefined && m.set(k, v);
  set('min_fs', String(p.minFs));
  set('max_fs', String(p.maxFs));
  set('min_ss', String(p.minSs));
  set('max_ss', String(p.maxSs));
  set('corner_x', num(p.cornerX));
  set('corner_y', num(p.cornerY));
  set('fs', vector(p.fs));
  set('ss', vector(p.ss));
  set('res', num(p.res));
  set('clen', p.clen.kind === 'unset' ? undefined : formatDistance(p.clen));
  set('coffset', p.coffset === 0 ? undefined : num(p.coffset));
  set('adu_per_photon', p.aduPerPhoton === undefined ? undefined : num(p.aduPerPhoton));
  set('adu_per_eV', p.aduPerEv === undefined ? undefined : num(p.aduPerEv));
  set('max_adu', Number.isFinite(p.maxAdu) ? num(p.maxAdu) : undefined);
  set('saturation_map', p.saturationMap);
  set('saturation_map_file', p.saturationMapFile);
  set('data', p.data);
  if (!(p.dims.length === 2 && p.dims[0] === 'ss' && p.dims[1] === 'fs')) p.dims.forEach((d, i) => set(`dim${i}`, String(d)));
  set('no_index', p.noIndex ? '1' : undefined);
  set('mask_edge_pixels', p.maskEdgePixels === 0 ? undefined : String(p.maskEdgePixels));
  set('flag_lessthan', p.flagLessThan === undefined ? undefined : num(p.flagLessThan));
  set('flag_morethan', p.flagMoreThan === undefined ? undefined : num(p.flagMoreThan));
  set('flag_equal', p.flagEqual === undefined ? undefined : num(p.flagEqual));
  p.masks.forEach((mask, i) => {
    set(`mask${i}_data`, mask.data);
    set(`mask${i}_file`, mask.file);
    set(`mask${i}_goodbits`, `0x${mask.goodBits.toString(16)}`);
    set(`mask${i}_badbits`, `0x${mask.badBits.toString(16)}`);
  });
  return m;
}

function formatEnergy(e: BeamEnergy): string | undefined {
  switch (e.kind) {
    case 'photon-energy':
      return `photon_energy = ${num(e.ev)} eV`;
    case 'wavelength':
      return `wavelength = ${num(e.metres * 1e10)} A`;
    case 'electron-voltage':
      return `electron_voltage = ${num(e.volts)} V`;
    case 'header': {
      const units: Record<string, [string, number][]> = {
        photon_energy: [['eV', 1], ['keV', 1e3]],
        wavelength: [['m', 1], ['A', 1e-10]],
        electron_voltage: [['V', 1], ['kV', 1e3]],
      };
      const unit = units[e.quantity].find(([, scale]) => scale === e.scale)?.[0] ?? units[e.quantity][0][0];
      return `${e.quantity} = ${e.headerPath} ${unit}`;
    }
    default:
      return undefined;
  }
}

function formatDistance(d: Distance): string {
  if (d.kind === 'metres') return `${num(d.metres)} m`;
  return `${d.headerPath} ${d.metresPerUnit === 1 ? 'm' : 'mm'}`;
}

function vector(v: Vec3): string {
  const terms = (['x', 'y', 'z'] as const).filter((a) => v[a] !== 0).map((a) => `${v[a] < 0 ? '-' : '+'}${num(Math.abs(v[a]))}${a}`);
  return terms.join(' ');
}

/** Shortest text that reads back as the value to 12 significant digits, never in e-notation. */
function num(n: number): string {
  const short = String(Number(n.toPrecision(12)));
  return short.includes('e') ? Number(n.toPrecision(12)).toFixed(20).replace(/\.?0+$/, '') : short;
}
