// Dry-run of a policy: what it would keep of an experiment, where, for how long, at what cost,
// and what it would lose. Pure over facts (labels, metadata, prices, byte estimates): no
// catalog, no clock, no files. src/policy/facts.ts reads the facts; the CLI prints the plan.
import type { FacilityConfig } from '../config/facility.ts';
import { projected, storage, type TierPrice } from '../cost/ledger.ts';
import { fromMicro } from '../cost/money.ts';
import { tierPrices } from '../cost/prices.ts';
import { SxError } from '../errors.ts';
import { decide, checkApplies, isPending } from './engine.ts';
import { ESTIMATE_FORMULAS, estimateProductBytes, isEstimated, type ProductEstimates } from './estimates.ts';
import type { Decision, ExperimentFacts, FrameFacts, KeepSpec, Policy, ProductName } from './types.ts';
import { formAt, formKey } from './forms.ts';

const TB = 1e12;
const DAY_MS = 86_400_000;

/** One product kept by one rule on one tier for one span. */
export interface PlanRow {
  product: ProductName;
  rule: string;
  tier: string;
  /** Days on the tier; null = forever. */
  days: number | null;
  /** Days paid for: at least the tier's minimum duration (early deletion is charged up to it). */
  billedDays: number | null;
  frames: number;
  bytes: number;
  estimated: boolean;
  /** bytes/1e12 × price_per_tb_year × billedDays/365 (the ledger's storage term, to the micro-unit); 0 for forever (see perYear). */
  money: number;
  /** bytes/1e12 × price_per_tb_year: what the row costs per year while on the tier. */
  perYear: number;
  forever: boolean;
}

export interface RuleCount {
  rule: string;
  frames: number;
  /** Of which decided by an override naming the rule, or by the gate's timeout. */
  viaOverride: number;
  viaGate: number;
  keptBytes: number;
}

export interface PlanLost {
  /** hit = true frames that keep nothing but labels. */
  hitsDropped: number;
  /** hit = true frames not kept raw (dropped or only reduced). */
  hitsNotKeptRaw: number;
  /** hit = true, indexed = false frames not kept raw. */
  unindexedHitsNotKeptRaw: number;
  /** indexed = true frames whose intensities are not kept. */
  indexedWithoutIntensities: number;
  /** Frames of which only labels are kept. */
  labelsOnly: number;
}

export interface RetentionPlan {
  policy: { name: string; version: number; contentHash: string; file: string };
  experiment: string;
  currency: string;
  frames: number;
  rawBytes: number;
  compressionRatio: number;
  compressionRatioMeasured: boolean;
  rows: PlanRow[];
  rules: RuleCount[];
  totals: {
    /** Bytes of every kept product (once per product, whatever its tiers). */
    keptBytes: number;
    framesKept: number;
    /** Money over the finite lifecycle steps: the rows' storage plus `copyAndReadCharges`. */
    money: number;
    /**
     * The ledger's charges beyond storage: per object for each container put on each step's tier
     * (as many containers as ingest would write: one per containers.max_frames frames), and
     * retrieval and egress for each move out of a tier.
     */
    copyAndReadCharges: number;
    /** Money per year of the steps kept forever (not in `money`). */
    foreverPerYear: number;
    forever: boolean;
    /** The policy's longest lifecycle in days; null = forever. */
    longestDays: number | null;
  };
  /** Keeping every frame raw (compressed at the same ratio, estimated) on `tier` for the policy's longest retention. */
  keepAllRaw: { tier: string; bytes: number; days: number | null; forever: boolean; money: number; perYear: number };
  lost: PlanLost;
  /** Frames decided by the gate's on_timeout rule (no indexing result). */
  gateTimedOut: number;
  /** Frames without labels: they take the policy's unlabelled rule (kept raw by default). */
  unlabelled: number;
  /** The size formula of each estimated product. */
  estimates: Partial<Record<ProductName, string>>;
}

