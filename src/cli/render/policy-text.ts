// Words and numbers the policy commands (dry-run, diff, explain) and the demo print alike.
import type { PlanLost, RetentionPlan } from '../../policy/plan.ts';
import { formatMoney } from '../format.ts';

/** `14d`, `2y`, `forever`. */
export function formatDays(days: number | null): string {
  if (days === null) return 'forever';
  if (days > 0 && days % 365 === 0) return `${days / 365}y`;
  return `${Number(days.toFixed(2))}d`;
}

export function describePolicy(p: RetentionPlan['policy']): string {
  return `${p.name} v${p.version} (${p.file}, sha256 ${p.contentHash.slice(0, 12)})`;
}

/** The money of a plan: over the finite steps, plus per year for what is kept forever. */
export function formatCost(money: number, foreverPerYear: number, currency: string): string {
  const parts = [formatMoney(money, currency)];
  if (foreverPerYear !== 0) parts.push(`${formatMoney(foreverPerYear, currency)}/yr forever`);
  return parts.join(' + ');
}

export const LOST_LINES: Record<keyof PlanLost, string> = {
  hitsDropped: 'hits dropped entirely (labels only)',
  hitsNotKeptRaw: 'hits not kept raw',
  unindexedHitsNotKeptRaw: 'unindexed hits not kept raw',
  indexedWithoutIntensities: 'indexed frames without intensities',
  labelsOnly: 'frames keeping labels only',
};
