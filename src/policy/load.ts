// Policy files to the normalized `Policy` model: YAML syntax, then the zod schema (schema.ts),
// then the semantic checks (check.ts); every problem of every stage is reported at once, each as
// `file:line:col: what was found; expected what`.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { formatProblems, readYamlSource, type YamlProblem } from '../config/yaml.ts';
import { SxError } from '../errors.ts';
import { readTextFile } from '../text-file.ts';
import { checkPolicy, durationDays, toConditions, type PolicyContext, type PolicyProblem } from './check.ts';
import { keepCodecSpec } from './keep-codecs.ts';
import {
  STEP_FORM_KEY,
  DEFAULT_CODEC_ID, DURATION_PATTERN, IMPLICIT_CODECS, META_FIELDS, POLICY_NAME_PATTERN,
  PRODUCT_PARAMS, TIMEOUT_PATTERN, WHEN_FIELDS, keepSchema, policySchema, ruleSchema, codecSchema, type KeepFile, type PolicyFile,
} from './schema.ts';
import { UNLABELLED_RULE, type KeepSpec, type Policy, type Rule } from './types.ts';

export type { PolicyContext } from './check.ts';

/** The outcome of validating one policy text: the policy when there are no errors, and every problem. */
export interface PolicyValidation {
  policy?: Policy;
  errors: YamlProblem[];
  warnings: YamlProblem[];
}

type Path = (string | number)[];

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function valueAt(raw: unknown, path: Path): { exists: boolean; value: unknown } {
  let node = raw;
  for (const key of path) {
    if (!(isMap(node) || Array.isArray(node)) || !Object.prototype.hasOwnProperty.call(node, key)) return { exists: false, value: undefined };
    node = (node as Record<string | number, unknown>)[key];
  }
  return { exists: true, value: node };
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (Array.isArray(v)) return v.length === 0 ? 'an empty list' : `a list of ${v.length}`;
  if (isMap(v)) {
    const keys = Object.keys(v);
    return keys.length === 0 ? 'an empty map' : `a map with ${keys.length === 1 ? 'key' : 'keys'} ${keys.slice(0, 5).join(', ')}${keys.length > 5 ? ', ...' : ''}`;
  }
  return String(v);
}

const TYPE_NAMES: Record<string, string> = {
  object: 'a map', record: 'a map', array: 'a list', string: 'a string', number: 'a number', int: 'an integer', boolean: 'true or false',
};

const DURATION_TEXT = 'a duration: <n>h, <n>d, <n>w, <n>y (365 days) or forever, like 14d';
const TIMEOUT_TEXT = 'a timeout: <n>s, <n>m or <n>h, like 120s';

function expectation(issue: z.core.$ZodIssue, path: Path): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.expected === 'string' && path.at(-3) === 'lifecycle') return DURATION_TEXT;
      if (issue.expected === 'string' && path.at(-1) === 'timeout') return TIMEOUT_TEXT;
      return TYPE_NAMES[issue.expected] ?? issue.expected;
    case 'invalid_value': return issue.values.length === 1 ? String(issue.values[0]) : `one of ${issue.values.join(', ')}`;
    case 'invalid_format': {
      const pattern = 'pattern' in issue ? String(issue.pattern) : '';
      if (pattern === String(DURATION_PATTERN)) return DURATION_TEXT;
      if (pattern === String(TIMEOUT_PATTERN)) return TIMEOUT_TEXT;
      if (pattern === String(POLICY_NAME_PATTERN)) return 'a name of lower-case letters, digits and -, like p11-default';
      return `a string matching ${pattern}`;
    }
    case 'too_small':
    case 'too_big': {
      const word = issue.code === 'too_small' ? (issue.inclusive ? '>=' : '>') : issue.inclusive ? '<=' : '<';
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      if (issue.origin === 'array') return issue.code === 'too_small' ? `at least ${bound} ${bound === 1 ? 'entry' : 'entries'}` : `at most ${bound} entries`;
      if (issue.origin === 'string') return 'a non-empty string';
      return `a number ${word} ${bound}`;
    }
    case 'not_multiple_of': return `a multiple of ${String(issue.divisor)}`;
    case 'custom':
      if (issue.message === 'one tier per step') return 'exactly one { tier: duration } per step, like [ssd: 14d, tape: 10y]';
      if (issue.message === 'empty range') return 'at least one bound: gte, gt, lte or lt';
      return issue.message;
    case 'invalid_union':
      if ('options' in issue && Array.isArray(issue.options)) return `one of ${issue.options.join(', ')}`;
      return issue.errors.map((branch) => (branch[0] ? expectation(branch[0], path) : 'something else')).join(' or ');
    default: return issue.message;
  }
}

