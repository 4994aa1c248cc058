// Reverse-proxy one request to its upstream (spec §8): an undici dispatch handler that streams
// both ways and never buffers a body.
//
// * Request body: piped through a PassThrough that undici consumes with its own backpressure
//   (it stops reading when the upstream socket is full). undici destroys that PassThrough on
//   failure, never the client's request, so a 502 can still be written.
// * Response body: each chunk goes to `res.write`; when it returns false the upstream is paused
//   (controller.pause) until `drain` (undici client-h1.js:754). undici's body timeout does not
//   run while paused, so a slow client never times out the upstream.
// * Timeouts: `headersTimeoutMs` for the response head, `bodyTimeoutMs` idle between chunks
//   (refreshed per chunk); 0 disables either. No total timeout: long polls and SSE stay open.
// * Failure before the response head: rejects with an `UpstreamError` (`responseStarted: false`)
//   and writes nothing; the caller renders `renderBadGateway`. After: the client socket is
//   destroyed (a truncated body must not look complete), and the promise rejects with
//   `upstream_reset` (`responseStarted: true`).
// * The client going away (res closing before it finished) or the caller's signal aborting the
//   upstream request: rejects `client_aborted`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import type { Dispatcher } from 'undici';
import { beforeResponseError, UpstreamError } from './errors.ts';
import { clientResponseHeaders, requestPath, upstreamRequestHeaders, type HeaderMap } from './headers.ts';

export interface ForwardOptions {
  req: IncomingMessage;
  res: ServerResponse;
  /** Only its scheme and host:port are used; the request's own path and query are forwarded (spec §8.1). */
  target: URL;
  /** The sanitized request headers (identity headers added, client `X-authentik-*` gone). Hop-by-hop ones are removed here. */
  headers: HeaderMap;
  /** From `UpstreamDispatchers.get(target, validateTls)`. */
  dispatcher: Dispatcher;
  /** The request's signal (the caller's, from the socket). Its abort aborts the upstream request. */
  signal?: AbortSignal | undefined;
  /** Idle time between response body chunks, ms; 0 disables. */
  bodyTimeoutMs: number;
  /** Time to the response head once the request is sent, ms; 0 disables. */
  headersTimeoutMs: number;
  /** The client's address for `X-Forwarded-For` (PROXY protocol's when used). Default: the socket's. */
  clientIp?: string | undefined;
  /** `X-Forwarded-Proto` to set; undefined leaves the incoming value (authentik 2024.x). */
  forwardedProto?: 'http' | 'https' | undefined;
  /**
   * The outpost's own `Set-Cookie` values (a session saved by header auth), sent before the
   * upstream's: the response head from the upstream must not replace them.
   */
  setCookies?: readonly string[] | undefined;
  /** Called once the response head arrived (before it is written to the client). */
  onResponse?: ((info: { status: number; headersMs: number }) => void) | undefined;
  /** Counts the body bytes passed to the client as they go (the access line is written when the response finishes, before this settles). */
  sent?: { bytes: number } | undefined;
}

export interface ForwardResult {
  status: number;
  /** Request start to the upstream's response head. */
  headersMs: number;
  /**
   * Request start to the last byte handed to the client: what authentik observes as
   * `authentik_outpost_proxy_upstream_response_duration_seconds` (time in the reverse proxy).
   */
  durationMs: number;
  /** Response body bytes passed to the client. */
  bytes: number;
}

/** A request without `Content-Length` or `Transfer-Encoding` has no body (RFC 9112 §6.3). */
function hasBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (cl !== undefined && cl !== '0');
}

const now = () => performance.now();

