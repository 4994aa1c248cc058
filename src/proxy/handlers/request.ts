// One request's state, passed through the named stages (style (b)10), and the ways to answer.
// Every answer goes through here so that headers leak nowhere on failure (style (b)7): before
// the head is sent an error becomes its mapped status; after, the socket is destroyed.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../log.ts';
import { PROXY_ERRORS, ProxyError, plainErrorBody, type ProxyErrorCode } from '../protocol/errors.ts';
import type { TrustedClient } from '../protocol/forwarded.ts';
import { parseHost } from '../protocol/routing.ts';
import type { ProxyClaims } from '../protocol/claims.ts';
import type { Scheme, UpgradeConnection } from '../server/index.ts';
import type { ProxyApp } from './app.ts';

export interface Authenticated {
  claims: ProxyClaims;
  rawToken: string;
  /** `session` (cookie), `header` (Bearer/Basic, now saved into a session). */
  via: 'session' | 'header';
}

export interface RequestState {
  readonly req: IncomingMessage;
  /** On an upgrade, a response on the upgrade's socket: every answer but the relay's goes through it. */
  readonly res: ServerResponse;
  /** An Upgrade request's connection: proxy mode relays it (upgrade.ts). */
  readonly upgrade?: UpgradeConnection | undefined;
  /** Set once the relay has the connection: what the client got (101, the upstream's refusal, a 502), 0 when it went away first. */
  relayed?: number;
  readonly scheme: Scheme;
  /** Aborts when the client goes away before the response finished (style (b)2). */
  readonly signal: AbortSignal;
  readonly started: number;
  readonly client: TrustedClient;
  /** The routing host (trusted X-Forwarded-Host, else Host). */
  readonly host: string;
  /** The request target as received. */
  readonly url: URL;
  log: Logger;
  /** The request's logger if a line was written through it (the access line then uses it too). */
  logged?: () => Logger | undefined;
  app?: ProxyApp;
  /** The session id from a valid cookie, if any. */
  sessionId?: string | undefined;
  auth?: Authenticated | undefined;
  /** Set-Cookie values to send with whatever the answer is. */
  readonly cookies: string[];
  /** Metric `type`. */
  type: 'app' | 'ping' | 'static';
  /** Body bytes sent so far (the access line's `size`; a HEAD answer sends none), counted by whatever writes the answer. */
  readonly sent: { bytes: number };
}

/**
 * The signal of a request, made on first use (most requests never ask): aborted when its
 * response closes before it finished. `dispose` detaches it once the request is handled.
 */
export function requestSignal(res: ServerResponse): { readonly signal: AbortSignal; dispose: () => void } {
  let controller: AbortController | undefined;
  const onClose = () => {
    if (!res.writableFinished) controller?.abort(new Error('the client went away'));
  };
  return {
    get signal(): AbortSignal {
      if (!controller) {
        controller = new AbortController();
        if (res.destroyed && !res.writableFinished) controller.abort(new Error('the client went away'));
        else res.once('close', onClose);
      }
      return controller.signal;
    },
    dispose: () => {
      if (controller) res.off('close', onClose);
    },
  };
}

/**
 * The request target as a URL on the connection's scheme and `Host` (`target` is `requestPath`'s
 * result). A `Host` that is not a host (`x#`, `x?`, `x/y` would move the target into the
 * fragment, the query or the path) becomes `invalid.invalid`; an unparsable target, `/`.
 */
export function requestUrl(scheme: Scheme, hostHeader: string | undefined, target: string): URL {
  const host = hostHeader !== undefined && parseHost(hostHeader) !== undefined ? hostHeader.trim() : 'invalid.invalid';
  return URL.parse(`${scheme}://${host}${target.startsWith('/') ? target : '/'}`) ?? new URL(`${scheme}://invalid.invalid/`);
}

function applyCookies(s: RequestState): void {
  if (s.cookies.length > 0) s.res.setHeader('set-cookie', s.cookies);
}

/** A plain-text or empty answer. */
export function send(s: RequestState, status: number, body = '', headers: Readonly<Record<string, string>> = {}): void {
  const { res } = s;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  applyCookies(s);
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  if (body !== '' && !res.hasHeader('content-type')) {
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.setHeader('x-content-type-options', 'nosniff');
  }
  const length = Buffer.byteLength(body);
  res.setHeader('content-length', length);
  res.statusCode = status;
  const head = s.req.method === 'HEAD';
  s.sent.bytes = head ? 0 : length;
  res.end(head ? undefined : body);
}

/** 302 Found to `location`. */
export function redirect(s: RequestState, location: string): void {
  send(s, 302, '', { location });
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (v: string) => v.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);

/** authentik's HTML error page (title and message), for the proxy-mode header-auth 401. */
export function errorPage(title: string, message: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/outpost.goauthentik.io/static/dist/patternfly.min.css"></head>
<body><main><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p><a href="/">Go to home</a></main></body></html>
`;
}

/**
 * Answer with a proxy error from the table. Never 2xx (protocol/errors.ts asserts it). Logged
 * at error for 5xx, at info for 4xx (style (b)9).
 */
export function fail(s: RequestState, err: ProxyError | ProxyErrorCode, fields: Record<string, unknown> = {}): void {
  const e = typeof err === 'string' ? new ProxyError(err) : err;
  if (e.status >= 500) s.log.error({ ...fields, code: e.code, err: { message: e.message } }, 'request failed');
  else s.log.info({ ...fields, code: e.code, reason: e.message }, 'request refused');
  if (e.code === 'header_auth_failed') {
    send(s, e.status, errorPage('Unauthenticated', PROXY_ERRORS.header_auth_failed.message), { 'content-type': 'text/html; charset=utf-8' });
    return;
  }
  if (e.code === 'core_unavailable' || e.code === 'shutting_down' || e.code === 'session_store_unavailable') {
    send(s, e.status, plainErrorBody(e.code), { 'retry-after': '5' });
    return;
  }
  send(s, e.status, plainErrorBody(e.code));
}
