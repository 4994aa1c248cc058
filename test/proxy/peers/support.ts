// The outpost behind a real reverse proxy: a free port for nginx or Caddy, the development core
// seeded so that the forward_single provider's external host is that port, the outpost on
// loopback port 0, an upstream on port 0, and the README's example configuration
// (config/examples/) rendered with those ports. A "browser" with cookie jars talks to the
// reverse proxy with the app's Host header and to the core directly, following redirects.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { DevCore } from '../../../src/devcore/index.ts';
import { createUpstream } from '../../../src/demo/upstream.ts';
import type { AuthentikVersion, TestOutpost } from '../../support/outpost.ts';
import { freePort, requireBinary, startCaddy, startNginx, type PeerProcess } from '../../support/reverse-proxy.ts';
import { serveLoopback } from '../../support/serve.ts';
import { startEchoUpstream } from '../e2e/support.ts';
import { call, Jar, loginAtCore, type Reply } from '../support/client.ts';
import { readSeed, startCoreAndOutpost, type CoreAndOutpost } from '../support/stack.ts';

export type PeerKind = 'nginx' | 'caddy';

const CONFIG = new URL('../../../config/', import.meta.url).pathname;
export const EXAMPLES: Record<PeerKind, string> = {
  nginx: `${CONFIG}examples/nginx-demo.conf`,
  caddy: `${CONFIG}examples/Caddyfile.demo`,
};
export const PEERS_SEED = `${CONFIG}proxy-peers-test.yaml`;
export const DEMO_SEED = `${CONFIG}demo.yaml`;

export interface Ports {
  /** The reverse proxy (9080 in the example). */
  peer: number;
  /** The outpost's HTTP listener (9000). */
  outpost: number;
  /** The application (9901). */
  upstream: number;
}

/**
 * The example configuration with the demo's fixed ports replaced by the test's. Fails if one of
 * them is missing from the file or any of them is left over.
 */
export function renderExample(kind: PeerKind, ports: Ports): string {
  let text = readFileSync(EXAMPLES[kind], 'utf8');
  const swaps: [RegExp, string][] = [
    [/127\.0\.0\.1:9000\b/g, `127.0.0.1:${ports.outpost}`],
    [/127\.0\.0\.1:9901\b/g, `127.0.0.1:${ports.upstream}`],
    [/(?<=:)9080\b/g, String(ports.peer)],
  ];
  for (const [re, to] of swaps) {
    assert.match(text, re, `${EXAMPLES[kind]} should mention ${re.source}`);
    text = text.replace(re, to);
  }
  assert.doesNotMatch(text, /(?<![\d])(9000|9080|9901)(?!\d)/, `${EXAMPLES[kind]} has a fixed port left after rendering`);
  return text;
}

export function startPeer(kind: PeerKind, config: string, port: number): Promise<PeerProcess> {
  return kind === 'nginx' ? startNginx(config, port) : startCaddy(config, port);
}

export interface UpstreamHit {
  url: string;
  headers: IncomingHttpHeaders;
}

export interface PeerStack {
  kind: PeerKind;
  core: DevCore;
  outpost: TestOutpost;
  peer: PeerProcess;
  ports: Ports;
  /** `http://whoami.localhost:<peer port>`: the provider's external host. */
  app: string;
  /** What the upstream received (the echo upstream: every request; the demo upstream: its JSON answers). */
  hits: UpstreamHit[];
  close(): Promise<void>;
}

/**
 * `seed: 'peers'` = config/proxy-peers-test.yaml with the echo upstream; `'demo'` = the demo's
 * own seed (config/demo.yaml, provider whoami-provider) and the demo's upstream app.
 */
