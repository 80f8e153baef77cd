// The policy model after parsing and validation (src/policy/load.ts), which the engine
// (src/policy/engine.ts) evaluates. Declarative only: nothing in a policy executes.

/** Frame labels a rule can test; absent labels (not yet known) are `null`. */
export interface FrameFacts {
  frameId: number;
  /** Stable identity for sampling: experiment name, source file and event. */
  experiment: string;
  source: string;
  event: string;
  hit: boolean | null;
  nPeaks: number | null;
  indexed: boolean | null;
  nCrystals: number | null;
  /** Å */
  resolution: number | null;
  rawBytes: number;
  width: number;
  height: number;
  pixelType: string;
  /** The frame's share of each container that holds it now, by form (`formKey`): what it takes kept as it is. */
  kept?: readonly { form: string; bytes: number }[];
}

/** Experiment metadata a policy can test (`applies_to`, rule conditions, overrides). */
export interface ExperimentFacts {
  name: string;
  facility: string | null;
  proposal: string | null;
  sampleTags: string[];
}

export type LabelField = 'hit' | 'indexed' | 'n_peaks' | 'n_crystals' | 'resolution';
export type MetaField = 'facility' | 'proposal' | 'sample_tag';

/** One test of a `when` map; a rule matches when all of its conditions hold. */
export type Condition =
  | { kind: 'bool'; field: 'hit' | 'indexed'; value: boolean }
  /** Inclusive/exclusive bounds, from YAML `{ gte, gt, lte, lt }` or a bare number (= exact). */
  | { kind: 'range'; field: 'n_peaks' | 'n_crystals' | 'resolution'; gte?: number; gt?: number; lte?: number; lt?: number }
  /** Any of the values (a YAML string or list of strings). */
  | { kind: 'meta'; field: MetaField; anyOf: string[] };

export type ProductName = 'raw' | 'binned' | 'peaks' | 'quantized' | 'intensities';

/** A span on one tier; `days: null` means forever (only last in a lifecycle). */
export interface LifecycleStep {
  tier: string;
  days: number | null;
  /** From this step on the data is kept in this form instead (raw reduced with age: binned, peaks, quantized, another codec). */
  as?: ProductForm;
}

/** What a kept product is: the product, its codec config and its parameters (a keep spec without its lifecycle). */
export interface ProductForm {
  product: ProductName;
  codec: { id: string; [key: string]: unknown };
  params: Record<string, number>;
}

export interface KeepSpec {
  product: ProductName;
  /** Codec config as the codec registry takes it, e.g. `{ id: 'bitshuffle-lz4' }`; product defaults apply when absent. */
  codec: { id: string; [key: string]: unknown };
  /** Product parameters: binned `factor` (2|3|4), peaks `box` (half-width in px), quantized `step`. */
  params: Record<string, number>;
  lifecycle: LifecycleStep[];
}

export interface Rule {
  name: string;
  when: Condition[];
  /** Keep only this fraction of matching frames, chosen by hash(experiment, source, event, seed); others fall through. */
  sample?: { fraction: number };
  keep: KeepSpec[];
  /** Where the rule starts in the policy file, for messages. */
  line: number;
}

export interface Gate {
  /** The results the gated rules wait for. */
  results: 'indexing';
  timeoutSeconds: number;
  /** Rule applied to a frame whose results did not arrive in time. */
  onTimeout: string;
}

export interface Override {
  when: Condition[];
  /** Name of the rule to apply instead (a rule of this policy). */
  rule: string;
}

export interface Policy {
  name: string;
  version: number;
  description: string;
  appliesTo: Condition[];
  seed: number;
  rules: Rule[];
  gate?: Gate;
  overrides: Override[];
  /**
   * The rule for frames the processing core could not label: the one the file names with
   * `unlabelled`, else the built-in UNLABELLED_RULE (raw, kept forever on the ingest tier).
   */
  unlabelled: Rule;
  /** SHA-256 of the file's text: decisions record it; a policy in use never changes under it. */
  contentHash: string;
  text: string;
  file: string;
}

/** How a decision came about: a rule's conditions, an override, the gate's timeout, missing labels, or no rule. */
export type DecisionVia = 'rule' | 'override' | 'gate-timeout' | 'unlabelled' | 'none';

/** One frame's decision: which rule, and what is kept where. An empty `keep` keeps labels only. */
export interface Decision {
  frameId: number;
  rule: string;
  via: DecisionVia;
  /** Why: the rule's conditions as they held for this frame, the sample draw, an override or the gate. */
  reason: string;
  keep: KeepSpec[];
}

/** Name of the built-in rule for frames without labels, when a policy names none. */
export const UNLABELLED_RULE = '(unlabelled)';
