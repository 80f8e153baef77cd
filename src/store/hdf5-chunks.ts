// Direct chunk reads and writes through the system libhdf5 (native/io/h5-chunks.*): the hot path
// of every detector frame, without h5wasm's copies through WebAssembly memory. h5wasm
// (src/store/hdf5.ts) keeps creating files and handling their structure and metadata.
import { SxError, type SxErrorTag } from '../errors.ts';
import { loadNative, type NativeH5DatasetInfo, type NativeH5Filter } from '../native.ts';

/**
 * One filter of a dataset's pipeline, as H5Pget_filter2 (and h5py's `get_filter`) reports it:
 * `flags` 1 = optional (skipped for a chunk it cannot shrink), 0 = mandatory; `cdValues` as
 * stored in the file, i.e. after the filter's set_local added its own.
 */
export type ChunkFilter = NativeH5Filter;

/**
 * A dataset as stored (every size counts elements): the current `shape`, `maxShape` (null =
 * unlimited), `chunks` (null unless chunked), the stored element type (readChunk returns
 * elements in its byte order) and the `filters` in pipeline order (bit i of a chunk's filter
 * mask stands for filters[i]).
 */
export type ChunkDatasetInfo = NativeH5DatasetInfo;

export interface ChunkFileOptions {
  /**
   * Whose fault a failure of the file is, as the SxError tag says: 'source' (tag 'input') for
   * detector files being ingested, 'container' (tag 'store') for sxarchive's own containers.
   * Default: 'source' when opened 'r', 'container' when opened 'r+'.
   */
  role?: 'source' | 'container';
}

interface FileState {
  readonly path: string;
  readonly writable: boolean;
  readonly tag: SxErrorTag;
  handle: bigint | undefined;
  readonly datasets: Set<ChunkDataset>;
}

function describe(value: unknown): string {
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${'length' in value ? String(value.length) : value.byteLength})`;
  return value === undefined ? 'undefined' : (JSON.stringify(value) ?? String(value));
}

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/** Runs one native call; its failure becomes SxError(tag) "<file>: <what HDF5 could not do>: <why>". */
function run<T>(state: FileState, call: () => T, prefix = `${state.path}: `): T {
  try {
    return call();
  } catch (err) {
    throw new SxError(state.tag, `${prefix}${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/**
 * An HDF5 file opened with the system libhdf5 for direct chunk I/O. May be used from several
 * worker threads at once (each opens its own ChunkFile); every libhdf5 call takes one lock.
 *
 * @example
 * const file = ChunkFile.open('/data/run_0001_master.h5', 'r');
 * try {
 *   const data = file.dataset('/entry/data/data');
 *   const { bytes, filterMask } = data.readChunk([17, 0, 0]);
 * } finally {
 *   file.close();
 * }
 */
export class ChunkFile {
  readonly #state: FileState;

  private constructor(state: FileState) {
    this.#state = state;
  }

  get path(): string {
    return this.#state.path;
  }

  /** Opens an existing file: 'r' read-only, 'r+' read-write. Never creates one (h5wasm does). */
  static open(path: string, mode: 'r' | 'r+' = 'r', options: ChunkFileOptions = {}): ChunkFile {
    const problems: string[] = [];
    if (typeof path !== 'string' || path === '') problems.push(`Expected a file path for ChunkFile.open but received ${describe(path)}`);
    if (mode !== 'r' && mode !== 'r+') problems.push(`Expected mode 'r' or 'r+' for ChunkFile.open but received ${describe(mode)}`);
    const role = options.role ?? (mode === 'r+' ? 'container' : 'source');
    if (role !== 'source' && role !== 'container') problems.push(`Expected role 'source' or 'container' for ChunkFile.open but received ${describe(role)}`);
    if (problems.length > 0) throw new SxError('usage', problems.join('; '));
    const state: FileState = { path, writable: mode === 'r+', tag: role === 'source' ? 'input' : 'store', handle: undefined, datasets: new Set() };
    state.handle = run(state, () => loadNative().h5OpenFile(path, state.writable), '');
    return new ChunkFile(state);
  }

  /** Opens the dataset at `path`; it stays usable until it or this file is closed. */
  dataset(path: string): ChunkDataset {
    const state = this.#state;
    if (typeof path !== 'string' || path === '') throw new SxError('usage', `Expected a dataset path for ${state.path} but received ${describe(path)}`);
    if (state.handle === undefined) throw new SxError('usage', `${state.path} is closed: cannot open dataset ${path}`);
    const native = loadNative();
    const file = state.handle;
    const handle = run(state, () => native.h5OpenDataset(file, path));
    try {
      const dataset = new ChunkDataset(state, path, handle, run(state, () => native.h5DescribeDataset(handle)));
      state.datasets.add(dataset);
      return dataset;
    } catch (err) {
      try {
        native.h5CloseDataset(handle);
      } catch {
        // The description's failure is the one worth reporting; closing the file closes it too.
      }
      throw err;
    }
  }

  /**
   * Closes the datasets still open, then flushes and closes the file. Throws SxError when
   * anything could not be written (e.g. no space left): the file is closed all the same. A
   * second call does nothing.
   */
  close(): void {
    const state = this.#state;
    if (state.handle === undefined) return;
    const failures: unknown[] = [];
    for (const dataset of state.datasets) {
      try {
        dataset.close();
      } catch (err) {
        failures.push(err);
      }
    }
    const file = state.handle;
    state.handle = undefined;
    try {
      run(state, () => loadNative().h5CloseFile(file), '');
    } catch (err) {
      failures.push(err);
    }
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) {
      throw new SxError(state.tag, failures.map((err) => (err as Error).message).join('; '), { cause: failures[0] });
    }
  }
}

