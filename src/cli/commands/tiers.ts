import { withLifecycle, type GlobalOptions } from '../context.ts';
import { formatBytes, printJson, table } from '../format.ts';

export async function run(globals: GlobalOptions, opts: { json?: boolean }): Promise<void> {
  const tiers = await withLifecycle(globals, 'tiers', { readonly: true, progress: false }, async (ctx) => {
    const usage = new Map(ctx.store.tierUsage().map((u) => [u.tier, u]));
    const pending = new Map(ctx.store.pendingByTier().map((p) => [p.tier, p]));
    const rows = [];
    for (const name of ctx.tiers.names) {
      const tier = ctx.tiers.get(name);
      let space: { usedBytes?: number; freeBytes?: number; capacityBytes?: number; error?: string };
      try {
        space = await tier.driver.space();
      } catch (err) {
        space = { error: (err as Error).message };
      }
      const c = tier.config;
      rows.push({
        tier: name,
        kind: c.kind,
        location: tier.driver.locate('.').replace(/\/\.$/, ''),
        containers: usage.get(name)?.containers ?? 0,
        catalogBytes: usage.get(name)?.bytes ?? 0,
        ...space,
        pricePerTbYear: c.price_per_tb_year,
        minDurationDays: c.min_duration_days,
        pending: { incoming: pending.get(name)?.incoming ?? 0, outgoing: pending.get(name)?.outgoing ?? 0, paused: pending.get(name)?.paused ?? 0, deletions: pending.get(name)?.deletions ?? 0 },
      });
    }
    return { currency: ctx.facility.config.currency, tiers: rows };
  });
  if (opts.json) return printJson(tiers);
  const size = (n: number | undefined) => (n === undefined ? '-' : formatBytes(n));
  console.log(table(
    ['tier', 'kind', 'location', 'containers', 'used', 'free', 'capacity', `${tiers.currency}/TB-year`, 'pending jobs'],
    tiers.tiers.map((t) => [
      t.tier, t.kind, t.location, `${t.containers} (${formatBytes(t.catalogBytes)})`, t.error ? `unreachable: ${t.error}` : size(t.usedBytes), size(t.freeBytes), size(t.capacityBytes), t.pricePerTbYear,
      [t.pending.incoming && `${t.pending.incoming} in`, t.pending.outgoing && `${t.pending.outgoing} out`, t.pending.paused && `${t.pending.paused} paused`, t.pending.deletions && `${t.pending.deletions} deletions`].filter(Boolean).join(', ') || 'none',
    ]),
  ));
}
