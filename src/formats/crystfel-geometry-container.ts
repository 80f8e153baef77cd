/**
 * The geometry a container carries for its own layout: the source's detector (panels, beam,
 * bad regions) with the data location of the container, so that CrystFEL and `sxarchive label`
 * read the container as it is, without the source file.
 */
import type { Geometry, Panel, PanelMask } from './crystfel-geometry-types.ts';
import { formatGeometry } from './crystfel-geometry-write.ts';

/** A container holds one frame per row of a [n, ss, fs] stack. */
export const CONTAINER_DIMS: Panel['dims'] = ['%', 'ss', 'fs'];

export interface ContainerGeometryOptions {
  /** What the container is, for the comment (raw, quantized, peaks, ...). */
  product: string;
  /** Where the container's frames are, e.g. /entry_1/data_1/data. */
  data: string;
  /** Masks stored in the container itself. */
  masks?: PanelMask[];
  /** A CXI peak list in the container (peak_list, with peak_list_type = cxi). */
  peakList?: string;
}

/**
 * `g` rewritten for a container: every panel reads `options.data` with dim0 = %, dim1 = ss,
 * dim2 = fs. Masks and saturation maps that lived in the source file (no `*_file`) are dropped,
 * since the container does not hold them, and a comment names them; those in files of their own
 * are kept. Beam energy or camera length read from source headers are kept but flagged in a
 * comment: the container has no such headers, so CrystFEL needs them given another way.
 *
 * @example
 * const text = containerGeometry(readGeometry('eiger4m.geom'), { product: 'raw', data: '/entry_1/data_1/data' });
 */
export function containerGeometry(g: Geometry, options: ContainerGeometryOptions): string {
  const dropped = new Set<string>();
  const panels = g.panels.map((p): Panel => {
    const inSource = p.masks.filter((m) => m.file === undefined);
    for (const m of inSource) dropped.add(`mask ${m.data}`);
    const sourceMap = p.saturationMap !== undefined && p.saturationMapFile === undefined;
    if (sourceMap) dropped.add(`saturation_map ${p.saturationMap}`);
    const { saturationMap, saturationMapFile, ...rest } = p;
    return {
      ...rest,
      ...(sourceMap ? {} : { saturationMap, saturationMapFile }),
      data: options.data,
      dims: [...CONTAINER_DIMS],
      masks: [...p.masks.filter((m) => m.file !== undefined), ...(options.masks ?? [])],
    };
  });
  const comments = [
    `Geometry of this sxarchive ${options.product} container (from ${g.file}): frames in ${options.data}, one per row (dim0 = %).`,
  ];
  if (dropped.size > 0) comments.push(`Dropped, as they were in the source file: ${[...dropped].join(', ')}.`);
  const headers = headerReferences(g);
  if (headers.length > 0) comments.push(`Read from the source's headers, which this container does not hold: ${headers.join(', ')}.`);
  const peaks = options.peakList === undefined ? {} : { peakList: options.peakList, peakListType: 'cxi' as const };
  return formatGeometry({ ...g, ...peaks, panels, warnings: [] }, comments);
}

function headerReferences(g: Geometry): string[] {
  const refs = new Set<string>();
  if (g.beam.energy.kind === 'header') refs.add(`${g.beam.energy.quantity} ${g.beam.energy.headerPath}`);
  for (const p of g.panels) if (p.clen.kind === 'header') refs.add(`clen ${p.clen.headerPath}`);
  return [...refs];
}