/** Total days of a lifecycle; null when it ends in forever. */
export function lifecycleDays(spec: KeepSpec): number | null {
  let days = 0;
  for (const s of spec.lifecycle) {
    if (s.days === null) return null;
    days += s.days;
  }
  return days;
}

/** The longest retention of any product a policy keeps; null = forever. */
export function longestRetention(policy: Policy): number | null {
  let longest = 0;
  for (const rule of policy.rules) {
    for (const spec of rule.keep) {
      const d = lifecycleDays(spec);
      if (d === null) return null;
      longest = Math.max(longest, d);
    }
  }
  return longest;
}

function tierPrice(facility: FacilityConfig, policy: Policy, tier: string): { price: number; minDays: number } {
  const t = facility.tiers[tier];
  if (!t) throw new SxError('config', `policy "${policy.name}" (${policy.file}) keeps data on tier "${tier}", which the facility does not have; expected one of ${Object.keys(facility.tiers).join(', ')}`);
  return { price: t.price_per_tb_year, minDays: t.min_duration_days };
}

/** Collects frames and their decisions into a plan; `finish` may be called once. */
class PlanBuilder {
  private readonly rows = new Map<string, PlanRow>();
  /** Rows print in policy order: rule, then its keep list, then lifecycle steps. */
  private readonly rowOrder = new Map<PlanRow, number[]>();
  private readonly rules = new Map<string, RuleCount>();
  private readonly lost: PlanLost = { hitsDropped: 0, hitsNotKeptRaw: 0, unindexedHitsNotKeptRaw: 0, indexedWithoutIntensities: 0, labelsOnly: 0 };
  private readonly used = new Set<ProductName>();
  /** What each keep spec of each rule keeps: priced whole by the ledger (copies put, reads at each move). */
  private readonly kept = new Map<KeepSpec, { bytes: number; frames: number; stepBytes: number[] }>();
  private frames = 0;
  private rawBytes = 0;
  private keptBytes = 0;
  private framesKept = 0;
  private gateTimedOut = 0;
  private unlabelled = 0;

  constructor(
    private readonly policy: Policy,
    private readonly experiment: ExperimentFacts,
    private readonly facility: FacilityConfig,
    private readonly estimates: ProductEstimates,
  ) {
    for (const r of policy.rules) this.rules.set(r.name, { rule: r.name, frames: 0, viaOverride: 0, viaGate: 0, keptBytes: 0 });
  }

