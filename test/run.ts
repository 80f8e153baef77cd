// `npm test`: runs AVA and ends with the plain line CI reads, `N passed, N failed`.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ava = fileURLToPath(new URL('../node_modules/ava/entrypoints/cli.mjs', import.meta.url));
const child = spawn(process.execPath, [ava, '--tap', ...process.argv.slice(2)], { stdio: ['ignore', 'pipe', 'inherit'] });

let passed = 0;
let failed = 0;
let skipped = 0;
for await (const line of createInterface({ input: child.stdout })) {
  console.log(line);
  if (/^not ok \d+/.test(line)) failed += 1;
  else if (/^ok \d+.*# SKIP/i.test(line)) skipped += 1;
  else if (/^ok \d+/.test(line)) passed += 1;
}
const code: number = await new Promise((done) => child.on('close', (c) => done(c ?? 1)));
// AVA can fail outside any test (an uncaught error in a file, a timeout): count that as a failure.
if (code !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 ? 1 : 0;
