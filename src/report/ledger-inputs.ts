// The ledger's inputs from the catalog's rows: one reading for the experiment report and the
// facility report, so an experiment costs the same in both.
import type { CopyRow, HeldContainerRow, ReadRow } from '../catalog/ledger.ts';
import type { LedgerContainer, LedgerCopy, LedgerRead } from '../cost/ledger.ts';

const DAY_MS = 86_400_000;

export const toLedgerCopy = (c: CopyRow): LedgerCopy => ({ containerId: c.containerId, tier: c.tier, bytes: c.bytes, from: Date.parse(c.validFrom), ended: c.endedAt === null ? null : Date.parse(c.endedAt) });

export const toLedgerRead = (r: ReadRow): LedgerRead => ({ tier: r.tier, bytes: r.bytes, at: Date.parse(r.at) });

export function toLedgerContainer(c: HeldContainerRow): LedgerContainer {
  const created = Date.parse(c.createdAt);
  // Containers recorded before lifecycles were: their copy's tier until its planned end.
  const lifecycle = c.lifecycle ?? [{ tier: c.tier, days: c.validUntil === null ? null : (Date.parse(c.validUntil) - created) / DAY_MS }];
  return { id: c.id, bytes: c.bytes, created, lifecycle };
}
