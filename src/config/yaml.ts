import { LineCounter, parseDocument, isNode } from 'yaml';
import type { z } from 'zod';
import { SxError, type SxErrorTag } from '../errors.ts';

/** One problem in a YAML file, located for a human: `file:line:col: message`. */
export interface YamlProblem {
  line: number;
  col: number;
  message: string;
}

export function formatProblems(file: string, problems: YamlProblem[]): string {
  return problems.map((p) => `${file}:${p.line}:${p.col}: ${p.message}`).join('\n');
}

function describe(issue: z.core.$ZodIssue): string {
  const key = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return `${key}${issue.message}`;
}

/**
 * Parses YAML and validates it with a zod schema, reporting every problem (syntax or schema)
 * with the line and column of the offending node.
 */
export function parseYaml<S extends z.ZodType>(text: string, file: string, schema: S, tag: SxErrorTag): z.output<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const at = (offset: number) => lineCounter.linePos(offset);
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => ({ ...at(e.pos[0]), message: e.message.split('\n')[0] }));
    throw new SxError(tag, formatProblems(file, problems));
  }
  const result = schema.safeParse(doc.toJS());
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    // Point at the deepest node that exists: a missing key is reported at its parent map.
    let node: unknown;
    for (let n = issue.path.length; n >= 0 && !isNode(node); n--) {
      node = n === 0 ? doc.contents : doc.getIn(issue.path.slice(0, n) as PropertyKey[], true);
    }
    const offset = isNode(node) && node.range ? node.range[0] : 0;
    return { ...at(offset), message: describe(issue) };
  });
  throw new SxError(tag, formatProblems(file, problems));
}