  add(frame: FrameFacts, d: Decision): void {
    this.frames += 1;
    this.rawBytes += frame.rawBytes;
    let count = this.rules.get(d.rule);
    if (!count) this.rules.set(d.rule, (count = { rule: d.rule, frames: 0, viaOverride: 0, viaGate: 0, keptBytes: 0 }));
    count.frames += 1;
    if (d.via === 'override') count.viaOverride += 1;
    if (d.via === 'unlabelled') this.unlabelled += 1;
    if (d.via === 'gate-timeout') {
      count.viaGate += 1;
      this.gateTimedOut += 1;
    }
    const ruleIndex = this.policy.rules.findIndex((r) => r.name === d.rule);
    for (const [specIndex, spec] of d.keep.entries()) {
      // Kept in this form already: what its container takes, not an estimate.
      const measured = frame.kept?.find((k) => k.form === formKey(spec))?.bytes;
      const bytes = measured ?? estimateProductBytes(spec, frame, this.estimates);
      this.used.add(spec.product);
      const k = this.kept.get(spec) ?? { bytes: 0, frames: 0, stepBytes: spec.lifecycle.map(() => 0) };
      k.bytes += bytes;
      k.frames += 1;
      this.kept.set(spec, k);
      count.keptBytes += bytes;
      this.keptBytes += bytes;
      for (const [stepIndex, step] of spec.lifecycle.entries()) {
        // A step that reduces the data keeps it in its own form from then on.
        const form = formAt(spec.lifecycle, spec, stepIndex);
        const stepBytes = form === spec ? bytes : estimateProductBytes({ ...spec, ...form }, frame, this.estimates);
        if (form !== spec) this.used.add(form.product);
        k.stepBytes[stepIndex] += stepBytes;
        const key = `${formKey(form)}\0${d.rule}\0${step.tier}\0${step.days}`;
        let row = this.rows.get(key);
        if (!row) {
          const { minDays } = tierPrice(this.facility, this.policy, step.tier);
          row = {
            product: form.product, rule: d.rule, tier: step.tier, days: step.days, billedDays: step.days === null ? null : Math.max(step.days, minDays),
            frames: 0, bytes: 0, estimated: false, money: 0, perYear: 0, forever: step.days === null,
          };
          this.rows.set(key, row);
          this.rowOrder.set(row, [ruleIndex < 0 ? Infinity : ruleIndex, specIndex, stepIndex]);
        }
        row.frames += 1;
        row.bytes += stepBytes;
        if (form !== spec || measured === undefined) row.estimated ||= isEstimated(form.product);
      }
    }
    const products = new Set(d.keep.map((k) => k.product));
    if (products.size > 0) this.framesKept += 1;
    else this.lost.labelsOnly += 1;
    if (frame.hit === true) {
      if (products.size === 0) this.lost.hitsDropped += 1;
      if (!products.has('raw')) {
        this.lost.hitsNotKeptRaw += 1;
        if (frame.indexed === false) this.lost.unindexedHitsNotKeptRaw += 1;
      }
    }
    if (frame.indexed === true && !products.has('intensities')) this.lost.indexedWithoutIntensities += 1;
  }

  /** Per-object, retrieval and egress charges of every keep spec over its lifecycle, by the ledger's projection. */
  private copyAndReadCharges(prices: Map<string, TierPrice>): number {
    let micro = 0n;
    for (const [spec, k] of this.kept) {
      // From just before the copies exist, so the first step's puts count too.
      const p = projected([{ id: 0, bytes: Math.round(k.bytes), created: 0, lifecycle: spec.lifecycle, stepBytes: k.stepBytes.map(Math.round) }], prices, -1);
      const containers = BigInt(Math.ceil(k.frames / this.facility.containers.max_frames));
      for (const cost of p.tiers.values()) micro += cost.objects * containers + cost.retrieval + cost.egress;
    }
    return fromMicro(micro);
  }

  finish(): RetentionPlan {
    const prices = tierPrices(this.facility);
    // Money from summed bytes, so that a row's cost does not depend on the order frames came in.
    const order = (r: PlanRow) => this.rowOrder.get(r)!;
    const rows = [...this.rows.values()].sort((x, y) => {
      const [a, b] = [order(x), order(y)];
      return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
    });
    // The ledger's own storage term (exact micro-units, rounded down once per row), so a dry-run prices as reports do.
    for (const row of rows) {
      const { price } = tierPrice(this.facility, this.policy, row.tier);
      row.perYear = (row.bytes / TB) * price;
      row.money = row.billedDays === null ? 0 : fromMicro(storage(Math.round(row.bytes), row.billedDays * DAY_MS, prices.get(row.tier)!));
    }
    const charges = this.copyAndReadCharges(prices);
    const longestDays = longestRetention(this.policy);
    const hddTier = this.facility.tiers.hdd ? 'hdd' : this.facility.ingest.tier;
    const rawBytes = this.rawBytes / this.estimates.compressionRatio;
    const rawPerYear = (rawBytes / TB) * (this.facility.tiers[hddTier]?.price_per_tb_year ?? 0);
    const estimates: Partial<Record<ProductName, string>> = {};
    for (const p of ['raw', 'binned', 'peaks', 'quantized', 'intensities'] as const) if (this.used.has(p) || p === 'raw') estimates[p] = ESTIMATE_FORMULAS[p];
    return {
      policy: { name: this.policy.name, version: this.policy.version, contentHash: this.policy.contentHash, file: this.policy.file },
      experiment: this.experiment.name,
      currency: this.facility.currency,
      frames: this.frames,
      rawBytes: this.rawBytes,
      compressionRatio: this.estimates.compressionRatio,
      compressionRatioMeasured: this.estimates.compressionRatioMeasured,
      rows,
      rules: [...this.rules.values()],
      totals: {
        keptBytes: this.keptBytes,
        framesKept: this.framesKept,
        money: rows.reduce((s, r) => s + r.money, 0) + charges,
        copyAndReadCharges: charges,
        foreverPerYear: rows.filter((r) => r.forever).reduce((s, r) => s + r.perYear, 0),
        forever: rows.some((r) => r.forever),
        longestDays,
      },
      keepAllRaw: {
        tier: hddTier,
        bytes: rawBytes,
        days: longestDays,
        forever: longestDays === null,
        money: longestDays === null ? 0 : (rawPerYear * longestDays) / 365,
        perYear: rawPerYear,
      },
      lost: { ...this.lost },
      gateTimedOut: this.gateTimedOut,
      unlabelled: this.unlabelled,
      estimates,
    };
  }
}

