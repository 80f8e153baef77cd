// Policies side by side on one experiment's labels: what each would keep and what it would
// cost (dry-runs, priced by the ledger's code), for the demo and the web view.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FacilityConfig } from '../config/facility.ts';
import { iterateFrameFacts, readExperimentFacts, readProductEstimates, type FrameFactsSource } from '../policy/facts.ts';
import { loadPolicy, POLICIES_DIR } from '../policy/load.ts';
import { planRetention } from '../policy/plan.ts';

export interface PolicyComparisonRow {
  policy: string;
  version: number;
  file: string;
  framesKept: number;
  keptBytes: number;
  /** Currency units over the finite lifecycle steps, and per year for what is kept forever. */
  money: number;
  foreverPerYear: number;
  hitsDropped: number;
}

/** The policies that ship with sxarchive, as files. */
export function shippedPolicyFiles(): string[] {
  return readdirSync(POLICIES_DIR).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(POLICIES_DIR, f));
}

/**
 * @example comparePolicies(catalog, facility.config, 'lyso', shippedPolicyFiles()).map((r) => [r.policy, r.money])
 */
export function comparePolicies(catalog: FrameFactsSource, config: FacilityConfig, experiment: string, files: readonly string[]): PolicyComparisonRow[] {
  const exp = readExperimentFacts(catalog, experiment);
  const estimates = readProductEstimates(catalog, exp.id);
  return files.map((file) => {
    const plan = planRetention(loadPolicy(file, config), exp.facts, iterateFrameFacts(catalog, exp.id, exp.facts.name), config, estimates);
    return {
      policy: plan.policy.name, version: plan.policy.version, file: plan.policy.file, framesKept: plan.totals.framesKept, keptBytes: plan.totals.keptBytes,
      money: plan.totals.money, foreverPerYear: plan.totals.foreverPerYear, hitsDropped: plan.lost.hitsDropped,
    };
  });
}
