// The tape tier: containers aggregated into large tar files (src/tiers/tar.ts) on a mount point
// (LTFS style) or in an S3 bucket, each recalled later by reading only its byte range.
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import type { S3TargetConfig, TapeTierConfig } from '../config/facility.ts';
import { SxError } from '../errors.ts';
import { FilesystemTier, fsyncPath, partialPath } from './filesystem.ts';
import type { RestoreState, RestoreTier } from './s3.ts';
import { listTar, TarWriter, type TarEntry } from './tar.ts';
import { ChecksumError, type TierDriver } from './types.ts';

/** The last member of every aggregate: what it holds, so the tar file explains itself without the catalog. */
export const MANIFEST_NAME = 'MANIFEST.sxarchive.json';
const MANIFEST_FORMAT = 'sxarchive-aggregate/1';

/** A container in an aggregate; `offset` is where its bytes start in the tar file. */
export interface AggregateMember {
  key: string;
  offset: number;
  bytes: number;
  sha256: string;
  experiment: string;
}

const manifestSchema = z.strictObject({
  format: z.literal(MANIFEST_FORMAT),
  aggregate: z.string(),
  created: z.iso.datetime(),
  members: z.array(z.strictObject({
    key: z.string(),
    offset: z.number().int().nonnegative(),
    bytes: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    experiment: z.string(),
  })),
});

export type AggregateManifest = z.output<typeof manifestSchema>;

/** A container to add, as the catalog records it. */
export interface AggregateInput {
  key: string;
  file: string;
  sha256: string;
  bytes: number;
  experiment: string;
}

export interface ClosedAggregate {
  /** Size and SHA-256 of the whole tar file. */
  bytes: number;
  sha256: string;
  members: AggregateMember[];
}

/** An aggregate being written: not visible under its name on the target until close(). */
export interface OpenAggregate {
  readonly name: string;
  /** Bytes written so far. */
  readonly bytes: number;
  /** Appends a container; ChecksumError when its bytes are not the catalog's (then abort()). */
  add(member: AggregateInput): Promise<AggregateMember>;
  /** Writes the manifest and end blocks and puts the aggregate on the target under its name. */
  close(): Promise<ClosedAggregate>;
  /** Removes what was written; nothing once close() succeeded. */
  abort(): Promise<void>;
}

/** What a driver on an archive storage class (S3 GLACIER, DEEP_ARCHIVE) adds: objects there are read only after a restore. */
export interface ArchiveRestore {
  requestRestore(key: string, days: number, tier: RestoreTier): Promise<void>;
  restoreState(key: string): Promise<RestoreState>;
}

function hasRestore(driver: TierDriver): driver is TierDriver & ArchiveRestore {
  const d = driver as Partial<ArchiveRestore>;
  return typeof d.requestRestore === 'function' && typeof d.restoreState === 'function';
}

export interface TapeTierDeps {
  /** Absolute path of a path in the facility config. */
  resolvePath(path: string): string;
  /** Opens the S3 target; required for a tape tier configured with `s3`. */
  s3?: (config: S3TargetConfig) => TierDriver;
}

/**
 * @example
 * const tape = new TapeTier('tape', config, { resolvePath: facility.resolvePath });
 * const agg = await tape.open('aggregates/agg-000042.tar');
 * const m = await agg.add({ key: 'lyso/run-0001/raw-00001.h5', file, sha256, bytes, experiment: 'lyso' });
 * const { sha256: tarSha256 } = await agg.close();
 * const data = await tape.readMember('aggregates/agg-000042.tar', m.offset, m.bytes);
 */
export class TapeTier {
  readonly name: string;
  readonly target: TierDriver;
  /** An aggregate is closed once it holds this many bytes. */
  readonly aggregateSize: number;
  /**
   * Present when the target may hold aggregates in an archive storage class: 'available' when
   * the aggregate can be read now, else 'in-progress' (a restore for the configured days and
   * tier is requested if none was).
   */
  readonly restore?: (aggregateName: string) => Promise<'available' | 'in-progress'>;
  /** S3 targets: aggregates are built here, then uploaded whole. */
  readonly #staging?: FilesystemTier;

  constructor(name: string, config: TapeTierConfig, deps: TapeTierDeps) {
    this.name = name;
    this.aggregateSize = config.aggregate_size;
    if (config.path !== undefined) {
      this.target = new FilesystemTier(name, deps.resolvePath(config.path), config.capacity);
    } else if (config.s3 !== undefined && deps.s3 !== undefined) {
      this.target = deps.s3(config.s3);
      this.#staging = new FilesystemTier(`${name}-staging`, deps.resolvePath(config.staging ?? `tiers/${name}-staging`));
    } else {
      throw new SxError('config', `tape tier ${name}: expected a mount point (path) or an S3 target (s3) with an S3 driver to open it`);
    }
    const target = this.target;
    if (hasRestore(target)) {
      this.restore = async (aggregateName) => {
        const state = await target.restoreState(aggregateName);
        if (state === 'available' || state === 'not-archived') return 'available';
        if (state === 'archived') await target.requestRestore(aggregateName, config.restore_days, config.restore_tier);
        return 'in-progress';
      };
    }
  }