/** Dry-run decisions have no frame times: a frame without indexing results counts as timed out. */
const DRY_RUN = { now: new Date(0) };

function decideNow(policy: Policy, experiment: ExperimentFacts, frame: FrameFacts): Decision {
  const d = decide(policy, experiment, frame, DRY_RUN);
  if (isPending(d)) throw new Error(`dry-run decision of frame ${frame.frameId} is pending: the engine waited without a frame time`);
  return d;
}

/**
 * What `policy` would keep of an experiment's frames: per product × rule × tier, frames, bytes
 * and money over the retention (bytes/1e12 × price_per_tb_year × days/365 per lifecycle step;
 * forever steps as money per year), totals, keeping everything raw on HDD for comparison, and
 * what would be lost. Pure: the same facts give the same plan.
 *
 * @example
 * const plan = planRetention(policy, experiment, frames, facility.config, { compressionRatio: 6, compressionRatioMeasured: false, intensitiesBytes: new Map() });
 * console.log(plan.totals.money, plan.lost.hitsDropped);
 */
export function planRetention(policy: Policy, experiment: ExperimentFacts, frames: Iterable<FrameFacts>, facility: FacilityConfig, estimates: ProductEstimates): RetentionPlan {
  checkApplies(policy, experiment);
  const builder = new PlanBuilder(policy, experiment, facility, estimates);
  for (const frame of frames) builder.add(frame, decideNow(policy, experiment, frame));
  return builder.finish();
}

/** Two plans side by side, per product and tier. */
export interface DiffSide {
  frames: number;
  bytes: number;
  /** Money over the finite lifecycle steps. */
  money: number;
  /** Money per year of the forever steps. */
  foreverPerYear: number;
}

export interface DiffRow {
  product: ProductName;
  tier: string;
  a: DiffSide;
  b: DiffSide;
  /** b − a */
  difference: DiffSide;
}

export interface RetentionDiff {
  experiment: string;
  currency: string;
  a: RetentionPlan;
  b: RetentionPlan;
  rows: DiffRow[];
  /** b − a of the totals and of the lost counts. */
  difference: { keptBytes: number; framesKept: number; money: number; foreverPerYear: number; lost: PlanLost };
  /** Frames whose rule or kept products differ, per (rule in A → rule in B). */
  changes: { from: string; to: string; frames: number }[];
  changedFrames: number;
  unchangedFrames: number;
}

