// What every detector stream format decodes to: a series starts, images arrive, the series ends.
// One function per format turns that format's message into these events; the online pipeline
// sees nothing else of the formats.
import type { ContainerCodecId } from '../../codecs/registry.ts';
import { SxError } from '../errors.ts';
import type { PixelType } from '../pixels.ts';
import { decodeStream2, type Stream2Channel } from '../streams/dectris-stream2.ts';
import { decodeMsgpackFrame } from '../streams/onda-msgpack.ts';
import { decodeStream1 } from '../streams/dectris-stream1.ts';

export const STREAM_FORMATS = ['stream2', 'stream1', 'msgpack'] as const;
export type StreamFormat = (typeof STREAM_FORMATS)[number];

export interface SeriesStart {
  kind: 'start';
  /** Names the series uniquely (stream V2's series_unique_id): frames are recorded under it. */
  series: string;
  seriesId: number;
  /** Images the detector says it will send, when it says. */
  images?: number;
  /** The frames' shape, when the start message says. */
  shape?: { width: number; height: number; pixelType: PixelType };
  /** The start message's user_data (an experiment name may be given there). */
  userData?: unknown;
  /** The detector's pixel mask, one per channel (nonzero: a pixel not to use), when the start message has it. */
  pixelMask?: StreamFrame[];
}

/** One frame of an image: a detector with several channels (thresholds) sends one per channel. */
export interface StreamFrame {
  channel: string;
  width: number;
  height: number;
  pixelType: PixelType;
  /** The frame as one chunk of a container codec (bslz4 as an HDF5 filter-32008 chunk, or the pixels as they are); undefined when the compression is none sxarchive decodes. */
  chunk?: { codec: ContainerCodecId; bytes: Uint8Array };
  /** Why the frame has no chunk: the compression it came in. */
  unsupported?: string;
}

export interface StreamImage {
  kind: 'image';
  series: string;
  seriesId: number;
  imageId: number;
  frames: StreamFrame[];
}

export interface SeriesEnd {
  kind: 'end';
  series: string;
  seriesId: number;
}

export type StreamEvent = SeriesStart | StreamImage | SeriesEnd;

function frameOfStream2(c: Stream2Channel): StreamFrame {
  const shape = { channel: c.channel, width: c.width, height: c.height, pixelType: c.pixelType };
  if (c.compression === 'bslz4') return { ...shape, chunk: { codec: 'bitshuffle-lz4', bytes: c.bytes } };
  if (c.compression === 'none') return { ...shape, chunk: { codec: 'none', bytes: c.bytes } };
  return { ...shape, unsupported: c.compression };
}

/** Decodes the messages of one stream of `format`. */
export class EventDecoder {
  /** msgpack frames without an `image_id` are numbered as they come ... */
  private msgpackImages = 0;
  /** ... and those without a `series_unique_id` are a series named by when this receiver saw the first, so that no other receiver's numbers meet them. */
  private msgpackSeries: string | undefined;
  /** Stream V1 numbers series from 1 again when the detector restarts: each start gets a name of its own. */
  private stream1Series: { id: number; name: string } | undefined;

  constructor(readonly format: StreamFormat) {}

  /** The event in one ZeroMQ message (its parts). Throws SxError('input') naming what does not decode. */
  decode(parts: readonly Uint8Array[]): StreamEvent {
    const { format } = this;
    if (format === 'stream1') return this.decodeStream1(parts);
    if (parts.length !== 1) throw new SxError('input', `${format} message: expected one part, got ${parts.length}`);
    if (format === 'msgpack') {
      const f = decodeMsgpackFrame(parts[0]);
      const { series_unique_id: series, series_id: seriesId, image_id: imageId } = f.values;
      return {
        kind: 'image',
        series: typeof series === 'string' && series !== '' ? series : (this.msgpackSeries ??= `msgpack-${new Date().toISOString()}`),
        seriesId: Number.isSafeInteger(seriesId) ? (seriesId as number) : 0,
        imageId: Number.isSafeInteger(imageId) && (imageId as number) >= 0 ? (imageId as number) : this.msgpackImages++,
        frames: [{ channel: 'data', width: f.width, height: f.height, pixelType: f.pixelType, chunk: { codec: 'none', bytes: f.bytes } }],
      };
    }
    const m = decodeStream2(parts[0]);
    switch (m.type) {
      case 'start':
        return {
          kind: 'start', series: m.seriesUniqueId, seriesId: m.seriesId, images: m.numberOfImages, shape: { width: m.width, height: m.height, pixelType: m.pixelType },
          ...(m.pixelMask ? { pixelMask: m.pixelMask.map(frameOfStream2) } : {}),
          ...(m.userData !== undefined ? { userData: m.userData } : {}),
        };
      case 'image':
        return { kind: 'image', series: m.seriesUniqueId, seriesId: m.seriesId, imageId: m.imageId, frames: m.data.map(frameOfStream2) };
      case 'end':
        return { kind: 'end', series: m.seriesUniqueId, seriesId: m.seriesId };
    }
  }

  private decodeStream1(parts: readonly Uint8Array[]): StreamEvent {
    const m = decodeStream1([...parts]);
    if (this.stream1Series?.id !== m.seriesId || m.type === 'start') this.stream1Series = { id: m.seriesId, name: `stream1-series-${m.seriesId}-${new Date().toISOString()}` };
    const series = this.stream1Series.name;
    switch (m.type) {
      case 'start': {
        const shape = m.width !== undefined && m.height !== undefined && m.pixelType !== undefined ? { shape: { width: m.width, height: m.height, pixelType: m.pixelType } } : {};
        return { kind: 'start', series, seriesId: m.seriesId, ...(m.numberOfImages !== undefined ? { images: m.numberOfImages } : {}), ...shape, ...(m.userData !== undefined ? { userData: m.userData } : {}) };
      }
      case 'image':
        return { kind: 'image', series, seriesId: m.seriesId, imageId: m.imageId, frames: [frameOfStream2({ ...m, channel: 'data' })] };
      case 'end':
        return { kind: 'end', series, seriesId: m.seriesId };
    }
  }
}
