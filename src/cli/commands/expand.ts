import { resolve } from 'node:path';
import { expandPeaks } from '../../ingest/expand-peaks.ts';
import { formatBytes, printJson } from '../format.ts';
import type { GlobalOptions } from '../context.ts';

export interface ExpandCliOptions {
  out: string;
  json?: boolean;
}

export async function run(_globals: GlobalOptions, container: string, opts: ExpandCliOptions): Promise<void> {
  const result = await expandPeaks({ container: resolve(container), out: resolve(opts.out) });
  if (opts.json) return printJson(result);
  console.log(`${result.path}: ${result.frames} full frames ${result.width}x${result.height} (peak boxes, zeros elsewhere) with the peak tables and geometry, ${formatBytes(result.bytes)}`);
}
