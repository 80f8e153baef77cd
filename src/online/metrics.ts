// The Prometheus endpoint of a stream process: its counters, read when scraped (nothing is
// updated per frame but the plain numbers the pipeline keeps anyway).
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { SxError } from '../errors.ts';
import { recordedSoFar, type StreamCounters } from './online.ts';

/** A counter read from `value` at each scrape. */
function counter(registry: Registry, name: string, help: string, value: () => number): void {
  new Counter({
    name, help, registers: [registry],
    collect() {
      this.reset();
      this.inc(value());
    },
  });
}

function gauge(registry: Registry, name: string, help: string, value: () => number): void {
  new Gauge({ name, help, registers: [registry], collect() { this.set(value()); } });
}

export function streamRegistry(c: StreamCounters): Registry {
  const registry = new Registry();
  counter(registry, 'sxarchive_stream_messages_total', 'ZeroMQ messages received', () => c.messages);
  counter(registry, 'sxarchive_stream_received_bytes_total', 'bytes received from the detector', () => c.bytesIn);
  counter(registry, 'sxarchive_stream_images_total', 'image messages received', () => c.images);
  counter(registry, 'sxarchive_stream_frames_recorded_total', 'frames recorded in the catalog', () => recordedSoFar(c).frames);
  counter(registry, 'sxarchive_stream_kept_bytes_total', 'bytes kept in containers', () => recordedSoFar(c).storedBytes);
  counter(registry, 'sxarchive_stream_hits_total', 'frames labelled hits', () => recordedSoFar(c).hits);
  counter(registry, 'sxarchive_stream_indexed_total', 'frames whose indexing result says indexed when decided', () => recordedSoFar(c).indexed);
  counter(registry, 'sxarchive_stream_spooled_total', 'images that waited in the spool on the staging tier', () => c.spooled);
  counter(registry, 'sxarchive_stream_undecodable_total', 'messages that did not decode', () => c.undecodable);
  counter(registry, 'sxarchive_stream_image_id_gaps_total', 'image ids skipped within a series', () => c.gaps);
  counter(registry, 'sxarchive_stream_series_total', 'series ended', () => c.seriesEnded);
  new Counter({
    name: 'sxarchive_stream_dropped_frames_total', help: 'frames not recorded, per reason', labelNames: ['reason'], registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(c.dropped)) this.inc({ reason }, n);
    },
  });
  gauge(registry, 'sxarchive_stream_queue_images', 'images waiting for the pipeline (memory and spool)', () => c.queue?.().images ?? 0);
  gauge(registry, 'sxarchive_stream_queue_bytes', 'bytes of images waiting in memory', () => c.queue?.().bytes ?? 0);
  gauge(registry, 'sxarchive_stream_spool_bytes', 'bytes of images waiting in the spool', () => c.queue?.().spooledBytes ?? 0);
  return registry;
}

/** Serves `registry` at http://`address`/metrics (address host:port); resolves once listening. */
export async function serveMetrics(registry: Registry, address: string): Promise<Server> {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at);
  const port = Number(address.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) throw new SxError('usage', `--metrics: expected host:port such as 127.0.0.1:9400, got "${address}"`);
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('metrics are at /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500).end(`${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new SxError('usage', `--metrics: cannot listen on ${address}: ${err.message}`)));
    server.listen(port, host, resolve);
  });
  return server;
}