const pathText = (path: Path) => (path.length > 0 ? `${path.join('.')}: ` : '');
const RANGE_KEYS = ['gte', 'gt', 'lte', 'lt'];
const CODEC_KEYS: Record<string, string[]> = Object.fromEntries(
  codecSchema.options[1].options.map((o) => [o.shape.id.value, Object.keys(o.shape)]),
);
const PRODUCT_KEYS: Record<string, string[]> = Object.fromEntries(keepSchema.options.map((o) => [o.shape.product.value, Object.keys(o.shape)]));

/** Keys allowed in the map at `path` (numbers stand for any index), for "expected one of" in messages. */
function knownKeys(path: Path, raw: unknown): string[] | undefined {
  const shape = path.map((p) => (typeof p === 'number' ? '*' : p)).join('.');
  const here = valueAt(raw, path).value;
  if (shape === '') return Object.keys(policySchema.shape);
  if (shape === 'applies_to') return [...META_FIELDS];
  if (shape === 'rules.*') return Object.keys(ruleSchema.shape);
  if (shape.endsWith('.when')) return [...WHEN_FIELDS];
  if (/\.when\.(n_peaks|n_crystals|resolution)$/.test(shape)) return RANGE_KEYS;
  if (shape === 'rules.*.sample') return ['fraction'];
  if (shape === 'rules.*.keep.*' && isMap(here)) return PRODUCT_KEYS[String(here.product)];
  if (shape.endsWith('.codec') && isMap(here)) return CODEC_KEYS[String(here.id)];
  if (shape === 'gate') return ['results', 'timeout', 'on_timeout'];
  if (shape === 'overrides.*') return ['when', 'rule'];
  return undefined;
}

function unknownKeyMessage(path: Path, key: string, raw: unknown): string {
  const here = valueAt(raw, path).value;
  const keys = knownKeys(path, raw);
  const product = isMap(here) && path.at(-2) === 'keep' ? String(here.product) : undefined;
  if (product && PRODUCT_PARAMS[key] && PRODUCT_PARAMS[key] !== product) {
    return `found ${key}, a parameter of ${PRODUCT_PARAMS[key]}, on product ${product}; expected only ${product}'s keys: ${keys?.join(', ')}`;
  }
  if (product && key === 'codec' && product in IMPLICIT_CODECS) {
    return `found a codec on product ${product}, whose encoding is fixed (${IMPLICIT_CODECS[product as 'peaks']}); expected no codec key`;
  }
  if (path.at(-1) === 'when') return `found unknown condition "${key}"; expected one of ${keys?.join(', ')}`;
  return `found unknown key "${key}"; expected ${keys ? `one of ${keys.join(', ')}` : 'no other keys'}`;
}

