// A real S3 endpoint for the S3 tests: `npm test` starts a throwaway Ceph RGW when radosgw is
// installed (test/run.ts); otherwise S3_ENDPOINT and the AWS_* keys name one.
import {
  AbortMultipartUploadCommand, CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, ListMultipartUploadsCommand,
  ListObjectsV2Command, S3Client,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import type { ExecutionContext } from 'ava';
import type { S3TargetConfig } from '../../src/config/facility.ts';

export interface S3TestEnv {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** The endpoint and keys the tests use; without them every S3 test fails, saying how to get them (never skips). */
export function s3Env(): S3TestEnv {
  const { S3_ENDPOINT: endpoint, AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = process.env;
  if (!endpoint || !accessKeyId || !secretAccessKey) {
    throw new Error('the S3 tests need a real S3 endpoint: install Ceph (apt-get install radosgw ceph-mon ceph-osd) and `npm test` '
      + 'starts a throwaway RADOS Gateway for them (if it is installed, the runner\'s output above says why it did not start), '
      + 'or set S3_ENDPOINT, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to an endpoint of your own');
  }
  return { endpoint, accessKeyId, secretAccessKey };
}

/** A plain SDK client, for doing things behind the driver's back. */
export function plainClient(env: S3TestEnv, endpoint = env.endpoint): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** A tier target with the schema's defaults, in `bucket`. */
export function targetConfig(env: S3TestEnv, bucket: string, overrides: Partial<S3TargetConfig> = {}): S3TargetConfig {
  return {
    endpoint: env.endpoint, region: 'us-east-1', bucket, prefix: '', storage_class: 'STANDARD', profile: 'default',
    part_size: 5 * 2 ** 20, parallel_parts: 4, max_attempts: 3, ...overrides,
  };
}

export interface TestBucket {
  env: S3TestEnv;
  bucket: string;
  client: S3Client;
}

/** A new, empty bucket for one test, emptied and removed when it ends. */
export async function freshBucket(t: ExecutionContext): Promise<TestBucket> {
  const env = s3Env();
  const client = plainClient(env);
  const bucket = `sx-test-${randomBytes(6).toString('hex')}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  t.teardown(async () => {
    // One DeleteObject at a time: DeleteObjects needs a Content-MD5 the SDK no longer sends by default.
    for (;;) {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      for (const o of page.Contents ?? []) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key }));
      if (!page.IsTruncated) break;
    }
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    for (const u of uploads.Uploads ?? []) await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }));
    await client.send(new DeleteBucketCommand({ Bucket: bucket }));
    client.destroy();
  });
  return { env, bucket, client };
}

export interface Connection {
  client: Socket;
  /** Bytes sent towards the endpoint (requests) and back (responses). */
  up: number;
  down: number;
}

export interface TcpProxyOptions {
  /** Sees every chunk, and may `reset` its connection or make the endpoint `vanish`. */
  watch?: (proxy: TcpProxy, connection: Connection) => void;
  /** Holds every chunk of the endpoint's answers this long, as a distant endpoint does. */
  responseDelayMs?: number;
}

/** A TCP proxy in front of the endpoint, so a test can slow or break the network under the driver. */
export class TcpProxy {
  readonly connections = new Set<Connection>();
  /** Connections accepted, and broken off by `reset`. */
  opened = 0;
  resets = 0;
  /** Bytes sent towards the endpoint over all connections. */
  up = 0;
  private readonly server = createServer((client) => this.accept(client));
  private port = 0;
  private readonly target: URL;
  private readonly options: TcpProxyOptions;

  private constructor(target: string, options: TcpProxyOptions) {
    this.target = new URL(target);
    this.options = options;
  }

  static async start(target: string, options: TcpProxyOptions): Promise<TcpProxy> {
    const proxy = new TcpProxy(target, options);
    await new Promise<void>((done) => proxy.server.listen(0, '127.0.0.1', done));
    proxy.port = (proxy.server.address() as AddressInfo).port;
    return proxy;
  }

  /** Where the driver is pointed; it stays the same after `vanish`. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Breaks a connection off with a TCP reset, as a dropped link or a dying gateway does. */
  reset(connection: Connection): void {
    if (!this.connections.delete(connection)) return;
    this.resets += 1;
    connection.client.resetAndDestroy();
  }

  /** The endpoint is gone: open connections are reset and new ones refused. */
  vanish(): void {
    this.server.close();
    for (const c of [...this.connections]) this.reset(c);
  }

  async close(): Promise<void> {
    this.vanish();
    await new Promise((done) => setImmediate(done));
  }

  private accept(client: Socket): void {
    this.opened += 1;
    const connection: Connection = { client, up: 0, down: 0 };
    this.connections.add(connection);
    const upstream = connect(Number(this.target.port), this.target.hostname);
    const delay = this.options.responseDelayMs ?? 0;
    const later = (then: () => void) => (delay > 0 ? setTimeout(then, delay) : then());
    const drop = () => {
      this.connections.delete(connection);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    // RGW closes after each UploadPart answer (Connection: close): the answer goes first.
    upstream.on('error', drop).on('close', () => later(drop));
    client.on('data', (chunk: Buffer) => {
      connection.up += chunk.length;
      this.up += chunk.length;
      this.options.watch?.(this, connection);
      if (this.connections.has(connection)) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      connection.down += chunk.length;
      this.options.watch?.(this, connection);
      later(() => this.connections.has(connection) && client.write(chunk));
    });
  }
}
