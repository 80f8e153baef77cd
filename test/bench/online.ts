// The `online` stage of `npm run bench`, run by test/bench/run.ts in a process of its own:
// `node --import tsx test/bench/online.ts DETECTOR FILE GEOMETRY WORKDIR ROUNDS [RATE_HZ]`
// prints one JSON line (OnlineMeasure).
//
// The whole online pipeline: `sxarchive detector-sim` (its own process, as a detector is) sends
// ROUNDS rounds of one simulated run as one stream V2 series over TCP on 127.0.0.1, as fast as it
// is taken or at RATE_HZ images per second; this process receives, labels, decides (binned-hits:
// hits binned 2x2, blanks labels only), reduces, writes and records it. Timed from the first
// message to the series' run closed in the catalog; the deepest the queue behind the socket got
// says whether the pipeline kept up with the detector.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { openCatalog } from '../../src/catalog/catalog.ts';
import { loadFacility } from '../../src/config/facility.ts';
import { openFrameSource } from '../../src/frames/hdf5-source.ts';
import { newCounters, runStream } from '../../src/online/online.ts';
import type { SeriesSummary } from '../../src/online/series-run.ts';
import { CLI_BIN } from '../helpers/cli.ts';
import { freePorts } from '../services/ports.ts';

export type OnlineMeasure = Pick<SeriesSummary, 'images' | 'frames' | 'labelled' | 'hits' | 'rules' | 'rawBytes' | 'storedBytes' | 'spooled' | 'dropped'> & {
  seconds: number;
  stageSeconds: Record<string, number>;
  /** The most images waiting behind the socket at any time (sampled every 5 ms). */
  maxQueueImages: number;
};

async function measure(detector: string, file: string, geometryFile: string, work: string, rounds: number, rate: number | undefined): Promise<OnlineMeasure> {
  const source = await openFrameSource(file);
  const images = rounds * source.count;
  source.close();
  const endpoint = `tcp://127.0.0.1:${await freePorts(1)}`;
  const pace = rate === undefined ? [] : ['--rate', String(rate)];
  const sim = spawn(process.execPath, [CLI_BIN, 'detector-sim', file, '--bind', endpoint, '--frames', String(images), ...pace], { stdio: ['ignore', 'ignore', 'inherit'] });
  const simExited = new Promise<number | null>((done) => sim.on('exit', (code) => done(code)));
  const facility = loadFacility(join(work, `data-online-${detector}-${rate ?? 'unpaced'}`));
  const catalog = openCatalog(facility.catalogLocation);
  try {
    const stageSeconds: Record<string, number> = {};
    const counters = newCounters();
    // Timed from the first message (the workers start, and the sim reads its file, before).
    let start = 0;
    let maxQueueImages = 0;
    const watch = setInterval(() => {
      if (start === 0 && counters.messages > 0) start = performance.now();
      maxQueueImages = Math.max(maxQueueImages, counters.queue?.().images ?? 0);
    }, 5);
    const result = await runStream({ connect: endpoint, format: 'stream2', experiment: { name: `online-${detector}` }, geometryFile, policy: 'binned-hits', facility, catalog, series: 1, stageSeconds, counters });
    clearInterval(watch);
    const seconds = (performance.now() - start) / 1000;
    if ((await simExited) !== 0) throw new Error('detector-sim failed');
    const [s] = result.series;
    return { images: s.images, frames: s.frames, labelled: s.labelled, hits: s.hits, rules: s.rules, rawBytes: s.rawBytes, storedBytes: s.storedBytes, spooled: s.spooled, dropped: s.dropped, seconds, stageSeconds, maxQueueImages };
  } finally {
    sim.kill();
    catalog.close();
  }
}

const [detector, file, geometryFile, work, rounds, rate] = process.argv.slice(2);
console.log(JSON.stringify(await measure(detector, file, geometryFile, work, Number(rounds), rate === undefined ? undefined : Number(rate))));
