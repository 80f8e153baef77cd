import test from 'ava';
import { isSxError } from '../../src/errors.ts';
import { checkDims, expandDataPath, formatEvent, inferDims, type PathLister } from '../../src/frames/frame-layout.ts';

/** A file as a map of group path -> member names; every leaf listed in `datasets`. */
function lister(groups: Record<string, string[]>, datasets: string[]): PathLister {
  return { list: (path) => groups[path], isDataset: (path) => datasets.includes(path) };
}

test('events follow CrystFEL: path values, //, then frame indices', (t) => {
  t.is(formatEvent([], [17]), '//17');
  t.is(formatEvent([], []), '//');
  t.is(formatEvent(['ev_1', 'dataABCset'], []), 'ev_1/dataABCset//');
  t.is(formatEvent(['a'], [3, 4]), 'a//3/4');
});

test('inferDims: 2-D is one frame, 3-D a stack, anything else nothing', (t) => {
  t.deepEqual(inferDims(2), ['ss', 'fs']);
  t.deepEqual(inferDims(3), ['%', 'ss', 'fs']);
  t.is(inferDims(1), undefined);
  t.is(inferDims(4), undefined);
});

test('checkDims reports every problem at once', (t) => {
  t.notThrows(() => checkDims(['%', 'ss', 'fs', 1], 'x'));
  const err = t.throws(() => checkDims(['ss', 'ss', -1 as number], 'geom'));
  t.true(isSxError(err, 'input'));
  t.regex(err!.message, /^geom: bad frame dimensions \(ss, ss, -1\): /);
  t.regex(err!.message, /exactly one dimension "ss" but found 2/);
  t.regex(err!.message, /exactly one dimension "fs" but found 0/);
  t.regex(err!.message, /dim2: expected %, ss, fs or an index >= 0 but received -1/);
  t.regex(t.throws(() => checkDims(['fs', 'ss'], 'g'))!.message, /"fs" comes before "ss"/);
});

test('% placeholders expand in name order and skip values whose path does not go on', (t) => {
  const file = lister(
    {
      '/data': ['b', 'a', 'c'],
      '/data/a': ['x'],
      '/data/b': ['x', 'y'],
      '/data/c': ['y'],
    },
    ['/data/a/x', '/data/b/x', '/data/b/y', '/data/c/y'],
  );
  t.deepEqual(expandDataPath('/data/%/x', file), [
    { path: '/data/a/x', values: ['a'] },
    { path: '/data/b/x', values: ['b'] },
  ]);
  t.deepEqual(expandDataPath('/data/%/%', file).map((m) => m.values.join('/')), ['a/x', 'b/x', 'b/y', 'c/y']);
  t.deepEqual(expandDataPath('/data/a/x', file), [{ path: '/data/a/x', values: [] }]);
  t.deepEqual(expandDataPath('/nothing/%/x', file), []);
});

test('a % inside a path component matches the rest of it, never an empty string', (t) => {
  const file = lister({ '/': ['ev_1', 'ev_2', 'ev_', 'other'] }, ['/ev_1', '/ev_2', '/ev_', '/other']);
  t.deepEqual(expandDataPath('/ev_%', file), [
    { path: '/ev_1', values: ['1'] },
    { path: '/ev_2', values: ['2'] },
  ]);
  t.throws(() => expandDataPath('/a%b%', file), { message: /at most one % per path component/ });
});
