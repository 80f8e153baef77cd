// The PostgreSQL worker's entry: as src/core/ts-worker.js, it registers tsx itself (Node 20 does
// not apply a loader registered with --import to a worker's own script), then loads the worker.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
