import { existsSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { SxError } from '../errors.ts';
import type { Dataset, H5File } from '../store/hdf5.ts';
import type { FrameDim } from './frame-layout.ts';
import { describeFramePart, type FramePart } from './frame-part.ts';
import { hdf5Reason, openHdf5File, withHdf5Errors, type H5 } from './hdf5-read.ts';

/** The group of an Eiger/NXmx master file that links to the data files. */
export const NXMX_DATA_GROUP = '/entry/data';
const DATA_LINK = /^data_(\d+)$/;

/** One `/entry/data/data_NNNNNN` entry of a master file. */
export interface SeriesLink {
  /** Path of the link in the master, e.g. `/entry/data/data_000001`. */
  link: string;
  /** The external link's file name as stored (usually relative to the master's folder); undefined if the data sit in the master. */
  target?: string;
  /** Path of the dataset in the data file. */
  objPath: string;
}

/**
 * The data links of an NXmx master file in series order, or undefined if `file` has none.
 * Links are read, not followed: h5wasm would follow them (HDF5 opens the data file relative
 * to the master's folder), but then it reopens the data file on every access and a missing
 * one just looks like a missing path.
 */
export function findSeriesLinks(h5: H5, file: H5File): SeriesLink[] | undefined {
  const group = file.get(NXMX_DATA_GROUP);
  if (!(group instanceof h5.Group)) return undefined;
  const names = group.keys().filter((k) => DATA_LINK.test(k));
  if (names.length === 0) return undefined;
  names.sort((a, b) => Number(DATA_LINK.exec(a)![1]) - Number(DATA_LINK.exec(b)![1]));
  return names.map((name) => {
    const link = `${NXMX_DATA_GROUP}/${name}`;
    const external = file.get_external_link(link) as { filename?: string; obj_path?: string };
    return typeof external.filename === 'string' ? { link, target: external.filename, objPath: external.obj_path ?? '/entry/data/data' } : { link, objPath: link };
  });
}

/** True if `/entry/definition` says NXmx (used only to word the error when nothing else fits). */
export function isNxmxMaster(file: H5File): boolean {
  try {
    return withHdf5Errors(() => {
      const definition = file.get('/entry/definition');
      return definition !== null && 'value' in definition && String(definition.value).trim() === 'NXmx';
    });
  } catch {
    return false;
  }
}

/** Where HDF5 would find a link's data file: relative names from the master's folder; an absolute name that moved, by its base name there. */
export function resolveDataFile(master: string, target: string): string {
  if (!isAbsolute(target)) return join(dirname(master), target);
  return existsSync(target) ? target : join(dirname(master), basename(target));
}

export interface OpenedSeries {
  parts: FramePart[];
  /** Data files opened here; the caller closes them with the master. */
  files: H5File[];
}

/**
 * Opens every data file of a series and describes its frames. Frames are numbered by the
 * data files' `image_nr_low` (Eiger numbers images from 1, events from 0), or one after the
 * other where a data file has no such attribute. A missing or unreadable data file fails the
 * whole open, naming the master, the link and the file: without it the series' numbering is
 * unknown.
 */
export async function openSeries(h5: H5, master: string, masterFile: H5File, links: SeriesLink[], dims: readonly FrameDim[] | undefined): Promise<OpenedSeries> {
  const parts: FramePart[] = [];
  const files: H5File[] = [];
  let next = 0;
  try {
    for (const link of links) {
      let dataset: Dataset;
      let file = master;
      if (link.target === undefined) {
        const found = withHdf5Errors(() => masterFile.get(link.objPath));
        if (!(found instanceof h5.Dataset)) throw new SxError('input', `${master}: ${link.link} is not a dataset`);
        dataset = found;
      } else {
        file = resolveDataFile(master, link.target);
        if (!existsSync(file)) {
          throw new SxError('input', `${master}: ${link.link} links to ${link.target}:${link.objPath}, but ${file} does not exist`);
        }
        let opened;
        try {
          opened = await openHdf5File(file);
        } catch (err) {
          throw new SxError('input', `${master}: data file of ${link.link}: ${(err as Error).message}`, { cause: err });
        }
        files.push(opened.file);
        const found = withHdf5Errors(() => opened.file.get(link.objPath));
        if (!(found instanceof opened.h5.Dataset)) throw new SxError('input', `${master}: ${link.link} links to ${link.target}:${link.objPath}, which is not a dataset`);
        dataset = found;
      }
      const first = imageNumberLow(dataset);
      const firstIndex = first === undefined ? next : first - 1;
      if (firstIndex < next) {
        throw new SxError('input', `${master}: ${link.link} starts at image ${firstIndex + 1} (image_nr_low), inside the images before it (1-${next}); the series is inconsistent`);
      }
      const part = describeFramePart(dataset, { file, path: link.objPath, dims: dims ?? ['%', 'ss', 'fs'], firstIndex });
      parts.push(part);
      next = firstIndex + part.count;
    }
  } catch (err) {
    for (const f of files) f.close();
    if (err instanceof SxError) throw err;
    throw new SxError('input', `${master}: cannot read the NXmx series: ${hdf5Reason(err)}`, { cause: err });
  }
  return { parts, files };
}

function imageNumberLow(dataset: Dataset): number | undefined {
  const value = withHdf5Errors(() => {
    const attribute = dataset.attrs.image_nr_low;
    return attribute === undefined ? undefined : Number(attribute.value);
  });
  if (value === undefined) return undefined;
  return Number.isSafeInteger(value) && value >= 1 ? value : undefined;
}
