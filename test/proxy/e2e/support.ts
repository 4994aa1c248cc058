// The proxy e2e stack: an echo upstream on port 0, the development core seeded with
// config/proxy-test.yaml (the proxy-mode provider pointed at that upstream), and an outpost
// runtime with the proxy plugin on loopback port 0 (../support/stack.ts). Plus the login driver
// that goes outpost → authorize → the flow executor API → callback, like a browser, with the
// cookie-jar client of ../support/client.ts.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect } from 'node:net';
import { WebSocketServer } from 'ws';
import type { DevCore } from '../../../src/devcore/index.ts';
import type { SeedDocument } from '../../../src/devcore/seed.ts';
import type { ProxyListener } from '../../../src/proxy/listener.ts';
import type { AuthentikVersion, TestOutpost } from '../../support/outpost.ts';
import { serveLoopback } from '../../support/serve.ts';
import { call, Jar, loginAtCore, type Reply } from '../support/client.ts';
import { readSeed, startCoreAndOutpost } from '../support/stack.ts';

// The client lives in ../support/client.ts; re-exported for the e2e tests and bench/proxy.
export { call, Jar, loginAtCore, type Reply };

export const PROXY_SEED = new URL('../../../config/proxy-test.yaml', import.meta.url).pathname;
export const OUTPOST_TOKEN = 'proxy-outpost-token';

export interface UpstreamHit {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface EchoUpstream {
  readonly port: number;
  readonly hits: UpstreamHit[];
  close(): Promise<void>;
}

/** Answers every request with 200 and a JSON echo of what it received. */
export async function startEchoUpstream(): Promise<EchoUpstream> {
  const hits: UpstreamHit[] = [];
  const server: Server = createServer((req, res) => {
    const hit = { method: req.method ?? '', url: req.url ?? '', headers: req.headers };
    hits.push(hit);
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify(hit);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-powered-by': 'echo' });
      res.end(body);
    });
  });
  // Websockets: every message is echoed back, prefixed with the username the upstream saw.
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => {
    ws.on('message', (data) => ws.send(`${String(req.headers['x-authentik-username'] ?? '')}:${String(data)}`));
  });
  const served = await serveLoopback(server, { wss });
  return { port: served.port, hits, close: served.close };
}

export function proxySeed(upstreamPort: number | undefined, edit?: (doc: SeedDocument) => void): SeedDocument {
  const doc = readSeed(PROXY_SEED);
  for (const p of doc.providers ?? []) {
    if (p.type === 'proxy' && p.name === 'p1-proxy' && upstreamPort !== undefined) p.internal_host = `http://127.0.0.1:${upstreamPort}`;
  }
  edit?.(doc);
  return doc;
}

export interface ProxyStack {
  core: DevCore;
  outpost: TestOutpost;
  upstream: EchoUpstream;
  listener: ProxyListener;
  httpPort: number;
  httpsPort: number;
  close(): Promise<void>;
}

export async function startProxyStack(opts: { authentikVersion: AuthentikVersion; env?: NodeJS.ProcessEnv; edit?: (doc: SeedDocument) => void }): Promise<ProxyStack> {
  const upstream = await startEchoUpstream();
  let started;
  try {
    started = await startCoreAndOutpost({ seed: proxySeed(upstream.port, opts.edit), token: OUTPOST_TOKEN, authentikVersion: opts.authentikVersion, env: opts.env });
  } catch (err) {
    await upstream.close();
    throw err;
  }
  const { core, outpost, listener, httpPort, httpsPort } = started;
  return {
    core,
    outpost,
    upstream,
    listener,
    httpPort,
    httpsPort,
    async close() {
      await started.close();
      await upstream.close();
    },
  };
}

// ---- a browser without a browser --------------------------------------------------------

/**
 * A browser at `url` (absolute, any host): the request goes to the outpost's HTTP port with
 * that URL's Host header (what a DNS entry would do).
 */
export function viaOutpost(stack: ProxyStack, url: string, opts: { method?: string; headers?: Record<string, string>; jar?: Jar } = {}): Promise<Reply> {
  const u = new URL(url);
  return call(`http://127.0.0.1:${stack.httpPort}`, `${u.pathname}${u.search}`, { ...opts, host: u.host });
}

/**
 * Follows the outpost's 302s from `startUrl` (an app URL in proxy mode, or `/start`) until one
 * leads to the core, and returns that URL (the authorize endpoint).
 */
export async function toCore(stack: ProxyStack, startUrl: string, jar: Jar): Promise<string> {
  let r = await viaOutpost(stack, startUrl, { jar });
  for (let i = 0; i < 3 && r.status === 302 && r.location && !r.location.startsWith(stack.core.url); i++) r = await viaOutpost(stack, r.location, { jar });
  if (r.status !== 302 || !r.location?.startsWith(stack.core.url)) throw new Error(`expected a redirect to the core, got ${r.status} ${r.location ?? ''}`);
  return r.location;
}

/**
 * The whole browser login for an app URL in proxy mode or through `/start`: follows the outpost's
 * 302s to the authorize endpoint, logs in, and delivers the callback to the outpost.
 * Returns the outpost's answer to the callback.
 */
export async function browserLogin(stack: ProxyStack, startUrl: string, jar: Jar, coreJar: Jar, user = 'alice', password = 'alice-password'): Promise<Reply> {
  const callback = await loginAtCore(stack.core, await toCore(stack, startUrl, jar), user, password, coreJar);
  return viaOutpost(stack, callback, { jar });
}

/**
 * Raw bytes to `port` on loopback (nothing normalised, unlike a URL), everything read back
 * until the server closes (send `Connection: close`).
 */
export function rawExchange(port: number, chunks: readonly (string | Buffer)[]): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const data: Buffer[] = [];
    socket.on('connect', () => {
      for (const c of chunks) socket.write(c);
    });
    socket.on('data', (d: Buffer) => data.push(d));
    // A reset is an answer too (a refused PROXY header): what was read so far is the result.
    socket.on('error', () => {});
    socket.on('close', () => resolve(Buffer.concat(data).toString('latin1')));
  });
}

/** One raw HTTP/1.1 request, closed after the answer's head arrives: its status code and what was read. */
export function rawRequest(port: number, head: string): Promise<{ status: number; data: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.write(head));
    socket.on('data', (d: string) => {
      data += d;
      if (/\r\n\r\n/.test(data)) socket.end();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0), data }));
  });
}

/** Polls `check` until it holds (or throws after `ms`). */
export async function until(what: string, check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