/**
 * A dataset of a ChunkFile: its chunks read and written as stored, or whole frames (slices
 * along the first dimension) read through HDF5's own filters for pipelines sxarchive does not
 * decode itself (gzip, shuffle, ...). Get one with `ChunkFile.dataset`.
 *
 * @example
 * const data = file.dataset('/entry/data/data'); // [n, h, w], chunks [1, h, w]
 * const frame = new Uint16Array(h * w);
 * data.readFrames(5, 1, frame);
 */
export class ChunkDataset {
  readonly path: string;
  /** Kept current by `extend`. */
  readonly info: ChunkDatasetInfo;
  readonly #state: FileState;
  #handle: bigint | undefined;

  /** Use `ChunkFile.dataset`. */
  constructor(state: FileState, path: string, handle: bigint, info: ChunkDatasetInfo) {
    this.#state = state;
    this.path = path;
    this.#handle = handle;
    this.info = info;
  }

  /** The stored size in bytes of the chunk at `offset` (element coordinates); 0 = never written. */
  chunkBytes(offset: number[]): number {
    const handle = this.#open('chunkBytes');
    this.#checkOffset('chunkBytes', offset);
    return run(this.#state, () => loadNative().h5ChunkBytes(handle, offset));
  }

  /**
   * The chunk at `offset` exactly as stored (still filtered: see `filterMask` and
   * `info.filters`), in `into` when given (`bytes` is then a view of its start) or a new array.
   * Throws for a chunk never written.
   */
  readChunk(offset: number[], into?: Uint8Array): { bytes: Uint8Array; filterMask: number } {
    const handle = this.#open('readChunk');
    this.#checkOffset('readChunk', offset);
    if (into !== undefined && !(into instanceof Uint8Array)) {
      throw new SxError('usage', `Expected into to be a Uint8Array for readChunk of ${this.#where} but received ${describe(into)}`);
    }
    return run(this.#state, () => loadNative().h5ReadChunk(handle, offset, into ?? null));
  }

  /**
   * Reads frames `start` .. `start + count - 1` through HDF5's filter pipeline into `into`
   * (count x frame elements), converted by HDF5 to its type; out-of-range values saturate.
   */
  readFrames(start: number, count: number, into: Uint16Array | Uint32Array | Int32Array | Float32Array): void {
    const handle = this.#open('readFrames');
    const { shape } = this.info;
    const problems: string[] = [];
    if (shape.length === 0) problems.push('a scalar has no frames');
    if (!isCount(start) || !isCount(count) || start + count > (shape[0] ?? 0)) {
      problems.push(`Expected frames within 0..${shape[0] ?? 0} but received start ${describe(start)}, count ${describe(count)}`);
    }
    const elements = isCount(count) ? count * shape.slice(1).reduce((a, b) => a * b, 1) : NaN;
    const typed = into instanceof Uint16Array || into instanceof Uint32Array || into instanceof Int32Array || into instanceof Float32Array;
    if (!typed || into.length !== elements) {
      problems.push(`Expected into to be a Uint16Array, Uint32Array, Int32Array or Float32Array of ${elements} elements but received ${describe(into)}`);
    }
    if (problems.length > 0) throw new SxError('usage', `readFrames of ${this.#where}: ${problems.join('; ')}`);
    run(this.#state, () => loadNative().h5ReadFrames(handle, start, count, into));
  }

  /** Grows the first dimension to `frames` in all (file opened 'r+'; never shrinks). */
  extend(frames: number): void {
    const handle = this.#open('extend', true);
    const { shape, maxShape, chunks } = this.info;
    const limit = maxShape[0] === null ? Number.MAX_SAFE_INTEGER : (maxShape[0] ?? 0);
    if (chunks === null) throw new SxError(this.#state.tag, `${this.#where} is not chunked, so it cannot be extended`);
    if (!isCount(frames) || frames < shape[0] || frames > limit) {
      const range = maxShape[0] === null ? `at least ${shape[0]}` : `${shape[0]}..${limit}`;
      throw new SxError('usage', `Expected ${range} frames for extend of ${this.#where} but received ${describe(frames)}`);
    }
    run(this.#state, () => loadNative().h5ExtendFrames(handle, frames));
    shape[0] = frames;
  }

  /**
   * Stores `bytes` as the chunk at `offset` (within the current shape: `extend` first), as they
   * are. `filterMask` 0 says every filter of `info.filters` was applied to them (e.g. a
   * BitshuffleLz4Codec chunk for filter 32008); bit i set says filter i was not.
   */
  writeChunk(offset: number[], bytes: Uint8Array, filterMask = 0): void {
    const handle = this.#open('writeChunk', true);
    this.#checkOffset('writeChunk', offset);
    const { filters, element } = this.info;
    const problems: string[] = [];
    if (!Number.isInteger(filterMask) || filterMask < 0 || filterMask > 0xffffffff) {
      problems.push(`Expected filterMask to be a 32-bit unsigned integer but received ${describe(filterMask)}`);
    }
    const raw = filters.every((_, i) => ((filterMask >>> i) & 1) === 1);
    const rawBytes = this.info.chunks!.reduce((a, b) => a * b, element.bytes);
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) {
      problems.push(`Expected bytes to be a non-empty Uint8Array but received ${describe(bytes)}`);
    } else if (raw && bytes.length !== rawBytes) {
      problems.push(`Expected an unfiltered chunk of ${rawBytes} bytes but received ${bytes.length}`);
    }
    if (problems.length > 0) throw new SxError('usage', `writeChunk of ${this.#where}: ${problems.join('; ')}`);
    run(this.#state, () => loadNative().h5WriteChunk(handle, offset, bytes, filterMask));
  }

  /** Closes the dataset; a second call does nothing. */
  close(): void {
    const handle = this.#handle;
    if (handle === undefined) return;
    this.#handle = undefined;
    this.#state.datasets.delete(this);
    run(this.#state, () => loadNative().h5CloseDataset(handle));
  }

  get #where(): string {
    return `${this.path} in ${this.#state.path}`;
  }

  #open(method: string, write = false): bigint {
    if (this.#handle === undefined) throw new SxError('usage', `${this.#where} is closed: cannot ${method}`);
    if (write && !this.#state.writable) throw new SxError('usage', `${this.#state.path} is open read-only: cannot ${method} ${this.path} (open it 'r+')`);
    return this.#handle;
  }

  /** A chunk's first element: one coordinate per dimension, on the chunk grid, inside the shape. */
  #checkOffset(method: string, offset: number[]): void {
    const { shape, chunks } = this.info;
    if (chunks === null) {
      throw new SxError(this.#state.tag, `${this.#where} is not chunked (contiguous or compact layout), so it has no chunk to ${method}; read it with readFrames`);
    }
    const ok = Array.isArray(offset) && offset.length === shape.length &&
      offset.every((x, i) => isCount(x) && x % chunks[i] === 0 && x < shape[i]);
    if (!ok) {
      throw new SxError('usage', `Expected a chunk offset of ${shape.length} coordinates, multiples of [${chunks.join(', ')}] within [${shape.join(', ')}], for ${method} of ${this.#where} but received ${describe(offset)}`);
    }
  }
}
