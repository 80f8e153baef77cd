// Entry of every worker thread: Node 20 does not apply tsx's loader, registered with --import, to
// a worker's own script, so the worker registers tsx itself and then loads its TypeScript module.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.module);
