import { isSxError, SxError } from '../../errors.ts';
import { decide, isPending } from '../../policy/engine.ts';
import { findFrame, readExperimentFacts, readRecordedPolicies, type RecordedDecision } from '../../policy/facts.ts';
import { loadPolicy, parsePolicy, resolvePolicyFile } from '../../policy/load.ts';
import type { FrameFacts, KeepSpec, Policy } from '../../policy/types.ts';
import { withCatalog, type GlobalOptions } from '../context.ts';
import { formatBytes, printJson } from '../format.ts';
import { formatDays } from '../render/policy-text.ts';

export interface Explanation {
  policy: { name: string; version: number; contentHash: string; file: string };
  /** `catalog`: the policy recorded for the frame's decisions; `option`: the one named by --policy. */
  from: 'catalog' | 'option';
  rule: string | null;
  reason: string;
  keep: KeepSpec[];
  /** Set when the frame would wait for its results (never without a frame time). */
  pendingUntil: string | null;
}

export interface FrameExplanation {
  experiment: string;
  frame: { id: number; source: string; event: string; run: number; width: number; height: number; pixelType: string; rawBytes: number };
  labels: { hit: boolean | null; n_peaks: number | null; indexed: boolean | null; n_crystals: number | null; resolution: number | null };
  /** The frame's decisions in the catalog, per policy, most recent first. */
  recorded: { name: string; version: number; contentHash: string; decisions: RecordedDecision[] }[];
  explanations: Explanation[];
}

function explain(policy: Policy, from: Explanation['from'], experiment: Parameters<typeof decide>[1], frame: FrameFacts): Explanation {
  // No frame time: a frame still without indexing results counts as timed out, as in a dry-run.
  const d = decide(policy, experiment, frame, { now: new Date() });
  const base = { policy: { name: policy.name, version: policy.version, contentHash: policy.contentHash, file: policy.file }, from };
  if (isPending(d)) return { ...base, rule: null, reason: d.reason, keep: [], pendingUntil: d.until.toISOString() };
  return { ...base, rule: d.rule, reason: d.reason, keep: d.keep, pendingUntil: null };
}

const unknown = (v: unknown) => (v === null ? 'unknown' : String(v));

function describeKeep(k: KeepSpec): string {
  const params = Object.entries(k.params).map(([key, v]) => `${key} ${v}`);
  const codec = k.product === 'peaks' || k.product === 'intensities' ? [] : [k.codec.id];
  const how = [...codec, ...params].join(', ');
  return `${k.product}${how ? ` (${how})` : ''}: ${k.lifecycle.map((s) => `${s.tier} ${formatDays(s.days)}`).join(' -> ')}`;
}

export function renderExplanation(e: FrameExplanation): string {
  const f = e.frame;
  const l = e.labels;
  const lines = [
    `frame ${f.id}: ${f.source} ${f.event} (run ${f.run} of experiment ${e.experiment}; ${f.width} x ${f.height} ${f.pixelType}, ${formatBytes(f.rawBytes)})`,
    `labels: hit = ${unknown(l.hit)}, n_peaks = ${unknown(l.n_peaks)}, indexed = ${unknown(l.indexed)}, n_crystals = ${unknown(l.n_crystals)}, resolution = ${l.resolution === null ? 'unknown' : `${l.resolution.toFixed(2)} Å`}`,
  ];
  for (const r of e.recorded) {
    lines.push(`recorded by policy ${r.name} v${r.version} (sha256 ${r.contentHash.slice(0, 12)}):`);
    for (const d of r.decisions) lines.push(`  rule "${d.rule}" kept ${d.product} (${d.codec}) on ${d.tier}${d.container ? ` in ${d.container}` : ''} at ${d.decidedAt}`);
  }
  for (const x of e.explanations) {
    lines.push(`policy ${x.policy.name} v${x.policy.version} (${x.from === 'catalog' ? 'recorded for this frame' : x.policy.file}):`);
    lines.push(x.pendingUntil ? `  waits until ${x.pendingUntil}: ${x.reason}` : `  ${x.reason}`);
    if (x.rule !== null) lines.push(x.keep.length ? `  keeps ${x.keep.map(describeKeep).join('; ')}` : '  keeps labels only');
  }
  return lines.join('\n');
}

export async function run(globals: GlobalOptions, experiment: string, frameSpec: string, opts: { policy?: string; json?: boolean }): Promise<void> {
  const result = await withCatalog(globals, (facility, catalog): FrameExplanation => {
    const exp = readExperimentFacts(catalog, experiment);
    const { facts, run: runNumber } = findFrame(catalog, exp.id, exp.facts.name, frameSpec);
    const recorded = readRecordedPolicies(catalog, facts.frameId);
    const explanations: Explanation[] = [];
    const latest = recorded[0];
    if (latest) {
      const origin = `catalog policy ${latest.name} v${latest.version}`;
      let policy: Policy;
      try {
        policy = parsePolicy(latest.text, origin, { facility: facility.config });
      } catch (err) {
        if (!isSxError(err)) throw err;
        throw new SxError('config', `the policy recorded for frame ${facts.frameId} no longer validates against this facility:\n${err.message}`, { cause: err });
      }
      explanations.push(explain(policy, 'catalog', exp.facts, facts));
    }
    if (opts.policy !== undefined) {
      const policy = loadPolicy(resolvePolicyFile(opts.policy), facility.config);
      if (policy.contentHash !== latest?.contentHash) explanations.push(explain(policy, 'option', exp.facts, facts));
    }
    if (explanations.length === 0) {
      throw new SxError('usage', `frame ${facts.frameId} (${facts.source} ${facts.event}) has no recorded decisions; name the policy to explain it with --policy FILE`);
    }
    return {
      experiment: exp.facts.name,
      frame: { id: facts.frameId, source: facts.source, event: facts.event, run: runNumber, width: facts.width, height: facts.height, pixelType: facts.pixelType, rawBytes: facts.rawBytes },
      labels: { hit: facts.hit, n_peaks: facts.nPeaks, indexed: facts.indexed, n_crystals: facts.nCrystals, resolution: facts.resolution },
      recorded: recorded.map(({ text: _text, ...r }) => r),
      explanations,
    };
  }, { readonly: true });
  if (opts.json) return printJson(result);
  console.log(renderExplanation(result));
}
