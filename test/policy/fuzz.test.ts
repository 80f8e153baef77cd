// Broken policy files from a seeded PRNG: each either parses or fails with an SxError whose every
// line is `file:line:col: message` (a location a human and CI can use), never anything else.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { DEFAULT_FACILITY_YAML, type FacilityConfig } from '../../src/config/facility.ts';
import { isSxError } from '../../src/errors.ts';
import { parsePolicy } from '../../src/policy/load.ts';

const context = { facility: parse(DEFAULT_FACILITY_YAML) as FacilityConfig };

const BASES = [
  readFileSync(new URL('../fixtures/policies/p11-default.yaml', import.meta.url), 'utf8'),
  `policy: mixed
version: 1
applies_to: { proposal: [p1, p2], sample_tag: lyso }
rules:
  - name: strong
    when: { n_peaks: { gte: 50 }, resolution: { lt: 2.5 }, n_crystals: 1 }
    keep:
      - { product: raw, codec: { id: zstd, level: 9 }, lifecycle: [ssd: 36h, hdd: 2w, tape: forever] }
      - { product: quantized, step: 0.5, codec: { id: blosc, cname: lz4, clevel: 5, shuffle: 1 }, lifecycle: [hdd: 1d] }
  - name: rest
    keep:
      - product: peaks
        box: 4
        lifecycle:
          - hdd: 12h
          - tape: 1y
gate: { results: indexing, timeout: 5m, on_timeout: rest }
`,
];