/** zod issues to problems at paths; unions report the branch that fits the value's type. */
function issueProblems(issue: z.core.$ZodIssue, prefix: Path, raw: unknown, out: PolicyProblem[]): void {
  const path = [...prefix, ...(issue.path as Path)];
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    // A branch that rejected the value as a whole (its type, or its value) fits worse than one
    // that looked inside; of the former, a type match with a wrong value fits better.
    const whole = (branch: z.core.$ZodIssue[], codes: string[]) => branch.every((i) => i.path.length === 0 && codes.includes(i.code));
    const fitting = issue.errors.find((b) => !whole(b, ['invalid_type', 'invalid_value'])) ?? issue.errors.find((b) => !whole(b, ['invalid_type']));
    if (fitting) {
      for (const inner of fitting) issueProblems(inner, path, raw, out);
      return;
    }
  }
  if (issue.code === 'unrecognized_keys') {
    for (const key of issue.keys) out.push({ path: [...path, key], at: 'key', message: `${pathText(path)}${unknownKeyMessage(path, key, raw)}` });
    return;
  }
  const { exists, value } = valueAt(raw, path);
  // zod refines a range even when it had unknown keys: those are the problem, reported already.
  if (issue.code === 'custom' && issue.message === 'empty range' && isMap(value) && Object.keys(value).length > 0) return;
  const expected = expectation(issue, path);
  if (!exists) {
    out.push({ path, message: `${pathText(path.slice(0, -1))}missing key "${String(path.at(-1))}"; expected ${expected}` });
    return;
  }
  const note = path.at(-1) === 'product' && value === 'labels' ? ' (labels are always kept: leave them out)' : '';
  out.push({ path, message: `${pathText(path)}found ${describeValue(value)}; expected ${expected}${note}` });
}

function toKeepSpec(keep: KeepFile): KeepSpec {
  const lifecycle = keep.lifecycle.map((step) => {
    const [tier, duration] = Object.entries(step).find(([key]) => key !== STEP_FORM_KEY) as [string, string];
    const form = step[STEP_FORM_KEY];
    return { tier, days: durationDays(duration), ...(form ? { as: keepCodecSpec(form) } : {}) };
  });
  return { ...keepCodecSpec(keep), lifecycle };
}

const TIMEOUT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/**
 * When in doubt, keep: a frame without labels is kept raw (lossless, the default codec) forever
 * on the tier frames arrive on, unless the policy names its own rule for such frames.
 */
function builtInUnlabelledRule(facility: PolicyContext['facility']): Rule {
  const tier = facility.ingest?.tier ?? Object.entries(facility.tiers).find(([, t]) => t.kind === 'filesystem')?.[0] ?? Object.keys(facility.tiers)[0];
  return { name: UNLABELLED_RULE, when: [], keep: [{ product: 'raw', codec: { id: DEFAULT_CODEC_ID }, params: {}, lifecycle: [{ tier, days: null }] }], line: 0 };
}

function toPolicy(data: PolicyFile, text: string, file: string, lineOf: (path: Path) => number, context: PolicyContext): Policy {
  const rules: Rule[] = data.rules.map((rule, i) => ({
    name: rule.name,
    when: toConditions(rule.when),
    ...(rule.sample ? { sample: { fraction: rule.sample.fraction } } : {}),
    keep: rule.keep.map(toKeepSpec),
    line: lineOf(['rules', i]),
  }));
  const policy: Policy = {
    name: data.policy,
    version: data.version,
    description: data.description ?? '',
    appliesTo: toConditions(data.applies_to),
    seed: data.seed ?? 0,
    rules,
    overrides: (data.overrides ?? []).map((o) => ({ when: toConditions(o.when), rule: o.rule })),
    unlabelled: rules.find((r) => r.name === data.unlabelled) ?? builtInUnlabelledRule(context.facility),
    contentHash: createHash('sha256').update(text, 'utf8').digest('hex'),
    text,
    file,
  };
  if (data.gate) {
    const t = data.gate.timeout;
    policy.gate = { results: data.gate.results, timeoutSeconds: Number(t.slice(0, -1)) * TIMEOUT_SECONDS[t.slice(-1)], onTimeout: data.gate.on_timeout };
  }
  return policy;
}

/** One problem, one line: control characters from the file are shown escaped. */
const oneLine = (message: string) => message.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

const byPosition = (a: YamlProblem, b: YamlProblem) => a.line - b.line || a.col - b.col;

/**
 * Validates a policy text and, when it has no errors, normalizes it. Never throws for a bad
 * policy: every problem is in `errors` (warnings never stop a policy).
 *
 * @example
 * const { policy, errors, warnings } = validatePolicy(text, 'p11.yaml', { facility: facility.config });
 * for (const p of errors) console.log(`p11.yaml:${p.line}:${p.col}: ${p.message}`);
 */