export async function startPeerStack(opts: { kind: PeerKind; authentikVersion: AuthentikVersion; seed?: 'peers' | 'demo' }): Promise<PeerStack> {
  // Before anything starts: a missing binary fails here with the apt-get line.
  requireBinary(opts.kind);
  const which = opts.seed ?? 'peers';
  const peerPort = await freePort();
  let hits: UpstreamHit[] = [];
  let upstreamPort: number;
  let closeUpstream: () => Promise<void>;
  if (which === 'peers') {
    const echo = await startEchoUpstream();
    upstreamPort = echo.port;
    closeUpstream = () => echo.close();
    hits = echo.hits;
  } else {
    const server: Server = createUpstream();
    server.prependListener('request', (req) => hits.push({ url: req.url ?? '', headers: req.headers }));
    const served = await serveLoopback(server);
    upstreamPort = served.port;
    closeUpstream = served.close;
  }

  const seed = readSeed(which === 'peers' ? PEERS_SEED : DEMO_SEED);
  for (const p of seed.providers ?? []) {
    if (p.type !== 'proxy') continue;
    // whoami.localhost:9080 / other.localhost:9080 → the reverse proxy's port.
    p.external_host = p.external_host.replace(/:9080$/, `:${peerPort}`);
    // The demo's proxy-mode provider points at 9901: never the demo's fixed ports.
    if (p.mode === 'proxy') p.internal_host = `http://127.0.0.1:${upstreamPort}`;
  }
  const token = which === 'peers' ? 'peers-outpost-token' : 'demo-proxy-token';
  let started: CoreAndOutpost | undefined;
  try {
    started = await startCoreAndOutpost({ seed, token, authentikVersion: opts.authentikVersion });
    const ports: Ports = { peer: peerPort, outpost: started.httpPort, upstream: upstreamPort };
    const peer = await startPeer(opts.kind, renderExample(opts.kind, ports), peerPort);
    const s = started;
    return {
      kind: opts.kind,
      core: s.core,
      outpost: s.outpost,
      peer,
      ports,
      app: `http://whoami.localhost:${peerPort}`,
      hits,
      async close() {
        await peer.stop();
        await s.close();
        await closeUpstream();
      },
    };
  } catch (err) {
    await started?.close();
    await closeUpstream();
    throw err;
  }
}

/** One browser: a jar for the app's host, one for the core. */
export class Browser {
  readonly app = new Jar();
  readonly core = new Jar();
  readonly stack: PeerStack;
  constructor(stack: PeerStack) {
    this.stack = stack;
  }

  /** One request, to the core if the URL is the core's, else to the reverse proxy with the URL's Host. */
  get(url: string, headers: Record<string, string> = {}): Promise<Reply> {
    const u = new URL(url);
    const hdrs = { accept: 'application/json', ...headers };
    if (u.origin === this.stack.core.url) return call(this.stack.core.url, `${u.pathname}${u.search}`, { jar: this.core, headers: hdrs });
    return call(`http://127.0.0.1:${this.stack.peer.port}`, `${u.pathname}${u.search}`, { host: u.host, jar: this.app, headers: hdrs });
  }

  /**
   * Follow redirects from `url`. With `login`, the core's authorize URL is answered by logging in
   * there (the login page's flow executor API) and the walk goes on with the callback; without,
   * the walk stops at the first URL on the core. Returns the last answer, its URL and every URL visited.
   */
  async follow(url: string, opts: { login?: { user: string; password: string }; headers?: Record<string, string> } = {}): Promise<{ reply: Reply; url: string; hops: string[] }> {
    const hops = [url];
    let current = url;
    let reply: Reply | undefined;
    for (let i = 0; i < 15; i++) {
      const u = new URL(current);
      if (u.origin === this.stack.core.url && u.pathname === '/application/o/authorize/') {
        if (!opts.login) return { reply: reply!, url: current, hops };
        current = await loginAtCore(this.stack.core, current, opts.login.user, opts.login.password, this.core);
        hops.push(current);
        continue;
      }
      reply = await this.get(current, opts.headers);
      if (reply.status >= 300 && reply.status < 400 && reply.location) {
        current = new URL(reply.location, current).href;
        hops.push(current);
        continue;
      }
      return { reply, url: current, hops };
    }
    throw new Error(`too many redirects: ${hops.join(' → ')}`);
  }

  /** Log in as `user` by visiting `url`; asserts the walk ends on `url` itself with the upstream's 200. */
  async login(url: string, user = 'alice', password = 'alice-password'): Promise<{ reply: Reply; hops: string[] }> {
    const r = await this.follow(url, { login: { user, password } });
    assert.equal(r.reply.status, 200, `login via ${r.hops.join(' → ')}: ${r.reply.status} ${r.reply.body.slice(0, 300)}`);
    assert.equal(r.url, url, `back on the app URL: ${r.hops.join(' → ')}`);
    return r;
  }
}

/** The headers the upstream saw, from the JSON body (both upstreams answer JSON to `accept: application/json`). */
export function upstreamSaw(reply: Reply): { url: string; headers: IncomingHttpHeaders } {
  const body = JSON.parse(reply.body) as { url: string; headers: IncomingHttpHeaders };
  return { url: body.url, headers: body.headers };
}
