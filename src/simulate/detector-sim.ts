// A detector on the network: sends the frames of an HDF5 run as a detector streams them, at a set
// rate, for tests, demos and the online benchmark. DECTRIS formats (stream V2: CBOR messages;
// stream V1: multipart JSON and blobs) go over a bound PUSH socket, as the detector does; frames
// stored as one bitshuffle-LZ4 chunk each go out as they are stored (what an Eiger sends is the
// same bytes), others are encoded first. CrystFEL/OnDA msgpack frames carry the pixels raw, as OnDA
// sends them, over a PUB socket (OnDA's pattern) or a REP socket answering each request (OM's).
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Push, Reply, XPublisher } from 'zeromq';
import { containerChunkCodec } from '../../codecs/registry.ts';
import { SxError } from '../errors.ts';
import { openFrameSource, type FrameSource } from '../frames/hdf5-source.ts';
import { PIXEL_BYTES, pixelTypeOfArray } from '../pixels.ts';
import { ChunkFile } from '../store/hdf5-chunks.ts';
import { encodeStream1, type Stream1Image } from '../streams/dectris-stream1.ts';
import { encodeStream2, type Stream2Channel } from '../streams/dectris-stream2.ts';
import { encodeMsgpackFrame, type MsgpackFrame } from '../streams/onda-msgpack.ts';

export const DETECTOR_SIM_FORMATS = ['stream2', 'stream1', 'msgpack'] as const;
export type DetectorSimFormat = (typeof DETECTOR_SIM_FORMATS)[number];
export const DETECTOR_SIM_PATTERNS = ['push', 'pub', 'rep'] as const;
export type DetectorSimPattern = (typeof DETECTOR_SIM_PATTERNS)[number];

/** Where each format binds unless told: stream V2's port, the SIMPLON stream (V1) port, and the OnDA port `sxarchive stream --help` names. */
export const DEFAULT_DETECTOR_SIM_BIND: Record<DetectorSimFormat, string> = { stream2: 'tcp://127.0.0.1:31001', stream1: 'tcp://127.0.0.1:9999', msgpack: 'tcp://127.0.0.1:5555' };

export interface DetectorSimOptions {
  /** An HDF5 run (e.g. from `sxarchive simulate`): its frames are sent in order, again from the first if `frames` asks for more. */
  file: string;
  format: DetectorSimFormat;
  /** Where the socket binds, e.g. tcp://127.0.0.1:31001 or ipc:///tmp/det; default DEFAULT_DETECTOR_SIM_BIND's. */
  bind?: string;
  /** push for the DECTRIS formats (the only choice); msgpack: pub (default) or rep. */
  pattern?: DetectorSimPattern;
  /** Images in the series; default the file's frames. */
  frames?: number;
  /** Images per second; default as fast as the receiver takes them. */
  rate?: number;
  seriesId?: number;
  /** Sent with the series: stream V2's start user_data, stream V1's header appendix; msgpack frames have no place for it. */
  userData?: unknown;
  signal?: AbortSignal;
  onImage?: (sent: number, total: number) => void;
}

export interface DetectorSimResult {
  format: DetectorSimFormat;
  pattern: DetectorSimPattern;
  /** The series sent (stream2, stream1); msgpack frames belong to no series. */
  seriesId?: number;
  /** Stream V2's series_unique_id; stream V1 and msgpack carry none. */
  seriesUniqueId?: string;
  /** Images sent: fewer than asked only when stopped by the signal. */
  images: number;
  /** Bytes of the messages sent. */
  bytes: number;
  seconds: number;
}

type Message = Uint8Array | Uint8Array[];

/** One format's messages: those before and after the images (none for msgpack), and each image. */
interface Series {
  start?: Message;
  image(imageId: number, elapsedMs: number): Message;
  end?: Message;
  result: Pick<DetectorSimResult, 'seriesId' | 'seriesUniqueId'>;
}

const bslz4 = containerChunkCodec('bitshuffle-lz4');
/** How long the series' last messages may take to reach a receiver after the end is queued (and a REP socket waits for the request after the last frame). */
const LINGER_MS = 30_000;
const SEND_HWM = 64;

/**
 * Sends one series (stream V2/V1: start, the images, end; msgpack: the frames) and closes the
 * socket once the last message is queued, taken or not. A PUSH socket with no receiver holds the
 * messages, as a detector does, so the series starts when the first receiver connects; a PUB
 * socket starts at the first subscription (what it sent before would be lost); a REP socket sends
 * a frame for each request, whatever it says (OM and CrystFEL's --zmq-request send "next").
 */
