// The socket sxarchive receives a detector stream on, as each format's sender expects: a DECTRIS
// detector binds PUSH (we connect PULL: several receivers share its images); OnDA publishes
// (SUB) or answers "next" requests (REQ, the pattern OM uses). ZeroMQ reconnects by itself when a
// detector goes away and comes back.
import { setTimeout as sleep } from 'node:timers/promises';
import { Pull, Request, Subscriber } from 'zeromq';
import { SxError } from '../errors.ts';
import type { StreamFormat } from './stream-events.ts';

export const MSGPACK_PATTERNS = ['sub', 'req'] as const;
export type MsgpackPattern = (typeof MSGPACK_PATTERNS)[number];

/** Messages ZeroMQ holds for us over TCP before the socket is read: a few frames, as the queue behind it is what is bounded. */
const RECEIVE_HWM = 16;

// Over ipc ZeroMQ holds whatever arrives (0: no limit) until the receive loop moves it into the
// queue. With a limit, a sender that closes while we hold that many loses its last messages:
// libzmq (4.3.5) takes the ipc hang-up, which comes at once, for a broken connection and never
// reads what the sender had already written into it (libzmq issue #4660). Over TCP the close is
// seen only once the data before it is read.
const receiveHighWaterMark = (endpoint: string) => (endpoint.startsWith('ipc://') ? 0 : RECEIVE_HWM);

/** How long a REQ socket waits for a frame before asking again (the server may be gone). */
const REQUEST_TIMEOUT_MS = 5000;

const EMPTY_REPLY_WAIT_MS = 100;

export interface Receiver {
  /** The next message's parts; undefined once closed. */
  receive(): Promise<Uint8Array[] | undefined>;
  close(): void;
}

export function openReceiver(format: StreamFormat, endpoint: string, pattern: MsgpackPattern = 'sub'): Receiver {
  try {
    if (format === 'msgpack' && pattern === 'req') return requestReceiver(endpoint);
    const options = { receiveHighWaterMark: receiveHighWaterMark(endpoint) };
    const socket = format === 'msgpack' ? new Subscriber(options) : new Pull(options);
    socket.connect(endpoint);
    if (socket instanceof Subscriber) socket.subscribe();
    return {
      async receive() {
        try {
          return await socket.receive();
        } catch (err) {
          if (socket.closed) return undefined;
          throw err;
        }
      },
      close: () => socket.close(),
    };
  } catch (err) {
    throw new SxError('usage', `cannot connect to ${endpoint}: ${(err as Error).message}; expected an endpoint such as tcp://detector:31001 or ipc:///path`);
  }
}

// REQ must alternate send and receive; a server that went away mid-request leaves the socket
// waiting, so a request that times out is made again on a new socket.
function requestReceiver(endpoint: string): Receiver {
  let socket: Request | undefined;
  let closed = false;
  const connect = () => {
    socket = new Request({ receiveTimeout: REQUEST_TIMEOUT_MS, linger: 0 });
    socket.connect(endpoint);
    return socket;
  };
  return {
    async receive() {
      while (!closed) {
        const s = socket ?? connect();
        try {
          await s.send('next');
          const parts = await s.receive();
          // An empty reply: nothing to send now.
          if (parts.length === 1 && parts[0].byteLength === 0) {
            await sleep(EMPTY_REPLY_WAIT_MS);
            continue;
          }
          return parts;
        } catch (err) {
          if (closed) return undefined;
          if ((err as { code?: string }).code !== 'EAGAIN') throw err;
          s.close();
          socket = undefined;
        }
      }
      return undefined;
    },
    close() {
      closed = true;
      socket?.close();
    },
  };
}
