// Semantic checks of a policy file: what a schema cannot say. They run on the raw YAML data even
// when the schema found problems (so one run reports everything), and look only at the parts
// that are well-formed; the schema reports the rest.
import type { FacilityConfig, TierConfig } from '../config/facility.ts';
import type { Condition } from './types.ts';
import { keepCodecProblems, keepCodecSpec } from './keep-codecs.ts';
import { BOOL_FIELDS, DURATION_PATTERN, META_FIELDS, RANGE_FIELDS, STEP_FORM_KEY, formSchema, keepSchema, whenSchema, type WhenFile } from './schema.ts';

/** What checks need to know beyond the file: the facility's tiers (names and minimum durations). */
export interface PolicyContext {
  /** `ingest.tier` is where the built-in rule keeps unlabelled frames (default: the first filesystem tier). */
  facility: { tiers: Record<string, Pick<TierConfig, 'kind' | 'min_duration_days'>>; ingest?: Pick<FacilityConfig['ingest'], 'tier'> };
}

/** A problem at a place in the file: the value at `path`, or with `at: 'key'` its key. */
export interface PolicyProblem {
  path: (string | number)[];
  at?: 'key' | 'value';
  message: string;
}

export interface PolicyCheckResult {
  errors: PolicyProblem[];
  warnings: PolicyProblem[];
}

const DAYS_PER_UNIT: Record<string, number> = { h: 1 / 24, d: 1, w: 7, y: 365 };

/**
 * Days of a duration (`12h` = 0.5, `2w` = 14, `10y` = 3650), or null for `forever`.
 *
 * @example
 * durationDays('36h'); // 1.5
 */
export function durationDays(text: string): number | null {
  if (text === 'forever') return null;
  return Number(text.slice(0, -1)) * DAYS_PER_UNIT[text.slice(-1)];
}

/**
 * The conditions of a (schema-parsed) `when` or `applies_to` map, in the schema's field order
 * (hit, indexed, n_peaks, n_crystals, resolution, facility, proposal, sample_tag); a bare number
 * is an exact range.
 *
 * @example
 * toConditions({ n_peaks: 3 }); // [{ kind: 'range', field: 'n_peaks', gte: 3, lte: 3 }]
 */
export function toConditions(when: WhenFile | undefined): Condition[] {
  const conditions: Condition[] = [];
  for (const [field, value] of Object.entries(when ?? {})) {
    if (value === undefined) continue;
    if ((BOOL_FIELDS as readonly string[]).includes(field)) {
      conditions.push({ kind: 'bool', field: field as 'hit' | 'indexed', value: value as boolean });
    } else if ((RANGE_FIELDS as readonly string[]).includes(field)) {
      const bounds = typeof value === 'number' ? { gte: value, lte: value } : (value as { gte?: number; gt?: number; lte?: number; lt?: number });
      const cond: Condition = { kind: 'range', field: field as (typeof RANGE_FIELDS)[number] };
      for (const key of ['gte', 'gt', 'lte', 'lt'] as const) if (bounds[key] !== undefined) cond[key] = bounds[key];
      conditions.push(cond);
    } else if ((META_FIELDS as readonly string[]).includes(field)) {
      conditions.push({ kind: 'meta', field: field as (typeof META_FIELDS)[number], anyOf: typeof value === 'string' ? [value] : [...(value as string[])] });
    }
  }
  return conditions;
}

interface Interval { lo: number; loIn: boolean; hi: number; hiIn: boolean }

function interval(c: Extract<Condition, { kind: 'range' }>): Interval {
  const r: Interval = { lo: -Infinity, loIn: true, hi: Infinity, hiIn: true };
  if (c.gte !== undefined && c.gte > r.lo) Object.assign(r, { lo: c.gte, loIn: true });
  if (c.gt !== undefined && c.gt >= r.lo) Object.assign(r, { lo: c.gt, loIn: false });
  if (c.lte !== undefined && c.lte < r.hi) Object.assign(r, { hi: c.lte, hiIn: true });
  if (c.lt !== undefined && c.lt <= r.hi) Object.assign(r, { hi: c.lt, hiIn: false });
  return r;
}

function isEmpty(r: Interval): boolean {
  return r.lo > r.hi || (r.lo === r.hi && !(r.loIn && r.hiIn));
}

/** Whether every value in `a` is in `b`. */
function within(a: Interval, b: Interval): boolean {
  const loOk = a.lo > b.lo || (a.lo === b.lo && (b.loIn || !a.loIn));
  const hiOk = a.hi < b.hi || (a.hi === b.hi && (b.hiIn || !a.hiIn));
  return loOk && hiOk;
}

