// One request through the fast path: its bytes to an upstream connection, the response head
// read strictly (protocol/http1.ts) and rewritten for the client as the slow path's would be
// (hop-by-hop names gone, `X-Powered-By`, `Date`, keep-alive), the body streamed with
// backpressure and its end found from its framing, so that the upstream connection is reused
// only after a complete, well-framed response.
//
// * Failure before the response head: rejects `UpstreamError` (`responseStarted: false`), nothing
//   written; the caller sends the 502 page. A reused connection that fails before any byte of
//   an answer (the upstream closed it while idle) rejects `StaleConnectionError`: the caller
//   retries once on a new one (a GET or HEAD without a body).
// * After the head: the client socket is destroyed (a cut body must not look whole), and the
//   promise rejects `upstream_reset`.
// * Timeouts as the slow path's: the pool's connect timeout, then `headersTimeoutMs` until the
//   head (both `upstream_timeout`), `bodyTimeoutMs` idle between chunks, not counted while the
//   client is slow (the upstream is paused then).
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { ChunkedBodyReader, readResponseHead, type ResponseHead } from '../protocol/http1.ts';
import { connectionTokens, HOP_BY_HOP, POWERED_BY } from '../upstream/headers.ts';
import { UpstreamError } from '../upstream/errors.ts';
import type { UpstreamConnection, UpstreamSink } from './upstream-pool.ts';

/** The largest upstream response head read (Node's own default limit). */
const MAX_RESPONSE_HEAD_BYTES = 16 * 1024;
/** Interim (1xx) heads skipped before the answer at most: each refreshes the timeout, so an endless stream of them would hold the exchange forever. */
const MAX_INTERIM = 8;

export class StaleConnectionError extends Error {
  override readonly name = 'StaleConnectionError';
}

export interface ExchangeOptions {
  readonly client: Socket;
  /** Held by the exchange until it settles (its `sink`). */
  readonly upstream: UpstreamConnection;
  /** The upstream's origin, for errors and logs. */
  readonly origin: string;
  readonly method: 'GET' | 'HEAD';
  /** The whole request, head and (empty) body. */
  readonly request: string;
  /** The client connection is closed after this response (`Connection: close` is sent). */
  readonly closeAfter: boolean;
  /** `Keep-Alive: timeout=N` when the connection stays open. */
  readonly keepAliveSeconds: number;
  /** The current `Date` header value. */
  readonly date: () => string;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
}

export interface ExchangeResult {
  readonly status: number;
  /** The body's bytes passed to the client (without chunk framing), for the access log. */
  readonly size: number;
  /** The upstream connection may carry another request. */
  readonly reusable: boolean;
}

/** The response head for the client. `chunked`: the body goes chunked (as the upstream sent it, or chunked by us from a close-delimited one). */
function clientHead(head: ResponseHead, o: Pick<ExchangeOptions, 'closeAfter' | 'keepAliveSeconds' | 'date'>, chunked: boolean): string {
  let connection: string[] | undefined;
  for (const [name, value] of head.headers) if (name === 'connection') (connection ??= []).push(value);
  const listed = connectionTokens(connection);
  let out = `HTTP/1.1 ${head.status} ${head.reason !== '' ? head.reason : (STATUS_CODES[head.status] ?? 'unknown')}\r\n`;
  let date = false;
  let length = false;
  for (const [name, value] of head.headers) {
    if (name === 'content-length') {
      // One field, with the length the body was framed by: a repeat (`5` and `05`), an unusable
      // value on a HEAD answer, or a Connection listing naming it would each have the client read
      // another length, or none (then it would read to the close, and take the next answers as body).
      if (!length && head.contentLength !== undefined) out += `content-length: ${head.contentLength}\r\n`;
      length = true;
      continue;
    }
    if (HOP_BY_HOP.has(name) || name === 'x-powered-by' || listed.has(name)) continue;
    if (name === 'date') date = true;
    out += `${name}: ${value}\r\n`;
  }
  out += `x-powered-by: ${POWERED_BY}\r\n`;
  if (!date) out += `date: ${o.date()}\r\n`;
  out += connectionFields(o.closeAfter, o.keepAliveSeconds);
  if (chunked) out += 'transfer-encoding: chunked\r\n';
  return `${out}\r\n`;
}

/** What Node's server says of the connection: closing, or kept alive for `keepAliveSeconds`. */
export function connectionFields(closeAfter: boolean, keepAliveSeconds: number): string {
  return closeAfter ? 'connection: close\r\n' : `connection: keep-alive\r\nkeep-alive: timeout=${keepAliveSeconds}\r\n`;
}

const LAST_CHUNK = Buffer.from('0\r\n\r\n');