export function forwardRequest(opts: ForwardOptions): Promise<ForwardResult> {
  const { req, res, target } = opts;
  const upstream = target.origin;
  const started = now();

  return new Promise<ForwardResult>((resolve, reject) => {
    let controller: Dispatcher.DispatchController | undefined;
    let settled = false;
    let responseStarted = false;
    let headersMs = 0;
    let status = 0;
    const sent = opts.sent ?? { bytes: 0 };
    let clientGone = false;
    let waitingDrain = false;
    let body: PassThrough | null = null;

    const onDrain = () => {
      waitingDrain = false;
      if (controller && !controller.aborted) controller.resume();
    };
    const abortUpstream = (reason: Error) => {
      clientGone = true;
      if (controller && !controller.aborted) controller.abort(reason);
    };
    let upstreamDone = false;
    const onClientClose = () => {
      if (res.writableFinished) return;
      abortUpstream(new Error('client closed the connection'));
      // The upstream had finished and only the client's write was pending: no callback will come.
      if (upstreamDone) finish(new UpstreamError('client_aborted', upstream, 'client went away during the response', { responseStarted: true }));
    };
    const onSignal = () => abortUpstream(opts.signal?.reason instanceof Error ? opts.signal.reason : new Error('aborted'));
    const ignore = () => {};
    const flushHead = () => {
      if (!res.headersSent && !res.destroyed) res.flushHeaders();
    };

    const cleanup = () => {
      res.off('close', onClientClose);
      res.off('drain', onDrain);
      opts.signal?.removeEventListener('abort', onSignal);
      req.off('error', ignore);
      if (body) {
        req.unpipe(body);
        if (!body.destroyed) body.destroy();
      }
    };
    const finish = (err: UpstreamError | null) => {
      if (settled) return;
      settled = true;
      cleanup();
      if (err) reject(err);
      else resolve({ status, headersMs, durationMs: now() - started, bytes: sent.bytes });
    };

    if (opts.signal?.aborted) {
      finish(new UpstreamError('client_aborted', upstream, 'aborted before the request was sent', { responseStarted: false, cause: opts.signal.reason }));
      return;
    }
    res.on('close', onClientClose);
    opts.signal?.addEventListener('abort', onSignal, { once: true });
    // An aborted client request emits 'error' (ECONNRESET); the close handler deals with it.
    req.on('error', ignore);

    if (hasBody(req)) {
      body = new PassThrough();
      body.on('error', ignore);
      req.pipe(body);
    }

    const headers = upstreamRequestHeaders(opts.headers, {
      clientIp: opts.clientIp ?? req.socket.remoteAddress,
      host: req.headers.host,
      proto: opts.forwardedProto,
    });

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (clientGone) c.abort(new Error('client closed the connection'));
      },
      onResponseStart(c, statusCode, responseHeaders, statusMessage) {
        // An interim answer (103 Early Hints): the final head follows; writing this one as the
        // response's head would make the next one fail.
        if (statusCode < 200) return;
        if (clientGone || res.destroyed) {
          c.abort(new Error('client closed the connection'));
          return;
        }
        status = statusCode;
        headersMs = now() - started;
        opts.onResponse?.({ status, headersMs });
        responseStarted = true;
        const out = clientResponseHeaders(responseHeaders);
        if (opts.setCookies !== undefined && opts.setCookies.length > 0) {
          const theirs = out['set-cookie'];
          out['set-cookie'] = theirs === undefined ? [...opts.setCookies] : [...opts.setCookies, ...(Array.isArray(theirs) ? theirs : [String(theirs)])];
        }
        if (statusMessage) res.writeHead(statusCode, statusMessage, out);
        else res.writeHead(statusCode, out);
        // Send the head now: a long poll or SSE stream must see it before the first chunk. When
        // the body came in the same read (most answers), the head went out with it in one write.
        process.nextTick(flushHead);
      },
      onResponseData(c, chunk) {
        if (res.destroyed) return;
        sent.bytes += chunk.length;
        if (!res.write(chunk) && !waitingDrain) {
          waitingDrain = true;
          c.pause();
          res.once('drain', onDrain);
        }
      },
      onResponseEnd() {
        upstreamDone = true;
        if (res.destroyed) {
          finish(new UpstreamError('client_aborted', upstream, 'client went away during the response', { responseStarted: true }));
          return;
        }
        res.end(() => finish(null));
      },
      onResponseError(_c, err) {
        if (clientGone || res.destroyed) {
          finish(new UpstreamError('client_aborted', upstream, 'client went away before the response finished', { responseStarted, cause: err }));
          return;
        }
        if (!responseStarted) {
          finish(beforeResponseError(err, upstream, false));
          return;
        }
        // Mid-body: the client must not take a cut body for a whole one.
        res.destroy();
        const code = (err as { code?: string }).code;
        finish(new UpstreamError('upstream_reset', upstream, `${upstream} failed during the response: ${err.message}${code ? ` (${code})` : ''}`, { responseStarted: true, cause: err }));
      },
    };

    try {
      opts.dispatcher.dispatch(
        {
          origin: upstream,
          path: requestPath(req.url),
          method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
          headers,
          body,
          headersTimeout: opts.headersTimeoutMs,
          bodyTimeout: opts.bodyTimeoutMs,
          // A client's request is never safely retried by the proxy.
          idempotent: false,
          // undici wants upgrades through `upgrade`; a plain forward never carries one.
          upgrade: null,
        },
        handler,
      );
    } catch (err) {
      // Invalid options or headers (undici validates synchronously).
      finish(beforeResponseError(err, upstream, false));
    }
  });
}
