// The picture of the HTML report in the docs: a small simulated experiment ingested under a
// policy that keeps several products on three tiers, reported a month on, photographed in
// Debian's headless Chromium.
//
//   node --import tsx scripts/report-screenshot.ts [out.png]   (default docs/report-html.png)
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { openCatalog } from '../src/catalog/catalog.ts';
import { loadFacility } from '../src/config/facility.ts';
import { buildExperimentReport } from '../src/report/experiment-report.ts';
import { renderReportHtml } from '../src/report/html.ts';
import { simulate } from '../src/simulate/simulate.ts';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/helpers/chromium.ts';

const CLI_BIN = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url));
const DAY_MS = 86_400_000;
const POLICY = `policy: report-demo
version: 1
rules:
  - name: hits
    when: { hit: true }
    keep:
      - { product: raw, codec: bitshuffle-lz4, lifecycle: [ssd: 14d, hdd: 180d, tape: 5y] }
      - { product: peaks, lifecycle: [hdd: 10y] }
  - name: blanks-sample
    when: { hit: false }
    sample: { fraction: 0.1 }
    keep:
      - { product: binned, factor: 2, codec: bitshuffle-lz4, lifecycle: [tape: 2y] }
  - name: rest
    keep: []
`;

function sxarchive(data: string, ...args: string[]): void {
  const r = spawnSync(process.execPath, [CLI_BIN, '--data-dir', data, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sxarchive ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
}

const out = resolve(process.argv[2] ?? 'docs/report-html.png');
const dir = mkdtempSync(join(tmpdir(), 'sxarchive-report-'));
try {
  const data = join(dir, 'data');
  sxarchive(data, 'init');
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  const sim = await simulate({ detector: 'det1024', frames: 120, hitRate: 0.4, seed: 3, out: join(dir, 'run1.h5'), geometryOut: join(dir, 'det1024.geom') });
  sxarchive(data, 'ingest', sim.out, '--experiment', 'lyso-2026', '--proposal', 'MX-4711', '--sample-tag', 'lysozyme', '--sample-tag', 'room-temperature', '--geometry', join(dir, 'det1024.geom'), '--policy', join(dir, 'policy.yaml'));
  // The hits' raw frames move on from SSD as their lifecycle says; the report looks a month ahead.
  sxarchive(data, 'migrate', '--as-of', new Date(Date.now() + 15 * DAY_MS).toISOString());
  const facility = loadFacility(data);
  const catalog = openCatalog(facility.catalogLocation);
  const report = (() => {
    try {
      return buildExperimentReport(catalog, facility.config, 'lyso-2026', new Date(Date.now() + 30 * DAY_MS));
    } finally {
      catalog.close();
    }
  })();
  const html = join(dir, 'report.html');
  writeFileSync(html, renderReportHtml(report));

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    await page.goto(pathToFileURL(html).href);
    mkdirSync(dirname(out), { recursive: true });
    await page.screenshot({ path: out, fullPage: true });
  } finally {
    await browser.close();
  }
  console.log(`wrote ${out}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
