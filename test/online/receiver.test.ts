// The receiver's socket against a detector that goes away: whatever it sent before it went is
// received, however far behind the reading is.
import test from 'ava';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { openReceiver } from '../../src/online/receiver.ts';
import { simulate } from '../../src/simulate/simulate.ts';
import { decodeStream2 } from '../../src/streams/dectris-stream2.ts';
import { CLI_BIN } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

test('over ipc, a detector that sends a series and exits before any of it is read: every message is received', async (t) => {
  const dir = tempDir(t);
  const sim = await simulate({ detector: 'tiny', frames: 5, hitRate: 0.5, seed: 17, out: join(dir, 'run.h5') });
  const endpoint = `ipc://${join(dir, 'det')}`;
  // More than the few frames ZeroMQ holds before the socket is read, few enough that the
  // detector can write them all into the connection unread (and so exit at once).
  const images = 18;
  const detector = spawn(process.execPath, [CLI_BIN, 'detector-sim', sim.out, '--bind', endpoint, '--frames', String(images)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  detector.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((done) => detector.on('exit', (code) => done(code)));
  const receiver = openReceiver('stream2', endpoint);
  // Nothing is read until the detector has gone: a process exits only once ZeroMQ has written
  // what it queued, and then closes the connection.
  t.is(await exited, 0, stderr);
  // Only if a message was lost after all: what did arrive is then checked, not waited for forever.
  const lost = setTimeout(() => receiver.close(), 10_000);
  const types: string[] = [];
  try {
    while (types.at(-1) !== 'end') {
      const parts = await receiver.receive();
      if (!parts) break;
      types.push(decodeStream2(parts[0]).type);
    }
  } finally {
    clearTimeout(lost);
    receiver.close();
  }
  t.deepEqual(types, ['start', ...Array<string>(images).fill('image'), 'end']);
});
