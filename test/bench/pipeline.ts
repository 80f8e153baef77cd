// The `ingest-pipeline` stage of `npm run bench`, run by test/bench/run.ts in a process of its
// own: `node --import tsx test/bench/pipeline.ts DETECTOR FILE GEOMETRY WORKDIR` prints one JSON
// line (PipelineMeasure).
//
// The whole ingest (read, decode, label, decide, reduce, encode, write, record) on all cores,
// under facility-default with labelling, of 32 copies of one simulated run: indexing results for
// 60 % of the frames are imported first, so the gate decides at once (indexed hits raw, the other
// hits binned 2x2, 1 % of the blanks raw). Stage seconds are the workers' summed over threads.
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCatalog } from '../../src/catalog/catalog.ts';
import { loadFacility } from '../../src/config/facility.ts';
import { openFrameSource } from '../../src/frames/hdf5-source.ts';
import { ingest, type IngestResult } from '../../src/ingest/ingest.ts';
import { importStream } from '../../src/results/import-stream.ts';
import { formatStream } from '../helpers/crystfel-stream.ts';

export type PipelineMeasure = Pick<IngestResult, 'frames' | 'labelled' | 'hits' | 'rules' | 'rawBytes' | 'storedBytes'> & { seconds: number; stageSeconds: Record<string, number> };

/** Copies of the run the pipeline ingests: enough frames for a sustained rate, from one simulation. */
const COPIES = 32;

async function measure(detector: string, file: string, geometryFile: string, work: string): Promise<PipelineMeasure> {
  const files = Array.from({ length: COPIES }, (_, k) => {
    const copy = join(work, `${detector}-copy${k}.h5`);
    copyFileSync(file, copy);
    return copy;
  });
  const source = await openFrameSource(file);
  const count = source.count;
  source.close();
  const stream = join(work, `${detector}-results.stream`);
  writeFileSync(stream, formatStream(files.flatMap((f) => Array.from({ length: count }, (_, i) => ({ file: f, event: `//${i}`, hit: true, indexed: i % 5 < 3 })))));
  const facility = loadFacility(join(work, `data-${detector}`));
  const catalog = openCatalog(facility.catalogLocation);
  const experiment = `bench-${detector}`;
  try {
    await importStream({ catalog, experiment, file: stream });
    // Read once so every copy is in the page cache, as detector files being written are; and
    // the earlier stages' files written out first: their writeback slowed this stage by ~12 %.
    for (const f of files) readFileSync(f);
    execFileSync('sync');
    const stageSeconds: Record<string, number> = {};
    const start = performance.now();
    const result = await ingest({ files, experiment: { name: experiment }, geometryFile, policy: 'facility-default', facility, catalog, stageSeconds });
    const seconds = (performance.now() - start) / 1000;
    const { frames, labelled, hits, rules, rawBytes, storedBytes } = result;
    return { frames, labelled, hits, rules, rawBytes, storedBytes, seconds, stageSeconds };
  } finally {
    catalog.close();
    for (const f of files) rmSync(f);
  }
}

const [detector, file, geometryFile, work] = process.argv.slice(2);
console.log(JSON.stringify(await measure(detector, file, geometryFile, work)));
