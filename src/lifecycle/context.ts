// What every lifecycle job (migrate, expire, verify, recall) works with, and the helpers they
// share for reading and checking copies.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { Catalog } from '../catalog/catalog.ts';
import type { LifecycleCatalog, LivePlacement } from '../catalog/lifecycle.ts';
import type { Facility } from '../config/facility.ts';
import { fsyncPath, partialPath } from '../tiers/filesystem.ts';
import type { Tiers } from '../tiers/open.ts';
import { ChecksumError } from '../tiers/types.ts';

export interface LifecycleContext {
  facility: Facility;
  catalog: Catalog;
  store: LifecycleCatalog;
  tiers: Tiers;
  /** `host:pid`: jobs, leases and aggregates record it. */
  owner: string;
  isAlive: (owner: string) => boolean;
  /** Asked to stop (SIGINT, SIGTERM): the current step is finished, then the job ends. */
  signal?: AbortSignal;
  /** Bytes of the job done so far, of its total. */
  onProgress?: (done: number, total: number) => void;
  /** What the job waits for, for people watching. */
  onStatus?: (text: string) => void;
}

/** Where copies read from S3 or tape wait before they go to another tier or to a user. */
export function stagingDir(facility: Facility): string {
  return join(facility.dataDir, 'staging');
}

/** The copy's bytes, from its tier (a tape member by its byte range). */
export async function openCopy(tiers: Tiers, p: Pick<LivePlacement, 'tier' | 'path' | 'bytes' | 'aggregateName' | 'memberOffset'>) {
  const tier = tiers.get(p.tier);
  if (tier.kind === 'tape') {
    if (p.aggregateName === null || p.memberOffset === null) throw new ChecksumError(`tier ${p.tier}: ${p.path} has no aggregate offset recorded`);
    return tier.tape.readMember(p.aggregateName, p.memberOffset, p.bytes);
  }
  return tier.driver.read(p.path);
}

function hashing(hash: ReturnType<typeof createHash>, onBytes?: (n: number) => void): Transform {
  let done = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, next) {
      hash.update(chunk);
      done += chunk.length;
      onBytes?.(done);
      next(null, chunk);
    },
  });
}

/** SHA-256 (hex) and length of a copy as its tier returns it. */
export async function digestCopy(tiers: Tiers, p: Pick<LivePlacement, 'tier' | 'path' | 'bytes' | 'aggregateName' | 'memberOffset'>, onBytes?: (n: number) => void): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = await openCopy(tiers, p);
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
    onBytes?.(bytes);
  }
  return { sha256: hash.digest('hex'), bytes };
}

/**
 * A local file holding the copy's bytes: the file itself on a filesystem tier, else a staged
 * copy (checked against the catalog's SHA-256) that `done` removes.
 */
export async function localCopy(ctx: Pick<LifecycleContext, 'tiers' | 'facility'>, p: LivePlacement, onBytes?: (n: number) => void): Promise<{ file: string; done: () => Promise<void> }> {
  const tier = ctx.tiers.get(p.tier);
  if (tier.kind === 'filesystem') return { file: tier.driver.locate(p.path), done: async () => {} };
  const dir = stagingDir(ctx.facility);
  await mkdir(dir, { recursive: true });
  const file = join(dir, `container-${p.containerId}.h5`);
  const tmp = partialPath(file);
  const hash = createHash('sha256');
  try {
    await pipeline(await openCopy(ctx.tiers, p), hashing(hash, onBytes), createWriteStream(tmp));
    const sha256 = hash.digest('hex');
    if (sha256 !== p.sha256) throw new ChecksumError(`tier ${p.tier}: ${p.path} reads back with SHA-256 ${sha256}, but the catalog has ${p.sha256}`);
    await fsyncPath(tmp);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return { file, done: () => rm(file, { force: true }) };
}

/** Whether a failure means the destination has no room (pause, not fail). */
export function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}
