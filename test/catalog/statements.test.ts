import { openCatalog } from '../../src/catalog/catalog.ts';
import { prepared } from '../../src/catalog/statements.ts';
import { eachBackend, testCatalogLocation } from '../helpers/catalog.ts';

eachBackend('a statement is prepared once per open catalog, not per call', (t, backend) => {
  const a = openCatalog(testCatalogLocation(t, backend));
  const b = openCatalog(testCatalogLocation(t, backend));
  t.teardown(() => (a.close(), b.close()));
  const sql = 'SELECT COUNT(*) AS n FROM runs WHERE experiment_id = ?';
  t.is(prepared(a.db, sql), prepared(a.db, sql));
  t.not(prepared(a.db, sql), prepared(b.db, sql));
});

eachBackend('two iterations over the same frames at once each see every frame (the second gets its own statement)', (t, backend) => {
  const catalog = openCatalog(testCatalogLocation(t, backend));
  t.teardown(() => catalog.close());
  const exp = catalog.ensureExperiment({ name: 'lyso' });
  const run = catalog.createRun(exp.id);
  catalog.insertFrames(run.id, [0, 1, 2].map((i) => ({ source: '/data/run1.h5', event: `//${i}`, width: 4, height: 2, pixelType: 'uint16', rawBytes: 16 })));
  const events = (frames: Iterable<{ frame: { event: string } }>) => [...frames].map((f) => f.frame.event);

  const first = catalog.frames.framesWithShares(exp.id);
  t.is(first.next().value?.frame.event, '//0');
  t.deepEqual(events(catalog.frames.framesWithShares(exp.id)), ['//0', '//1', '//2']);
  t.deepEqual(events(first), ['//1', '//2']);
  t.deepEqual(events(catalog.frames.framesWithShares(exp.id)), ['//0', '//1', '//2'], 'and the cached one is free again');
});

eachBackend('a write transaction that throws records nothing', (t, backend) => {
  const catalog = openCatalog(testCatalogLocation(t, backend));
  t.teardown(() => catalog.close());
  t.throws(() => catalog.writeTransaction(() => {
    catalog.ensureExperiment({ name: 'lyso' });
    throw new Error('stop');
  }), { message: 'stop' });
  t.is(catalog.findExperiment('lyso'), undefined);
});
