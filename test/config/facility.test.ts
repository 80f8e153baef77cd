import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FACILITY_FILE, initDataDir, loadFacility } from '../../src/config/facility.ts';
import { isSxError } from '../../src/errors.ts';
import { tempDir } from '../helpers/tmp.ts';

test('without a facility.yaml the embedded defaults apply', (t) => {
  const dir = tempDir(t);
  const facility = loadFacility(dir);
  t.is(facility.catalogLocation, join(dir, 'catalog.sqlite'));
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

test('prices left out take the design defaults (HDD 10, SSD 100, tape 10 per TB-year, nothing else charged); S3 must be priced', (t) => {
  const dir = tempDir(t);
  const file = join(dir, FACILITY_FILE);
  const write = (tiers: string[]) => writeFileSync(file, ['facility: P11', 'currency: EUR', 'tiers:', ...tiers, 'containers: { max_frames: 10 }', 'ingest: { tier: disk, policy: keep-all }', 'beamtime_price_per_hour: 100'].join('\n'));
  write(['  disk: { kind: filesystem, path: tiers/disk }', '  ssd: { kind: filesystem, path: tiers/ssd }', '  tape: { kind: tape, path: tiers/tape }', '  fast: { kind: filesystem, path: tiers/fast, price_per_tb_year: 55, price_per_object: 0.01, retrieval_per_tb: 2, egress_per_tb: 3 }']);
  const { tiers } = loadFacility(dir).config;
  t.is(tiers.disk.price_per_tb_year, 10);
  t.is(tiers.ssd.price_per_tb_year, 100);
  t.is(tiers.tape.price_per_tb_year, 10);
  t.deepEqual([tiers.disk.price_per_object, tiers.disk.retrieval_per_tb, tiers.disk.egress_per_tb, tiers.disk.min_duration_days], [0, 0, 0, 0]);
  t.deepEqual([tiers.fast.price_per_tb_year, tiers.fast.price_per_object, tiers.fast.retrieval_per_tb, tiers.fast.egress_per_tb], [55, 0.01, 2, 3]);
  write(['  disk: { kind: filesystem, path: tiers/disk }', '  s3: { kind: s3, bucket: sx-data }']);
  const error = t.throws(() => loadFacility(dir));
  t.regex(error!.message, /facility\.yaml:5:\d+: .*price_per_tb_year/);
});