/** A bodiless answer whose fields speak of content: any Transfer-Encoding, a Content-Length but 0. */
function announcesContent(h: ResponseHead): boolean {
  for (const [name] of h.headers) if (name === 'transfer-encoding' || (name === 'content-length' && h.contentLength !== 0)) return true;
  return false;
}

export function exchange(o: ExchangeOptions): Promise<ExchangeResult> {
  return new Promise<ExchangeResult>((resolve, reject) => new Exchange(o, resolve, reject).start());
}

/** One exchange: the sink of its upstream connection's events until it settles. */
class Exchange implements UpstreamSink {
  private readonly o: ExchangeOptions;
  private readonly resolve: (r: ExchangeResult) => void;
  private readonly reject: (err: Error) => void;
  private buf: Buffer | undefined;
  private head: ResponseHead | undefined;
  private received = false;
  private interim = 0;
  private remaining = 0;
  /** Body bytes passed on (close-delimited and length-framed bodies; a chunked one's reader counts its own). */
  private sent = 0;
  private chunked: ChunkedBodyReader | undefined;
  private settled = false;
  private waitingDrain = false;

  constructor(o: ExchangeOptions, resolve: (r: ExchangeResult) => void, reject: (err: Error) => void) {
    this.o = o;
    this.resolve = resolve;
    this.reject = reject;
  }

  start(): void {
    const { upstream, client } = this.o;
    upstream.sink = this;
    // The client may have gone while an earlier attempt failed: its 'close' will not come again.
    if (client.destroyed) return this.onClientClose();
    // A new connection keeps the pool's connect timeout until it is up. Then the head's timeout;
    // most answers come whole in one read, so the body's is set only when the body goes on
    // past the head's read (`data`).
    if (upstream.socket.connecting) upstream.socket.once('connect', this.onConnect);
    else upstream.setTimeoutMs(this.o.headersTimeoutMs);
    client.on('close', this.onClientClose);
    upstream.socket.write(this.o.request, 'latin1');
  }

  private readonly onConnect = (): void => {
    if (!this.settled) this.o.upstream.setTimeoutMs(this.o.headersTimeoutMs);
  };

