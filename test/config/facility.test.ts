import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FACILITY_FILE, initDataDir, loadFacility } from '../../src/config/facility.ts';
import { isSxError } from '../../src/errors.ts';
import { tempDir } from '../helpers/tmp.ts';

test('without a facility.yaml the embedded defaults apply', (t) => {
  const dir = tempDir(t);
  const facility = loadFacility(dir);
  t.is(facility.catalogPath, join(dir, 'catalog.sqlite'));
  t.is(facility.config.tiers.hdd.price_per_tb_year, 10);
  t.is(facility.config.tiers.ssd.price_per_tb_year, 100);
  t.is(facility.tierPath('hdd'), join(dir, 'tiers/hdd'));
  t.is(facility.config.ingest.policy, 'keep-all');
});

test('init writes the defaults once and never overwrites a facility file', (t) => {
  const dir = tempDir(t);
  t.true(initDataDir(dir).createdConfig);
  writeFileSync(join(dir, FACILITY_FILE), 'facility: mine\n');
  t.false(initDataDir(dir).createdConfig);
});

test('every problem in a facility file is reported with file:line:col', (t) => {
  const dir = tempDir(t);
  const file = join(dir, FACILITY_FILE);
  writeFileSync(file, [
    'facility: P11',
    'currency: EUR',
    'tiers:',
    '  hdd: { kind: filesystem, path: tiers/hdd, price_per_tb_year: cheap }',
    'containers: { max_frames: 1000, colour: blue }',
    'ingest: { tier: nvme, policy: keep-all }',
    'beamtime_price_per_hour: 100',
  ].join('\n'));
  const error = t.throws(() => loadFacility(dir));
  t.true(isSxError(error, 'config'));
  const lines = error!.message.split('\n');
  t.is(lines.length, 3, error!.message);
  t.regex(lines[0], new RegExp(`^${file}:4:64: tiers\\.hdd\\.price_per_tb_year: .*expected number`, 'i'));
  t.regex(lines[1], new RegExp(`^${file}:5:13: containers: .*colour`, 'i'));
  t.regex(lines[2], new RegExp(`^${file}:6:17: ingest\\.tier: unknown tier "nvme"; expected one of hdd`));
});

test('a YAML syntax error names the line', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, FACILITY_FILE), 'facility: P11\ntiers: [unclosed\n');
  const error = t.throws(() => loadFacility(dir));
  t.regex(error!.message, /facility\.yaml:\d+:\d+: /);
});
