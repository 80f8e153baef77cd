// A tier in an S3 bucket (AWS, Ceph RGW, MinIO); also the target of a tape tier's aggregates
// in an archive storage class.
import {
  AbortMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand,
  ListObjectsV2Command, RestoreObjectCommand, S3Client, type HeadObjectCommandOutput, type StorageClass,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatBytes } from '../bytes.ts';
import type { S3TargetConfig } from '../config/facility.ts';
import { SxError } from '../errors.ts';
import { copyFileDurably } from './filesystem.ts';
import { ChecksumError, TierFullError, type ByteRange, type PutOptions, type TierDriver, type TierObject, type TierSpace, type TransferOptions } from './types.ts';

// sxarchive supports Node 20 (package.json engines); the SDK's notice that its releases after
// January 2027 will need Node 22 is for us to act on, not for every user's stderr.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Classes whose objects must be restored before they can be read (GLACIER_IR reads instantly). */
const ARCHIVE_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE']);
/** Overloaded or briefly failing; not 501 Not Implemented, which stays so. */
const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

export type RestoreTier = 'Standard' | 'Bulk' | 'Expedited';
export type RestoreState = 'not-archived' | 'archived' | 'in-progress' | 'available';

export interface S3TierOptions {
  /** Makes a relative credentials_file absolute (the facility's data directory); default: the working directory. */
  resolvePath?: (path: string) => string;
}

/** An incomplete multipart upload: a put that was killed, or one still running elsewhere. */
export interface PendingUpload {
  key: string;
  uploadId: string;
  initiated?: Date;
}

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** What the SDK attaches to its errors; network errors are plain Node errors with a `code`. */
interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

/**
 * The `[profile]` section of an AWS credentials file. Messages name the file, line and key,
 * never a value: the line may hold the secret.
 */
