// The one interface every storage tier's driver offers (filesystem, S3); the tape tier builds
// its aggregates on top of one of them (src/tiers/tape.ts).
import type { Readable } from 'node:stream';
import { SxError } from '../errors.ts';

/** An object on a tier, by its key: a container's catalog path, or a tape aggregate's name. */
export interface TierObject {
  key: string;
  bytes: number;
  /** Our SHA-256 (hex), where the tier keeps it beside the object (S3 metadata). */
  sha256?: string;
  storageClass?: string;
}

export interface TransferOptions {
  signal?: AbortSignal;
  /** Bytes moved so far, for progress bars. */
  onProgress?: (bytes: number) => void;
}

export interface PutOptions extends TransferOptions {
  /** SHA-256 (hex) of the local file as the catalog has it; S3 stores it as object metadata. */
  sha256: string;
}

export interface TierSpace {
  usedBytes: number;
  /** What can still be written, where the tier knows it (a file system, a configured capacity). */
  freeBytes?: number;
  capacityBytes?: number;
}

export interface ByteRange {
  offset: number;
  length: number;
}

export interface TierDriver {
  readonly name: string;
  readonly kind: 'filesystem' | 's3';
  /**
   * Where `key` lives, as placements record it: an absolute path, or `s3://bucket/prefix/key`.
   * Never carries credentials.
   */
  locate(key: string): string;
  /**
   * Stores a local file under `key` so that it appears complete or not at all; an existing
   * object under the key is replaced. Refused with TierFullError, before anything is written,
   * when the tier has no room for it.
   */
  put(key: string, file: string, options: PutOptions): Promise<void>;
  /**
   * Copies the object to a local file (written atomically). Where the tier keeps our SHA-256
   * (S3), the bytes are checked against it and a mismatch is a ChecksumError.
   */
  get(key: string, file: string, options?: TransferOptions): Promise<void>;
  /** The object's bytes, or a range of them, as a stream (no checksum: a range has none of its own). */
  read(key: string, range?: ByteRange): Promise<Readable>;
  /**
   * SHA-256 (hex) and length of the object or a range of it, where the tier computes them
   * cheaper than a read() stream hashed by the caller (a local file: on the hashing threads).
   */
  digest?(key: string, range?: ByteRange, onProgress?: (bytes: number) => void): Promise<{ sha256: string; bytes: number }>;
  stat(key: string): Promise<TierObject | undefined>;
  /** Removes the object; one that is not there is not an error. */
  delete(key: string): Promise<void>;
  /** Every object under `prefix` (default: all of the tier's), in no particular order. */
  list(prefix?: string): AsyncIterable<TierObject>;
  space(): Promise<TierSpace>;
}

/** A tier without room: migration pauses on it (nothing is deleted) and resumes when there is room. */
export class TierFullError extends SxError {
  readonly tier: string;
  readonly neededBytes: number;
  readonly freeBytes: number;
  constructor(tier: string, neededBytes: number, freeBytes: number, what: string) {
    super('store', what);
    this.tier = tier;
    this.neededBytes = neededBytes;
    this.freeBytes = freeBytes;
  }
}

/** Bytes read back that are not the bytes the catalog recorded. */
export class ChecksumError extends SxError {
  constructor(message: string) {
    super('store', message);
  }
}
