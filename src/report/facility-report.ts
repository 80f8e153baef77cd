// The facility report (`sxarchive report --all`): every experiment's frames, kept bytes and
// money in one table, or grouped per proposal, facility or tier, with the facility's totals.
// Frames are added up in SQL; money is the experiment report's ledger (src/cost/ledger.ts), run
// per experiment in JS over copies read for all experiments at once: copies are few next to frames.
import type { Catalog } from '../catalog/catalog.ts';
import type { ExperimentTotalsRow, HeldTierRow } from '../catalog/facility-report.ts';
import type { ReportQueries } from '../catalog/report-queries.ts';
import type { FrameCounts } from '../catalog/reports.ts';
import { formatBytes } from '../bytes.ts';
import { table } from './text-table.ts';
import { formatMicro } from '../cost/money.ts';
import type { FacilityConfig } from '../config/facility.ts';
import { accrued, projected, type Ledger, type Projection } from '../cost/ledger.ts';
import { tierPrices } from '../cost/prices.ts';
import { microToDecimal, toCsv } from './csv.ts';
import { toLedgerContainer, toLedgerCopy, toLedgerRead } from './ledger-inputs.ts';

export type FacilityGroupBy = 'proposal' | 'facility' | 'tier';

/** Money in integer micro-units (1e-6 of the currency), as in the experiment report. */
export interface FacilityExperimentRow extends FrameCounts {
  experiment: string;
  proposal: string | null;
  facility: string | null;
  createdAt: string;
  runs: number;
  containers: number;
  keptBytes: number;
  /** raw / kept: how much smaller the kept data is (0 when nothing is kept). */
  reduction: number;
  costToDate: number;
  /** From asOf to the end of every lifecycle; steps kept forever are in foreverPerYear. */
  projected: number;
  foreverPerYear: number;
}

export interface FacilityGroupRow {
  /** The proposal or facility; null for the experiments without one. */
  key: string | null;
  experiments: number;
  frames: number;
  hits: number;
  rawBytes: number;
  keptBytes: number;
  reduction: number;
  costToDate: number;
  projected: number;
  foreverPerYear: number;
}

export interface FacilityTierRow {
  tier: string;
  /** Copies on the tier at asOf, and their bytes. */
  containers: number;
  bytes: number;
  costToDate: number;
  projected: number;
}

export type FacilityTotals = Omit<FacilityGroupRow, 'key'>;

export interface FacilityReport {
  facility: string;
  currency: string;
  minorUnit: 'micro';
  asOf: string;
  since: string | null;
  /** By name. */
  experiments: FacilityExperimentRow[];
  groups: { by: 'proposal' | 'facility'; rows: FacilityGroupRow[] } | { by: 'tier'; rows: FacilityTierRow[] } | null;
  /** Sums of the experiment rows (and so of any grouping's rows). */
  totals: FacilityTotals;
  /** Tiers holding copies that facility.yaml does not price (counted as free). */
  unpricedTiers: string[];
}

export interface FacilityReportOptions {
  asOf: Date;
  /** Only experiments created, or with a run started, at or after this time. */
  since?: Date;
  by?: FacilityGroupBy;
}

/** An experiment's catalog totals and its ledger, to date and ahead, in exact micro-units. */
interface Costed {
  totals: ExperimentTotalsRow;
  toDate: Ledger;
  ahead: Projection;
}

function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const list = groups.get(key(item));
    if (list) list.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}

const tierTotal = (cost: Record<string, bigint>) => Object.values(cost).reduce((a, b) => a + b, 0n);
const reduction = (raw: number, kept: number) => (kept > 0 ? raw / kept : 0);

function sum(items: readonly Costed[]): FacilityTotals {
  const t = { experiments: items.length, frames: 0, hits: 0, rawBytes: 0, keptBytes: 0 };
  let costToDate = 0n;
  let ahead = 0n;
  let forever = 0n;
  for (const i of items) {
    t.frames += i.totals.frames;
    t.hits += i.totals.hits;
    t.rawBytes += i.totals.rawBytes;
    t.keptBytes += i.totals.keptBytes;
    costToDate += i.toDate.total;
    ahead += i.ahead.total;
    forever += i.ahead.foreverPerYear;
  }
  return { ...t, reduction: reduction(t.rawBytes, t.keptBytes), costToDate: Number(costToDate), projected: Number(ahead), foreverPerYear: Number(forever) };
}