/** mulberry32: small, seeded, good enough to pick mutations. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOKENS = ['{', '}', '[', ']', ':', '- ', ',', '"', "'", '&a', '*a', '!!binary', '? ', '|', '>', '#', '---', '...', '%YAML 1.2', '<<: *a', '~', 'null',
  'forever', '0d', '-3d', '1e400', 'NaN', '.inf', 'true', 'yes', '__proto__', 'constructor', 'toString', '\t', '\r', '\u0000', '\uFEFF', 'π'];
const VALUES: unknown[] = [0, -1, 1.5, 1e308, true, false, null, '', 'x', [], {}, [1, 'a'], { a: 1 }, 'forever', '14d', 'nvme', 'lzma', 'labels', '__proto__'];

type Mutation = (text: string, rnd: () => number) => string;
const pick = <T>(xs: readonly T[], rnd: () => number): T => xs[Math.floor(rnd() * xs.length)];
const lines = (text: string) => text.split('\n');

function mutateData(text: string, rnd: () => number, edit: (holder: Record<string, unknown> | unknown[], key: string | number) => void): string {
  let data: unknown;
  try {
    data = parse(text);
  } catch {
    return text;
  }
  // Walk to a random container, then edit one of its entries.
  let node = data;
  for (let depth = 0; depth < 6; depth++) {
    const keys = typeof node === 'object' && node !== null ? Object.keys(node) : [];
    if (keys.length === 0) break;
    const key = pick(keys, rnd);
    const child = (node as Record<string, unknown>)[key];
    if (typeof child !== 'object' || child === null || rnd() < 0.3) {
      edit(node as Record<string, unknown>, Array.isArray(node) ? Number(key) : key);
      break;
    }
    node = child;
  }
  return stringify(data, { flowCollectionPadding: rnd() < 0.5 });
}

const MUTATIONS: Record<string, Mutation> = {
  deleteLine: (text, rnd) => { const l = lines(text); l.splice(Math.floor(rnd() * l.length), 1); return l.join('\n'); },
  duplicateLine: (text, rnd) => { const l = lines(text); const i = Math.floor(rnd() * l.length); l.splice(i, 0, l[i]); return l.join('\n'); },
  truncate: (text, rnd) => text.slice(0, Math.floor(rnd() * text.length)),
  indent: (text, rnd) => { const l = lines(text); const i = Math.floor(rnd() * l.length); l[i] = rnd() < 0.5 ? ` ${l[i]}` : l[i].replace(/^ {1,3}/, ''); return l.join('\n'); },
  token: (text, rnd) => { const at = Math.floor(rnd() * text.length); return text.slice(0, at) + pick(TOKENS, rnd) + text.slice(at); },
  replaceWord: (text, rnd) => { const words = [...text.matchAll(/[a-z0-9_.-]+/gi)]; const w = pick(words, rnd); return w ? text.slice(0, w.index) + pick([...TOKENS, 'nvme', 'lzma', 'tpae', 'binned', 'factor', 'when', '999999999999'], rnd) + text.slice(w.index! + w[0].length) : text; },
  tier: (text, rnd) => text.replace(/\b(ssd|hdd|tape)\b/, pick(['nvme', 'glacier', 'SSD', 'ssd ', 'tape2', ''], rnd)),
  codec: (text, rnd) => text.replace(/bitshuffle-lz4|zstd|blosc/, pick(['lzma', 'gzip', '{ id: zstd, level: 99 }', '{ id: none, level: 1 }', '[zstd]', '7'], rnd)),
  bytes: (text, rnd) => { const at = Math.floor(rnd() * text.length); const bytes = Array.from({ length: 1 + Math.floor(rnd() * 8) }, () => String.fromCharCode(Math.floor(rnd() * 0x3000))); return text.slice(0, at) + bytes.join('') + text.slice(at); },
  deleteKey: (text, rnd) => mutateData(text, rnd, (holder, key) => { if (Array.isArray(holder)) holder.splice(key as number, 1); else delete holder[key as string]; }),
  duplicateKey: (text, rnd) => mutateData(text, rnd, (holder, key) => { if (Array.isArray(holder)) holder.push(holder[key as number]); else holder[`${key}`.toUpperCase()] = holder[key as string]; }),
  changeType: (text, rnd) => mutateData(text, rnd, (holder, key) => { (holder as Record<string, unknown>)[key as string] = pick(VALUES, rnd); }),
};

test('hundreds of broken policies: each parses or fails with located messages only', (t) => {
  // SXARCHIVE_FUZZ_SEED explores other seeds; the default keeps CI reproducible.
  const rnd = prng(Number(process.env.SXARCHIVE_FUZZ_SEED ?? 20260611));
  const names = Object.keys(MUTATIONS);
  const kinds: Record<string, number> = { parsed: 0, rejected: 0 };
  const N = Number(process.env.SXARCHIVE_FUZZ_CASES ?? 600);
  for (let n = 0; n < N; n++) {
    let text = pick(BASES, rnd);
    const applied: string[] = [];
    for (let m = 0, count = 1 + Math.floor(rnd() * 3); m < count; m++) {
      const name = pick(names, rnd);
      applied.push(name);
      text = MUTATIONS[name](text, rnd);
    }
    const file = `fuzz-${n}.yaml`;
    try {
      const policy = parsePolicy(text, file, context);
      t.true(policy.rules.length > 0);
      kinds.parsed += 1;
    } catch (err) {
      if (!isSxError(err, 'config')) {
        t.fail(`case ${n} (${applied.join(', ')}) threw ${(err as Error)?.stack ?? err}\n--- text:\n${text}`);
        continue;
      }
      kinds.rejected += 1;
      const lineCount = text.split('\n').length;
      for (const line of err.message.split('\n')) {
        const m = /^(.+):(\d+):(\d+): (.+)$/.exec(line);
        if (!m || m[1] !== file || Number(m[2]) < 1 || Number(m[2]) > lineCount + 1 || Number(m[3]) < 1) {
          t.fail(`case ${n} (${applied.join(', ')}): bad message line ${JSON.stringify(line)}\n--- text:\n${text}`);
        }
      }
    }
  }
  t.is(kinds.parsed + kinds.rejected, N);
  // The mutations must mostly break things, or the test proves little.
  t.true(kinds.rejected > N / 2, JSON.stringify(kinds));
  t.log(kinds);
});
