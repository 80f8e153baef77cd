// A detector on the network: sends the frames of an HDF5 run as a DECTRIS detector streams them
// (stream V2: CBOR over a bound ZeroMQ PUSH socket), at a set rate, for tests, demos and the
// online benchmark. Frames stored as one bitshuffle-LZ4 chunk each go out as they are stored
// (what an Eiger sends is the same bytes); others are encoded first.
import { setTimeout as sleep } from 'node:timers/promises';
import { Push } from 'zeromq';
import { containerChunkCodec } from '../../codecs/registry.ts';
import { SxError } from '../errors.ts';
import { openFrameSource } from '../frames/hdf5-source.ts';
import { PIXEL_BYTES } from '../pixels.ts';
import { ChunkFile } from '../store/hdf5-chunks.ts';
import { encodeStream2, type Stream2Channel } from '../streams/dectris-stream2.ts';

export const DETECTOR_SIM_FORMATS = ['stream2'] as const;
export type DetectorSimFormat = (typeof DETECTOR_SIM_FORMATS)[number];

export interface DetectorSimOptions {
  /** An HDF5 run (e.g. from `sxarchive simulate`): its frames are sent in order, again from the first if `frames` asks for more. */
  file: string;
  /** Where the PUSH socket binds, e.g. tcp://127.0.0.1:31001 (stream V2's port) or ipc:///tmp/det. */
  bind: string;
  format: DetectorSimFormat;
  /** Images in the series; default the file's frames. */
  frames?: number;
  /** Images per second; default as fast as the receiver takes them. */
  rate?: number;
  seriesId?: number;
  /** Sent in the start message (user_data), e.g. { experiment: 'lyso-2026' }. */
  userData?: unknown;
  signal?: AbortSignal;
  onImage?: (sent: number, total: number) => void;
}

export interface DetectorSimResult {
  seriesId: number;
  seriesUniqueId: string;
  /** Images sent: fewer than asked only when stopped by the signal. */
  images: number;
  /** Bytes of the messages sent. */
  bytes: number;
  seconds: number;
}

const bslz4 = containerChunkCodec('bitshuffle-lz4');
/** How long the series' last messages may take to reach a receiver after the end is queued. */
const LINGER_MS = 30_000;

/**
 * Sends one series (start, the images, end) and closes the socket once the receiver has taken
 * the last message. A PUSH socket with no receiver holds the messages, as a detector does, so the
 * series starts when the first receiver connects.
 */
export async function runDetectorSim(options: DetectorSimOptions): Promise<DetectorSimResult> {
  const { rate, signal } = options;
  if (rate !== undefined && !(rate > 0)) throw new SxError('usage', `--rate: expected images per second > 0, got ${rate}`);
  const source = await openFrameSource(options.file);
  const files = new Map<string, ChunkFile>();
  try {
    const images = options.frames ?? source.count;
    if (!Number.isSafeInteger(images) || images < 1) throw new SxError('usage', `--frames: expected a whole number of images >= 1, got ${images}`);
    const seriesId = options.seriesId ?? 1;
    const seriesUniqueId = `sxarchive-sim-${process.pid}-${Date.now()}-${seriesId}`;
    const { width, height, pixelType } = source;
    // The frames' stored chunks, read once: sending then costs no more than the socket.
    const payloads: Stream2Channel[] = Array.from({ length: Math.min(images, source.count) }, (_, i) => {
      const at = source.locate(i);
      let bytes: Uint8Array | undefined;
      if (at?.chunk === 'bitshuffle-lz4') {
        let file = files.get(at.file);
        if (!file) files.set(at.file, (file = ChunkFile.open(at.file, 'r')));
        const chunk = file.dataset(at.path).readChunk(at.rank === 3 ? [at.index, 0, 0] : [0, 0]);
        if (chunk.filterMask === 0) bytes = chunk.bytes;
      }
      bytes ??= bslz4.encode({ data: source.read(i), width, height });
      return { channel: 'threshold_1', width, height, pixelType, compression: 'bslz4', elemSize: PIXEL_BYTES[pixelType], bytes };
    });
    const push = new Push({ sendHighWaterMark: 64, linger: LINGER_MS });
    try {
      await push.bind(options.bind);
    } catch (err) {
      push.close();
      throw new SxError('usage', `cannot bind ${options.bind}: ${(err as Error).message}`);
    }
    let bytes = 0;
    let sent = 0;
    const send = async (message: Uint8Array) => {
      bytes += message.byteLength;
      await push.send(message);
    };
    const start = performance.now();
    // Stopped: the socket closes at once, without what it holds (a detector stopped mid-series sends no end).
    const stop = () => {
      push.linger = 0;
      push.close();
    };
    signal?.addEventListener('abort', stop, { once: true });
    try {
      await send(encodeStream2({ type: 'start', seriesId, seriesUniqueId, channels: ['threshold_1'], pixelType, width, height, numberOfImages: images, ...(options.userData !== undefined ? { userData: options.userData } : {}) }));
      const t0 = performance.now();
      for (let imageId = 0; imageId < images; imageId++) {
        if (signal?.aborted) break;
        if (rate !== undefined) {
          const due = t0 + (imageId * 1000) / rate;
          const now = performance.now();
          if (due > now) await sleep(due - now);
        }
        const ticks = Math.round((performance.now() - t0) * 1000);
        await send(encodeStream2({ type: 'image', seriesId, seriesUniqueId, imageId, startTime: [ticks, 1_000_000], data: [payloads[imageId % payloads.length]] }));
        sent += 1;
        options.onImage?.(sent, images);
      }
      if (!signal?.aborted) await send(encodeStream2({ type: 'end', seriesId, seriesUniqueId }));
    } catch (err) {
      if (!signal?.aborted) throw err;
    } finally {
      signal?.removeEventListener('abort', stop);
      // Closing waits (up to LINGER_MS) until the receiver has taken what the socket still holds.
      if (!push.closed) push.close();
    }
    return { seriesId, seriesUniqueId, images: sent, bytes, seconds: (performance.now() - start) / 1000 };
  } finally {
    for (const file of files.values()) file.close();
    source.close();
  }
}
