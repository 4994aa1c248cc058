// Failures of a proxied exchange, each with a stable code; the statuses are the proxy's one
// error table's (protocol/errors.ts).
import { PROXY_ERRORS } from '../protocol/errors.ts';

export type UpstreamErrorCode =
  /** Connection refused, DNS, TLS, reset before the response headers. → 502 */
  | 'upstream_unreachable'
  /** Not connected within the connect timeout, no response headers within `headersTimeoutMs`, or the upgrade handshake timed out. → 504 in spirit; 502 like authentik */
  | 'upstream_timeout'
  /** The upstream failed after the response had started (reset mid-body, body idle timeout). The client socket was destroyed. */
  | 'upstream_reset'
  /** The client went away (or the caller's signal aborted) before the response finished. Nothing to send. */
  | 'client_aborted';

export const UPSTREAM_ERROR_STATUS: Readonly<Record<UpstreamErrorCode, number>> = {
  upstream_unreachable: PROXY_ERRORS.upstream_unreachable.status,
  upstream_timeout: PROXY_ERRORS.upstream_timeout.status,
  upstream_reset: PROXY_ERRORS.upstream_reset.status,
  // Nothing is sent: the client is gone (nginx's 499, for logs and metrics only).
  client_aborted: 499,
};

export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  readonly code: UpstreamErrorCode;
  /** What the client gets, when `responseStarted` is false. */
  readonly status: number;
  /** The response head had been sent to the client: nothing can be rendered any more. */
  readonly responseStarted: boolean;
  /** The upstream's origin (never a path or query). */
  readonly upstream: string;

  constructor(code: UpstreamErrorCode, upstream: string, message: string, opts: { responseStarted: boolean; cause?: unknown }) {
    super(message, { cause: opts.cause });
    this.code = code;
    this.status = UPSTREAM_ERROR_STATUS[code];
    this.upstream = upstream;
    this.responseStarted = opts.responseStarted;
  }
}

/** Map an undici/socket error that happened before the response started. */
export function beforeResponseError(err: unknown, upstream: string, clientAborted: boolean): UpstreamError {
  const e = err as { code?: string; message?: string };
  if (clientAborted) return new UpstreamError('client_aborted', upstream, `client went away before ${upstream} answered`, { responseStarted: false, cause: err });
  const code = e.code ? ` (${e.code})` : '';
  if (e.code === 'UND_ERR_CONNECT_TIMEOUT') {
    // The fast path's words (fast/exchange.ts): a logged-in user sees the same page from both paths.
    return new UpstreamError('upstream_timeout', upstream, `${upstream} did not accept the connection in time`, { responseStarted: false, cause: err });
  }
  if (e.code === 'UND_ERR_HEADERS_TIMEOUT') return new UpstreamError('upstream_timeout', upstream, `${upstream} did not answer in time${code}`, { responseStarted: false, cause: err });
  return new UpstreamError('upstream_unreachable', upstream, `cannot reach ${upstream}: ${e.message ?? String(err)}${code}`, { responseStarted: false, cause: err });
}