export async function runDetectorSim(options: DetectorSimOptions): Promise<DetectorSimResult> {
  const { format, rate, signal } = options;
  const pattern = options.pattern ?? (format === 'msgpack' ? 'pub' : 'push');
  if (rate !== undefined && !(rate > 0)) throw new SxError('usage', `--rate: expected images per second > 0, got ${rate}`);
  if (format === 'msgpack' ? pattern === 'push' : pattern !== 'push') {
    throw new SxError('usage', `--pattern ${pattern}: ${format === 'msgpack' ? 'msgpack frames are published (pub) or sent on request (rep)' : `${format} is sent over PUSH, as a DECTRIS detector does; pub and rep are for msgpack`}`);
  }
  const bind = options.bind ?? DEFAULT_DETECTOR_SIM_BIND[format];
  const source = await openFrameSource(options.file);
  let series: Series;
  let images: number;
  try {
    images = options.frames ?? source.count;
    if (!Number.isSafeInteger(images) || images < 1) throw new SxError('usage', `--frames: expected a whole number of images >= 1, got ${images}`);
    series = format === 'msgpack' ? msgpackSeries(source, images, options.seriesId ?? 1) : dectrisSeries(format, source, images, options);
  } finally {
    source.close();
  }
  const socket = pattern === 'push' ? new Push({ sendHighWaterMark: SEND_HWM, linger: LINGER_MS })
    // noDrop: a slow subscriber slows the sender instead of losing frames (OnDA itself would drop them).
    : pattern === 'pub' ? new XPublisher({ sendHighWaterMark: SEND_HWM, linger: LINGER_MS, noDrop: true })
    : new Reply({ linger: LINGER_MS });
  try {
    await socket.bind(bind);
  } catch (err) {
    socket.close();
    throw new SxError('usage', `cannot bind ${bind}: ${(err as Error).message}`);
  }
  let bytes = 0;
  let sent = 0;
  const send = async (message: Message) => {
    bytes += Array.isArray(message) ? message.reduce((n, part) => n + part.byteLength, 0) : message.byteLength;
    await socket.send(message);
  };
  const start = performance.now();
  // Stopped: the socket closes at once, without what it holds (a detector stopped mid-series sends no end).
  const stop = () => {
    socket.linger = 0;
    socket.close();
  };
  signal?.addEventListener('abort', stop, { once: true });
  try {
    if (socket instanceof XPublisher) await firstSubscription(socket);
    if (series.start) await send(series.start);
    const t0 = performance.now();
    for (let imageId = 0; imageId < images; imageId++) {
      if (signal?.aborted) break;
      if (socket instanceof Reply) await socket.receive();
      if (rate !== undefined) {
        const due = t0 + (imageId * 1000) / rate;
        const now = performance.now();
        if (due > now) await sleep(due - now);
      }
      await send(series.image(imageId, performance.now() - t0));
      sent += 1;
      options.onImage?.(sent, images);
    }
    if (!signal?.aborted && series.end) await send(series.end);
    if (!signal?.aborted && socket instanceof Reply) await answerLastRequest(socket);
  } catch (err) {
    if (!signal?.aborted) throw err;
  } finally {
    signal?.removeEventListener('abort', stop);
    // Closing returns at once; ZeroMQ goes on sending what the socket holds for up to LINGER_MS,
    // and a process exiting waits for that (zeromq.js terminates its context at exit).
    if (!socket.closed) socket.close();
  }
  return { format, pattern, ...series.result, images: sent, bytes, seconds: (performance.now() - start) / 1000 };
}

/** Waits until a subscriber subscribes (XPUB hands us its subscription message, first byte 1). */
async function firstSubscription(socket: XPublisher): Promise<void> {
  for (;;) {
    const [subscription] = await socket.receive();
    if (subscription[0] === 1) return;
  }
}

// A requester asks again after the last frame: it is told there is nothing more with an empty
// reply (the online receiver then waits and asks again, as when OM has no new frame), so it is not
// left waiting for a reply that never comes. One that never asks is waited for up to LINGER_MS.
async function answerLastRequest(socket: Reply): Promise<void> {
  socket.receiveTimeout = LINGER_MS;
  try {
    await socket.receive();
  } catch (err) {
    if ((err as { code?: string }).code === 'EAGAIN') return;
    throw err;
  }
  await socket.send(new Uint8Array(0));
}

