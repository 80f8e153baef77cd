import { LineCounter, parseDocument, isAlias, isMap, isNode, isScalar, isSeq, type Document } from 'yaml';
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

/** A path into a YAML document: map keys and sequence indices, as zod reports them. */
export type YamlPath = readonly PropertyKey[];

/** A parsed YAML text that can say where any of its keys or values is, for messages. */
export interface YamlSource {
  doc: Document;
  /** Syntax errors (each located); when there are any, the document's data is not to be trusted. */
  syntaxProblems: YamlProblem[];
  /**
   * Line and column of the node at `path`: its value, or with `at: 'key'` the key naming it. A
   * path that does not exist (a missing key) is located at the deepest node that does.
   */
  locate(path: YamlPath, at?: 'key' | 'value'): { line: number; col: number };
}

/**
 * Parses YAML text (duplicate keys are errors) without validating it; see `parseYaml` for the
 * one-step parse-and-validate of simple config files.
 *
 * @example
 * const src = readYamlSource('a:\n  b: 1\n');
 * src.locate(['a', 'b']); // { line: 2, col: 6 }
 */
export function readYamlSource(text: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => lineCounter.linePos(offset);
  const syntaxProblems = doc.errors.map((e) => ({ ...at(e.pos[0]), message: e.message.split('\n')[0] }));
  const locate = (path: YamlPath, where: 'key' | 'value' = 'value') => {
    let node: unknown = doc.contents;
    let offset = isNode(node) && node.range ? node.range[0] : 0;
    for (let i = 0; i < path.length; i++) {
      if (isAlias(node)) node = node.resolve(doc);
      let next: unknown;
      let keyNode: unknown;
      if (isMap(node)) {
        const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(path[i]));
        if (!pair) break;
        keyNode = pair.key;
        next = pair.value;
      } else if (isSeq(node) && typeof path[i] === 'number') {
        next = node.items[path[i] as number];
      } else break;
      const last = i === path.length - 1;
      const target = last && where === 'key' && isNode(keyNode) ? keyNode : isNode(next) ? next : keyNode;
      if (!isNode(target) || !target.range) break;
      offset = target.range[0];
      if (target !== next) break;
      node = next;
    }
    return at(offset);
  };
  return { doc, syntaxProblems, locate };
}