  /**
   * Starts the aggregate `aggregateName` (a key such as `aggregates/agg-000042.tar`). On a mount
   * point the tar file is written in place under its partial name, so the bytes are written
   * once; for S3 it is built in the staging folder and uploaded by close().
   */
  async open(aggregateName: string): Promise<OpenAggregate> {
    const final = this.#staging ? undefined : this.target.locate(aggregateName);
    const file = final !== undefined ? partialPath(final) : this.#staging!.locate(aggregateName);
    await mkdir(dirname(file), { recursive: true });
    const publish = async (tar: { path: string; sha256: string }) => {
      if (final !== undefined) {
        await fsyncPath(tar.path);
        await rename(tar.path, final);
        await fsyncPath(dirname(final));
      } else {
        await this.target.put(aggregateName, tar.path, { sha256: tar.sha256 });
        await rm(tar.path, { force: true });
      }
    };
    return new AggregateWriter(aggregateName, await TarWriter.create(file), publish, () => this.discard(aggregateName));
  }

  /** Removes an aggregate no catalog record keeps: a killed writer's partial or staged file, or a finished one never recorded. */
  async discard(aggregateName: string): Promise<void> {
    await this.target.delete(aggregateName);
    if (this.#staging) await this.#staging.delete(aggregateName);
  }

  /** One member's bytes, by the offset and size the catalog recorded. */
  readMember(aggregateName: string, offset: number, bytes: number): Promise<Readable> {
    return this.target.read(aggregateName, { offset, length: bytes });
  }
}

class AggregateWriter implements OpenAggregate {
  readonly name: string;
  readonly #tar: TarWriter;
  readonly #publish: (tar: { path: string; sha256: string }) => Promise<void>;
  readonly #discard: () => Promise<void>;
  readonly #members: AggregateMember[] = [];
  readonly #keys = new Set<string>();
  #state: 'open' | 'publishing' | 'closed' = 'open';

  constructor(name: string, tar: TarWriter, publish: (tar: { path: string; sha256: string }) => Promise<void>, discard: () => Promise<void>) {
    this.name = name;
    this.#tar = tar;
    this.#publish = publish;
    this.#discard = discard;
  }

  get bytes(): number {
    return this.#tar.bytes;
  }

  async add(input: AggregateInput): Promise<AggregateMember> {
    if (input.key === MANIFEST_NAME) throw new SxError('store', `aggregate ${this.name}: ${MANIFEST_NAME} is the name of its manifest; expected a container key`);
    if (this.#keys.has(input.key)) throw new SxError('store', `aggregate ${this.name} already holds ${input.key}; expected each container once`);
    const m = await this.#tar.addFile(input.key, input.file, { bytes: input.bytes, sha256: input.sha256 });
    const member = { key: input.key, offset: m.offset, bytes: m.bytes, sha256: m.sha256, experiment: input.experiment };
    this.#keys.add(input.key);
    this.#members.push(member);
    return member;
  }

  async close(): Promise<ClosedAggregate> {
    const manifest: AggregateManifest = { format: MANIFEST_FORMAT, aggregate: this.name, created: new Date().toISOString(), members: this.#members };
    await this.#tar.addBuffer(MANIFEST_NAME, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));
    const { bytes, sha256 } = await this.#tar.finish();
    this.#state = 'publishing';
    await this.#publish({ path: this.#tar.path, sha256 });
    this.#state = 'closed';
    return { bytes, sha256, members: [...this.#members] };
  }

  async abort(): Promise<void> {
    if (this.#state === 'closed') return;
    await this.#tar.abort();
    // A failed close may have left the finished file anywhere from its partial name to the
    // target; the caller records it as failed, so no copy of it may stay.
    if (this.#state === 'publishing') await this.#discard();
  }
}

/**
 * Reads a whole aggregate (as `target.read(name)` streams it) and checks its members against
 * its manifest: names, offsets, sizes and SHA-256 of the bytes. Returns the manifest, for
 * comparing with the catalog; a mismatch is a ChecksumError.
 *
 * @example const manifest = await readAggregate(await tape.target.read(name), tape.target.locate(name));
 */
export async function readAggregate(source: AsyncIterable<Buffer>, what: string): Promise<AggregateManifest> {
  const members: TarEntry[] = [];
  let manifestData: Buffer | undefined;
  for await (const entry of listTar(source, what, { keep: (name) => name === MANIFEST_NAME })) {
    if (manifestData !== undefined) throw new ChecksumError(`${what}: member ${entry.name} follows ${MANIFEST_NAME}; expected the manifest last`);
    if (entry.data) manifestData = entry.data;
    else members.push(entry);
  }
  if (manifestData === undefined) throw new ChecksumError(`${what} has no ${MANIFEST_NAME}; expected it as the last member of an sxarchive aggregate`);
  let parsed;
  try {
    parsed = manifestSchema.safeParse(JSON.parse(manifestData.toString('utf8')));
  } catch (err) {
    throw new ChecksumError(`${what}: ${MANIFEST_NAME} is not JSON (${(err as Error).message})`);
  }
  if (!parsed.success) throw new ChecksumError(`${what}: ${MANIFEST_NAME} is not an ${MANIFEST_FORMAT} manifest: ${z.prettifyError(parsed.error)}`);
  const manifest = parsed.data;
  if (manifest.members.length !== members.length) {
    throw new ChecksumError(`${what} holds ${members.length} containers; its manifest lists ${manifest.members.length}`);
  }
  manifest.members.forEach((listed, i) => {
    const m = members[i];
    if (m.name !== listed.key || m.offset !== listed.offset || m.bytes !== listed.bytes || m.sha256 !== listed.sha256) {
      throw new ChecksumError(`${what}: member ${i + 1} is ${m.name} at byte ${m.offset} (${m.bytes} bytes, SHA-256 ${m.sha256}); its manifest lists ${listed.key} at byte ${listed.offset} (${listed.bytes} bytes, SHA-256 ${listed.sha256})`);
    }
  });
  return manifest;
}