/** Each frame of the first `n` as one bitshuffle-LZ4 chunk, read once: sending then costs no more than the socket. */
function storedChunks(source: FrameSource, n: number): Uint8Array[] {
  const files = new Map<string, ChunkFile>();
  try {
    return Array.from({ length: n }, (_, i) => {
      const at = source.locate(i);
      if (at?.chunk === 'bitshuffle-lz4') {
        let file = files.get(at.file);
        if (!file) files.set(at.file, (file = ChunkFile.open(at.file, 'r')));
        const chunk = file.dataset(at.path).readChunk(at.rank === 3 ? [at.index, 0, 0] : [0, 0]);
        if (chunk.filterMask === 0) return chunk.bytes;
      }
      return bslz4.encode({ data: source.read(i), width: source.width, height: source.height });
    });
  } finally {
    for (const file of files.values()) file.close();
  }
}

function dectrisSeries(format: 'stream2' | 'stream1', source: FrameSource, images: number, options: DetectorSimOptions): Series {
  const { width, height, pixelType } = source;
  const seriesId = options.seriesId ?? 1;
  const userData = options.userData !== undefined ? { userData: options.userData } : {};
  if (format === 'stream1' && pixelType !== 'uint16' && pixelType !== 'uint32') throw new SxError('usage', `--format stream1: stream V1 carries uint16 or uint32 frames, as an Eiger sends them; ${source.file} has ${pixelType}`);
  const chunks = storedChunks(source, Math.min(images, source.count));
  const channel = (i: number): Omit<Stream2Channel, 'channel'> => ({ width, height, pixelType, compression: 'bslz4', elemSize: PIXEL_BYTES[pixelType], bytes: chunks[i % chunks.length] });
  if (format === 'stream2') {
    const seriesUniqueId = `sxarchive-sim-${process.pid}-${Date.now()}-${seriesId}`;
    const id = { seriesId, seriesUniqueId };
    return {
      start: encodeStream2({ type: 'start', ...id, channels: ['threshold_1'], pixelType, width, height, numberOfImages: images, ...userData }),
      image: (imageId, elapsedMs) => encodeStream2({ type: 'image', ...id, imageId, startTime: [Math.round(elapsedMs * 1000), 1_000_000], data: [{ channel: 'threshold_1', ...channel(imageId) }] }),
      end: encodeStream2({ type: 'end', ...id }),
      result: id,
    };
  }
  const hashes = chunks.map((chunk) => createHash('md5').update(chunk).digest('hex'));
  // The frame time, when there is one, as the detector reports its exposure.
  const realNs = options.rate !== undefined ? Math.round(1e9 / options.rate) : 0;
  return {
    start: encodeStream1({ type: 'start', seriesId, headerDetail: 'basic', width, height, pixelType, numberOfImages: images, ...userData }),
    image: (imageId, elapsedMs) => {
      const startNs = Math.round(elapsedMs * 1e6);
      const image: Stream1Image = { type: 'image', seriesId, imageId, hash: hashes[imageId % hashes.length], ...channel(imageId), startTime: [startNs, 1e9], stopTime: [startNs + realNs, 1e9], realTime: [realNs, 1e9] };
      return encodeStream1(image);
    },
    end: encodeStream1({ type: 'end', seriesId }),
    result: { seriesId },
  };
}

function msgpackSeries(source: FrameSource, images: number, seriesId: number): Series {
  const { width, height } = source;
  const frames = Array.from({ length: Math.min(images, source.count) }, (_, i): Omit<MsgpackFrame, 'values'> => {
    const read = source.read(i);
    // CrystFEL reads "<i4" and "<f4": unsigned frames become int32, a uint32 2^32 - 1 (an Eiger's bad-pixel value) becoming -1, as CrystFEL's Eiger readers make it.
    const pixels = read instanceof Float32Array || read instanceof Int32Array ? read : Int32Array.from(read);
    return { width, height, pixelType: pixelTypeOfArray(pixels)!, bytes: new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength) };
  });
  const seriesUniqueId = `sxarchive-sim-${process.pid}-${Date.now()}-${seriesId}`;
  return {
    // Named as a DECTRIS stream names them, so that a receiver knows each frame (and that none was
    // lost), and CrystFEL can copy the names into its stream (--copy-header); `timestamp` is what OM sends.
    image: (imageId) => encodeMsgpackFrame({ ...frames[imageId % frames.length], values: { series_unique_id: seriesUniqueId, series_id: seriesId, image_id: imageId, timestamp: Date.now() / 1000 } }),
    result: { seriesId, seriesUniqueId },
  };
}
