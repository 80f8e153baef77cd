// The structure of a policy file, as zod sees it: keys, types, value ranges and formats. What
// depends on the facility (tier names, minimum durations) or on several places of the file at
// once (rule names, shadowed rules) is checked afterwards in check.ts, on the same raw data.
// policies/policy.schema.json is generated from this file (see json-schema.ts).
import { z } from 'zod';

/** `<n>h`, `<n>d`, `<n>w`, `<n>y` (365 days) or `forever`. */
export const DURATION_PATTERN = /^(?:[1-9][0-9]*[hdwy]|forever)$/;
/** Gate timeouts: `<n>s`, `<n>m` or `<n>h`. */
export const TIMEOUT_PATTERN = /^[1-9][0-9]*[smh]$/;
export const POLICY_NAME_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

export const PRODUCTS = ['raw', 'binned', 'peaks', 'quantized', 'intensities'] as const;
/** Codecs a policy may name for raw, binned and quantized data; peaks and intensities have their own. */
export const CODEC_IDS = ['bitshuffle-lz4', 'zstd', 'blosc', 'none'] as const;
export const DEFAULT_CODEC_ID = 'bitshuffle-lz4';
/** The codecs of the products whose encoding is part of the product itself (no `codec` key allowed). */
export const IMPLICIT_CODECS: Partial<Record<(typeof PRODUCTS)[number], string>> = { peaks: 'peaks', intensities: 'intensities' };
/** Product parameters, and the product each belongs to (for "wrong product" messages). */
export const PRODUCT_PARAMS: Record<string, (typeof PRODUCTS)[number]> = { factor: 'binned', box: 'peaks', step: 'quantized' };
export const DEFAULT_PEAKS_BOX = 3;
export const DEFAULT_QUANTIZED_STEP = 1.0;
export const BLOSC_CNAMES = ['blosclz', 'lz4', 'lz4hc', 'zlib', 'zstd'] as const;

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

const lifecycleStep = z
  .record(z.string(), duration)
  .refine((step) => Object.keys(step).length === 1, { message: 'one tier per step' })
  .meta({ description: 'one step: { <tier>: <duration> }', minProperties: 1, maxProperties: 1 });

const lifecycle = z.array(lifecycleStep).min(1).meta({ description: 'tiers in order, each for a duration; forever only last' });

export const codecSchema = z.union([
  z.enum(CODEC_IDS),
  z.discriminatedUnion('id', [
    z.strictObject({ id: z.literal('bitshuffle-lz4') }),
    z.strictObject({ id: z.literal('zstd'), level: z.number().int().min(1).max(22).optional() }),
    z.strictObject({
      id: z.literal('blosc'),
      cname: z.enum(BLOSC_CNAMES).optional(),
      clevel: z.number().int().min(0).max(9).optional(),
      shuffle: z.literal([0, 1, 2]).optional().meta({ description: '0 none, 1 byte, 2 bit (numcodecs)' }),
    }),
    z.strictObject({ id: z.literal('none') }),
  ]),
]).meta({ description: `a codec id, or { id, <params> }; default ${DEFAULT_CODEC_ID}` });

const keepBase = { lifecycle };

export const keepSchema = z.discriminatedUnion('product', [
  z.strictObject({ product: z.literal('raw'), codec: codecSchema.optional(), ...keepBase }),
  z.strictObject({ product: z.literal('binned'), factor: z.literal([2, 3, 4]).meta({ description: 'N for NxN binning' }), codec: codecSchema.optional(), ...keepBase }),
  z.strictObject({
    product: z.literal('peaks'),
    box: z.number().int().min(1).max(64).optional().meta({ description: `half-width of the box around each peak, px (default ${DEFAULT_PEAKS_BOX})` }),
    ...keepBase,
  }),
  z.strictObject({
    product: z.literal('quantized'),
    step: z.number().gt(0).lte(2).optional().meta({ description: `quantization step in units of the Poisson sigma (default ${DEFAULT_QUANTIZED_STEP}); error <= step*sqrt(x)/2` }),
    codec: codecSchema.optional(),
    ...keepBase,
  }),
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
  })
  .meta({ title: 'sxarchive retention policy' });

export type PolicyFile = z.output<typeof policySchema>;
export type RuleFile = z.output<typeof ruleSchema>;
export type KeepFile = z.output<typeof keepSchema>;
export type WhenFile = z.output<typeof whenSchema>;