/** Whether a frame meeting every condition of `later` necessarily meets every one of `earlier`. */
export function impliesConditions(later: Condition[], earlier: Condition[]): boolean {
  return earlier.every((c) => later.some((d) => {
    if (d.field !== c.field) return false;
    if (c.kind === 'bool' && d.kind === 'bool') return c.value === d.value;
    if (c.kind === 'range' && d.kind === 'range') return within(interval(d), interval(c));
    if (c.kind === 'meta' && d.kind === 'meta') return d.anyOf.every((v) => c.anyOf.includes(v));
    return false;
  }));
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const show = (v: number) => String(v);

interface RuleInfo { index: number; name?: string; conditions?: Condition[]; sampled: boolean; catchAll: boolean }

/**
 * Checks what the schema cannot: tiers and their minimum durations, `forever` placement, rule
 * names and references, the gate, unreachable rules and empty ranges. `lineOf` turns a path into
 * a line number for messages that point elsewhere ("shadowed by the rule at line 7").
 *
 * @example
 * const { errors } = checkPolicy(yamlData, { facility: loadFacility(dir).config });
 */
export function checkPolicy(raw: unknown, context: PolicyContext, lineOf: (path: (string | number)[]) => number = () => 0): PolicyCheckResult {
  const errors: PolicyProblem[] = [];
  const warnings: PolicyProblem[] = [];
  if (!isMap(raw)) return { errors, warnings };
  const tiers = context.facility.tiers;
  const tierNames = Object.keys(tiers);

  const rules: RuleInfo[] = list(raw.rules).map((rule, index) => {
    const info: RuleInfo = { index, sampled: false, catchAll: false };
    if (!isMap(rule)) return info;
    if (typeof rule.name === 'string') info.name = rule.name;
    info.sampled = rule.sample !== undefined;
    const when = whenSchema.safeParse(rule.when ?? {});
    if (when.success) info.conditions = toConditions(when.data);
    info.catchAll = !info.sampled && info.conditions?.length === 0;
    checkRanges(info.conditions ?? [], ['rules', index, 'when'], errors);
    const products = new Set<unknown>();
    list(rule.keep).forEach((keep, k) => {
      checkKeep(keep, ['rules', index, 'keep', k], tiers, tierNames, errors);
      // The engine decides per product: one product twice in a rule would be ambiguous.
      if (!isMap(keep) || typeof keep.product !== 'string') return;
      if (products.has(keep.product)) errors.push({ path: ['rules', index, 'keep', k, 'product'], message: `found product ${keep.product} a second time in this rule; expected each product at most once per rule` });
      products.add(keep.product);
    });
    // A product a lifecycle reduces to is that frame's product from then on: the rule may not keep it besides.
    list(rule.keep).forEach((keep, k) => {
      if (!isMap(keep)) return;
      list(keep.lifecycle).forEach((step, s) => {
        const form = isMap(step) && isMap(step[STEP_FORM_KEY]) ? step[STEP_FORM_KEY] : undefined;
        if (form && form.product !== keep.product && products.has(form.product)) {
          errors.push({ path: ['rules', index, 'keep', k, 'lifecycle', s, STEP_FORM_KEY, 'product'], message: `found ${String(form.product)}, which this rule keeps as a product of its own too; expected a form the rule does not keep besides (one ${String(form.product)} per frame)` });
        }
      });
    });
    return info;
  });

  const firstByName = new Map<string, RuleInfo>();
  for (const rule of rules) {
    if (rule.name === undefined) continue;
    const first = firstByName.get(rule.name);
    if (first) {
      errors.push({ path: ['rules', rule.index, 'name'], message: `found rule name "${rule.name}" again (first used at line ${lineOf(['rules', first.index])}); expected unique rule names` });
    } else firstByName.set(rule.name, rule);
  }
  const known = [...firstByName.keys()];
  const referenced = new Set<string>();
  const checkReference = (value: unknown, path: (string | number)[]) => {
    if (typeof value !== 'string') return;
    referenced.add(value);
    if (!firstByName.has(value)) errors.push({ path, message: `found "${value}", which names no rule; expected one of ${known.join(', ') || '(no rules)'}` });
  };

  if (isMap(raw.gate)) {
    checkReference(raw.gate.on_timeout, ['gate', 'on_timeout']);
    const gated = rules.some((r) => r.conditions?.some((c) => c.field === 'indexed' || c.field === 'n_crystals'));
    if (!gated) errors.push({ path: ['gate'], at: 'key', message: 'found a gate that waits for indexing results, but no rule tests indexed or n_crystals; expected such a rule, or no gate' });
  }
  checkReference(raw.unlabelled, ['unlabelled']);
  list(raw.overrides).forEach((o, i) => {
    if (!isMap(o)) return;
    checkReference(o.rule, ['overrides', i, 'rule']);
    const when = whenSchema.safeParse(o.when);
    if (when.success) checkRanges(toConditions(when.data), ['overrides', i, 'when'], errors);
  });

  // First match wins: a later rule whose conditions imply an earlier unsampled rule's can never
  // match. Rules that an override, the gate or `unlabelled` names are reached directly, so they are exempt.
  for (const later of rules) {
    if (!later.conditions || (later.name !== undefined && referenced.has(later.name)) || hasEmptyRange(later.conditions)) continue;
    const earlier = rules.slice(0, later.index).find((r) => !r.sampled && r.conditions && impliesConditions(later.conditions!, r.conditions));
    if (earlier) {
      const by = earlier.conditions!.length === 0 ? 'which has no conditions' : 'whose conditions it implies';
      errors.push({
        path: ['rules', later.index],
        message: `found rule ${later.name ? `"${later.name}"` : `#${later.index + 1}`} unreachable: every frame it matches is taken first by rule "${earlier.name ?? `#${earlier.index + 1}`}" (line ${lineOf(['rules', earlier.index])}), ${by}; expected a rule that some frame reaches (put specific rules before general ones)`,
      });
    }
  }

  if (rules.length > 0 && !rules.some((r) => r.catchAll) && rules.every((r) => r.conditions)) {
    const last = rules[rules.length - 1];
    warnings.push({
      path: ['rules', last.index],
      message: `the last rule${last.name ? ` "${last.name}"` : ''} is not a catch-all (it has ${last.sampled ? 'a sample' : 'conditions'}): frames that match no rule keep their labels only; add a last rule without when or sample to decide for them`,
    });
  }
  return { errors, warnings };
}

function hasEmptyRange(conditions: Condition[]): boolean {
  return conditions.some((c) => c.kind === 'range' && isEmpty(interval(c)));
}

function checkRanges(conditions: Condition[], path: (string | number)[], errors: PolicyProblem[]): void {
  for (const c of conditions) {
    if (c.kind !== 'range' || !isEmpty(interval(c))) continue;
    const bounds = (['gte', 'gt', 'lte', 'lt'] as const).filter((k) => c[k] !== undefined).map((k) => `${k} ${c[k]}`).join(', ');
    errors.push({ path: [...path, c.field], message: `found a range no value satisfies (${bounds}), so the rule can never match; expected bounds with values between them` });
  }
}

function checkKeep(keep: unknown, path: (string | number)[], tiers: PolicyContext['facility']['tiers'], tierNames: string[], errors: PolicyProblem[]): void {
  if (!isMap(keep)) return;
  // The schema takes its ranges from the codecs; building the codecs themselves, as ingest will,
  // keeps check and ingest in step for whatever a codec refuses beyond its option ranges.
  const parsed = keepSchema.safeParse(keep);
  if (parsed.success) {
    for (const p of keepCodecProblems(keepCodecSpec(parsed.data))) {
      errors.push({ path: [...path, p.key], message: `found a ${parsed.data.product} product ingest cannot write: ${p.message}` });
    }
  }
  const steps = list(keep.lifecycle);
  steps.forEach((step, s) => {
    if (!isMap(step)) return;
    const tiersOfStep = Object.entries(step).filter(([key]) => key !== STEP_FORM_KEY);
    if (tiersOfStep.length !== 1) return;
    const [tier, value] = tiersOfStep[0];
    const at = [...path, 'lifecycle', s, tier];
    if (step[STEP_FORM_KEY] !== undefined) checkStepForm(keep, steps.slice(0, s), step[STEP_FORM_KEY], [...path, 'lifecycle', s, STEP_FORM_KEY], errors);
    if (!tierNames.includes(tier)) {
      errors.push({ path: at, at: 'key', message: `found unknown tier "${tier}"; expected one of the facility's tiers: ${tierNames.join(', ')}` });
    }
    if (typeof value !== 'string' || !DURATION_PATTERN.test(value)) return;
    const days = durationDays(value);
    if (days === null) {
      if (s !== steps.length - 1) errors.push({ path: at, message: `found forever at step ${s + 1} of ${steps.length}; expected forever only in the last step (data kept forever never moves on)` });
      return;
    }
    const min = tiers[tier]?.min_duration_days ?? 0;
    if (days < min) {
      errors.push({ path: at, message: `found ${value} (${show(days)} days) on ${tier}; expected at least ${min} days, the tier's minimum duration (deleting earlier is charged as if kept ${min} days)` });
    }
  });
}

/**
 * A step that changes the product's form: only raw data is reduced (it is what every form can
 * be made from), never on the first step (ingest writes the keep's own form), and the form must
 * be one its codecs can write.
 */
function checkStepForm(keep: Record<string, unknown>, earlier: unknown[], form: unknown, path: (string | number)[], errors: PolicyProblem[]): void {
  if (earlier.length === 0) {
    errors.push({ path, at: 'key', message: 'found as on the first step; expected it on a later step (the first step keeps the product itself: name that form as the product)' });
    return;
  }
  const before = earlier.map((e) => (isMap(e) && isMap(e[STEP_FORM_KEY]) ? e[STEP_FORM_KEY].product : undefined)).filter((p) => p !== undefined).at(-1) ?? keep.product;
  if (before !== 'raw') {
    errors.push({ path, at: 'key', message: `found as where the data is ${String(before)}; expected it only where the data is still raw (reductions are made from raw frames)` });
    return;
  }
  const parsed = formSchema.safeParse(form);
  if (!parsed.success) return;
  for (const p of keepCodecProblems(keepCodecSpec(parsed.data))) errors.push({ path: [...path, p.key], message: `found a ${parsed.data.product} form migration cannot write: ${p.message}` });
}