function groupRows(items: readonly Costed[], by: 'proposal' | 'facility'): FacilityGroupRow[] {
  const groups = groupBy(items, (i) => i.totals[by]);
  // Experiments without a proposal (facility) last.
  const keys = [...groups.keys()].sort((a, b) => (a === null ? 1 : b === null ? -1 : a.localeCompare(b)));
  return keys.map((key) => ({ key, ...sum(groups.get(key)!) }));
}

function tierRows(items: readonly Costed[], held: readonly HeldTierRow[]): FacilityTierRow[] {
  const tiers = new Map<string, { containers: number; bytes: number; toDate: bigint; ahead: bigint }>();
  const tier = (name: string) => {
    const row = tiers.get(name) ?? { containers: 0, bytes: 0, toDate: 0n, ahead: 0n };
    tiers.set(name, row);
    return row;
  };
  const chosen = new Set(items.map((i) => i.totals.id));
  for (const h of held) {
    if (!chosen.has(h.experimentId)) continue;
    const row = tier(h.tier);
    row.containers += h.containers;
    row.bytes += h.bytes;
  }
  for (const i of items) {
    for (const [name, cost] of i.toDate.tiers) tier(name).toDate += tierTotal(cost);
    for (const [name, cost] of i.ahead.tiers) tier(name).ahead += tierTotal(cost);
  }
  return [...tiers].sort(([a], [b]) => a.localeCompare(b))
    .map(([name, t]) => ({ tier: name, containers: t.containers, bytes: t.bytes, costToDate: Number(t.toDate), projected: Number(t.ahead) }));
}

function experimentRow({ totals: e, toDate, ahead }: Costed): FacilityExperimentRow {
  return {
    experiment: e.name, proposal: e.proposal, facility: e.facility, createdAt: e.createdAt, runs: e.runs,
    frames: e.frames, labelled: e.labelled, hits: e.hits, indexed: e.indexed, rawBytes: e.rawBytes,
    containers: e.containers, keptBytes: e.keptBytes, reduction: reduction(e.rawBytes, e.keptBytes),
    costToDate: Number(toDate.total), projected: Number(ahead.total), foreverPerYear: Number(ahead.foreverPerYear),
  };
}

function build(reports: ReportQueries, config: FacilityConfig, { asOf, since, by }: FacilityReportOptions): FacilityReport {
  const at = asOf.getTime();
  const prices = tierPrices(config);
  const copies = groupBy(reports.ledgerCopies(), (c) => c.experimentId);
  const reads = groupBy(reports.ledgerReads(), (r) => r.experimentId);
  const held = groupBy(reports.heldContainers(), (c) => c.experimentId);
  const items: Costed[] = reports.experimentTotals(since?.toISOString()).map((totals) => ({
    totals,
    toDate: accrued((copies.get(totals.id) ?? []).map(toLedgerCopy), (reads.get(totals.id) ?? []).map(toLedgerRead), prices, at),
    ahead: projected((held.get(totals.id) ?? []).map(toLedgerContainer), prices, at),
  }));
  const groups = by === undefined ? null
    : by === 'tier' ? { by, rows: tierRows(items, reports.heldByExperimentAndTier(asOf.toISOString())) }
    : { by, rows: groupRows(items, by) };
  return {
    facility: config.facility,
    currency: config.currency,
    minorUnit: 'micro',
    asOf: asOf.toISOString(),
    since: since?.toISOString() ?? null,
    experiments: items.map(experimentRow),
    groups,
    totals: sum(items),
    unpricedTiers: [...new Set(items.flatMap((i) => [...i.toDate.unpriced, ...i.ahead.unpriced]))].sort(),
  };
}

/**
 * Every experiment (or those since a date), its cost to date and projected as of `asOf`, and
 * with `by` the same grouped per proposal, facility or tier. The catalog is read in one
 * transaction, so the rows and totals agree while ingest writes.
 *
 * @example
 * const r = buildFacilityReport(catalog, facility.config, { asOf: new Date(), by: 'proposal' });
 * r.totals.costToDate // micro-units, the sum of r.experiments' costToDate
 */
export function buildFacilityReport(catalog: Pick<Catalog, 'reports' | 'readTransaction'>, config: FacilityConfig, options: FacilityReportOptions): FacilityReport {
  return catalog.readTransaction(() => build(catalog.reports, config, options));
}

