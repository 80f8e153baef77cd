// The structure of a policy file, as zod sees it: keys, types, value ranges and formats. What
// depends on the facility (tier names, minimum durations) or on several places of the file at
// once (rule names, shadowed rules) is checked afterwards in check.ts, on the same raw data.
// policies/policy.schema.json is generated from this file (see json-schema.ts).
import { z } from 'zod';
import { BIN_FACTOR_SCHEMA } from '../../codecs/binned.ts';
import { DEFAULT_PEAK_BOX, PEAK_BOX_SCHEMA } from '../../codecs/peaks.ts';
import { DEFAULT_QUANTIZE_STEP, QUANTIZE_STEP_SCHEMA } from '../../codecs/quantized.ts';
import { CONTAINER_CODECS, CONTAINER_CODEC_IDS, DEFAULT_CONTAINER_CODEC, type ContainerCodecId } from '../../codecs/registry.ts';

/** `<n>h`, `<n>d`, `<n>w`, `<n>y` (365 days) or `forever`. */
export const DURATION_PATTERN = /^(?:[1-9][0-9]*[hdwy]|forever)$/;
/** Gate timeouts: `<n>s`, `<n>m` or `<n>h`. */
export const TIMEOUT_PATTERN = /^[1-9][0-9]*[smh]$/;
export const POLICY_NAME_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

export const PRODUCTS = ['raw', 'binned', 'peaks', 'quantized', 'intensities'] as const;
/**
 * Codecs a policy may name for raw, binned and quantized data (the codec registry's container
 * codecs, with the options their HDF5 filters honour); peaks and intensities have their own.
 */
export const CODEC_IDS = CONTAINER_CODEC_IDS;
export const DEFAULT_CODEC_ID = DEFAULT_CONTAINER_CODEC;
/** The codecs of the products whose encoding is part of the product itself (no `codec` key allowed). */
export const IMPLICIT_CODECS: Partial<Record<(typeof PRODUCTS)[number], string>> = { peaks: 'peaks', intensities: 'intensities' };
/** Product parameters, and the product each belongs to (for "wrong product" messages). */
export const PRODUCT_PARAMS: Record<string, (typeof PRODUCTS)[number]> = { factor: 'binned', box: 'peaks', step: 'quantized' };
/** The reductions' defaults, from their codecs. */
export const DEFAULT_PEAKS_BOX = DEFAULT_PEAK_BOX;
export const DEFAULT_QUANTIZED_STEP = DEFAULT_QUANTIZE_STEP;

export const BOOL_FIELDS = ['hit', 'indexed'] as const;
export const RANGE_FIELDS = ['n_peaks', 'n_crystals', 'resolution'] as const;
export const META_FIELDS = ['facility', 'proposal', 'sample_tag'] as const;
export const WHEN_FIELDS = [...BOOL_FIELDS, ...RANGE_FIELDS, ...META_FIELDS] as const;

const duration = z.string().regex(DURATION_PATTERN).meta({ description: 'a duration: <n>h, <n>d, <n>w, <n>y (365 days) or forever' });

const strings = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .meta({ description: 'one value, or a list of values of which any may match' });

const range = z
  .union([
    z.number(),
    z.strictObject({ gte: z.number().optional(), gt: z.number().optional(), lte: z.number().optional(), lt: z.number().optional() })
      .refine((r) => Object.keys(r).length > 0, { message: 'empty range' })
      .meta({ minProperties: 1 }),
  ])
  .meta({ description: 'an exact number, or bounds { gte, gt, lte, lt }' });

export const whenSchema = z
  .strictObject({
    hit: z.boolean().optional(),
    indexed: z.boolean().optional(),
    n_peaks: range.optional(),
    n_crystals: range.optional(),
    resolution: range.optional().meta({ description: 'resolution estimate in Å' }),
    facility: strings.optional(),
    proposal: strings.optional(),
    sample_tag: strings.optional(),
  })
  .meta({ description: 'conditions that must all hold; absent labels (not yet known) never match' });

/** Forms raw data can be reduced to as it ages (a lifecycle step's `as`). */
export const formSchema = z.discriminatedUnion('product', [
  z.strictObject({ product: z.literal('raw'), codec: z.lazy(() => codecSchema).optional() }),
  z.strictObject({ product: z.literal('binned'), factor: BIN_FACTOR_SCHEMA, codec: z.lazy(() => codecSchema).optional() }),
  z.strictObject({ product: z.literal('peaks'), box: PEAK_BOX_SCHEMA.optional() }),
  z.strictObject({ product: z.literal('quantized'), step: QUANTIZE_STEP_SCHEMA.optional(), codec: z.lazy(() => codecSchema).optional() }),
]).meta({ description: 'the form raw data takes from this step on: { product: binned, factor: 2 }, peaks, quantized, or raw in another codec' });

