// The proxy e2e stack: an echo upstream on port 0, the development core seeded with
// config/proxy-test.yaml (the proxy-mode provider pointed at that upstream), and an outpost
// runtime with the proxy plugin on loopback port 0. Plus a small HTTP client with cookie jars
// and a login driver that goes authorize → the flow executor API → callback, like a browser.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { request } from 'undici';
import { WebSocketServer } from 'ws';
import { startDevCore, type DevCore } from '../../../src/devcore/index.ts';
import type { SeedDocument } from '../../../src/devcore/seed.ts';
import type { ListenerPlugin } from '../../../src/agent/listener.ts';
import { proxyPlugin, type ProxyListener } from '../../../src/proxy/listener.ts';
import { startOutpost, testConfig, type AuthentikVersion, type TestOutpost } from '../../support/outpost.ts';

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
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function proxySeed(upstreamPort: number | undefined, edit?: (doc: SeedDocument) => void): SeedDocument {
  const doc = parseYaml(readFileSync(PROXY_SEED, 'utf8')) as SeedDocument;
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
  const core = await startDevCore({ seed: proxySeed(upstream.port, opts.edit), port: 0, authentikVersion: opts.authentikVersion });
  const config = testConfig(core.url, [OUTPOST_TOKEN], { AUTHENTIK_LISTEN__HTTP: '127.0.0.1:0', AUTHENTIK_LISTEN__HTTPS: '127.0.0.1:0', ...opts.env });
  const outpost = await startOutpost(config, [proxyPlugin as ListenerPlugin]);
  const listener = outpost.runtime.listener('proxy') as ProxyListener;
  const { httpPort, httpsPort } = listener.ports;
  return {
    core,
    outpost,
    upstream,
    listener,
    httpPort: httpPort!,
    httpsPort: httpsPort!,
    async close() {
      await outpost.runtime.shutdown();
      await core.close();
      await upstream.close();
    },
  };
}

// ---- HTTP with cookie jars ---------------------------------------------------------------

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  location: string | undefined;
  setCookies: string[];
}

/** Cookies by name (tests use one jar per "browser"; domains and paths are not modelled). */
export class Jar {
  readonly cookies = new Map<string, string>();

  header(): string | undefined {
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  take(setCookies: readonly string[]): void {
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const maxAge = attrs.map((a) => a.trim()).find((a) => a.toLowerCase().startsWith('max-age='));
      if (maxAge !== undefined && Number(maxAge.slice(8)) <= 0) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  clone(): Jar {
    const j = new Jar();
    for (const [k, v] of this.cookies) j.cookies.set(k, v);
    return j;
  }
}

export async function call(origin: string, path: string, opts: { method?: string; host?: string; headers?: Record<string, string>; jar?: Jar; body?: string } = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.host) headers['host'] = opts.host;
  const cookie = opts.jar?.header();
  if (cookie && headers['cookie'] === undefined) headers['cookie'] = cookie;
  const res = await request(`${origin}${path}`, { method: (opts.method ?? 'GET') as 'GET', headers, body: opts.body });
  const body = await res.body.text();
  const sc = res.headers['set-cookie'];
  const setCookies = sc === undefined ? [] : Array.isArray(sc) ? sc : [sc];
  opts.jar?.take(setCookies);
  const location = res.headers['location'];
  return { status: res.statusCode, headers: res.headers, body, location: typeof location === 'string' ? location : undefined, setCookies };
}

/**
 * A browser at `url` (absolute, any host): the request goes to the outpost's HTTP port with
 * that URL's Host header (what a DNS entry would do).
 */
export function viaOutpost(stack: ProxyStack, url: string, opts: { method?: string; headers?: Record<string, string>; jar?: Jar } = {}): Promise<Reply> {
  const u = new URL(url);
  return call(`http://127.0.0.1:${stack.httpPort}`, `${u.pathname}${u.search}`, { ...opts, host: u.host });
}

/**
 * Log in at the core like the login page does: authorize → /if/flow/<slug>/?next=… → the flow
 * executor API (identification with password) → authorize again → 302 to the callback.
 * `coreJar` is the browser's jar for the core. Returns the callback URL (with code and state).
 */
export async function loginAtCore(core: DevCore, authorizeUrl: string, username: string, password: string, coreJar: Jar): Promise<string> {
  const origin = core.url;
  const a = new URL(authorizeUrl);
  let r = await call(origin, `${a.pathname}${a.search}`, { jar: coreJar });
  if (r.status === 302 && r.location && new URL(r.location, origin).pathname.startsWith('/if/flow/')) {
    const flowUrl = new URL(r.location, origin);
    const slug = flowUrl.pathname.split('/')[3]!;
    const api = `/api/v3/flows/executor/${encodeURIComponent(slug)}/?query=${encodeURIComponent(flowUrl.search.slice(1))}`;
    let c = JSON.parse((await call(origin, api, { jar: coreJar })).body) as { component: string; to?: string };
    for (let i = 0; i < 5 && c.component !== 'xak-flow-redirect'; i++) {
      if (c.component !== 'ak-stage-identification') throw new Error(`unexpected stage ${c.component}`);
      const post = await call(origin, api, { method: 'POST', jar: coreJar, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ component: c.component, uid_field: username, password }) });
      if (post.status === 302 && post.location) c = JSON.parse((await call(origin, new URL(post.location, origin).pathname + new URL(post.location, origin).search, { jar: coreJar })).body) as typeof c;
      else c = JSON.parse(post.body) as typeof c;
    }
    if (c.component !== 'xak-flow-redirect' || !c.to) throw new Error(`login did not finish: ${JSON.stringify(c)}`);
    const next = new URL(c.to, origin);
    r = await call(origin, `${next.pathname}${next.search}`, { jar: coreJar });
  }
  if (r.status !== 302 || !r.location) throw new Error(`authorize answered ${r.status}: ${r.body.slice(0, 300)}`);
  return r.location;
}

/**
 * The whole browser login for an app URL in proxy mode or through `/start`: follows the outpost's
 * 302s to the authorize endpoint, logs in, and delivers the callback to the outpost.
 * Returns the outpost's answer to the callback.
 */
export async function browserLogin(stack: ProxyStack, startUrl: string, jar: Jar, coreJar: Jar, user = 'alice', password = 'alice-password'): Promise<Reply> {
  let r = await viaOutpost(stack, startUrl, { jar });
  for (let i = 0; i < 3 && r.status === 302 && r.location && !r.location.startsWith(stack.core.url); i++) r = await viaOutpost(stack, r.location, { jar });
  if (r.status !== 302 || !r.location?.startsWith(stack.core.url)) throw new Error(`expected a redirect to the core, got ${r.status} ${r.location ?? ''}`);
  const callback = await loginAtCore(stack.core, r.location, user, password, coreJar);
  return viaOutpost(stack, callback, { jar });
}
