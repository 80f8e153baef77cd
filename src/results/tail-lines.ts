import { watch, type FSWatcher } from 'node:fs';
import { open } from 'node:fs/promises';
import { SxError } from '../errors.ts';
import { LineSplitter } from '../formats/crystfel-stream.ts';

export const DEFAULT_POLL_INTERVAL_MS = 500;
const READ_BYTES = 1 << 20;

export interface ReadLinesOptions {
  /** Keep waiting for more lines at the end of the file (a stream still being written). */
  follow?: boolean;
  /** Stops reading (between reads) once aborted. */
  signal?: AbortSignal;
  /** Longest wait between looks at a followed file when no change event arrives. */
  pollIntervalMs?: number;
  /** Called after each read with the bytes read so far and the file's size at that time. */
  onBytes?: (bytesRead: number, fileBytes: number) => void;
}

/** Wakes a waiting reader on a file change event, a timeout or an abort, whichever is first. */
class Waiter {
  private wakeUp: (() => void) | undefined;
  private watcher: FSWatcher | undefined;

  constructor(file: string) {
    try {
      this.watcher = watch(file, { persistent: false }, () => this.wakeUp?.());
      // Some filesystems (NFS, FUSE) give no events or fail later: the poll interval covers them.
      this.watcher.on('error', () => this.close());
    } catch {
      this.watcher = undefined;
    }
  }

  wait(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((done) => {
      if (signal?.aborted) return done();
      const finish = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', finish);
        this.wakeUp = undefined;
        done();
      };
      const timer = setTimeout(finish, ms);
      signal?.addEventListener('abort', finish, { once: true });
      this.wakeUp = finish;
    });
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}

/**
 * Yields the complete lines of `file` as they are read, a batch per read. Without `follow` it
 * ends at the end of the file (a last line without a newline included). With `follow` it waits
 * at the end for the file to grow (change events, or polling every `pollIntervalMs`) and ends only
 * when `signal` aborts; a last line still being written is held back until its newline arrives.
 *
 * @example
 * for await (const lines of readLines('run7.stream', { follow: true, signal })) parse(lines);
 */
export async function* readLines(file: string, options: ReadLinesOptions = {}): AsyncGenerator<string[]> {
  const { follow = false, signal, pollIntervalMs = DEFAULT_POLL_INTERVAL_MS } = options;
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SxError('input', code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot open: ${(err as Error).message}`, { cause: err });
  }
  const waiter = follow ? new Waiter(file) : undefined;
  const splitter = new LineSplitter();
  const buffer = Buffer.alloc(READ_BYTES);
  let offset = 0;
  try {
    while (!signal?.aborted) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      if (bytesRead > 0) {
        offset += bytesRead;
        const lines = splitter.push(buffer.subarray(0, bytesRead));
        options.onBytes?.(offset, Math.max(offset, (await handle.stat()).size));
        if (lines.length > 0) yield lines;
        continue;
      }
      if (!follow) {
        const last = splitter.end();
        if (last.length > 0) yield last;
        return;
      }
      const { size } = await handle.stat();
      if (size < offset) {
        throw new SxError('input', `${file}: the file shrank from ${offset} to ${size} bytes while being followed (rewritten?); import it again`);
      }
      if (size === offset) await waiter!.wait(pollIntervalMs, signal);
    }
  } finally {
    waiter?.close();
    await handle.close();
  }
}
