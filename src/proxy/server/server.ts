// The proxy's HTTP (9000) and HTTPS (9443) servers: one request handler on both, TLS 1.2+ with
// a certificate picked per SNI, Node's inbound timeouts and header limit, websocket upgrades
// handed to the same handler, and a staged drain on stop (503 + `Connection: close` while
// stopping, idle connections closed, the rest destroyed at the deadline). Both servers accept an
// optional PROXY protocol header from trusted peers (net/proxy-preamble.ts), before TLS.
import { createServer as createHttpServer, ServerResponse, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { Socket, type Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContext } from 'node:tls';
import type { ListenAddress } from '../../config/index.ts';
import { listen } from '../../agent/net.ts';
import type { Logger } from '../../log.ts';
import type { CidrMatcher } from '../../net/cidr.ts';
import { answerAndClose } from '../../net/answer-and-close.ts';
import { LogLimiter } from '../../net/log-limiter.ts';
import { acceptProxyProtocol, type ProxyPreamble } from '../../net/proxy-preamble.ts';
import { installFastPath, type FastFront, type FastHandler } from '../fast/front.ts';

export interface ServerTimeouts {
  /** Node's `headersTimeout`: the whole header block must arrive within this. */
  headersTimeoutMs: number;
  /** Node's `requestTimeout`: the whole request (body included) must arrive within this; 0 = none. */
  requestTimeoutMs: number;
  /** Node's `keepAliveTimeout`: an idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Node's `maxHeaderSize`, in bytes. */
  maxHeaderBytes: number;
}

export type Scheme = 'http' | 'https';

/** An `Upgrade` request's connection (Node's parser is off it): a relay may take it over. */
export interface UpgradeConnection {
  readonly socket: Duplex;
  /** The bytes the client sent after its request head. */
  readonly head: Buffer;
}

export interface ProxyRequestHandler {
  /**
   * One request; must answer or destroy the socket, never throw. On an `Upgrade` request,
   * `upgrade` is its connection, and `res` a response on it that closes the connection when
   * finished: a handler answers as to any request, or hands the connection to a relay.
   */
  handle(req: IncomingMessage, res: ServerResponse, scheme: Scheme, upgrade?: UpgradeConnection): void;
  /** The TLS context for a ClientHello's server name (undefined: none was sent). */
  secureContext(serverName: string | undefined): SecureContext;
}

export interface ProxyServerOptions {
  listen: { http: ListenAddress; https: ListenAddress };
  timeouts: ServerTimeouts;
  handler: ProxyRequestHandler;
  /** Served without SNI, and when no provider's certificate matches (see `secureContext`). */
  defaultCertificate: { certPem: string; keyPem: string };
  /**
   * PROXY protocol v1/v2, from `trusted` peers only (authentik's trusted proxy CIDRs); absent:
   * never read. `timeoutMs` (default `PROXY_HEADER_TIMEOUT_MS`, at most `headersTimeoutMs`) bounds
   * the wait for a trusted peer's first bytes and header.
   */
  proxyProtocol?: { trusted: CidrMatcher<unknown>; timeoutMs?: number };
  /** Serves the plain requests of the HTTP listener before Node's server does (fast/front.ts). */
  fast?: FastHandler;
  logger: Logger;
}

/** A proxy sends its header as soon as it connects: a short wait is enough. */
export const PROXY_HEADER_TIMEOUT_MS = 3_000;

export class ProxyServer {
  private readonly opts: ProxyServerOptions;
  private readonly servers = new Map<Scheme, Server>();
  private readonly upgraded = new Set<Duplex>();
  private readonly preambles: ProxyPreamble[] = [];
  private front: FastFront | undefined;
  private _stopping = false;

  constructor(opts: ProxyServerOptions) {
    this.opts = opts;
  }

  /** True once `stop` began: requests get 503 with `Connection: close`. */
  get stopping(): boolean {
    return this._stopping;
  }

  async start(): Promise<{ httpPort: number; httpsPort: number }> {
    const { timeouts, handler, logger } = this.opts;
    const common = {
      headersTimeout: timeouts.headersTimeoutMs,
      requestTimeout: timeouts.requestTimeoutMs,
      keepAliveTimeout: timeouts.keepAliveTimeoutMs,
      maxHeaderSize: timeouts.maxHeaderBytes,
      // Node checks the two timeouts above only every `connectionsCheckingInterval` (30 s by
      // default): a client trickling its headers would hold the connection that long.
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(timeouts.headersTimeoutMs / 4))),
    };
    const onRequest = (scheme: Scheme) => (req: IncomingMessage, res: ServerResponse) => {
      if (this._stopping) return drainAnswer(res);
      handler.handle(req, res, scheme);
    };
    const http = createHttpServer(common, onRequest('http'));
    const https = createHttpsServer(
      {
        ...common,
        // A ClientHello without SNI gets the server's own context: the default certificate.
        cert: this.opts.defaultCertificate.certPem,
        key: this.opts.defaultCertificate.keyPem,
        minVersion: 'TLSv1.2',
        // Node's default is 120 s, and the header timeout only starts once the handshake is done:
        // a client that connects and stays silent (or trickles its ClientHello) would hold the
        // socket that long. The handshake gets the header block's bound.
        handshakeTimeout: timeouts.headersTimeoutMs,
        // No h2: clients speak HTTP/1.1, as with authentik's listener.
        ALPNProtocols: ['http/1.1'],
        SNICallback: (name, cb) => {
          try {
            cb(null, handler.secureContext(name === '' ? undefined : name));
          } catch (err) {
            cb(err as Error);
          }
        },
      },
      onRequest('https'),
    );
    for (const [scheme, srv] of [['http', http], ['https', https]] as const) {
      srv.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        const res = upgradeResponse(req, socket);
        if (!res) return socket.destroy();
        if (this._stopping) return drainAnswer(res);
        this.upgraded.add(socket);
        socket.once('close', () => this.upgraded.delete(socket));
        handler.handle(req, res, scheme, { socket, head });
      });
      srv.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
        if (!socket.writable) return socket.destroy();
        // https.Server hands TLS failures (a handshake timeout, a refused ClientHello) to this same
        // event: there is no HTTP connection to answer on, and an `end` written into a TLS socket
        // whose handshake never finished is never flushed, so the socket would stay open for good.
        if (!isHttpParseError(err)) return socket.destroy();
        const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
        socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      });
    }
    if (this.opts.fast) {
      this.front = installFastPath(http, {
        handler: this.opts.fast,
        maxHeaderBytes: timeouts.maxHeaderBytes,
        headersTimeoutMs: timeouts.headersTimeoutMs,
        keepAliveTimeoutMs: timeouts.keepAliveTimeoutMs,
        stopping: () => this._stopping,
      });
    }
    https.on('tlsClientError', (err: Error) => logger.debug({ err: { message: err.message, code: (err as NodeJS.ErrnoException).code } }, 'TLS handshake failed'));
    this.acceptProxyHeaders(http, https);
    const ports = { httpPort: 0, httpsPort: 0 };
    try {
      ports.httpPort = await listen(http, this.opts.listen.http);
      this.servers.set('http', http);
      logger.info({ listen: `${this.opts.listen.http.host}:${ports.httpPort}` }, 'Starting HTTP server');
      ports.httpsPort = await listen(https as unknown as Server, this.opts.listen.https);
      this.servers.set('https', https as unknown as Server);
      logger.info({ listen: `${this.opts.listen.https.host}:${ports.httpsPort}` }, 'Starting HTTPS server');
    } catch (err) {
      for (const srv of this.servers.values()) srv.close();
      this.servers.clear();
      throw err;
    }
    return ports;
  }

  /** The PROXY preamble on both servers, when configured; refusals logged once a minute per peer. */
  private acceptProxyHeaders(...servers: NetServer[]): void {
    const pp = this.opts.proxyProtocol;
    if (!pp) return;
    const timeoutMs = Math.min(pp.timeoutMs ?? PROXY_HEADER_TIMEOUT_MS, this.opts.timeouts.headersTimeoutMs);
    const limiter = new LogLimiter({ windowMs: 60_000, maxKeys: 1024 });
    const onRefused = (reason: string, peer: string, detail: string) => {
      const d = limiter.check(`${reason}|${peer}`);
      if (d.log) this.opts.logger.warn({ reason, peer, detail, suppressed: d.suppressed }, 'PROXY protocol header refused; connection closed');
    };
    for (const srv of servers) this.preambles.push(acceptProxyProtocol(srv, { trusted: pp.trusted, timeoutMs, onRefused }));
  }

  /**
   * Stage 1: stop accepting, answer 503 + `Connection: close`, close idle keep-alive sockets.
   * Stage 2: wait for in-flight requests until `deadline`. Stage 3: destroy what is left
   * (upgraded websockets included).
   */
  async stop(deadline: AbortSignal): Promise<void> {
    this._stopping = true;
    const servers = [...this.servers.values()];
    this.servers.clear();
    const closed = servers.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve())));
    for (const srv of servers) srv.closeIdleConnections();
    this.front?.closeIdle();
    // Sockets still sending their PROXY header carry no request yet: idle too.
    for (const p of this.preambles) p.destroyPending();
    // Websockets have no request to finish: they are closed at once.
    for (const s of this.upgraded) s.destroy();
    const all = Promise.all(closed);
    if (!deadline.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          deadline.removeEventListener('abort', done);
          resolve();
        };
        deadline.addEventListener('abort', done, { once: true });
        // Connections that finish their request become idle: keep closing them.
        const tick = setInterval(() => {
          for (const srv of servers) srv.closeIdleConnections();
          this.front?.closeIdle();
        }, 50);
        tick.unref();
        void all.then(() => {
          clearInterval(tick);
          done();
        });
        deadline.addEventListener('abort', () => clearInterval(tick), { once: true });
      });
    }
    for (const srv of servers) srv.closeAllConnections();
    this.front?.destroyAll();
    await all;
    this.opts.logger.info('HTTP servers stopped');
  }
}

/**
 * A response on an `Upgrade` request's connection, as Node gives one to any request, which closes
 * the connection once finished (it is not read as HTTP any more). Undefined for a stream that is
 * not a socket (Node hands over the connection it accepted: a net.Socket, a TLSSocket on https).
 */
export function upgradeResponse(req: IncomingMessage, socket: Duplex): ServerResponse | undefined {
  if (!(socket instanceof Socket)) return undefined;
  const res = new ServerResponse(req);
  res.assignSocket(socket);
  res.shouldKeepAlive = false;
  res.once('finish', () => answerAndClose(socket));
  return res;
}

function drainAnswer(res: ServerResponse): void {
  res.shouldKeepAlive = false;
  res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', connection: 'close', 'content-length': '20' });
  res.end('shutting down, retry');
}

/** An error of Node's HTTP parser or its request timeouts (the others on `clientError` are TLS). */
function isHttpParseError(err: NodeJS.ErrnoException): boolean {
  return typeof err.code === 'string' && (err.code.startsWith('HPE_') || err.code.startsWith('ERR_HTTP_'));
}
