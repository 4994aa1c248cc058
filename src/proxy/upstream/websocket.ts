// Proxy an HTTP Upgrade (websocket) to the upstream over node:net / node:tls (spec §8.4), like
// Go's reverse proxy: send the request head, read the upstream's response head, and on 101 pipe
// both ways until either side closes. Authentication happened before this is called.
//
// * One timeout, `handshakeTimeoutMs`, covers connect + TLS + the upstream's response head.
// * Before the handshake completes, any failure answers the client with the raw 502 page and
//   ends its socket; the promise rejects with an `UpstreamError`.
// * After 101: bytes are piped with stream backpressure; an end on one side ends the other
//   (half-close is kept), and a close or error on either destroys both.
// * A non-101 answer (the upstream refused the upgrade) is passed through with
//   `Connection: close`; the result carries its status.
import type { IncomingMessage } from 'node:http';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Duplex } from 'node:stream';
import { rawBadGateway } from './bad-gateway.ts';
import { beforeResponseError, UpstreamError } from './errors.ts';
import { HOP_BY_HOP, POWERED_BY, requestPath, upstreamRequestHeaders, type HeaderMap } from './headers.ts';

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
  /** Connect, TLS and the upstream's response head, ms. */
  handshakeTimeoutMs: number;
  signal?: AbortSignal | undefined;
  clientIp?: string | undefined;
  forwardedProto?: 'http' | 'https' | undefined;
  /** Bound on the upstream's response head. Default 16 KiB. */
  maxResponseHeadBytes?: number;
}

