// `sxarchive serve` as a user meets it: a real server process, its pages in Chromium, its JSON,
// and what a token may and may not see.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CLI_BIN, sxarchive, sxarchiveJson } from '../helpers/cli.ts';
import { launchChromium, watchedPage } from '../helpers/chromium.ts';
import { tempDir } from '../helpers/tmp.ts';

const XSS = '<script>alert(1)</script>';
const TOKEN_A = 'token-for-proposal-a-0123456789';
const TOKEN_BOTH = 'token-for-both-proposals-98765';

/** Two experiments in proposals A and B (B's name is markup), ingested from tiny simulated runs. */
function makeArchive(t: Parameters<typeof tempDir>[0]) {
  const dir = tempDir(t);
  const data = join(dir, 'data');
  const h5 = join(dir, 'run.h5');
  const geom = join(dir, 'tiny.geom');
  sxarchiveJson(['simulate', '--detector', 'tiny', '--frames', '12', '--hit-rate', '0.5', '--seed', '5', '--out', h5, '--geometry-out', geom]);
  for (const [experiment, proposal] of [['lyso-a', 'A'], ['thaum-b', XSS]]) {
    sxarchiveJson(['--data-dir', data, 'ingest', h5, '--experiment', experiment, '--geometry', geom, '--min-peaks', '10']);
    t.is(sxarchive(['--data-dir', data, 'experiment', 'set', experiment, '--proposal', proposal]).code, 0);
  }
  const tokens = join(dir, 'tokens.yaml');
  writeFileSync(tokens, `${TOKEN_A}: [A]\n${TOKEN_BOTH}: [A, "${XSS}"]\n`);
  return { dir, data, tokens };
}

/** Starts `sxarchive serve` and returns its URL once it says it is serving. */
async function startServe(t: Parameters<typeof tempDir>[0], args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [CLI_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { child.kill('SIGTERM'); });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
  return { url: (JSON.parse(first) as { serving: string }).serving, child };
}

test('the pages and their JSON on loopback: list, report, policy comparison; markup in a proposal stays text; nothing but GET', async (t) => {
  const { data } = makeArchive(t);
  const { url } = await startServe(t, ['--data-dir', data, 'serve', '--listen', '127.0.0.1:0']);
  t.regex(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);

  const list = await (await fetch(`${url}api/experiments`)).json() as { name: string; proposal: string; costToDate: number }[];
  t.deepEqual(list.map((e) => [e.name, e.proposal]), [['lyso-a', 'A'], ['thaum-b', XSS]]);
  const report = await (await fetch(`${url}api/experiments/lyso-a`)).json() as { frames: number; cost: { toDate: { total: number } } };
  t.is(report.frames, 12);

  const browser = await launchChromium(t);
  const { page, watch } = await watchedPage(browser);
  await page.goto(url);
  t.is(await page.locator('table tbody tr').count(), 2);
  t.true((await page.textContent('body'))!.includes(XSS), 'the proposal shows as text');
  await page.click('text=lyso-a');
  t.is(new URL(page.url()).pathname, '/experiments/lyso-a');
  t.is(Number(await page.getAttribute('[data-total="to-date"]', 'value')), report.cost.toDate.total, 'the page shows the JSON report\'s total');
  t.true(await page.locator('figure[data-chart] svg path').count() > 0, 'the report\'s charts render');
  await page.goto(`${url}experiments/thaum-b/policies`);
  const rows = await page.locator('table tbody tr td:first-child').allTextContents();
  t.true(['keep-all', 'hits-only', 'peaks-only'].every((p) => rows.includes(p)), rows.join(', '));
  const policies = await (await fetch(`${url}api/experiments/thaum-b/policies`)).json() as { policies: { policy: string; framesKept: number }[] };
  t.is(policies.policies.find((p) => p.policy === 'keep-all')!.framesKept, 12);
  t.deepEqual(watch.consoleErrors, []);
  t.deepEqual(watch.dialogs, [], 'no script from a proposal ran');
  t.deepEqual(watch.failedRequests, []);
  t.true(watch.requests.every((r) => r.startsWith(url)), 'nothing loaded from elsewhere');

  const post = await fetch(`${url}api/experiments`, { method: 'POST', body: '{}' });
  t.is(post.status, 405);
  t.is(post.headers.get('allow'), 'GET, HEAD');
  t.is((await fetch(`${url}api/experiments/nope`)).status, 404);
  t.is((await fetch(`${url}secrets`)).status, 404);
  t.is((await fetch(`${url}experiments/%E0%A4%A`)).status, 400, 'a malformed path is a bad request, not a server error');
});

test('with tokens each token sees only its proposals\' experiments; none or a wrong one sees nothing', async (t) => {
  const { data, tokens } = makeArchive(t);
  const { url } = await startServe(t, ['--data-dir', data, 'serve', '--listen', '127.0.0.1:0', '--tokens', tokens]);
  t.is((await fetch(`${url}api/experiments`)).status, 401);
  t.is((await fetch(`${url}api/experiments`, { headers: { authorization: 'Bearer not-a-token-of-ours-at-all' } })).status, 401);
  const asA = (path: string) => fetch(`${url}${path}`, { headers: { authorization: `Bearer ${TOKEN_A}` } });
  t.deepEqual((await (await asA('api/experiments')).json() as { name: string }[]).map((e) => e.name), ['lyso-a']);
  t.is((await asA('api/experiments/thaum-b')).status, 404, "B's experiment does not exist for A's token");
  t.is((await asA('experiments/thaum-b/policies')).status, 404);
  t.is((await asA('api/experiments/lyso-a')).status, 200);
  const both = await fetch(`${url}api/experiments?token=${TOKEN_BOTH}`);
  t.deepEqual((await both.json() as { name: string }[]).map((e) => e.name), ['lyso-a', 'thaum-b']);

  // In a browser the token rides in the links, and is never sent on as a referrer.
  const browser = await launchChromium(t);
  const { page, watch } = await watchedPage(browser);
  const res = await page.goto(`${url}?token=${TOKEN_A}`);
  t.is(res!.headers()['referrer-policy'], 'no-referrer');
  await page.click('text=lyso-a');
  t.is(new URL(page.url()).searchParams.get('token'), TOKEN_A);
  t.deepEqual(watch.consoleErrors, []);
});

test('an address other than loopback without a token file is refused before anything listens', (t) => {
  const { data } = makeArchive(t);
  const r = sxarchive(['--data-dir', data, 'serve', '--listen', '0.0.0.0:0']);
  t.is(r.code, 2);
  t.regex(r.stderr, /other than loopback needs --tokens FILE/);
  t.notRegex(r.stderr, /at .*\.ts:\d+/, 'no stack trace');
  const bad = sxarchive(['--data-dir', data, 'serve', '--listen', 'localhost']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /expected HOST:PORT/);
});