export function validatePolicy(text: string, file: string, context: PolicyContext): PolicyValidation {
  const src = readYamlSource(text);
  if (src.syntaxProblems.length > 0) return { errors: src.syntaxProblems.map((p) => ({ ...p, message: oneLine(p.message) })).sort(byPosition), warnings: [] };
  if (src.doc.contents === null) return { errors: [{ line: 1, col: 1, message: 'found an empty file; expected a policy (policy, version, rules, ...)' }], warnings: [] };
  let raw: unknown;
  try {
    raw = src.doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    return { errors: [{ line: 1, col: 1, message: `found YAML that cannot be read (${(err as Error).message}); expected plain YAML data` }], warnings: [] };
  }
  const place = (p: PolicyProblem): YamlProblem => ({ ...src.locate(p.path, p.at), message: oneLine(p.message) });
  // Semantic problems get the same `path: ` prefix as schema problems (a key's problem: its map's path).
  const prefixed = (p: PolicyProblem): PolicyProblem => ({ ...p, message: `${pathText(p.at === 'key' ? p.path.slice(0, -1) : p.path)}${p.message}` });
  const lineOf = (path: Path) => src.locate(path).line;
  const problems: PolicyProblem[] = [];
  const parsed = policySchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) for (const issue of parsed.error.issues) issueProblems(issue, [], raw, problems);
  const checked = checkPolicy(raw, context, lineOf);
  const seen = new Set<string>();
  const errors = [...problems, ...checked.errors.map(prefixed)].map(place).sort(byPosition).filter((p) => {
    const key = `${p.line}:${p.col}:${p.message}`;
    return !seen.has(key) && seen.add(key) !== undefined;
  });
  const warnings = checked.warnings.map(prefixed).map(place).sort(byPosition);
  if (errors.length > 0 || !parsed.success) return { errors, warnings };
  return { policy: toPolicy(parsed.data, text, file, lineOf, context), errors, warnings };
}

/**
 * Parses and validates a policy text against the facility's tiers, throwing an `SxError`
 * ('config') whose message lists every problem as `file:line:col: message`, one per line.
 *
 * @example
 * const policy = parsePolicy(readPolicyText(f), f, { facility: loadFacility(dir).config });
 * policy.rules[0].keep[0].lifecycle; // [{ tier: 'ssd', days: 14 }, { tier: 'tape', days: 3650 }]
 */
export function parsePolicy(text: string, file: string, context: PolicyContext): Policy {
  const result = validatePolicy(text, file, context);
  if (!result.policy) throw new SxError('config', formatProblems(file, result.errors));
  return result.policy;
}

/**
 * Reads the file's text, failing with an `SxError` ('usage') that says why when it cannot:
 * missing, a directory, or larger than MAX_TEXT_FILE_BYTES (a policy is a few kB; a bigger file
 * is the wrong one, and parsing it whole would exhaust memory).
 *
 * @example
 * const text = readPolicyText('policies/hits-only.yaml');
 */
export function readPolicyText(file: string): string {
  return readTextFile(file, { expected: 'a policy file (YAML)', tag: 'usage', missing: (f) => `no policy file ${f}` });
}

/**
 * Reads and parses a policy file (see `parsePolicy`) for a facility's tiers.
 *
 * @example
 * const policy = loadPolicy('policies/p11-default.yaml', loadFacility('sxarchive-data').config);
 */
export function loadPolicy(file: string, facility: PolicyContext['facility']): Policy {
  return parsePolicy(readPolicyText(file), file, { facility });
}

export const POLICIES_DIR = fileURLToPath(new URL('../../policies/', import.meta.url));

/** A shipped policy by name (`hits-only`), or a policy file. */
export function resolvePolicyFile(nameOrFile: string): string {
  const shipped = join(POLICIES_DIR, `${nameOrFile}.yaml`);
  if (/^[a-z0-9-]+$/.test(nameOrFile) && existsSync(shipped)) return shipped;
  return resolve(nameOrFile);
}
