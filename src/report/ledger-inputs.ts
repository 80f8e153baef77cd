// The ledger's inputs from the catalog's rows: one reading for the experiment report and the
// facility report, so an experiment costs the same in both.
import type { CopyRow, HeldContainerRow, ReadRow } from '../catalog/ledger.ts';
import type { LedgerContainer, LedgerCopy, LedgerRead } from '../cost/ledger.ts';
import { estimateProductBytes } from '../policy/estimates.ts';
import { formAt, formStep } from '../policy/forms.ts';
import type { KeepSpec } from '../policy/types.ts';

const DAY_MS = 86_400_000;

export const toLedgerCopy = (c: CopyRow): LedgerCopy => ({ containerId: c.containerId, tier: c.tier, bytes: c.bytes, from: Date.parse(c.validFrom), ended: c.endedAt === null ? null : Date.parse(c.endedAt) });

export const toLedgerRead = (r: ReadRow): LedgerRead => ({ tier: r.tier, bytes: r.bytes, at: Date.parse(r.at) });

export function toLedgerContainer(c: HeldContainerRow): LedgerContainer {
  const created = Date.parse(c.createdAt);
  // Containers recorded before lifecycles were: their copy's tier until its planned end.
  const lifecycle = c.lifecycle ?? [{ tier: c.tier, days: c.validUntil === null ? null : (Date.parse(c.validUntil) - created) / DAY_MS }];
  // A container reduced from another carries its lifecycle from the step its form began.
  const fromStep = formStep(lifecycle, c.form);
  const container: LedgerContainer = { id: c.id, bytes: c.bytes, created, lifecycle, ...(fromStep > 0 ? { fromStep } : {}) };
  if (c.frames === null || !lifecycle.some((s, i) => i > fromStep && s.as)) return container;
  // Later steps keep a reduced form: estimated from its frames, at the lossless ratio this container shows.
  const { frames } = c;
  const facts = { frameId: 0, experiment: '', source: '', event: '', hit: true, indexed: null, nCrystals: null, resolution: null, ...frames };
  const estimates = { compressionRatio: frames.rawBytes / c.bytes, compressionRatioMeasured: true, intensitiesBytes: new Map() };
  const base = c.form ?? { product: 'raw', codec: { id: 'none' }, params: {} };
  const stepBytes = lifecycle.map((_, step) => {
    const form = formAt(lifecycle, base, step);
    return form === base || step <= fromStep ? c.bytes : Math.round(estimateProductBytes({ ...(form as KeepSpec), lifecycle: [] }, facts, estimates));
  });
  return { ...container, stepBytes };
}
