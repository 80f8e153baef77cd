// A DECTRIS detector sends its pixel mask in a series' start message (with header_detail "all"):
// dead, hot and noisy pixels, and the gaps. Joined to the geometry's bad pixels for labelling,
// so that a hot pixel is never counted as a peak; the frames themselves are kept as sent.
import type { PixelMap } from '../core/pixel-map.ts';
import { storedFrame } from '../ingest/frame-products.ts';
import type { StreamFrame } from './stream-events.ts';

export type JoinedMask = { map: PixelMap; added: number } | { refused: string };

/** `map` with every pixel the masks mark (nonzero, any channel) bad too, in shared memory as buildPixelMap makes it. */
export function withDetectorMask(map: PixelMap, masks: readonly StreamFrame[]): JoinedMask {
  const bad = new Uint8Array(new SharedArrayBuffer(map.bad.length));
  bad.set(map.bad);
  let added = 0;
  for (const mask of masks) {
    if (!mask.chunk) return { refused: `the pixel mask of ${mask.channel} is compressed as ${mask.unsupported}, which sxarchive does not decode` };
    if (mask.width !== map.width || mask.height !== map.height) {
      return { refused: `the pixel mask of ${mask.channel} is ${mask.width} x ${mask.height}, the geometry's frames ${map.width} x ${map.height}` };
    }
    let values;
    try {
      values = storedFrame(mask.chunk, mask).pixels;
    } catch (err) {
      return { refused: `the pixel mask of ${mask.channel} does not decode: ${(err as Error).message}` };
    }
    for (let i = 0; i < values.length; i++) {
      if (values[i] !== 0 && bad[i] === 0) {
        bad[i] = 1;
        added += 1;
      }
    }
  }
  return { map: { ...map, bad }, added };
}
