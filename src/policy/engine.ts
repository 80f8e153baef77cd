// The policy engine: one frame's labels and its experiment's metadata in, one decision out.
// Pure: no clock, no catalog, no I/O; `now` and the frame's arrival time are arguments.
import { SxError } from '../errors.ts';
import { isDrawn } from './sample.ts';
import type { Condition, Decision, DecisionVia, ExperimentFacts, FrameFacts, KeepSpec, Policy, Rule } from './types.ts';

export interface DecideOptions {
  /** The time of the decision. */
  now: Date;
  /** When the frame arrived (starts the gate's timeout). Absent (dry-run, explain): a frame without results counts as timed out. */
  frameTime?: Date;
}

/** A frame that waits for its results (gate): decide again when they arrive, or at `until`. */
export interface PendingDecision {
  pending: true;
  until: Date;
  frameId: number;
  /** Which rule waits and for what. */
  reason: string;
}

/** Three-valued: a gated label that is not known yet may still make a condition hold. */
type Truth = 'yes' | 'no' | 'unknown';

/** Labels the indexing gate waits for: the fields indexing results fill in. */
const GATED_FIELDS: ReadonlySet<string> = new Set(['indexed', 'n_crystals']);

const RANGE_LABEL: Record<'n_peaks' | 'n_crystals' | 'resolution', keyof FrameFacts> = { n_peaks: 'nPeaks', n_crystals: 'nCrystals', resolution: 'resolution' };

const checked = new WeakMap<Policy, WeakSet<ExperimentFacts>>();

/** The experiment metadata a meta condition tests; sample tags are many, the others one or none. */
function metaValues(c: Extract<Condition, { kind: 'meta' }>, experiment: ExperimentFacts): string[] {
  if (c.field === 'sample_tag') return experiment.sampleTags;
  const v = c.field === 'facility' ? experiment.facility : experiment.proposal;
  return v === null ? [] : [v];
}

function describeBounds(c: Extract<Condition, { kind: 'range' }>): string {
  if (c.gte !== undefined && c.gte === c.lte && c.gt === undefined && c.lt === undefined) return `= ${c.gte}`;
  const parts: string[] = [];
  if (c.gte !== undefined) parts.push(`>= ${c.gte}`);
  if (c.gt !== undefined) parts.push(`> ${c.gt}`);
  if (c.lte !== undefined) parts.push(`<= ${c.lte}`);
  if (c.lt !== undefined) parts.push(`< ${c.lt}`);
  return parts.join(', ');
}

/** A condition as written, e.g. `n_peaks >= 20, < 100` or `sample_tag in [a, b]`. */
export function describeCondition(c: Condition): string {
  switch (c.kind) {
    case 'bool':
      return `${c.field} = ${c.value}`;
    case 'range': {
      const b = describeBounds(c);
      return b.startsWith('=') ? `${c.field} ${b}` : `${c.field} ${b.replaceAll(', ', ` and ${c.field} `)}`;
    }
    case 'meta':
      return c.anyOf.length === 1 ? `${c.field} = ${c.anyOf[0]}` : `${c.field} in [${c.anyOf.join(', ')}]`;
  }
}

/**
 * Evaluates one condition for a frame (or, with `frame` null, for the experiment alone) and says
 * how it held, for the decision's reason: `hit = true`, `n_peaks = 42 (>= 20)`.
 */
function evaluate(c: Condition, experiment: ExperimentFacts, frame: FrameFacts | null, gated: boolean): { truth: Truth; text: string } {
  if (c.kind === 'meta') {
    const values = metaValues(c, experiment);
    const hit = values.find((v) => c.anyOf.includes(v));
    if (hit !== undefined) return { truth: 'yes', text: `${c.field} = ${hit}` };
    return { truth: 'no', text: `${c.field} = ${values.length ? values.join(', ') : 'unknown'} (wanted ${describeCondition(c)})` };
  }
  const value = frame === null ? null : c.kind === 'bool' ? frame[c.field] : (frame[RANGE_LABEL[c.field]] as number | null);
  if (value === null) {
    return { truth: gated && GATED_FIELDS.has(c.field) ? 'unknown' : 'no', text: `${c.field} unknown` };
  }
  if (c.kind === 'bool') return { truth: value === c.value ? 'yes' : 'no', text: `${c.field} = ${value}` };
  const n = value as number;
  const ok = (c.gte === undefined || n >= c.gte) && (c.gt === undefined || n > c.gt) && (c.lte === undefined || n <= c.lte) && (c.lt === undefined || n < c.lt);
  const bounds = describeBounds(c);
  return { truth: ok ? 'yes' : 'no', text: bounds.startsWith('=') ? `${c.field} = ${n}` : `${c.field} = ${n} (${bounds})` };
}

/** All conditions together: no if any fails, unknown if any waits for a gated label, else yes. */
function evaluateAll(conditions: Condition[], experiment: ExperimentFacts, frame: FrameFacts | null, gated: boolean): { truth: Truth; text: string } {
  let truth: Truth = 'yes';
  const texts: string[] = [];
  for (const c of conditions) {
    const r = evaluate(c, experiment, frame, gated);
    if (r.truth === 'no') return r;
    if (r.truth === 'unknown') truth = 'unknown';
    texts.push(r.text);
  }
  return { truth, text: texts.join(', ') };
}

/**
 * Throws unless the policy's `applies_to` matches the experiment (a policy for P11 must not
 * decide a P14 experiment's frames). `decide` calls it once per policy and experiment object.
 *
 * @example
 * checkApplies(policy, { name: 'lyso', facility: 'P14', proposal: null, sampleTags: [] }) // throws if applies_to says P11
 */
