// Proxy an HTTP Upgrade (websocket) to the upstream over node:net / node:tls (spec §8.4), as Go's
// httputil.ReverseProxy does for authentik: send the request head, read the upstream's answer,
// and on a 101 relay both ways until either side is done. Authentication happened before.
//
// * What is relayed: a GET offering `websocket` (Connection and Upgrade read as token lists over
//   all their lines, RFC 9110 §7.6.1). Any other upgrade goes upstream as a plain request (no
//   Upgrade, `Connection: close`): RFC 9110 §7.8 lets a server ignore an upgrade. A request with
//   a body is answered 400: on this path its bytes could not be told from the new protocol's.
// * The answer is read strictly and bounded (`maxResponseHeadBytes`). 1xx interim heads are
//   skipped. A 101 must be `HTTP/1.1 101` with `Upgrade: websocket` and a `Connection: upgrade`
//   token; anything unreadable or a 101 not so → 502, the upstream socket destroyed.
// * Any other answer (the upstream refused: 401, 404, 426…) reaches the client as an ordinary
//   response: head rewritten, body cut at its framed end, then both connections close.
// * The client's bytes after its request head (early frames) reach the upstream only after the
//   101: before it, an upstream refusing the upgrade would read them as its next request, which
//   none of the proxy's checks saw (request smuggling). Bytes after the 101 head in the same read
//   go to the client.
// * One timeout, `handshakeTimeoutMs`, covers connect + TLS + the answer's head; it is then the
//   idle limit of a refusal's body. Before a head is relayed, a failure answers the raw 502 page
//   and the promise rejects with an `UpstreamError`.
// * After a 101, bytes are piped with backpressure, with no timeout (as Go's). When one side ends,
//   what it sent is flushed to the other, which is ended; nothing is relayed any more (Go closes
//   both when either copy ends), and both are closed within CLOSE_GRACE_MS. An error or an
//   abrupt close on either destroys both at once.
import { maxHeaderSize, validateHeaderName, type IncomingMessage } from 'node:http';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { ResponseHead } from '../protocol/http1.ts';
import { bodyCutter, EMPTY, readUpgradeAnswer, upgradeRequestKind, type SwitchHead } from '../protocol/upgrade.ts';
import { answerAndClose, CLOSE_GRACE_MS } from '../../net/answer-and-close.ts';
import { rawBadGateway } from './bad-gateway.ts';
import { beforeResponseError, UpstreamError } from './errors.ts';
import { connectionTokens, HOP_BY_HOP, POWERED_BY, requestPath, upstreamRequestHeaders, type HeaderMap } from './headers.ts';

export interface UpgradeTlsOptions {
  /** `internal_host_ssl_validation`. */
  rejectUnauthorized: boolean;
  /** SNI; default the target's host name (none for an IP), as Go and undici do. */
  servername?: string | undefined;
}

export interface UpgradeOptions {
  req: IncomingMessage;
  /** The client socket from the server's 'upgrade' event. */
  socket: Duplex;
  /** The bytes the client sent after its request head. */
  head: Buffer;
  /** Scheme (`http`/`ws` plain, `https`/`wss` TLS) and host:port are used; the path is the request's. */
  target: URL;
  /** The sanitized request headers, as for `forwardRequest`. */
  headers: HeaderMap;
  tls?: UpgradeTlsOptions | undefined;
  /** Connect, TLS and the upstream's answer head; then the idle limit of a refusal's body. ms. */
  handshakeTimeoutMs: number;
  signal?: AbortSignal | undefined;
  clientIp?: string | undefined;
  forwardedProto?: 'http' | 'https' | undefined;
  /** Bound on each upstream answer head. Default Node's `maxHeaderSize` (16 KiB), undici's bound for every other upstream response. */
  maxResponseHeadBytes?: number;
}

export interface UpgradeResult {
  /** What the client got: 101 when the connection is now relayed, the upstream's refusal, or 400 (a request with a body). */
  status: number;
  handshakeMs: number;
  /** Resolves when both sockets are closed. */
  closed: Promise<void>;
}

/** Early client bytes held until the 101; past this the client is not read (backpressure). */
const MAX_EARLY_BYTES = 64 * 1024;
/** Interim (1xx) heads skipped at most before the answer. */
const MAX_INTERIM = 8;

