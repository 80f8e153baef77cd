// What every lifecycle job (migrate, expire, verify, recall) works with, and the helpers they
// share for reading and checking copies.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
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

/** SHA-256 (hex) and length of a copy as its tier returns it: by the tier where it can (local files, on the hashing threads), else from a read stream. */
export async function digestCopy(tiers: Tiers, p: Pick<LivePlacement, 'tier' | 'path' | 'bytes' | 'aggregateName' | 'memberOffset'>, onBytes?: (n: number) => void): Promise<{ sha256: string; bytes: number }> {
  const tier = tiers.get(p.tier);
  if (tier.driver.digest) {
    if (tier.kind !== 'tape') return tier.driver.digest(p.path, undefined, onBytes);
    if (p.aggregateName !== null && p.memberOffset !== null) return tier.driver.digest(p.aggregateName, { offset: p.memberOffset, length: p.bytes }, onBytes);
  }
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
 * Writes a stream to `file` through its partial name, checking its length and SHA-256 against
 * the catalog's before the rename: a bad copy never appears under the name.
 */
export async function writeChecked(source: Readable, file: string, expected: { bytes: number; sha256: string }, what: string, onBytes?: (n: number) => void): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = partialPath(file);
  const hash = createHash('sha256');
  let bytes = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, next) {
      hash.update(chunk);
      bytes += chunk.length;
      onBytes?.(bytes);
      next(null, chunk);
    },
  });
  try {
    await pipeline(source, hashing, createWriteStream(tmp));
    const sha256 = hash.digest('hex');
    if (sha256 !== expected.sha256 || bytes !== expected.bytes) throw new ChecksumError(`${what} read back as ${bytes} bytes with SHA-256 ${sha256}; the catalog has ${expected.bytes} bytes, ${expected.sha256}`);
    await fsyncPath(tmp);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * A local file holding the copy's bytes: the file itself on a filesystem tier, else a staged
 * copy (checked against the catalog's SHA-256) that `done` removes.
 */
export async function localCopy(ctx: Pick<LifecycleContext, 'tiers' | 'facility'>, p: LivePlacement, onBytes?: (n: number) => void): Promise<{ file: string; done: () => Promise<void> }> {
  const tier = ctx.tiers.get(p.tier);
  if (tier.kind === 'filesystem') return { file: tier.driver.locate(p.path), done: async () => {} };
  const file = join(stagingDir(ctx.facility), `container-${p.containerId}.h5`);
  await writeChecked(await openCopy(ctx.tiers, p), file, p, `tier ${p.tier}: ${p.path}`, onBytes);
  return { file, done: () => rm(file, { force: true }) };
}

/** Reading a copy costs least from a file system, then S3, then tape. */
const READ_ORDER: Record<string, number> = { filesystem: 0, s3: 1, tape: 2 };

/** The copies in the order they are cheapest to read; `kindOf` tells a tier's kind. */
export function cheapestToRead<T extends { tier: string }>(copies: readonly T[], kindOf: (tier: string) => string | undefined): T[] {
  const cost = (c: T) => READ_ORDER[kindOf(c.tier) ?? ''] ?? 9;
  return [...copies].sort((a, b) => cost(a) - cost(b));
}

/** Deletes a tape aggregate file once none of its members holds data any more. */
export async function dropAggregateIfEmpty(ctx: Pick<LifecycleContext, 'store' | 'tiers'>, aggregate: { id: number; name: string; tier: string }): Promise<void> {
  if (ctx.store.liveMembers(aggregate.id) > 0) return;
  await ctx.tiers.get(aggregate.tier).driver.delete(aggregate.name);
  ctx.store.markAggregateDeleted(aggregate.id);
}

/** Whether a failure means the destination has no room (pause, not fail). */
export function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}