  data(chunk: Buffer): void {
    this.received = true;
    if (this.head !== undefined) return this.body(chunk, undefined);
    let buf = this.buf === undefined ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      const r = readResponseHead(buf, MAX_RESPONSE_HEAD_BYTES, this.o.method);
      if (r.kind === 'incomplete') {
        // Copied: `buf` may be (a view of) the read buffer, which the next read reuses.
        this.buf = Buffer.from(buf);
        return;
      }
      if (r.kind === 'invalid') return this.broken(`invalid response (${r.reason})`);
      if (r.kind === 'interim') {
        if (++this.interim > MAX_INTERIM) return this.broken(`more than ${MAX_INTERIM} interim responses`);
        buf = buf.subarray(r.length);
        if (buf.length === 0) {
          // Nothing kept: a start of this interim head kept from an earlier read is read now.
          this.buf = undefined;
          return;
        }
        continue;
      }
      const head = (this.head = r.head);
      this.buf = undefined;
      if (head.framing.kind === 'length') this.remaining = head.framing.length;
      if (head.framing.kind === 'chunked') this.chunked = new ChunkedBodyReader();
      this.body(buf.subarray(head.length), clientHead(head, this.o, head.framing.kind === 'close' || head.framing.kind === 'chunked'));
      if (!this.settled) this.o.upstream.setTimeoutMs(this.o.bodyTimeoutMs);
      return;
    }
  }

  end(): void {
    if (this.head !== undefined && this.head.framing.kind === 'close') {
      this.o.client.write(LAST_CHUNK);
      return this.done(false);
    }
    this.broken('connection closed');
  }

  error(err: Error): void {
    this.broken(err.message, err);
  }

  close(): void {
    this.broken('connection closed');
  }

  timeout(): void {
    // A slow client paused the upstream: its silence is ours (the timer restarts at `drain`).
    if (this.waitingDrain) return;
    const { origin } = this.o;
    // The pool's connect timeout: a timeout, as undici's UND_ERR_CONNECT_TIMEOUT is on the slow path.
    if (this.o.upstream.socket.connecting) return this.fail(new UpstreamError('upstream_timeout', origin, `${origin} did not accept the connection in time`, { responseStarted: false }));
    if (this.head === undefined) return this.fail(new UpstreamError('upstream_timeout', origin, `${origin} did not answer within ${this.o.headersTimeoutMs} ms`, { responseStarted: false }));
    this.broken(`no data for ${this.o.bodyTimeoutMs} ms`);
  }

  /** Bytes after the head: forward what belongs to this body; settle when it ended. */
  private body(bytes: Buffer, headText: string | undefined): void {
    const h = this.head!;
    switch (h.framing.kind) {
      case 'none':
        this.forward(undefined, headText, false);
        // As undici: the connection of a HEAD is never reused, nor that of a 204 or 304 that
        // announced content. A misbehaving upstream sends that body anyway, after the head and
        // maybe in a later read: the next request on the connection would take it as its answer.
        return this.done(bytes.length === 0 && h.keepAlive && this.o.method !== 'HEAD' && !announcesContent(h));
      case 'length': {
        const take = Math.min(this.remaining, bytes.length);
        this.remaining -= take;
        this.sent += take;
        const ok = this.forward(take === bytes.length ? bytes : bytes.subarray(0, take), headText, false);
        if (this.remaining === 0) return this.done(take === bytes.length && h.keepAlive);
        return this.backpressure(ok);
      }
      case 'chunked': {
        const n = this.chunked!.feed(bytes);
        if (n === -1) {
          this.forward(undefined, headText, false);
          return this.broken(`invalid chunked body (${this.chunked!.error ?? 'framing'})`);
        }
        const ok = this.forward(n === bytes.length ? bytes : bytes.subarray(0, n), headText, false);
        if (this.chunked!.done) return this.done(n === bytes.length && h.keepAlive);
        return this.backpressure(ok);
      }
      case 'close':
        this.sent += bytes.length;
        return this.backpressure(this.forward(bytes, headText, true));
    }
  }

  /**
   * Head and body bytes to the client as one write (one syscall), copied out of the read buffer
   * (the next read reuses it while the write may still be queued); false when the client's
   * buffer is full.
   */
  private forward(bytes: Buffer | undefined, headText: string | undefined, closeDelimited: boolean): boolean {
    const n = bytes === undefined ? 0 : bytes.length;
    if (headText === undefined && n === 0) return true;
    const head = headText ?? '';
    const sizeLine = closeDelimited && n > 0 ? `${n.toString(16)}\r\n` : '';
    const out = Buffer.allocUnsafe(head.length + sizeLine.length + n + (sizeLine === '' ? 0 : 2));
    let off = out.write(head, 0, 'latin1');
    off += out.write(sizeLine, off, 'latin1');
    if (n > 0) off += bytes!.copy(out, off);
    if (sizeLine !== '') out.write('\r\n', off, 'latin1');
    return this.o.client.write(out);
  }

  private backpressure(ok: boolean): void {
    if (ok || this.waitingDrain) return;
    this.waitingDrain = true;
    this.o.upstream.socket.pause();
    this.o.client.once('drain', this.onDrain);
  }

  private readonly onDrain = (): void => {
    this.waitingDrain = false;
    // A timeout that fired while the client was slow was ignored, and Node's timer fires once:
    // start it again, or an upstream that now stalls would hold the exchange for ever.
    this.o.upstream.restartTimeout();
    this.o.upstream.socket.resume();
  };

  private readonly onClientClose = (): void => {
    if (this.settled) return;
    this.settle();
    this.o.upstream.socket.destroy();
    this.reject(new UpstreamError('client_aborted', this.o.origin, 'client went away during the response', { responseStarted: this.head !== undefined }));
  };

  private settle(): void {
    this.settled = true;
    this.o.upstream.sink = undefined;
    this.o.client.off('close', this.onClientClose);
    this.o.upstream.socket.off('connect', this.onConnect);
    if (this.waitingDrain) {
      this.o.client.off('drain', this.onDrain);
      this.o.upstream.socket.resume();
    }
  }

  private done(reusable: boolean): void {
    if (this.settled) return;
    this.settle();
    if (!reusable) this.o.upstream.socket.destroy();
    const head = this.head!;
    this.resolve({ status: head.status, size: this.chunked?.dataBytes ?? this.sent, reusable });
  }

  private fail(err: Error): void {
    if (this.settled) return;
    this.settle();
    this.o.upstream.socket.destroy();
    if (this.head !== undefined) this.o.client.destroy();
    this.reject(err);
  }

  private broken(what: string, cause?: unknown): void {
    const { origin } = this.o;
    if (this.head !== undefined) {
      return this.fail(new UpstreamError('upstream_reset', origin, `${origin} failed during the response: ${what}`, { responseStarted: true, cause }));
    }
    if (this.o.upstream.reused && !this.received) return this.fail(new StaleConnectionError(`${origin} closed the idle connection`, { cause }));
    this.fail(new UpstreamError('upstream_unreachable', origin, `cannot reach ${origin}: ${what}`, { responseStarted: false, cause }));
  }
}
