// What a migration or expiry pass does, worked out from the catalog alone: the dry-run prints
// this plan, and the real pass carries out the same plan.
import type { LifecycleCatalog, LivePlacement, Transfer } from '../catalog/lifecycle.ts';
import type { ContainerForm, LifecycleSpan } from '../catalog/types.ts';
import type { FacilityConfig } from '../config/facility.ts';
import { findRule } from '../policy/engine.ts';
import { validatePolicy } from '../policy/load.ts';
import { cheapestToRead } from './context.ts';
import { describeForm, dueReduction, formStep } from '../policy/forms.ts';
import { describeLifecycle, isEnded, positionAt, stepEnd } from './schedule.ts';

export interface PlannedMove {
  containerId: number;
  experiment: string;
  path: string;
  product: string;
  bytes: number;
  from: LivePlacement;
  toTier: string;
  toStep: number;
  /** The end of the placement's step that made it due (or when it was staged, for a staged container). */
  due: string;
  /** When the destination step ends (null: forever). */
  until: string | null;
  why: string;
}

/** A container whose lifecycle has reached a step that keeps its data in another form: reduced, then on `toTier` (written there, or staged for it). */
export interface PlannedReduction extends PlannedMove {
  form: ContainerForm;
}

export interface PlannedDeletion {
  containerId: number;
  experiment: string;
  path: string;
  product: string;
  bytes: number;
  placement: LivePlacement;
  lifecycleEnd: string;
  policy: string | null;
  rules: string[];
  why: string;
}

/** A container no pass may touch until someone looks at it (its lifecycle cannot be known). */
export interface HeldContainer {
  containerId: number;
  experiment: string;
  path: string;
  tier: string;
  why: string;
}

export interface LifecyclePlan {
  asOf: string;
  /** Unfinished transfers a previous pass left (crashed, paused, or another process's that died): resumed first. */
  resume: Transfer[];
  moves: PlannedMove[];
  /** Reductions before moves: the reduced containers move on in the same pass. */
  reductions: PlannedReduction[];
  deletions: PlannedDeletion[];
  held: HeldContainer[];
}

export interface PlanOptions {
  asOf: Date;
  experiment?: string;
  /** Which work to plan: tier moves (migrate) or deletions at a lifecycle's end (expire). */
  kind: 'migrate' | 'expire';
}

export interface ContainerLifecycle {
  lifecycle?: LifecycleSpan[];
  policy: string | null;
  rules: string[];
  /** Why the lifecycle cannot be known (no lifecycle). */
  problem?: string;
}

/**
 * The container's lifecycle: recorded with it, or (a container recorded before lifecycles were)
 * the lifecycle its decisions' policy rules give its product, when they all agree.
 */
export function containerLifecycle(store: Pick<LifecycleCatalog, 'containerRules'>, facility: FacilityConfig, p: Pick<LivePlacement, 'containerId' | 'lifecycle' | 'product'>): ContainerLifecycle {
  const rules = store.containerRules(p.containerId);
  const policy = rules.length === 0 ? null : [...new Set(rules.map((r) => r.policy))].join(', ');
  const names = [...new Set(rules.map((r) => r.rule))];
  if (p.lifecycle !== null) return { lifecycle: p.lifecycle, policy, rules: names };
  const found = new Map<string, LifecycleSpan[]>();
  for (const r of rules) {
    const parsed = validatePolicy(r.policyText, r.policy, { facility });
    if (!parsed.policy) return { policy, rules: names, problem: `its policy ${r.policy} no longer checks against this facility (${parsed.errors[0]?.message})` };
    let keep;
    try {
      keep = findRule(parsed.policy, r.rule, 'rule').keep.find((k) => k.product === p.product);
    } catch {
      keep = r.rule === parsed.policy.unlabelled.name ? parsed.policy.unlabelled.keep.find((k) => k.product === p.product) : undefined;
    }
    if (!keep) return { policy, rules: names, problem: `rule ${r.rule} of ${r.policy} keeps no ${p.product}` };
    found.set(JSON.stringify(keep.lifecycle), keep.lifecycle);
  }
  if (found.size === 0) return { policy, rules: names, problem: 'no decision refers to it' };
  if (found.size > 1) return { policy, rules: names, problem: `its frames' rules (${names.join(', ')}) give different lifecycles: ${[...found.values()].map(describeLifecycle).join(' / ')}` };
  return { lifecycle: [...found.values()][0], policy, rules: names };
}

/** The reason a transfer fails with when its source copy does not match its checksum (migrate.ts's CORRUPT_SOURCE). */
export const CORRUPT_SOURCE_REASON = 'source copy corrupt';

const day = (d: Date | string) => (typeof d === 'string' ? d : d.toISOString()).slice(0, 10);

