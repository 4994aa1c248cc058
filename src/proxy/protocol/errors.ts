/**
 * Every failure of the proxy outpost in one table: a stable code, the HTTP status it is answered
 * with, and a message that is safe to show a client (no secrets, no internals). Modelled on
 * fastify's lib/errors.js; `ProxyError.code` is what callers branch on, never the message.
 *
 * Every entry is non-2xx: a forward-auth handler that fails must never answer 200, because the
 * reverse proxy in front treats any 2xx as "allow" (CVE-2026-25748 was a failure path that wrote
 * nothing, which Go turns into an implicit 200). `proxyErrorStatus` asserts this at load time.
 */

export interface ProxyErrorSpec {
  /** HTTP status; always 4xx or 5xx. */
  readonly status: number;
  /** Body text or page message shown to the client. Safe: no secrets, no stack, no internals. */
  readonly message: string;
}

export const PROXY_ERRORS = {
  /** Host matched no provider and more than one is configured (authentik's JSON 400; see `noAppBody`). */
  no_app: { status: 400, message: 'no app for hostname' },
  /** Forward auth from a trusted proxy without the headers that name the original URL (nginx, traefik, caddy). */
  forward_url_missing: { status: 500, message: 'configuration error' },
  /**
   * Forward-auth headers present but not a usable URL (no or a bad proto, an X-Original-URL that
   * is not absolute). A bad host or path is the client's (relayed by the proxy): `bad_request`.
   */
  forward_url_invalid: { status: 500, message: 'configuration error' },
  /**
   * Forward auth: the original URL's host is served by another provider than the one the request
   * was routed to (by `Host`/`X-Forwarded-Host`). nginx passes a client's `X-Forwarded-Host` on to
   * `auth_request`: judging one app's URL by another app's session would let any user of one app
   * into every other.
   */
  forward_host_mismatch: { status: 400, message: 'Bad Request' },
  /** nginx `auth_request`: not authenticated (nginx then runs `error_page 401`). Body as authentik's. */
  unauthenticated: { status: 401, message: 'unauthorized request' },
  /** Proxy mode, `intercept_header_auth` on, an `Authorization` header that did not authenticate. */
  header_auth_failed: { status: 401, message: "Due to 'Receive header authentication' being set, no redirect is performed." },
  /** Callback: the state JWT is missing, forged, expired, for another provider or another session. */
  state_invalid: { status: 400, message: '' },
  /** Callback without `code`. */
  code_missing: { status: 400, message: '' },
  /** Callback: authentik refused the code exchange (4xx from the token endpoint). */
  token_exchange_failed: { status: 400, message: '' },
  /** Callback: the token failed verification (signature, iss, aud, exp, claims shape). */
  token_invalid: { status: 400, message: '' },
  /** authentik could not be reached or answered 5xx/garbage (token, introspection, JWKS). */
  core_unavailable: { status: 503, message: 'Service Unavailable' },
  /** Creating the login state or the session failed: fail closed (the CVE-2026-25748 path). */
  login_start_failed: { status: 500, message: 'Internal Server Error' },
  /**
   * A shared session store (PostgreSQL, Redis) did not take a login's session in time. Reads
   * never get here: a store that cannot answer is "no session" (fail closed, 302 or 401).
   */
  session_store_unavailable: { status: 503, message: 'Service Unavailable' },
  /** Forward modes: a path that is not one of the outpost's endpoints (gorilla/mux text). */
  not_found: { status: 404, message: '404 page not found' },
  /** Proxy mode: the upstream refused, reset or could not be resolved. */
  upstream_unreachable: { status: 502, message: 'Bad Gateway' },
  /** Proxy mode: the upstream did not answer in time (authentik answers every proxy failure with its 502 page, spec §8.5). */
  upstream_timeout: { status: 502, message: 'Bad Gateway' },
  /** Proxy mode: the upstream failed after the response had started; the client socket is destroyed. */
  upstream_reset: { status: 502, message: 'Bad Gateway' },
  /** The outpost is draining; answered with `Connection: close`. */
  shutting_down: { status: 503, message: 'Service Unavailable' },
  /** A request the outpost will not handle (bad Host, malformed target). */
  bad_request: { status: 400, message: 'Bad Request' },
  /** Anything unexpected. */
  internal: { status: 500, message: 'Internal Server Error' },
} as const satisfies Record<string, ProxyErrorSpec>;

export type ProxyErrorCode = keyof typeof PROXY_ERRORS;

for (const [code, spec] of Object.entries(PROXY_ERRORS)) {
  if (spec.status < 400 || spec.status > 599) throw new Error(`PROXY_ERRORS.${code}: status ${spec.status} is not an error status`);
}

/** A proxy failure with a stable `code`; `status` and `expose` come from the table. */
export class ProxyError extends Error {
  override readonly name = 'ProxyError';
  readonly code: ProxyErrorCode;
  readonly status: number;
  /** The message safe to send to the client (from the table, never `detail`). */
  readonly expose: string;

  /** `detail` goes into `message` (for logs only); the client sees `expose`. */
  constructor(code: ProxyErrorCode, detail?: string, options?: { cause?: unknown }) {
    const spec = PROXY_ERRORS[code];
    super(detail === undefined ? `${code}: ${spec.message || spec.status}` : `${code}: ${detail}`, options);
    this.code = code;
    this.status = spec.status;
    this.expose = spec.message;
  }
}

export function isProxyError(err: unknown): err is ProxyError {
  return err instanceof ProxyError;
}

/** Status for any thrown value: the table's for a `ProxyError`, else 500 (fail closed). */
export function proxyErrorStatus(err: unknown): number {
  return err instanceof ProxyError ? err.status : PROXY_ERRORS.internal.status;
}

/**
 * The body authentik sends with the 400 for an unknown host, byte for byte: Go's
 * `json.Encoder` with a tab indent, HTML-escaping `<`, `>`, `&` (and U+2028/2029), and a
 * trailing newline. `Content-Type: application/json`. Clients parse it; keep it.
 */
export function noAppBody(host: string): string {
  const body = {
    Message: PROXY_ERRORS.no_app.message,
    Host: host,
    Detail: `Check the outpost settings and make sure '${host}' is included.`,
  };
  return (
    JSON.stringify(body, null, '\t').replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n'
  );
}

/** Go `http.Error` body for a plain-text error: the message plus a newline. */
export function plainErrorBody(code: ProxyErrorCode): string {
  const m = PROXY_ERRORS[code].message;
  return m === '' ? '' : `${m}\n`;
}