export interface UpgradeResult {
  /** The upstream's status: 101 when the connection is now piped. */
  status: number;
  handshakeMs: number;
  /** Resolves when both sockets are closed. */
  closed: Promise<void>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const BAD_VALUE = /[\r\n\0]/;
const UPGRADE_KEEP: ReadonlySet<string> = new Set(['connection', 'upgrade']);

function serializeRequest(method: string, path: string, headers: Record<string, string | string[]>): string {
  let out = `${method} ${path} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name)) throw new TypeError(`invalid header name ${JSON.stringify(name)}`);
    for (const v of Array.isArray(value) ? value : [value]) {
      if (BAD_VALUE.test(v)) throw new TypeError(`invalid value for header ${name}`);
      out += `${name}: ${v}\r\n`;
    }
  }
  return `${out}\r\n`;
}

interface ResponseHead {
  status: number;
  statusLine: string;
  /** [name as sent, value] in order. */
  headers: Array<[string, string]>;
}

function parseResponseHead(text: string): ResponseHead | null {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
  if (!m) return null;
  const headers: Array<[string, string]> = [];
  for (const line of lines.slice(1)) {
    if (!line) continue;
    // A bare LF or a NUL would be written to the client as is (response splitting): refuse the head.
    if (BAD_VALUE.test(line)) return null;
    const colon = line.indexOf(':');
    if (colon <= 0) return null;
    headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return { status: Number(m[1]), statusLine: lines[0]!, headers };
}

/** The head written to the client: hop-by-hop dropped (bar the upgrade pair on a 101), X-Powered-By set. */
function clientHead(head: ResponseHead): string {
  const upgraded = head.status === 101;
  const listed = new Set<string>();
  for (const [name, value] of head.headers) {
    if (name.toLowerCase() === 'connection') for (const t of value.split(',')) listed.add(t.trim().toLowerCase());
  }
  let out = `${head.statusLine}\r\n`;
  for (const [name, value] of head.headers) {
    const lower = name.toLowerCase();
    if (lower === 'x-powered-by') continue;
    if (upgraded ? UPGRADE_KEEP.has(lower) : lower === 'transfer-encoding') {
      out += `${name}: ${value}\r\n`;
      continue;
    }
    if (HOP_BY_HOP.has(lower) || listed.has(lower)) continue;
    out += `${name}: ${value}\r\n`;
  }
  if (!upgraded) out += 'Connection: close\r\n';
  return `${out}X-Powered-By: ${POWERED_BY}\r\n\r\n`;
}

const ignore = () => {};

export function proxyUpgrade(opts: UpgradeOptions): Promise<UpgradeResult> {
  const { req, socket: client, target } = opts;
  const upstreamName = target.origin;
  const started = performance.now();
  const maxHead = opts.maxResponseHeadBytes ?? 16 * 1024;
  client.on('error', ignore);

  return new Promise<UpgradeResult>((resolve, reject) => {
    let settled = false;
    let upstream: Socket | undefined;
    let timer: NodeJS.Timeout | undefined;

    const onAbort = () => fail(new UpstreamError('client_aborted', upstreamName, 'aborted before the upgrade completed', { responseStarted: false, cause: opts.signal?.reason }));
    const onClientGone = () => fail(new UpstreamError('client_aborted', upstreamName, 'client went away before the upgrade completed', { responseStarted: false }));

    const stopHandshake = () => {
      settled = true;
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      client.off('close', onClientGone);
      client.off('end', onClientGone);
    };

    function fail(err: UpstreamError): void {
      if (settled) return;
      stopHandshake();
      if (upstream) {
        client.unpipe(upstream);
        upstream.destroy();
      }
      if (err.code !== 'client_aborted' && client.writable) client.end(rawBadGateway());
      else client.destroy();
      // The client might never read the 502: do not hold its socket for ever.
      setTimeout(() => client.destroy(), 5000).unref();
      reject(err);
    }

    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    client.once('close', onClientGone);
    timer = setTimeout(
      () => fail(new UpstreamError('upstream_timeout', upstreamName, `${upstreamName} did not answer the upgrade within ${opts.handshakeTimeoutMs} ms`, { responseStarted: false })),
      opts.handshakeTimeoutMs,
    );

    let requestHead: string;
    try {
      const headers = upstreamRequestHeaders(opts.headers, { clientIp: opts.clientIp ?? req.socket.remoteAddress, host: req.headers.host, proto: opts.forwardedProto }, UPGRADE_KEEP);
      headers['connection'] = 'Upgrade';
      const upgrade = req.headers.upgrade;
      if (upgrade) headers['upgrade'] = upgrade;
      requestHead = serializeRequest(req.method ?? 'GET', requestPath(req.url), headers);
    } catch (err) {
      return fail(beforeResponseError(err, upstreamName, false));
    }

    const secure = target.protocol === 'https:' || target.protocol === 'wss:';
    const host = target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname;
    const port = Number(target.port) || (secure ? 443 : 80);
    const up = secure
      ? tlsConnect({
          host,
          port,
          servername: opts.tls?.servername ?? (isIP(host) ? undefined : host),
          rejectUnauthorized: opts.tls?.rejectUnauthorized ?? true,
          ALPNProtocols: ['http/1.1'],
        })
      : netConnect({ host, port });
    upstream = up;
    up.setNoDelay(true);
    const onUpError = (err: Error) => fail(beforeResponseError(err, upstreamName, false));
    const onUpEnd = () => fail(new UpstreamError('upstream_unreachable', upstreamName, `${upstreamName} closed the connection during the upgrade`, { responseStarted: false }));
    up.on('error', onUpError);
    up.on('end', onUpEnd);
    // Writes before the connection is up are queued by the socket; the client's bytes follow
    // the head as they come (a client may pipeline its first frames), and the client's end or
    // close during the handshake is seen.
    up.write(requestHead);
    if (opts.head.length) up.write(opts.head);
    client.pipe(up);
    client.once('end', onClientGone);

    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      const all = chunks.length === 1 ? chunk : Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      // The bound holds however the head arrived (one large chunk included).
      if (end < 0 ? size > maxHead : end > maxHead) {
        fail(new UpstreamError('upstream_unreachable', upstreamName, `${upstreamName} sent a response head over ${maxHead} bytes`, { responseStarted: false }));
        return;
      }
      if (end < 0) {
        // Keep one buffer: no re-concatenation of every earlier chunk on the next one.
        if (chunks.length > 1) chunks.splice(0, chunks.length, all);
        return;
      }
      up.off('data', onData);
      up.off('end', onUpEnd);
      up.off('error', onUpError);
      up.on('error', ignore);
      up.pause();
      const head = parseResponseHead(all.subarray(0, end).toString('latin1'));
      if (!head) return fail(new UpstreamError('upstream_unreachable', upstreamName, `${upstreamName} sent an invalid response head`, { responseStarted: false }));
      const rest = all.subarray(end + 4);
      if (settled) return;
      stopHandshake();
      const closed = pipeBoth(client, up);
      client.write(clientHead(head));
      if (rest.length) client.write(rest);
      if ('setNoDelay' in client && typeof client.setNoDelay === 'function') (client as Socket).setNoDelay(true);
      resolve({ status: head.status, handshakeMs: performance.now() - started, closed });
    };
    up.on('data', onData);
  });
}

/** Pipe both ways; an end is passed on, a close or an error on either side destroys both. */
function pipeBoth(client: Duplex, upstream: Socket): Promise<void> {
  upstream.on('error', ignore);
  client.on('error', ignore);
  const closeBoth = () => {
    client.destroy();
    upstream.destroy();
  };
  client.once('close', closeBoth);
  upstream.once('close', closeBoth);
  // client → upstream is piped since the handshake began.
  upstream.pipe(client);
  upstream.resume();
  return Promise.all([
    client.destroyed ? undefined : new Promise((r) => client.once('close', r)),
    upstream.destroyed ? undefined : new Promise((r) => upstream.once('close', r)),
  ]).then(() => undefined);
}