async function readCredentialsFile(path: string, profile: string): Promise<Credentials> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new SxError('config', `cannot read the S3 credentials_file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const values = new Map<string, string>();
  let section: string | undefined;
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    const pair = /^([A-Za-z0-9_]+)\s*=\s*(.*)$/.exec(line);
    if (header) section = header[1];
    else if (!pair) throw new SxError('config', `${path} line ${index + 1}: expected "[profile]" or "key = value"`);
    else if (section === profile) values.set(pair[1].toLowerCase(), pair[2].trim());
  }
  const accessKeyId = values.get('aws_access_key_id');
  const secretAccessKey = values.get('aws_secret_access_key');
  if (!accessKeyId || !secretAccessKey) {
    throw new SxError('config', `${path}: expected aws_access_key_id and aws_secret_access_key in section [${profile}]`);
  }
  const sessionToken = values.get('aws_session_token');
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

function credentialsFromEnv(tier: string): Credentials {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = process.env;
  if (!accessKeyId || !secretAccessKey) {
    throw new SxError('config', `tier ${tier} has no S3 credentials: expected AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment, or credentials_file in facility.yaml`);
  }
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

/** Where a tier's credentials come from, for messages (never the credentials themselves). */
function credentialSource(config: S3TargetConfig, resolvePath: (p: string) => string): string {
  return config.credentials_file === undefined
    ? 'AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment'
    : `credentials_file ${resolvePath(config.credentials_file)} [${config.profile}]`;
}

/**
 * The client a tier talks through. Credentials are read on first use, so a facility whose
 * S3 tier is not used today loads without them.
 *
 * @example
 * const client = s3ClientFor('cold', config, { resolvePath: facility.resolvePath });
 */
export function s3ClientFor(tier: string, config: S3TargetConfig, options: S3TierOptions = {}): S3Client {
  const resolvePath = options.resolvePath ?? ((p: string) => resolve(p));
  // The SDK keeps what this returns (credentials without an expiry) and asks again after a failure.
  const provide = async () => config.credentials_file === undefined
    ? credentialsFromEnv(tier)
    : readCredentialsFile(resolvePath(config.credentials_file), config.profile);
  // Stream bodies are otherwise sent aws-chunked with trailing checksums, which Ceph RGW
  // (Pacific) rejects; our own SHA-256 is the check that matters.
  const foreign = config.endpoint !== undefined && !new URL(config.endpoint).hostname.endsWith('.amazonaws.com');
  return new S3Client({
    region: config.region,
    ...(config.endpoint !== undefined ? { endpoint: config.endpoint, forcePathStyle: true } : {}),
    ...(foreign ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
    credentials: provide,
    maxAttempts: config.max_attempts,
    // Without these a silent network (packets dropped, not refused) hangs a transfer forever.
    requestHandler: { connectionTimeout: 10_000, socketTimeout: 120_000 },
  });
}

/**
 * Whether an object can be read now, from HeadObject's StorageClass and Restore header
 * (`ongoing-request="true"`, or `ongoing-request="false", expiry-date="..."` once restored).
 *
 * @example restoreStateOf({ StorageClass: 'GLACIER', Restore: 'ongoing-request="true"' }) // 'in-progress'
 */
export function restoreStateOf(head: Pick<HeadObjectCommandOutput, 'StorageClass' | 'Restore'>): RestoreState {
  if (!ARCHIVE_CLASSES.has(head.StorageClass ?? 'STANDARD')) return 'not-archived';
  if (head.Restore === undefined) return 'archived';
  const ongoing = /ongoing-request\s*=\s*"(true|false)"/i.exec(head.Restore)?.[1]?.toLowerCase();
  if (ongoing === undefined) {
    throw new SxError('store', `expected a Restore header with ongoing-request="true" or "false" but received ${JSON.stringify(head.Restore)}`);
  }
  return ongoing === 'true' ? 'in-progress' : 'available';
}

function isNetworkError(err: SdkError): boolean {
  return NETWORK_CODES.has(err.code ?? '') || err.name === 'TimeoutError';
}

function isRetryable(err: SdkError): boolean {
  const status = err.$metadata?.httpStatusCode ?? 0;
  return !(err instanceof SxError) && err.name !== 'AbortError' && (isNetworkError(err) || RETRY_STATUS.has(status) || err.name === 'SlowDown');
}

/** An operation as messages name it: `put exp/run-1.h5`, `list`. */
function describe(op: string, key: string | undefined): string {
  return key === undefined ? op : `${op} ${key}`;
}

/** Keys are container paths relative to the tier's prefix: no leading `/`, no `..`. */
function checkKey(key: string): void {
  if (key === '' || key.startsWith('/') || key.split('/').some((part) => part === '..' || part === '')) {
    throw new SxError('store', `expected a relative object key without '..' but received ${JSON.stringify(key)}`);
  }
}

/**
 * The client as lib-storage's Upload sees it: every request carries `signal` (Upload passes
 * none, so an abort would wait for the parts in flight), and the first failure is reported at
 * once, so the other parts stop instead of each retrying against an endpoint that is gone.
 */
function clientForUpload(client: S3Client, signal: AbortSignal, onFailure: (err: unknown) => void): S3Client {
  const scoped = Object.create(client) as S3Client;
  const send = (command: Parameters<S3Client['send']>[0], options?: object) =>
    client.send(command, { ...options, abortSignal: signal }).catch((err: unknown) => {
      onFailure(err);
      throw err;
    });
  scoped.send = send as S3Client['send'];
  return scoped;
}

export class S3Tier implements TierDriver {
  readonly kind = 's3' as const;
  readonly name: string;
  readonly config: S3TargetConfig;
  readonly capacity?: number;
  /** Private fields stay out of JSON.stringify and util.inspect, and the client holds the credentials. */
  readonly #client: S3Client;
  readonly #credentialSource: string;

  constructor(name: string, config: S3TargetConfig & { capacity?: number }, options: S3TierOptions = {}) {
    const { capacity, ...target } = config;
    this.name = name;
    this.config = target;
    this.capacity = capacity;
    this.#client = s3ClientFor(name, target, options);
    this.#credentialSource = credentialSource(target, options.resolvePath ?? ((p) => resolve(p)));
  }

  locate(key: string): string {
    checkKey(key);
    return `s3://${this.config.bucket}/${this.config.prefix}${key}`;
  }

  async put(key: string, file: string, options: PutOptions): Promise<void> {
    const objectKey = this.objectKey(key);
    const { size } = await stat(file);
    if (this.capacity !== undefined) await this.checkRoom(key, size);
    const leftBehind: string[] = [];
    try {
      await this.retrying('put', key, options.signal, () => this.upload(objectKey, file, size, options, leftBehind));
    } catch (err) {
      if (!(err instanceof SxError) || leftBehind.length === 0) throw err;
      throw new SxError('store', `${err.message}; its incomplete multipart upload could not be aborted and stays until abandoned uploads are aborted`, { cause: err.cause });
    }
  }

  async get(key: string, file: string, options: TransferOptions = {}): Promise<void> {
    const objectKey = this.objectKey(key);
    await this.retrying('get', key, options.signal, async () => {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key: objectKey }), { abortSignal: options.signal });
      const body = out.Body as Readable;
      const expected = out.Metadata?.sha256;
      if (expected === undefined) {
        body.destroy();
        throw new SxError('store', `${this.where}: ${key} has no sha256 metadata to check it against; expected an object stored by sxarchive`);
      }
      await copyFileDurably(Readable.from(this.checked(key, body, expected)), file, options);
    });
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const objectKey = this.objectKey(key);
    // S3 has no empty range: check the object is there and hand back nothing.
    if (range?.length === 0) {
      if ((await this.stat(key)) === undefined) throw new SxError('store', `${this.where}: read ${key}: no such object`);
      return Readable.from([]);
    }
    const Range = range && `bytes=${range.offset}-${range.offset + range.length - 1}`;
    const out = await this.retrying('read', key, undefined, () => this.#client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key: objectKey, Range })));
    return out.Body as Readable;
  }

  async stat(key: string): Promise<TierObject | undefined> {
    const head = await this.head(key);
    if (head === undefined) return undefined;
    const sha256 = head.Metadata?.sha256;
    return { key, bytes: head.ContentLength ?? 0, ...(sha256 ? { sha256 } : {}), storageClass: head.StorageClass ?? 'STANDARD' };
  }

  async delete(key: string): Promise<void> {
    const objectKey = this.objectKey(key);
    await this.retrying('delete', key, undefined, () => this.#client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: objectKey })));
  }

  async *list(prefix = ''): AsyncIterable<TierObject> {
    let ContinuationToken: string | undefined;
    do {
      const page = await this.retrying('list', prefix || undefined, undefined, () => this.#client.send(new ListObjectsV2Command({
        Bucket: this.config.bucket, Prefix: this.config.prefix + prefix, ContinuationToken,
      })));
      for (const o of page.Contents ?? []) {
        if (o.Key !== undefined) yield { key: o.Key.slice(this.config.prefix.length), bytes: o.Size ?? 0, storageClass: o.StorageClass ?? 'STANDARD' };
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken !== undefined);
  }

  async space(): Promise<TierSpace> {
    let usedBytes = 0;
    for await (const o of this.list()) usedBytes += o.bytes;
    if (this.capacity === undefined) return { usedBytes };
    return { usedBytes, capacityBytes: this.capacity, freeBytes: Math.max(0, this.capacity - usedBytes) };
  }

  /**
   * Asks for a readable copy of an archived object for `days` days; asking again while one is
   * on its way is not an error. Ceph RGW (Pacific) has no restore-object, so this and
   * restoreState are checked against AWS only; the tests cover restoreStateOf.
   */
  async requestRestore(key: string, days: number, tier: RestoreTier): Promise<void> {
    const objectKey = this.objectKey(key);
    await this.retrying('restore', key, undefined, () => this.#client.send(new RestoreObjectCommand({
      Bucket: this.config.bucket, Key: objectKey, RestoreRequest: { Days: days, GlacierJobParameters: { Tier: tier } },
    })).catch((err: SdkError) => {
      if (err.name !== 'RestoreAlreadyInProgress') throw err;
    }));
  }

  async restoreState(key: string): Promise<RestoreState> {
    const head = await this.head(key);
    if (head === undefined) throw new SxError('store', `${this.where}: restore state of ${key}: no such object`);
    return restoreStateOf(head);
  }

  /** Incomplete multipart uploads under the prefix: each holds its parts (and is billed) until aborted. */
  async abandonedUploads(): Promise<PendingUpload[]> {
    const found: PendingUpload[] = [];
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.retrying('list uploads', undefined, undefined, () => this.#client.send(new ListMultipartUploadsCommand({
        Bucket: this.config.bucket, Prefix: this.config.prefix, KeyMarker, UploadIdMarker,
      })));
      for (const u of page.Uploads ?? []) {
        if (u.Key !== undefined && u.UploadId !== undefined) found.push({ key: u.Key.slice(this.config.prefix.length), uploadId: u.UploadId, ...(u.Initiated ? { initiated: u.Initiated } : {}) });
      }
      if (!page.IsTruncated) return found;
      KeyMarker = page.NextKeyMarker;
      UploadIdMarker = page.NextUploadIdMarker;
    }
  }

  /** Aborts the incomplete uploads started more than `olderThanMs` ago (younger ones may still be running). */
  async abortAbandonedUploads(olderThanMs: number): Promise<PendingUpload[]> {
    const before = Date.now() - olderThanMs;
    const old = (await this.abandonedUploads()).filter((u) => (u.initiated?.getTime() ?? 0) <= before);
    for (const u of old) {
      await this.retrying('abort upload', u.key, undefined, () => this.abortUpload(this.config.prefix + u.key, u.uploadId));
    }
    return old;
  }

  private get where(): string {
    return `tier ${this.name} (s3://${this.config.bucket}/${this.config.prefix})`;
  }

  private get endpoint(): string {
    return this.config.endpoint ?? `https://s3.${this.config.region}.amazonaws.com`;
  }

  private objectKey(key: string): string {
    checkKey(key);
    return this.config.prefix + key;
  }

  private async head(key: string): Promise<HeadObjectCommandOutput | undefined> {
    const objectKey = this.objectKey(key);
    return this.retrying('stat', key, undefined, () => this.#client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key: objectKey })).catch((err: SdkError) => {
      if (err.$metadata?.httpStatusCode === 404) return undefined;
      throw err;
    }));
  }

  private async checkRoom(key: string, size: number): Promise<void> {
    let used = 0;
    let existing = 0;
    for await (const o of this.list()) {
      used += o.bytes;
      if (o.key === key) existing = o.bytes;
    }
    const free = Math.max(0, this.capacity! - used);
    if (size - existing > free) {
      throw new TierFullError(this.name, size, free, `${this.where} is full: ${key} needs ${formatBytes(size)}, capacity ${formatBytes(this.capacity!)}, ${formatBytes(free)} free`);
    }
  }

  /** One try at a put; a failed multipart upload is aborted, or its id kept in `leftBehind`. */
  private async upload(objectKey: string, file: string, size: number, options: PutOptions, leftBehind: string[]): Promise<void> {
    const failed = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, failed.signal]) : failed.signal;
    let failure: unknown;
    const client = clientForUpload(this.#client, signal, (err) => {
      if (!signal.aborted) failure = err;
      failed.abort(err);
    });
    const body = createReadStream(file, { highWaterMark: 1 << 20 });
    const stopReading = () => body.destroy(signal.reason);
    signal.addEventListener('abort', stopReading, { once: true });
    const upload = new Upload({
      client,
      partSize: this.config.part_size,
      queueSize: this.config.parallel_parts,
      leavePartsOnError: true, // we abort it ourselves, after every part in flight has settled
      params: {
        Bucket: this.config.bucket,
        Key: objectKey,
        Body: body,
        ContentLength: size, // lets Upload check that every part of the file went up
        StorageClass: this.config.storage_class as StorageClass,
        Metadata: { sha256: options.sha256, bytes: String(size) },
      },
    });
    if (options.onProgress) upload.on('httpUploadProgress', (p) => p.loaded !== undefined && options.onProgress!(p.loaded));
    try {
      await upload.done();
    } catch (err) {
      if (upload.uploadId !== undefined) {
        await this.abortUpload(objectKey, upload.uploadId).catch(() => leftBehind.push(upload.uploadId!));
      }
      throw failure ?? err;
    } finally {
      signal.removeEventListener('abort', stopReading);
      body.destroy();
    }
  }

  private async abortUpload(objectKey: string, uploadId: string): Promise<void> {
    await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.config.bucket, Key: objectKey, UploadId: uploadId })).catch((err: SdkError) => {
      if (err.$metadata?.httpStatusCode !== 404) throw err; // NoSuchUpload: already gone
    });
  }

  /** The object's bytes, hashed on the way; ends with a ChecksumError instead of the last chunk's success. */
  private async *checked(key: string, body: Readable, expected: string): AsyncGenerator<Buffer> {
    const hash = createHash('sha256');
    for await (const chunk of body) {
      hash.update(chunk as Buffer);
      yield chunk as Buffer;
    }
    const actual = hash.digest('hex');
    if (actual !== expected) {
      throw new ChecksumError(`${this.where}: ${key} reads back with SHA-256 ${actual}; expected ${expected} (its sha256 metadata)`);
    }
  }

  /**
   * Runs `attempt` until it succeeds, fails for good, or `max_attempts` tries were made in all.
   * The SDK already retries each request, and its attempts count here; this loop covers what
   * it cannot: a download whose body breaks off, and an upload that lib-storage cannot resume.
   */
  private async retrying<T>(op: string, key: string | undefined, signal: AbortSignal | undefined, attempt: () => Promise<T>): Promise<T> {
    const stopped = () => new SxError('interrupted', `${this.where}: ${describe(op, key)} stopped before it completed`, { cause: signal?.reason });
    let attempts = 0;
    for (;;) {
      try {
        return await attempt();
      } catch (err) {
        if (signal?.aborted) throw stopped();
        const e = err as SdkError;
        attempts += e.$metadata?.attempts ?? 1;
        if (!isRetryable(e) || attempts >= this.config.max_attempts) throw this.failure(op, key, err, attempts);
      }
      await sleep(Math.random() * Math.min(20_000, 100 * 2 ** attempts), undefined, { signal }).catch(() => {
        throw stopped();
      });
    }
  }

  private failure(op: string, key: string | undefined, err: unknown, attempts: number): Error {
    if (err instanceof SxError) return err;
    const e = err as SdkError;
    if (isNetworkError(e)) {
      return new SxError('store', `${this.where}: cannot reach ${this.endpoint} after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${e.message || e.code}`, { cause: err });
    }
    const status = e.$metadata?.httpStatusCode;
    const what = `${e.name ?? 'error'}${status !== undefined ? ` (HTTP ${status})` : ''}${e.message && e.message !== e.name && e.message !== 'UnknownError' ? `: ${e.message}` : ''}`;
    const hint = status === 403 ? `; check the credentials (${this.#credentialSource})`
      : op === 'put' && (e.name === 'InvalidStorageClass' || e.name === 'InvalidArgument') ? `; check that the endpoint offers storage_class ${this.config.storage_class}`
        : '';
    return new SxError('store', `${this.where}: ${describe(op, key)} failed: ${what}${hint}`, { cause: err });
  }
}
