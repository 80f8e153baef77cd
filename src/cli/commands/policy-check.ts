import { loadFacility } from '../../config/facility.ts';
import { SxError } from '../../errors.ts';
import { readPolicyText, validatePolicy } from '../../policy/load.ts';
import { printJson } from '../format.ts';
import type { GlobalOptions } from '../context.ts';

export interface PolicyCheckReport {
  file: string;
  ok: boolean;
  rules: number;
  errors: { line: number; col: number; message: string }[];
  warnings: { line: number; col: number; message: string }[];
}

/**
 * `sxarchive policy check FILE...`: every problem of every file on stdout as
 * `file:line:col: message` (warnings as `file:line:col: warning: message`), then exit 1 if any
 * file has errors. A file that cannot be read is a usage error (exit 2) before anything is checked.
 */
export async function run(globals: GlobalOptions, files: string[], opts: { json?: boolean }): Promise<void> {
  const missing: string[] = [];
  const texts = files.map((file) => {
    try {
      return readPolicyText(file);
    } catch (err) {
      missing.push((err as Error).message);
      return '';
    }
  });
  if (missing.length > 0) throw new SxError('usage', missing.join('\n'));
  const { config } = loadFacility(globals.dataDir);
  const reports: PolicyCheckReport[] = files.map((file, i) => {
    const result = validatePolicy(texts[i], file, { facility: config });
    return { file, ok: result.errors.length === 0, rules: result.policy?.rules.length ?? 0, errors: result.errors, warnings: result.warnings };
  });
  if (opts.json) printJson(reports);
  else {
    const lines: string[] = [];
    for (const r of reports) {
      for (const e of r.errors) lines.push(`${r.file}:${e.line}:${e.col}: ${e.message}`);
      for (const w of r.warnings) lines.push(`${r.file}:${w.line}:${w.col}: warning: ${w.message}`);
      if (r.ok) lines.push(`${r.file}: ok (${r.rules} rule${r.rules === 1 ? '' : 's'})`);
    }
    if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
  }
  const bad = reports.filter((r) => !r.ok).length;
  // The top-level handler prints this on stderr and exits 1; stdout keeps only the problem lines.
  if (bad > 0) throw new SxError('config', `${bad} of ${reports.length} policy file${reports.length === 1 ? '' : 's'} ha${bad === 1 ? 's' : 've'} errors`);
}