export function checkApplies(policy: Policy, experiment: ExperimentFacts): void {
  const failed = policy.appliesTo.filter((c) => evaluate(c, experiment, null, false).truth !== 'yes');
  if (failed.length === 0) return;
  const wants = policy.appliesTo.map(describeCondition).join(', ');
  const has = failed.map((c) => evaluate(c, experiment, null, false).text.replace(/ \(wanted .*\)$/, '')).join(', ');
  throw new SxError('usage', `policy "${policy.name}" version ${policy.version} (${policy.file}) applies to ${wants}, but experiment "${experiment.name}" has ${has}`);
}

/** The named rule of a policy; a missing one is a policy error (the parser checks this too). */
export function findRule(policy: Policy, name: string, what: string): Rule {
  const rule = policy.rules.find((r) => r.name === name);
  if (!rule) throw new SxError('config', `policy "${policy.name}" (${policy.file}): ${what} names rule "${name}", which the policy does not have; expected one of ${policy.rules.map((r) => r.name).join(', ')}`);
  return rule;
}

function decision(frame: FrameFacts, via: DecisionVia, rule: string, reason: string, keep: KeepSpec[]): Decision {
  return { frameId: frame.frameId, rule, via, reason, keep };
}

/** Whether `decide` returned a wait instead of a decision. */
export function isPending(d: Decision | PendingDecision | { pending: true; until: Date }): d is PendingDecision {
  return (d as { pending?: boolean }).pending === true;
}

/**
 * Decides what to keep of one frame.
 *
 * Overrides first (in order; their `when` may test metadata and labels), then the rules in
 * order: the first rule whose conditions all hold wins. A condition on an unknown (null) label
 * does not hold. A rule with `sample: { fraction }` matches only frames whose draw (see
 * `sampleDraw`) is below the fraction; the others fall through to later rules. No matching
 * rule keeps labels only (rule `(none)`). A frame the processing core has not labelled
 * (`hit` unknown) tries no rule: after the overrides it takes `policy.unlabelled`, which keeps
 * it raw unless the policy says otherwise.
 *
 * With a gate (`results: indexing`), `indexed`/`n_crystals` of a frame without results are
 * "not known yet" rather than false: if the first rule that could match depends on them, the
 * frame waits until `frameTime + timeout` (a `PendingDecision`); after that, or when there is
 * no `frameTime` (dry-run), the gate's `onTimeout` rule applies.
 *
 * @example
 * const d = decide(policy, experiment, frame, { now: new Date() });
 * if (!isPending(d)) console.log(d.rule, d.reason);
 */
export function decide(policy: Policy, experiment: ExperimentFacts, frame: FrameFacts, options: DecideOptions): Decision | PendingDecision {
  let seen = checked.get(policy);
  if (!seen) checked.set(policy, (seen = new WeakSet()));
  if (!seen.has(experiment)) {
    checkApplies(policy, experiment);
    seen.add(experiment);
  }
  const gated = policy.gate !== undefined && policy.gate.results === 'indexing';

  const wait = (what: string): Decision | PendingDecision => {
    const gate = policy.gate!;
    if (options.frameTime !== undefined) {
      const until = new Date(options.frameTime.getTime() + gate.timeoutSeconds * 1000);
      if (options.now.getTime() < until.getTime()) {
        return { pending: true, until, frameId: frame.frameId, reason: `gate: ${what} waits for an indexing result until ${until.toISOString()}` };
      }
    }
    const fallback = findRule(policy, gate.onTimeout, 'gate on_timeout');
    return decision(frame, 'gate-timeout', fallback.name, `gate: no indexing result within ${gate.timeoutSeconds} s -> rule "${fallback.name}"`, fallback.keep);
  };

  for (const [i, o] of policy.overrides.entries()) {
    const r = evaluateAll(o.when, experiment, frame, gated);
    if (r.truth === 'no') continue;
    if (r.truth === 'unknown') return wait(`override ${i + 1}`);
    const rule = findRule(policy, o.rule, `override ${i + 1}`);
    return decision(frame, 'override', rule.name, `override ${i + 1} (${r.text}) -> rule "${rule.name}"`, rule.keep);
  }

  // When in doubt, keep: without labels no rule can tell a blank from a hit, so none is tried.
  if (frame.hit === null) {
    const rule = policy.unlabelled;
    return decision(frame, 'unlabelled', rule.name, `unlabelled: the frame has no labels (not labelled) -> rule "${rule.name}"`, rule.keep);
  }

  for (const rule of policy.rules) {
    const r = evaluateAll(rule.when, experiment, frame, gated);
    if (r.truth === 'no') continue;
    let because = r.text;
    if (rule.sample) {
      const { drawn, draw } = isDrawn(rule.sample.fraction, frame.experiment, frame.source, frame.event, policy.seed);
      // Undrawn frames fall through whatever the gated labels turn out to be.
      if (!drawn) continue;
      const d = `drawn (${formatDraw(draw)} < ${rule.sample.fraction})`;
      because = because ? `${because} and ${d}` : d;
    }
    if (r.truth === 'unknown') return wait(`rule "${rule.name}"`);
    return decision(frame, 'rule', rule.name, `rule "${rule.name}": ${because || 'no conditions'}`, rule.keep);
  }
  return decision(frame, 'none', '(none)', 'no rule matched: labels only', []);
}

/** Enough digits that a draw just below the fraction never prints equal to it. */
function formatDraw(draw: number): string {
  return String(Number(draw.toPrecision(6)));
}