const BAD_VALUE = /[\r\n\0]/;

const ignore = () => {};

function serializeRequest(method: string, path: string, headers: Record<string, string | string[]>): string {
  let out = `${method} ${path} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    validateHeaderName(name);
    for (const v of Array.isArray(value) ? value : [value]) {
      if (BAD_VALUE.test(v)) throw new TypeError(`invalid value for header ${name}`);
      out += `${name}: ${v}\r\n`;
    }
  }
  return `${out}\r\n`;
}

// ---------------------------------------------------------------------------------------------
// The upstream's answer

function dropped(headers: ReadonlyArray<readonly [string, string]>): Set<string> {
  const out = new Set(HOP_BY_HOP);
  for (const t of connectionTokens(headers.filter(([n]) => n.toLowerCase() === 'connection').map(([, v]) => v))) out.add(t);
  out.add('x-powered-by');
  return out;
}

/** The 101 for the client: the upgrade pair as the relay carries it, no body framing, X-Powered-By. */
function clientSwitchHead(head: SwitchHead): string {
  const drop = dropped(head.headers);
  drop.add('content-length');
  let out = `HTTP/1.1 101 ${head.reason || 'Switching Protocols'}\r\n`;
  for (const [name, value] of head.headers) if (!drop.has(name.toLowerCase())) out += `${name}: ${value}\r\n`;
  return `${out}Connection: Upgrade\r\nUpgrade: websocket\r\nX-Powered-By: ${POWERED_BY}\r\n\r\n`;
}

/** A refusal for the client: its framing kept (Transfer-Encoding when chunked), `Connection: close`. */
function clientAnswerHead(head: ResponseHead): string {
  const drop = dropped(head.headers);
  if (head.framing.kind === 'chunked') drop.delete('transfer-encoding');
  let out = `HTTP/1.1 ${head.status} ${head.reason}\r\n`;
  for (const [name, value] of head.headers) if (!drop.has(name)) out += `${name}: ${value}\r\n`;
  return `${out}Connection: close\r\nX-Powered-By: ${POWERED_BY}\r\n\r\n`;
}

// ---------------------------------------------------------------------------------------------
// Closing

function closedOf(s: Duplex): Promise<void> {
  return s.closed ? Promise.resolve() : new Promise<void>((r) => s.once('close', () => r()));
}

function bothClosed(a: Duplex, b: Duplex): Promise<void> {
  return Promise.all([closedOf(a), closedOf(b)]).then(() => undefined);
}

/** Relays both ways after the 101; `held`: the client's early bytes, sent first. */
function relay(client: Duplex, upstream: Socket, held: readonly Buffer[]): Promise<void> {
  let grace: NodeJS.Timeout | undefined;
  const destroyBoth = () => {
    client.destroy();
    upstream.destroy();
  };
  const closed = bothClosed(client, upstream).then(() => clearTimeout(grace));
  const onEnd = (from: Duplex, to: Duplex) => () => {
    // What `from` sent is flushed to `to`, which is then ended; what `to` still sends has no
    // reader any more (an upstream socket cannot even be written once its peer ended). `from`
    // goes once the flush is done, `to` when its peer closes too or at the grace's end: closed
    // at once, bytes it had not read would make a reset, which can lose the flush's tail.
    to.unpipe(from);
    to.on('data', ignore);
    to.resume();
    to.end();
    if (to.writableFinished) from.destroy();
    else to.once('finish', () => from.destroy());
    grace ??= setTimeout(destroyBoth, CLOSE_GRACE_MS);
    grace.unref();
  };
  client.once('end', onEnd(client, upstream));
  upstream.once('end', onEnd(upstream, client));
  for (const s of [client, upstream]) {
    s.on('error', destroyBoth);
    // A close after an end is the end's to finish; any other close is abrupt.
    s.once('close', () => {
      if (!s.readableEnded) destroyBoth();
    });
  }
  for (const b of held) upstream.write(b);
  upstream.pipe(client);
  client.pipe(upstream);
  return closed;
}

// ---------------------------------------------------------------------------------------------
// The handshake

type Settle = { resolve: (r: UpgradeResult) => void; reject: (e: UpstreamError) => void };

class Handshake {
  readonly #o: UpgradeOptions;
  readonly #client: Duplex;
  readonly #name: string;
  readonly #started = performance.now();
  readonly #maxHead: number;
  readonly #settle: Settle;
  #settled = false;
  #upstream: Socket | undefined;
  #timer: NodeJS.Timeout | undefined;
  #websocket = false;
  /** The client's bytes after its request head, until the 101. */
  #held: Buffer[] = [];
  #heldBytes = 0;
  /** The upstream's bytes not yet read as a head. */
  #buf: Buffer = EMPTY;
  #interim = 0;

  constructor(o: UpgradeOptions, settle: Settle) {
    this.#o = o;
    this.#client = o.socket;
    this.#name = o.target.origin;
    this.#maxHead = o.maxResponseHeadBytes ?? maxHeaderSize;
    this.#settle = settle;
  }

  start(): void {
    const o = this.#o;
    const client = this.#client;
    client.on('error', ignore);
    const kind = upgradeRequestKind(o.req);
    if (kind === 'has-body') {
      this.#settled = true;
      answerAndClose(client, 'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      this.#settle.resolve({ status: 400, handshakeMs: 0, closed: closedOf(client) });
      return;
    }
    this.#websocket = kind === 'websocket';
    if (o.signal?.aborted) return this.#onAbort();
    o.signal?.addEventListener('abort', this.#onAbort, { once: true });
    client.once('close', this.#onClientGone);
    client.once('end', this.#onClientGone);
    this.#timer = setTimeout(
      () => this.#fail(new UpstreamError('upstream_timeout', this.#name, `${this.#name} did not answer the upgrade within ${o.handshakeTimeoutMs} ms`, { responseStarted: false })),
      o.handshakeTimeoutMs,
    );
    let requestHead: string;
    try {
      requestHead = this.#requestHead();
    } catch (err) {
      return this.#fail(beforeResponseError(err, this.#name, false));
    }
    const up = this.#connect();
    this.#upstream = up;
    up.on('error', this.#onUpError);
    up.on('end', this.#onUpEnd);
    up.on('data', this.#onUpData);
    // Queued by the socket until it connects.
    up.write(requestHead);
    if (o.head.length) this.#hold(o.head);
    client.on('data', this.#hold);
  }

  #requestHead(): string {
    const { req } = this.#o;
    const headers = upstreamRequestHeaders(this.#o.headers, { clientIp: this.#o.clientIp ?? req.socket.remoteAddress, host: req.headers.host, proto: this.#o.forwardedProto });
    // The upgrade pair is the relay's own (hop-by-hop, so the client's is gone): websocket or none.
    headers['connection'] = this.#websocket ? 'Upgrade' : 'close';
    if (this.#websocket) headers['upgrade'] = 'websocket';
    return serializeRequest(req.method ?? 'GET', requestPath(req.url), headers);
  }

  #connect(): Socket {
    const { target, tls } = this.#o;
    const secure = target.protocol === 'https:' || target.protocol === 'wss:';
    const host = target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname;
    const port = Number(target.port) || (secure ? 443 : 80);
    const up = secure
      ? tlsConnect({
          host,
          port,
          servername: tls?.servername ?? (isIP(host) ? undefined : host),
          rejectUnauthorized: tls?.rejectUnauthorized ?? true,
          ALPNProtocols: ['http/1.1'],
        })
      : netConnect({ host, port });
    up.setNoDelay(true);
    return up;
  }

  readonly #hold = (chunk: Buffer): void => {
    this.#held.push(chunk);
    this.#heldBytes += chunk.length;
    if (this.#heldBytes > MAX_EARLY_BYTES) this.#client.pause();
  };

  readonly #onAbort = (): void => {
    this.#fail(new UpstreamError('client_aborted', this.#name, 'aborted before the upgrade completed', { responseStarted: false, cause: this.#o.signal?.reason }));
  };

  readonly #onClientGone = (): void => {
    this.#fail(new UpstreamError('client_aborted', this.#name, 'client went away before the upgrade completed', { responseStarted: false }));
  };

  readonly #onUpError = (err: Error): void => this.#fail(beforeResponseError(err, this.#name, false));

  readonly #onUpEnd = (): void => {
    this.#fail(new UpstreamError('upstream_unreachable', this.#name, `${this.#name} closed the connection during the upgrade`, { responseStarted: false }));
  };

  readonly #onUpData = (chunk: Buffer): void => {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const method = this.#o.req.method === 'HEAD' ? 'HEAD' : 'GET';
    for (;;) {
      const r = readUpgradeAnswer(this.#buf, this.#maxHead, method, this.#websocket);
      if (r.kind === 'incomplete') return;
      if (r.kind === 'invalid') return this.#fail(new UpstreamError('upstream_unreachable', this.#name, `${this.#name} sent an invalid answer to the upgrade: ${r.reason}`, { responseStarted: false }));
      if (r.kind === 'switch') return this.#switch(r.head);
      if (r.kind === 'answer') return this.#relayAnswer(r.head);
      if (++this.#interim > MAX_INTERIM) return this.#fail(new UpstreamError('upstream_unreachable', this.#name, `${this.#name} sent over ${MAX_INTERIM} interim answers`, { responseStarted: false }));
      this.#buf = this.#buf.subarray(r.length);
    }
  };

  /** Ends the handshake stage: its timer and listeners go; the upstream is paused for the next stage. */
  #stop(): void {
    this.#settled = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#o.signal?.removeEventListener('abort', this.#onAbort);
    const client = this.#client;
    client.off('close', this.#onClientGone);
    client.off('end', this.#onClientGone);
    client.off('data', this.#hold);
    const up = this.#upstream;
    if (!up) return;
    up.off('data', this.#onUpData);
    up.off('end', this.#onUpEnd);
    up.off('error', this.#onUpError);
    up.on('error', ignore);
    up.pause();
  }

  #fail(err: UpstreamError): void {
    if (this.#settled) return;
    this.#stop();
    this.#upstream?.destroy();
    if (err.code === 'client_aborted') this.#client.destroy();
    else answerAndClose(this.#client, rawBadGateway());
    this.#settle.reject(err);
  }

  #switch(head: SwitchHead): void {
    this.#stop();
    const client = this.#client;
    const up = this.#upstream!;
    client.write(clientSwitchHead(head));
    // Early frames that came with the head.
    const rest = this.#buf.subarray(head.length);
    if (rest.length) client.write(rest);
    if ('setNoDelay' in client && typeof client.setNoDelay === 'function') (client as Socket).setNoDelay(true);
    const closed = relay(client, up, this.#held);
    this.#held = [];
    this.#settle.resolve({ status: 101, handshakeMs: performance.now() - this.#started, closed });
  }

  /** A refusal: relayed as a plain response up to its framed end; the client's bytes are never sent. */
  #relayAnswer(head: ResponseHead): void {
    this.#stop();
    this.#held = [];
    const client = this.#client;
    const up = this.#upstream!;
    const closed = bothClosed(client, up);
    const abort = () => {
      up.destroy();
      client.destroy();
    };
    const cut = bodyCutter(head.framing);
    const idle = this.#o.handshakeTimeoutMs;
    let done = false;
    const finish = () => {
      done = true;
      up.off('data', feed);
      up.destroy();
      answerAndClose(client);
    };
    const feed = (chunk: Buffer) => {
      const c = cut(chunk);
      // A body cut short or misframed must not look whole: the client connection goes.
      if ('bad' in c) return abort();
      if (c.body.length > 0 && !client.write(c.body)) {
        up.pause();
        up.setTimeout(0);
        client.once('drain', () => {
          up.setTimeout(idle);
          up.resume();
        });
      }
      if (c.ended) finish();
    };
    up.on('error', abort);
    up.once('end', () => {
      if (done) return;
      if (head.framing.kind === 'close') finish();
      else abort();
    });
    up.setTimeout(idle, abort);
    client.once('close', () => {
      if (!done) up.destroy();
    });
    client.on('data', ignore);
    client.resume();
    client.write(clientAnswerHead(head));
    feed(this.#buf.subarray(head.length));
    if (!done) {
      up.on('data', feed);
      up.resume();
    }
    this.#settle.resolve({ status: head.status, handshakeMs: performance.now() - this.#started, closed });
  }
}

export function proxyUpgrade(opts: UpgradeOptions): Promise<UpgradeResult> {
  return new Promise<UpgradeResult>((resolve, reject) => new Handshake(opts, { resolve, reject }).start());
}