/**
 * Plans one pass as of `asOf`: which containers move to the tier their lifecycle is on by then
 * (migrate), or whose lifecycle has ended (expire). Containers with an unfinished transfer are
 * not planned again: the pass resumes their transfer.
 */
export function planLifecycle(store: LifecycleCatalog, facility: FacilityConfig, options: PlanOptions): LifecyclePlan {
  const busy = new Set<number>();
  const resume: Transfer[] = [];
  for (const t of store.activeTransfers()) {
    busy.add(t.containerId);
    if (options.kind === 'migrate') resume.push(t);
  }
  const byContainer = new Map<number, LivePlacement[]>();
  for (const p of store.livePlacements(options.experiment !== undefined ? { experiment: options.experiment } : {})) {
    const list = byContainer.get(p.containerId) ?? [];
    list.push(p);
    byContainer.set(p.containerId, list);
  }
  // A reduced container's source waits for its deletion, which the reduction planned.
  for (const d of store.activeDeletions()) busy.add(d.containerId);
  const plan: LifecyclePlan = { asOf: options.asOf.toISOString(), resume, moves: [], reductions: [], deletions: [], held: [] };
  for (const placements of byContainer.values()) {
    const first = placements[0];
    if (busy.has(first.containerId)) continue;
    const last = store.lastTransfer(first.containerId);
    if (options.kind === 'migrate' && last?.state === 'failed' && last.reason?.startsWith(CORRUPT_SOURCE_REASON)) {
      plan.held.push({ containerId: first.containerId, experiment: first.experiment, path: first.path, tier: first.tier, why: `${last.reason} (it moves again once verify has repaired it)` });
      continue;
    }
    const known = containerLifecycle(store, facility, first);
    if (!known.lifecycle) {
      plan.held.push({ containerId: first.containerId, experiment: first.experiment, path: first.path, tier: first.tier, why: `lifecycle unknown: ${known.problem}; kept where it is` });
      continue;
    }
    const { lifecycle } = known;
    const state = positionAt(lifecycle, new Date(first.createdAt), options.asOf);
    const unknownTier = lifecycle.find((s) => facility.tiers[s.tier] === undefined);
    if (unknownTier) {
      plan.held.push({ containerId: first.containerId, experiment: first.experiment, path: first.path, tier: first.tier, why: `its lifecycle (${describeLifecycle(lifecycle)}) names tier ${unknownTier.tier}, which facility.yaml no longer has; kept where it is` });
      continue;
    }
    const ruleText = known.rules.length > 0 ? ` (rule ${known.rules.join(', ')})` : '';
    if (isEnded(state)) {
      if (options.kind !== 'expire') continue;
      for (const p of placements) {
        plan.deletions.push({
          containerId: p.containerId, experiment: p.experiment, path: p.path, product: p.product, bytes: p.bytes, placement: p,
          lifecycleEnd: state.ended.toISOString(), policy: known.policy, rules: known.rules,
          why: `lifecycle ${describeLifecycle(lifecycle)} ended on ${day(state.ended)}${ruleText}${known.policy ? `, policy ${known.policy}` : ''}`,
        });
      }
      continue;
    }
    if (options.kind !== 'migrate') continue;
    const reduceAt = dueReduction(lifecycle, formStep(lifecycle, first.form), state.step);
    if (reduceAt !== undefined) {
      const form = lifecycle[reduceAt].as!;
      const source = cheapestToRead(placements, (tier) => facility.tiers[tier]?.kind)[0];
      const starts = stepEnd(lifecycle, new Date(first.createdAt), reduceAt - 1)!;
      plan.reductions.push({
        containerId: source.containerId, experiment: source.experiment, path: source.path, product: source.product, bytes: source.bytes, from: source, form,
        toTier: state.tier, toStep: state.step, due: starts.toISOString(), until: state.until?.toISOString() ?? null,
        why: `kept as ${describeForm(form)} on ${state.tier} from ${day(starts)}${ruleText}`,
      });
      continue;
    }
    if (placements.some((p) => p.tier === state.tier)) continue;
    const from = cheapestToRead(placements, (tier) => facility.tiers[tier]?.kind)[0];
    const staged = from.tier !== lifecycle[from.step]?.tier;
    const due = staged ? first.createdAt : (state.from.toISOString());
    const why = staged
      ? `staged on ${from.tier} at ingest; its lifecycle (${describeLifecycle(lifecycle)}) puts it on ${state.tier}${ruleText}`
      : `${lifecycle[from.step].tier} ${lifecycle[from.step].days}d ended on ${day(state.from)}; next: ${state.tier} ${state.until === null ? 'forever' : `until ${day(state.until)}`}${ruleText}`;
    plan.moves.push({
      containerId: from.containerId, experiment: from.experiment, path: from.path, product: from.product, bytes: from.bytes, from,
      toTier: state.tier, toStep: state.step, due, until: state.until?.toISOString() ?? null, why,
    });
  }
  return plan;
}
