// The request pipeline (handlers/pipeline.ts) on a loopback port without an outpost runtime: the
// providers compiled as `apply()` compiles them, an in-memory session store, and a stub core whose
// token and introspection endpoints answer what the test sets. Log lines are kept for assertions.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { Registry } from '../../../src/agent/prom.ts';
import { HttpPool } from '../../../src/net/pool.ts';
import { compileApp, type ProxyApp } from '../../../src/proxy/handlers/app.ts';
import { handleRequest, type PipelineDeps } from '../../../src/proxy/handlers/pipeline.ts';
import { ProxyMetrics } from '../../../src/proxy/metrics.ts';
import { HeaderAuthCache } from '../../../src/proxy/oidc/index.ts';
import { compileRoutes, trustedProxies, type ProxyProviderConfig, type ProxyProviderInput } from '../../../src/proxy/protocol/index.ts';
import { MemorySessionStore } from '../../../src/proxy/sessions/memory.ts';
import { upgradeResponse } from '../../../src/proxy/server/index.ts';
import { UpstreamDispatchers } from '../../../src/proxy/upstream/dispatchers.ts';
import { captureLogs } from '../../support/logs.ts';
import { provider } from '../protocol/fixtures.ts';

export interface CoreAnswer {
  status: number;
  body: unknown;
}

export interface Harness {
  /** `http://127.0.0.1:<port>` of the pipeline. */
  readonly origin: string;
  /** The stub core's origin (its endpoints are the providers' `oidc_configuration`). */
  readonly core: string;
  readonly apps: readonly ProxyApp[];
  readonly store: MemorySessionStore;
  /** Every log line written, parsed. */
  readonly lines: Record<string, unknown>[];
  /** What the stub core's token endpoint answers next (default: 400 invalid_grant). */
  token: (form: URLSearchParams) => CoreAnswer;
  /** What the stub core's introspection endpoint answers (default: `{active: false}`). */
  introspect: (form: URLSearchParams) => CoreAnswer;
  /** Requests the upstream (the default `internal_host`) received. */
  readonly upstreamHits: { url: string; headers: Record<string, unknown> }[];
  /** Websocket upgrades the upstream accepted. */
  readonly upstreamSockets: { url: string; headers: Record<string, unknown> }[];
  /** Bodies the token endpoint received. */
  readonly tokenRequests: URLSearchParams[];
  /** Bodies the introspection endpoint received. */
  readonly introspectRequests: URLSearchParams[];
  close(): Promise<void>;
}

/** Providers as the fixture's, with the stub core's endpoints; `overrides` per provider. */
export async function startHarness(overrides: readonly Partial<ProxyProviderInput>[], opts: { trusted?: readonly string[]; upstreamHeadersTimeoutMs?: number } = {}): Promise<Harness> {
  const tokenRequests: URLSearchParams[] = [];
  const introspectRequests: URLSearchParams[] = [];
  const h: { token: Harness['token']; introspect: Harness['introspect'] } = {
    token: () => ({ status: 400, body: { error: 'invalid_grant' } }),
    introspect: () => ({ status: 200, body: { active: false } }),
  };
  const coreServer = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      let answer: CoreAnswer = { status: 404, body: {} };
      if (req.url === '/application/o/token/') {
        const form = new URLSearchParams(body);
        tokenRequests.push(form);
        answer = h.token(form);
      } else if (req.url === '/application/o/introspect/') {
        const form = new URLSearchParams(body);
        introspectRequests.push(form);
        answer = h.introspect(form);
      }
      const text = JSON.stringify(answer.body);
      res.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  const core = await listen(coreServer);
  const upstreamHits: Harness['upstreamHits'] = [];
  const upstreamSockets: Harness['upstreamSockets'] = [];
  const upstreamServer = createServer((req, res) => {
    upstreamHits.push({ url: req.url ?? '', headers: req.headers });
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
  });
  // Websockets: every message echoed back, prefixed with the username the upstream saw.
  const wss = new WebSocketServer({ server: upstreamServer });
  wss.on('connection', (ws, req) => {
    upstreamSockets.push({ url: req.url ?? '', headers: req.headers });
    ws.on('message', (data) => ws.send(`${String(req.headers['x-authentik-username'] ?? '')}:${String(data)}`));
  });
  const upstream = await listen(upstreamServer);
  const oidc = {
    issuer: 'http://ak/application/o/app/',
    authorization_endpoint: `${core}/application/o/authorize/`,
    token_endpoint: `${core}/application/o/token/`,
    userinfo_endpoint: `${core}/application/o/userinfo/`,
    end_session_endpoint: `${core}/application/o/app/end-session/`,
    introspection_endpoint: `${core}/application/o/introspect/`,
    jwks_uri: `${core}/application/o/app/jwks/`,
    response_types_supported: ['code'],
    id_token_signing_alg_values_supported: ['HS256'],
    subject_types_supported: ['public'],
    token_endpoint_auth_methods_supported: ['client_secret_post'],
  };
  const { logger, lines } = captureLogs('debug');
  const dispatcher = new HttpPool();
  const configs: ProxyProviderConfig[] = overrides.map((o) => provider({ oidc_configuration: oidc, internal_host: upstream, ...o }));
  const api = { post: async () => ({}) } as never;
  const apps = configs.map((config) => compileApp(config, { outpostName: 'test-outpost', outpostPk: 'o1', oidc: { dispatcher, timeoutMs: 5_000, userAgent: 'goauthentik.io/outpost/test' }, api, logger }));
  const state = { router: compileRoutes(configs), apps: new Map(apps.map((a) => [a.config.pk, a])), outpostName: 'test-outpost' };
  const store = new MemorySessionStore({ sweepIntervalMs: 0 });
  const upstreams = new UpstreamDispatchers();
  const deps: PipelineDeps = {
    logger,
    metrics: new ProxyMetrics(new Registry()),
    trusted: trustedProxies(opts.trusted),
    store,
    headerAuth: new HeaderAuthCache(),
    version: 'goauthentik.io/outpost/test',
    upstreams,
    upstreamHeadersTimeoutMs: opts.upstreamHeadersTimeoutMs ?? 5_000,
    upstreamBodyTimeoutMs: 5_000,
    current: () => state,
  };
  const server = createServer((req: IncomingMessage, res) => void handleRequest(req, res, 'http', deps));
  // Upgrades as the proxy's server hands them over (server/server.ts).
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const res = upgradeResponse(req, socket);
    if (res) void handleRequest(req, res, 'http', deps, { socket, head });
    else socket.destroy();
  });
  const origin = await listen(server);
  return {
    origin,
    core,
    apps,
    store,
    lines,
    get token() {
      return h.token;
    },
    set token(f) {
      h.token = f;
    },
    get introspect() {
      return h.introspect;
    },
    set introspect(f) {
      h.introspect = f;
    },
    upstreamHits,
    upstreamSockets,
    tokenRequests,
    introspectRequests,
    async close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      coreServer.closeAllConnections();
      upstreamServer.closeAllConnections();
      await Promise.all([close(server), close(coreServer), close(upstreamServer)]);
      await dispatcher.close();
      await upstreams.close(true);
    },
  };
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
