import { mkdtempSync, rmSync } from 'node:fs';
import type { Catalog } from '../../catalog/catalog.ts';
import { join, resolve } from 'node:path';
import { initDataDir } from '../../config/facility.ts';
import { ingest } from '../../ingest/ingest.ts';
import { buildExperimentReport } from '../../report/experiment-report.ts';
import { comparePolicies, shippedPolicyFiles } from '../../report/policy-comparison.ts';
import { compareHitsWithTruth, formatHitTruth, readTruthHits } from '../../report/hit-truth.ts';
import type { DetectorName } from '../../simulate/detectors.ts';
import { simulate } from '../../simulate/simulate.ts';
import { withCatalog, type GlobalOptions } from '../context.ts';
import { formatBytes, printJson, table } from '../format.ts';
import { startProgress } from '../progress.ts';
import { formatCost } from '../render/policy-text.ts';
import { renderReport } from '../render/report-text.ts';

export interface DemoOptions {
  frames: number;
  detector: DetectorName;
  hitRate: number;
  seed: number;
  json?: boolean;
}

/** The main job on the embedded default: simulate an experiment, ingest it, report it. */
export async function run(globals: GlobalOptions, opts: DemoOptions): Promise<void> {
  const dataDir = resolve(globals.dataDir);
  initDataDir(dataDir);
  const say = opts.json ? () => {} : (line: string) => console.log(line);
  const showBars = !opts.json && process.stderr.isTTY === true;
  // The simulated detector output is only the demo's input: it lives until it is ingested.
  const incoming = mkdtempSync(join(dataDir, 'incoming-'));
  try {
    const out = join(incoming, 'demo.h5');
    const geometryOut = join(incoming, 'demo.geom');
    say(`simulating ${opts.frames} ${opts.detector} frames (${Math.round(opts.hitRate * 100)} % hits, seed ${opts.seed})`);
    const simBar = startProgress('simulate', showBars);
    const sim = await simulate({ detector: opts.detector, frames: opts.frames, hitRate: opts.hitRate, seed: opts.seed, out, geometryOut, onFrame: (d, t) => simBar.update(d, t) }).finally(() => simBar.stop());
    say(`simulated ${sim.frames} frames, ${sim.hits} of them with a crystal (the truth the labels below are checked against)`);
    const name = `demo-${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}`;
    say(`ingesting into experiment ${name} under ${dataDir}`);
    const ingestBar = startProgress('ingest', showBars);
    const report = await withCatalog(globals, async (facility, catalog) => {
      await ingest({
        files: [out],
        experiment: { name, proposal: 'demo', facility: facility.config.facility, sampleTags: ['simulated-lysozyme'], metadata: { simulated: { detector: opts.detector, seed: opts.seed, hitRate: opts.hitRate, hits: sim.hits } } },
        geometryFile: geometryOut,
        facility,
        catalog,
        onFrame: (d, t) => ingestBar.update(d, t),
      }).finally(() => ingestBar.stop());
      const truth = compareHitsWithTruth(await readTruthHits(out), labelsInFrameOrder(catalog, name, sim.frames));
      return { report: buildExperimentReport(catalog, facility.config, name), truth, policies: comparePolicies(catalog, facility.config, name, shippedPolicyFiles()) };
    });
    if (opts.json) return printJson({ ...report.report, truth: report.truth, policies: report.policies });
    say('');
    say(formatHitTruth(report.truth));
    say(renderReport(report.report));
    say(`\nwhat each shipped policy would keep of this experiment (policy dry-run; estimates for products not made):`);
    say(table(
      ['policy', 'frames keeping data', 'kept', 'smaller than raw', 'cost over its retention', 'hits dropped'],
      report.policies.map((p) => [p.policy, p.framesKept, formatBytes(p.keptBytes), p.keptBytes > 0 ? `${(report.report.rawBytes / p.keptBytes).toFixed(0)}x` : 'all', formatCost(p.money, p.foreverPerYear, report.report.currency), p.hitsDropped]),
    ));
    say(`\nnext: sxarchive report ${name}   |   sxarchive policy dry-run facility-default ${name}   |   sxarchive experiments   (data in ${dataDir})`);
  } finally {
    rmSync(incoming, { recursive: true, force: true });
  }
}

/** The demo's one file holds frames //0, //1, ...: the hit label of each, by frame index. */
function labelsInFrameOrder(catalog: Pick<Catalog, 'findExperiment' | 'reports'>, experiment: string, frames: number): (boolean | null)[] {
  const labels = new Array<boolean | null>(frames).fill(null);
  for (const f of catalog.reports.listFrameHits(catalog.findExperiment(experiment)!.id)) labels[Number(f.event.slice(2))] = f.hit;
  return labels;
}

