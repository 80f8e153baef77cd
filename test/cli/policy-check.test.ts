import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_FACILITY_YAML } from '../../src/config/facility.ts';
import { sxarchive } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const GOOD = `policy: good
version: 1
rules:
  - name: hits
    when: { hit: true }
    keep: [{ product: raw, lifecycle: [hdd: 90d, tape: 5y] }]
  - name: rest
    keep: []
`;
const BAD = `policy: bad
version: 1
rules:
  - name: hits
    when: { hit: true, colour: red }
    keep: [{ product: raw, lifecycle: [nvme: 90d, tape: 30d] }]
`;
const WARN = `policy: warn
version: 1
rules:
  - name: hits
    when: { hit: true }
    keep: []
`;

function files(t: Parameters<typeof tempDir>[0]) {
  const dir = tempDir(t);
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  return { dir, good: write('good.yaml', GOOD), bad: write('bad.yaml', BAD), warn: write('warn.yaml', WARN) };
}

test('valid files: exit 0 and one ok line each, warnings as file:line:col: warning: lines', (t) => {
  const { dir, good, warn } = files(t);
  const r = sxarchive(['--data-dir', join(dir, 'data'), 'policy', 'check', good, warn]);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(r.stdout.trimEnd().split('\n'), [
    `${good}: ok (2 rules)`,
    `${warn}:4:5: warning: rules.0: the last rule "hits" is not a catch-all (it has conditions): frames that match no rule keep their labels only; add a last rule without when or sample to decide for them`,
    `${warn}: ok (1 rule)`,
  ]);
  t.is(r.stderr, '');
});

test('a file with errors: exit 1, every error on stdout as file:line:col: message', (t) => {
  const { dir, good, bad } = files(t);
  const r = sxarchive(['--data-dir', join(dir, 'data'), 'policy', 'check', good, bad]);
  t.is(r.code, 1);
  t.deepEqual(r.stdout.trimEnd().split('\n'), [
    `${good}: ok (2 rules)`,
    `${bad}:5:24: rules.0.when: found unknown condition "colour"; expected one of hit, indexed, n_peaks, n_crystals, resolution, facility, proposal, sample_tag`,
    `${bad}:6:40: rules.0.keep.0.lifecycle.0: found unknown tier "nvme"; expected one of the facility's tiers: ssd, hdd, tape`,
    `${bad}:6:57: rules.0.keep.0.lifecycle.1.tape: found 30d (30 days) on tape; expected at least 365 days, the tier's minimum duration (deleting earlier is charged as if kept 365 days)`,
  ]);
  t.is(r.stderr.trim(), 'error: 1 of 2 policy files has errors');
});

test('--json: one object per file with located errors and warnings, same exit codes', (t) => {
  const { dir, good, bad, warn } = files(t);
  const r = sxarchive(['--data-dir', join(dir, 'data'), 'policy', 'check', good, bad, warn, '--json']);
  t.is(r.code, 1);
  const report = JSON.parse(r.stdout) as { file: string; ok: boolean; rules: number; errors: { line: number; col: number; message: string }[]; warnings: { line: number }[] }[];
  t.deepEqual(report.map((f) => [f.file, f.ok, f.rules, f.errors.length, f.warnings.length]), [[good, true, 2, 0, 0], [bad, false, 0, 3, 0], [warn, true, 1, 0, 1]]);
  t.like(report[1].errors[1], { line: 6, col: 40 });
  t.regex(report[1].errors[1].message, /unknown tier "nvme"/);
  const ok = sxarchive(['--data-dir', join(dir, 'data'), 'policy', 'check', good, '--json']);
  t.is(ok.code, 0);
  t.deepEqual(JSON.parse(ok.stdout), [{ file: good, ok: true, rules: 2, errors: [], warnings: [] }]);
});

test('a missing file is a usage error (exit 2), before anything is checked', (t) => {
  const { dir, good } = files(t);
  const missing = join(dir, 'nope.yaml');
  const r = sxarchive(['--data-dir', join(dir, 'data'), 'policy', 'check', good, missing]);
  t.is(r.code, 2);
  t.is(r.stdout, '');
  t.is(r.stderr.trim(), `error: no policy file ${missing}`);
  t.is(sxarchive(['--data-dir', join(dir, 'data'), 'policy', 'check', dir]).code, 2);
});

test('tiers come from the facility configuration of --data-dir', (t) => {
  const { dir, bad } = files(t);
  const data = join(dir, 'data');
  mkdirSync(data);
  // The default facility with other tiers: nvme instead of ssd/hdd, and tape with a 7-day minimum.
  const facility = DEFAULT_FACILITY_YAML
    .replace(/^tiers:\n(?: .*\n)+/m, 'tiers:\n  nvme: { kind: filesystem, path: tiers/nvme, price_per_tb_year: 300 }\n  tape: { kind: tape, path: tiers/tape, price_per_tb_year: 10, min_duration_days: 7 }\n')
    .replace(/^( +tier:) hdd/m, '$1 nvme');
  writeFileSync(join(data, 'facility.yaml'), facility);
  const r = sxarchive(['--data-dir', data, 'policy', 'check', bad]);
  t.is(r.code, 1, r.stderr);
  // nvme exists there and tape needs only 7 days: the unknown condition is the one error left.
  t.deepEqual(r.stdout.trimEnd().split('\n').map((l) => l.split(': ')[1]), ['rules.0.when']);
});