function sumByProductTier(plan: RetentionPlan): Map<string, DiffSide> {
  const m = new Map<string, DiffSide>();
  for (const r of plan.rows) {
    const key = `${r.product}\0${r.tier}`;
    const v = m.get(key) ?? { frames: 0, bytes: 0, money: 0, foreverPerYear: 0 };
    v.frames += r.frames;
    v.bytes += r.bytes;
    v.money += r.money;
    if (r.forever) v.foreverPerYear += r.perYear;
    m.set(key, v);
  }
  return m;
}

/**
 * Dry-runs two policies over the same frames and compares them: per product × tier, totals,
 * lost counts, and how many frames move from each rule of A to each rule of B (counted when
 * the rule or what it keeps differs).
 *
 * @example
 * const d = diffRetention(a, b, experiment, frames, facility.config, estimates);
 * for (const c of d.changes) console.log(`${c.from} -> ${c.to}: ${c.frames}`);
 */
export function diffRetention(a: Policy, b: Policy, experiment: ExperimentFacts, frames: Iterable<FrameFacts>, facility: FacilityConfig, estimates: ProductEstimates): RetentionDiff {
  checkApplies(a, experiment);
  checkApplies(b, experiment);
  const builderA = new PlanBuilder(a, experiment, facility, estimates);
  const builderB = new PlanBuilder(b, experiment, facility, estimates);
  const keepKey = new Map<KeepSpec[], string>();
  const keyOf = (keep: KeepSpec[]) => {
    let k = keepKey.get(keep);
    if (k === undefined) keepKey.set(keep, (k = JSON.stringify(keep.map((s) => [s.product, s.codec, s.params, s.lifecycle]))));
    return k;
  };
  const changes = new Map<string, { from: string; to: string; frames: number }>();
  let changed = 0;
  let unchanged = 0;
  for (const frame of frames) {
    const da = decideNow(a, experiment, frame);
    const db = decideNow(b, experiment, frame);
    builderA.add(frame, da);
    builderB.add(frame, db);
    if (da.rule === db.rule && keyOf(da.keep) === keyOf(db.keep)) {
      unchanged += 1;
      continue;
    }
    changed += 1;
    const key = `${da.rule}\0${db.rule}`;
    const c = changes.get(key) ?? { from: da.rule, to: db.rule, frames: 0 };
    c.frames += 1;
    changes.set(key, c);
  }
  const planA = builderA.finish();
  const planB = builderB.finish();
  const sa = sumByProductTier(planA);
  const sb = sumByProductTier(planB);
  const zero: DiffSide = { frames: 0, bytes: 0, money: 0, foreverPerYear: 0 };
  const rows = [...new Set([...sa.keys(), ...sb.keys()])].sort().map((key): DiffRow => {
    const [product, tier] = key.split('\0') as [ProductName, string];
    const va = sa.get(key) ?? zero;
    const vb = sb.get(key) ?? zero;
    return {
      product, tier, a: va, b: vb,
      difference: { frames: vb.frames - va.frames, bytes: vb.bytes - va.bytes, money: vb.money - va.money, foreverPerYear: vb.foreverPerYear - va.foreverPerYear },
    };
  });
  const lost = Object.fromEntries(Object.keys(planA.lost).map((k) => [k, planB.lost[k as keyof PlanLost] - planA.lost[k as keyof PlanLost]])) as unknown as PlanLost;
  return {
    experiment: experiment.name,
    currency: facility.currency,
    a: planA,
    b: planB,
    rows,
    difference: {
      keptBytes: planB.totals.keptBytes - planA.totals.keptBytes,
      framesKept: planB.totals.framesKept - planA.totals.framesKept,
      money: planB.totals.money - planA.totals.money,
      foreverPerYear: planB.totals.foreverPerYear - planA.totals.foreverPerYear,
      lost,
    },
    changes: [...changes.values()].sort((x, y) => y.frames - x.frames || x.from.localeCompare(y.from) || x.to.localeCompare(y.to)),
    changedFrames: changed,
    unchangedFrames: unchanged,
  };
}
