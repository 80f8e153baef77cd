// A labelling thread: builds the pixel map once, then labels the frames it is sent.
import { parentPort, workerData } from 'node:worker_threads';
import { readGeometry } from '../formats/crystfel-geometry.ts';
import { Labeller } from './labels.ts';
import type { LabelRequest, LabelResponse, LabelWorkerData } from './label-pool.ts';
import { buildPixelMap } from './pixel-map.ts';

const data = workerData as LabelWorkerData;
const labeller = new Labeller(buildPixelMap(readGeometry(data.geometryFile)), data.params);
const port = parentPort!;

port.on('message', (request: LabelRequest) => {
  let response: LabelResponse;
  try {
    const labels = labeller.label(request.frame, request.where);
    const p = labels.peaks;
    response = { id: request.id, labels };
    port.postMessage(response, [p.fs.buffer, p.ss.buffer, p.panel.buffer, p.intensity.buffer, p.snr.buffer, p.npix.buffer] as ArrayBuffer[]);
  } catch (err) {
    response = { id: request.id, error: (err as Error).message };
    port.postMessage(response);
  }
});
