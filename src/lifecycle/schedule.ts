// Where a container's lifecycle puts it at a given time. The lifecycle is counted from the
// container's creation, so a pass that runs late (or `--as-of` a later date) finds every
// container where its policy says it should be by then, however many steps it skipped.
import type { LifecycleSpan } from '../catalog/types.ts';
import { describeForm } from '../policy/forms.ts';

const DAY_MS = 86_400_000;

export interface LifecyclePosition {
  step: number;
  tier: string;
  from: Date;
  /** null: the step lasts forever. */
  until: Date | null;
}

export type LifecycleState = LifecyclePosition | { ended: Date };

export function isEnded(state: LifecycleState): state is { ended: Date } {
  return 'ended' in state;
}

/**
 * The lifecycle step that holds `at`, or when the whole lifecycle ended. An empty lifecycle
 * ended when it began.
 *
 * @example
 * positionAt([{ tier: 'hdd', days: 90 }, { tier: 'tape', days: null }], created, now) // { step: 1, tier: 'tape', ... }
 */
export function positionAt(lifecycle: readonly LifecycleSpan[], start: Date, at: Date): LifecycleState {
  let from = start.getTime();
  for (const [step, span] of lifecycle.entries()) {
    const until = span.days === null ? null : from + span.days * DAY_MS;
    if (until === null || at.getTime() < until) return { step, tier: span.tier, from: new Date(from), until: until === null ? null : new Date(until) };
    from = until;
  }
  return { ended: new Date(from) };
}

/** When a step of the lifecycle ends (null: never). */
export function stepEnd(lifecycle: readonly LifecycleSpan[], start: Date, step: number): Date | null {
  let end = start.getTime();
  for (let i = 0; i <= step; i++) {
    const days = lifecycle[i]?.days;
    if (days === null || days === undefined) return null;
    end += days * DAY_MS;
  }
  return new Date(end);
}

/** `hdd 90d, tape 5y`: a lifecycle as people read it. */
export function describeLifecycle(lifecycle: readonly LifecycleSpan[]): string {
  if (lifecycle.length === 0) return 'nothing kept';
  return lifecycle.map((s) => `${s.tier} ${s.days === null ? 'forever' : `${s.days}d`}${s.as ? ` as ${describeForm(s.as)}` : ''}`).join(', ');
}
