// The demo's "hits found against the simulation's truth", checked against the truth and labels
// obtained independently: the same simulation again (same seed, same frames), its
// /entry/truth/is_hit read with h5py, and `sxarchive label` on it.
import test from 'ava';
import { join } from 'node:path';
import { runPython } from '../ingest/helpers.ts';
import { labelJson, sxarchive, sxarchiveJson } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const RUN = ['--frames', '16', '--detector', 'tiny', '--hit-rate', '0.5', '--seed', '5'];

test("the demo's hits-against-truth line has the numbers of the truth and of the labels", (t) => {
  const dir = tempDir(t);
  const h5 = join(dir, 'same.h5');
  const geom = join(dir, 'same.geom');
  sxarchiveJson(['simulate', ...RUN, '--out', h5, '--geometry-out', geom]);
  const truth = JSON.parse(runPython('print([int(v) for v in h5py.File(sys.argv[1], "r")["/entry/truth/is_hit"][()]])', h5)) as number[];
  const labels = labelJson([h5, '--geometry', geom]);
  t.is(labels.length, truth.length);
  const trueHits = truth.filter((v) => v === 1).length;
  const found = labels.filter((l, i) => l.hit && truth[i] === 1).length;
  const falseHits = labels.filter((l, i) => l.hit && truth[i] === 0).length;
  t.true(trueHits > 0 && found > 0, 'the run has hits the labeller finds');

  const demo = sxarchive(['--data-dir', join(dir, 'data'), 'demo', ...RUN]);
  t.is(demo.code, 0, demo.stderr);
  const share = ((100 * found) / trueHits).toFixed(1);
  const line = `hits found against the simulation's truth: ${found} of ${trueHits} (${share} %), ${trueHits - found} missed, ${falseHits} false hit(s) among ${truth.length - trueHits} blanks`;
  t.true(demo.stdout.split('\n').includes(line), `expected the line\n${line}\nin\n${demo.stdout}`);

  const json = sxarchiveJson<{ truth: Record<string, number>; hits: number }>(['--data-dir', join(dir, 'data'), 'demo', ...RUN]);
  t.deepEqual(json.truth, { frames: truth.length, trueHits, found, missed: trueHits - found, falseHits, unlabelled: 0 });
  t.is(json.hits, found + falseHits, 'the report counts the same hits');
});