/** The key of a step that is not a tier. */
export const STEP_FORM_KEY = 'as';

const lifecycleStep = z
  .object({ [STEP_FORM_KEY]: formSchema.optional() })
  .catchall(duration)
  .refine((step) => Object.keys(step).filter((k) => k !== STEP_FORM_KEY).length === 1, { message: 'one tier per step' })
  .meta({ description: 'one step: { <tier>: <duration> }, optionally with as: <form> (the data is reduced to it when the step begins)', minProperties: 1, maxProperties: 2 });

const lifecycle = z.array(lifecycleStep).min(1).meta({ description: 'tiers in order, each for a duration; forever only last' });

/** `{ id: <codec>, <option>?: ... }` for one container codec, from the options its filter honours. */
function codecObject(id: ContainerCodecId) {
  const options = Object.entries(CONTAINER_CODECS[id].options).map(([key, spec]) => [key, spec.schema.optional()] as const);
  return z.strictObject({ id: z.literal(id), ...Object.fromEntries(options) });
}

export const codecSchema = z.union([
  z.enum(CODEC_IDS as [ContainerCodecId, ...ContainerCodecId[]]),
  z.discriminatedUnion('id', CODEC_IDS.map(codecObject) as [ReturnType<typeof codecObject>, ...ReturnType<typeof codecObject>[]]),
]).meta({ description: `a codec id, or { id, <params> }; default ${DEFAULT_CODEC_ID}` });

const keepBase = { lifecycle };

export const keepSchema = z.discriminatedUnion('product', [
  z.strictObject({ product: z.literal('raw'), codec: codecSchema.optional(), ...keepBase }),
  z.strictObject({ product: z.literal('binned'), factor: BIN_FACTOR_SCHEMA, codec: codecSchema.optional(), ...keepBase }),
  z.strictObject({ product: z.literal('peaks'), box: PEAK_BOX_SCHEMA.optional(), ...keepBase }),
  z.strictObject({ product: z.literal('quantized'), step: QUANTIZE_STEP_SCHEMA.optional(), codec: codecSchema.optional(), ...keepBase }),
  z.strictObject({ product: z.literal('intensities'), ...keepBase }),
]);

export const ruleSchema = z.strictObject({
  name: z.string().regex(POLICY_NAME_PATTERN),
  when: whenSchema.optional(),
  sample: z.strictObject({ fraction: z.number().gt(0).lte(1) }).optional()
    .meta({ description: 'keep only this fraction of matching frames (deterministic); the others fall through to later rules' }),
  keep: z.array(keepSchema).meta({ description: 'products to keep; [] keeps labels only (labels are always kept)' }),
});

export const policySchema = z
  .strictObject({
    policy: z.string().regex(POLICY_NAME_PATTERN).meta({ description: 'policy name: lower-case letters, digits and -' }),
    version: z.number().int().min(1),
    description: z.string().optional(),
    applies_to: z.strictObject({ facility: strings.optional(), proposal: strings.optional(), sample_tag: strings.optional() }).optional()
      .meta({ description: 'experiments the policy is for' }),
    seed: z.number().int().min(0).optional().meta({ description: 'seed of the deterministic sampling (default 0)' }),
    rules: z.array(ruleSchema).min(1).meta({ description: 'first match wins' }),
    gate: z.strictObject({
      results: z.literal('indexing'),
      timeout: z.string().regex(TIMEOUT_PATTERN).meta({ description: '<n>s, <n>m or <n>h' }),
      on_timeout: z.string().meta({ description: 'rule applied when the results do not arrive in time' }),
    }).optional().meta({ description: 'frames wait for their indexing results, at most timeout' }),
    overrides: z.array(z.strictObject({ when: whenSchema, rule: z.string() })).optional()
      .meta({ description: 'checked before the rules: the first matching override names the rule to apply' }),
    unlabelled: z.string().optional()
      .meta({ description: 'rule for frames the processing core could not label (no geometry, or labelling failed); default: the built-in (unlabelled) rule, which keeps them raw on the ingest tier forever' }),
  })
  .meta({ title: 'sxarchive retention policy' });

export type PolicyFile = z.output<typeof policySchema>;
export type RuleFile = z.output<typeof ruleSchema>;
export type KeepFile = z.output<typeof keepSchema>;
export type FormFile = z.output<typeof formSchema>;
export type WhenFile = z.output<typeof whenSchema>;