/**
 * The report's rows as CSV (RFC 4180): the groups' when grouped, else one line per experiment;
 * bytes as integers, money in currency units with six decimals (exact: the micro-units).
 */
export function facilityReportCsv(r: FacilityReport): string {
  const money = microToDecimal;
  if (r.groups?.by === 'tier') {
    return toCsv([
      ['tier', 'containers', 'bytes', 'cost_to_date', 'projected', 'currency'],
      ...r.groups.rows.map((t) => [t.tier, t.containers, t.bytes, money(t.costToDate), money(t.projected), r.currency]),
    ]);
  }
  if (r.groups) {
    return toCsv([
      [r.groups.by, 'experiments', 'frames', 'hits', 'raw_bytes', 'kept_bytes', 'reduction', 'cost_to_date', 'projected', 'forever_per_year', 'currency'],
      ...r.groups.rows.map((g) => [g.key, g.experiments, g.frames, g.hits, g.rawBytes, g.keptBytes, g.reduction, money(g.costToDate), money(g.projected), money(g.foreverPerYear), r.currency]),
    ]);
  }
  return toCsv([
    ['experiment', 'proposal', 'facility', 'created_at', 'runs', 'frames', 'labelled', 'hits', 'indexed', 'raw_bytes', 'containers', 'kept_bytes', 'reduction', 'cost_to_date', 'projected', 'forever_per_year', 'currency'],
    ...r.experiments.map((e) => [
      e.experiment, e.proposal, e.facility, e.createdAt, e.runs, e.frames, e.labelled, e.hits, e.indexed, e.rawBytes, e.containers, e.keptBytes, e.reduction,
      money(e.costToDate), money(e.projected), money(e.foreverPerYear), r.currency,
    ]),
  ]);
}

/** The report for a terminal: one table (experiments, or the grouping asked for) ending in the totals. */
export function renderFacilityReport(r: FacilityReport): string {
  const money = (micro: number) => formatMicro(micro, r.currency);
  const times = (x: number) => (x > 0 ? `${x.toFixed(2)}x` : '-');
  const t = r.totals;
  const sums = [t.frames, t.hits, formatBytes(t.rawBytes), formatBytes(t.keptBytes), times(t.reduction), money(t.costToDate), money(t.projected), money(t.foreverPerYear)];
  const head = ['frames', 'hits', 'raw', 'kept', 'reduction', 'cost to date', 'projected', 'forever/year'];
  let body: string;
  if (r.groups?.by === 'tier') {
    const rows = r.groups.rows;
    body = table(['tier', 'containers', 'held', 'cost to date', 'projected'], [
      ...rows.map((x) => [x.tier, x.containers, formatBytes(x.bytes), money(x.costToDate), money(x.projected)]),
      ['total', rows.reduce((n, x) => n + x.containers, 0), formatBytes(rows.reduce((n, x) => n + x.bytes, 0)), money(t.costToDate), money(t.projected)],
    ]);
  } else if (r.groups) {
    body = table([r.groups.by, 'experiments', ...head], [
      ...r.groups.rows.map((g) => [g.key ?? '(none)', g.experiments, g.frames, g.hits, formatBytes(g.rawBytes), formatBytes(g.keptBytes), times(g.reduction), money(g.costToDate), money(g.projected), money(g.foreverPerYear)]),
      ['total', t.experiments, ...sums],
    ]);
  } else {
    body = table(['experiment', 'proposal', 'facility', ...head], [
      ...r.experiments.map((e) => [e.experiment, e.proposal ?? '', e.facility ?? '', e.frames, e.hits, formatBytes(e.rawBytes), formatBytes(e.keptBytes), times(e.reduction), money(e.costToDate), money(e.projected), money(e.foreverPerYear)]),
      ['total', '', '', ...sums],
    ]);
  }
  return [
    `facility ${r.facility}: ${t.experiments} experiment(s)${r.since ? ` created or with a run since ${r.since.slice(0, 10)}` : ''}; cost as of ${r.asOf.slice(0, 10)}`,
    body,
    ...(r.unpricedTiers.length ? [`note: facility.yaml has no prices for tier(s) ${r.unpricedTiers.join(', ')}, which hold copies; they count as free here`] : []),
  ].join('\n');
}
