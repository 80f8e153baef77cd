import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSxError } from '../src/errors.ts';
import { MAX_TEXT_FILE_BYTES, readTextFile } from '../src/text-file.ts';
import { tempDir } from './helpers/tmp.ts';

const OPTIONS = { expected: 'a policy file (YAML)', tag: 'usage' } as const;

test('a file of exactly the limit is read; one byte more is refused before it is read', (t) => {
  const dir = tempDir(t);
  const fits = join(dir, 'fits.yaml');
  writeFileSync(fits, 'a'.repeat(MAX_TEXT_FILE_BYTES));
  t.is(readTextFile(fits, OPTIONS).length, MAX_TEXT_FILE_BYTES);
  const over = join(dir, 'over.yaml');
  writeFileSync(over, 'a'.repeat(MAX_TEXT_FILE_BYTES + 1));
  const err = t.throws(() => readTextFile(over, OPTIONS));
  t.true(isSxError(err, 'usage'));
  t.is(err!.message, `${over} is 1 MiB (${MAX_TEXT_FILE_BYTES + 1} bytes); expected a policy file (YAML) of at most 1 MiB (is it the right file?)`);
});

test('an endless device is cut off at the limit instead of read until memory runs out', (t) => {
  const err = t.throws(() => readTextFile('/dev/zero', OPTIONS));
  t.is(err!.message, '/dev/zero is more than 1 MiB; expected a policy file (YAML) of at most 1 MiB (is it the right file?)');
});

test('a directory, a missing file (default and own message) are named with what was expected', (t) => {
  const dir = tempDir(t);
  t.is(t.throws(() => readTextFile(dir, OPTIONS))!.message, `${dir} is a directory; expected a policy file (YAML)`);
  const missing = join(dir, 'nope.yaml');
  t.is(t.throws(() => readTextFile(missing, OPTIONS))!.message, `${missing}: no such file; expected a policy file (YAML)`);
  t.is(t.throws(() => readTextFile(missing, { ...OPTIONS, missing: (f) => `no policy file ${f}` }))!.message, `no policy file ${missing}`);
});

test('UTF-8 text comes back as written, also across read chunks', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'utf8.yaml');
  const text = `description: ${'Å'.repeat(100_000)}\n`;
  writeFileSync(file, text);
  t.is(readTextFile(file, OPTIONS), text);
});
