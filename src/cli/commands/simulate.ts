import type { DetectorName } from '../../simulate/detectors.ts';
import { simulate, type SimulateLayout } from '../../simulate/simulate.ts';
import type { ContainerCodecId } from '../../../codecs/registry.ts';
import { formatBytes, printJson } from '../format.ts';
import type { GlobalOptions } from '../context.ts';
import { startProgress } from '../progress.ts';

export interface SimulateCliOptions {
  detector: DetectorName;
  frames: number;
  hitRate: number;
  seed: number;
  pixelType: 'uint16' | 'uint32';
  compression: ContainerCodecId;
  out: string;
  layout: SimulateLayout;
  framesPerDataFile?: number;
  geometryOut?: string;
  json?: boolean;
}

export async function run(_globals: GlobalOptions, opts: SimulateCliOptions): Promise<void> {
  const progress = startProgress('simulate', !opts.json && process.stderr.isTTY === true);
  const result = await simulate({ ...opts, onFrame: (done, total) => progress.update(done, total) }).finally(() => progress.stop());
  if (opts.json) return printJson(result);
  if (result.dataFiles) {
    const total = result.dataFiles.reduce((n, f) => n + f.bytes, result.bytes);
    console.log(`${result.out}: NXmx master of ${result.frames} frames (${result.hits} hits) ${result.width}x${result.height} ${opts.pixelType} in ${result.dataFiles.length} data files, ${formatBytes(total)} in all`);
    for (const f of result.dataFiles) console.log(`${f.path}: ${formatBytes(f.bytes)}`);
  } else {
    console.log(`${result.out}: ${result.frames} frames (${result.hits} hits) ${result.width}x${result.height} ${opts.pixelType}, ${formatBytes(result.bytes)}`);
  }
  if (result.geometryOut) console.log(`${result.geometryOut}: CrystFEL geometry`);
}
