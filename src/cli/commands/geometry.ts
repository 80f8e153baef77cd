import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SxError } from '../../errors.ts';
import { openHdf5File } from '../../frames/hdf5-read.ts';
import { readContainerMeta } from '../../store/cxi-container.ts';
import type { GlobalOptions } from '../context.ts';

export interface GeometryCliOptions {
  out?: string;
}

/** Prints (or writes) the CrystFEL geometry a container carries for its own layout. */
export async function run(_globals: GlobalOptions, container: string, opts: GeometryCliOptions): Promise<void> {
  const { file } = await openHdf5File(resolve(container));
  let geometry: string | undefined;
  try {
    geometry = readContainerMeta(file).geometry;
  } finally {
    file.close();
  }
  if (geometry === undefined) throw new SxError('input', `${container}: no CrystFEL geometry in it (containers carry one when the run was ingested with --geometry)`);
  if (opts.out === undefined) process.stdout.write(geometry);
  else writeFileSync(opts.out, geometry);
}
