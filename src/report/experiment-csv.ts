// An experiment's report as CSV: one line per fact (section, item, field, value), so a
// spreadsheet filters it and every number of the JSON report is there; money in currency units
// with six decimals (exact: the ledger's micro-units).
import { microToDecimal, toCsv } from './csv.ts';
import type { ExperimentReport } from './experiment-report.ts';

export function experimentReportCsv(r: ExperimentReport): string {
  const rows: (string | number | null)[][] = [['section', 'item', 'field', 'value']];
  const add = (section: string, item: string, field: string, value: string | number | null) => rows.push([section, item, field, value]);
  const money = (micro: number) => microToDecimal(micro);
  add('experiment', r.experiment, 'proposal', r.proposal);
  add('experiment', r.experiment, 'facility', r.facility);
  add('experiment', r.experiment, 'sample_tags', r.sampleTags.join(';'));
  for (const f of ['runs', 'frames', 'labelled', 'hits', 'indexed', 'rawBytes', 'storedBytes', 'containers'] as const) add('experiment', r.experiment, f, r[f]);
  add('experiment', r.experiment, 'reduction', r.reduction);
  for (const p of r.products) for (const f of ['containers', 'frames', 'bytes'] as const) add('product', p.product, f, p[f]);
  for (const x of r.rules) for (const f of ['frames', 'rawBytes', 'keptFrames', 'keptBytes'] as const) add('rule', x.rule, f, x[f]);
  for (const t of r.tiers) for (const f of ['containers', 'bytes'] as const) add('tier', t.tier, f, t[f]);
  const c = r.cost;
  add('cost', '', 'currency', c.currency);
  add('cost', '', 'as_of', c.asOf);
  for (const [section, ledger] of [['cost_to_date', c.toDate], ['cost_projected', c.projected]] as const) {
    for (const t of ledger.tiers) for (const f of ['storage', 'objects', 'earlyDeletion', 'retrieval', 'egress', 'total'] as const) add(section, t.tier, f, money(t[f]));
    add(section, '', 'total', money(ledger.total));
  }
  add('cost_projected', '', 'forever_per_year', money(c.projected.foreverPerYear));
  add('cost', '', 'lifetime', money(c.lifetime));
  add('raw_everything', c.rawEverything.tier, 'bytes', c.rawEverything.bytes);
  add('raw_everything', c.rawEverything.tier, 'years', c.rawEverything.years);
  add('raw_everything', c.rawEverything.tier, 'total', money(c.rawEverything.total));
  add('beamtime', '', 'hours', c.beamtime.hours);
  add('beamtime', '', 'cost', money(c.beamtime.cost));
  add('beamtime', '', 'storing_costs_more_from_year', c.storingCostsMoreFromYear);
  c.byYear.forEach((m, i) => add('cost_by_year', String(i + 1), 'cumulative', money(m)));
  return toCsv(rows);
}
