// `sxarchive serve`: read-only pages and JSON over HTTP for the experiment list, each
// experiment's report, and a policy comparison on it. Only GET and HEAD exist, so no request
// changes anything. Off loopback every request needs a token, which sees only its proposals.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Catalog } from '../catalog/catalog.ts';
import type { Experiment } from '../catalog/types.ts';
import type { Facility } from '../config/facility.ts';
import { SxError } from '../errors.ts';
import { buildExperimentReport } from '../report/experiment-report.ts';
import { buildFacilityReport } from '../report/facility-report.ts';
import { renderReportHtml } from '../report/html.ts';
import { comparePolicies, shippedPolicyFiles } from '../report/policy-comparison.ts';
import { experimentListPage, policyComparisonPage, type Link } from './pages.ts';
import type { Access, Tokens } from './tokens.ts';

export interface ListenAddress {
  host: string;
  port: number;
}

/** `127.0.0.1:8080`, `[::1]:8080`, `0.0.0.0:80`. */
export function parseListen(text: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new SxError('usage', `--listen: expected HOST:PORT such as 127.0.0.1:8080 or [::1]:8080 but received "${text}"`);
  return { host: m[1] ?? m[2], port };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export interface ServeOptions {
  listen: ListenAddress;
  /** Required off loopback. */
  tokens?: Tokens;
  /** Errors while answering, for the operator's log (the client gets a plain 500). */
  onError?: (err: unknown, url: string) => void;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
  'X-Content-Type-Options': 'nosniff',
  // Tokens may ride in the query string: never pass them on as a referrer, never cache a page.
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

/**
 * @example
 * const server = await serve(facility, catalog, { listen: { host: '127.0.0.1', port: 8080 } });
 * console.log(server.url); await server.close();
 */
export async function serve(facility: Facility, catalog: Catalog, options: ServeOptions): Promise<{ url: string; close: () => Promise<void> }> {
  if (!isLoopback(options.listen.host) && !options.tokens) {
    throw new SxError('usage', `--listen ${options.listen.host}: an address other than loopback needs --tokens FILE (each token sees only its proposals' experiments)`);
  }
  const policyFiles = [...shippedPolicyFiles(), ...facility.config.compare_policies.map((p) => facility.resolvePath(p))];
  const server = createServer((req, res) => {
    try {
      answer(req, res);
    } catch (err) {
      if (err instanceof HttpError) return send(res, req, err.status, 'text/plain; charset=utf-8', `${err.message}\n`);
      options.onError?.(err, req.url ?? '');
      send(res, req, 500, 'text/plain; charset=utf-8', 'internal error (see the server log)\n');
    }
  });

  function answer(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      throw new HttpError(405, 'read-only: only GET and HEAD');
    }
    const url = new URL(req.url ?? '/', 'http://sxarchive');
    const token = bearer(req) ?? url.searchParams.get('token') ?? undefined;
    const access: Access | undefined = options.tokens ? options.tokens.access(token) : { all: true };
    if (!access) throw new HttpError(401, token === undefined ? 'a token is required (Authorization: Bearer TOKEN, or ?token=TOKEN)' : 'unknown token');
    const link: Link = (path) => (url.searchParams.has('token') ? `${path}?token=${encodeURIComponent(token!)}` : path);
    const parts = url.pathname.split('/').filter((p) => p !== '').map(decodePart);
    const api = parts[0] === 'api';
    const [section, name, sub, extra] = api ? parts.slice(1) : parts;
    const reply = (value: unknown, html: () => string) => api
      ? send(res, req, 200, 'application/json; charset=utf-8', `${JSON.stringify(value, null, 2)}\n`)
      : send(res, req, 200, 'text/html; charset=utf-8', html());

    if (section === undefined && !api) return reply(null, () => experimentListPage(listRows(access), link));
    if (section !== 'experiments' || extra !== undefined) throw new HttpError(404, 'no such page');
    if (name === undefined) {
      if (!api) throw new HttpError(404, 'no such page');
      return reply(listRows(access), () => '');
    }
    const exp = visible(access).find((e) => e.name === name);
    if (!exp) throw new HttpError(404, `no experiment named "${name}" here`);
    if (sub === undefined) {
      const report = buildExperimentReport(catalog, facility.config, exp.name);
      return reply(report, () => renderReportHtml(report));
    }
    if (sub !== 'policies') throw new HttpError(404, 'no such page');
    const rows = comparePolicies(catalog, facility.config, exp.name, policyFiles);
    return reply({ experiment: exp.name, currency: facility.config.currency, policies: rows }, () => policyComparisonPage(exp.name, facility.config.currency, rows, link));
  }

  function visible(access: Access): Experiment[] {
    const all = catalog.listExperiments();
    return access.all ? all : all.filter((e) => e.proposal !== null && access.proposals.has(e.proposal));
  }

  // One facility report for the whole list: a few queries however many experiments there are.
  function listRows(access: Access) {
    const names = new Set(visible(access).map((e) => e.name));
    const { experiments, currency } = buildFacilityReport(catalog, facility.config, { asOf: new Date() });
    return experiments.filter((e) => names.has(e.experiment))
      .map((e) => ({ name: e.experiment, proposal: e.proposal, frames: e.frames, storedBytes: e.keptBytes, costToDate: e.costToDate, currency }));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listen.port, options.listen.host, () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}/`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new HttpError(400, `not a URL path segment: ${part}`);
  }
}

function bearer(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

function send(res: ServerResponse, req: IncomingMessage, status: number, type: string, body: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
}
