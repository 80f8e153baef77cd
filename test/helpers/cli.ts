import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI_BIN = fileURLToPath(new URL('../../src/cli/bin.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `sxarchive` command line in a child process. */
export function sxarchive(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI_BIN, ...args], { cwd: options.cwd, env: { ...process.env, ...options.env }, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function sxarchiveJson<T>(args: string[], options?: { cwd?: string }): T {
  const r = sxarchive([...args, '--json'], options);
  if (r.code !== 0) throw new Error(`sxarchive ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** `sxarchive label ... --json`: one JSON object per frame, one per line. */
export function labelJson<T = { file: string; event: string; hit: boolean; n_peaks: number; resolution: number | null }>(args: string[]): T[] {
  const r = sxarchive(['label', ...args, '--json']);
  if (r.code !== 0) throw new Error(`sxarchive label ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout.trim().split('\n').map((line) => JSON.parse(line) as T);
}
