// Who holds a run, a job or a lease: `host:pid`, and whether that process may still be working.
import { hostname } from 'node:os';

/** `host:pid` of this process, as runs, jobs and leases record their owner. */
export const OWNER = `${hostname()}:${process.pid}`;

/** Whether the process that owns a run, job or lease may still be working; another host's always may (its lease expires instead). */
export function isAlive(owner: string): boolean {
  const at = owner.lastIndexOf(':');
  if (owner.slice(0, at) !== hostname()) return true;
  return isPidAlive(Number(owner.slice(at + 1)));
}

export function isPidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
