// Forwarding headers for the upstream request and the client response.
//
// The hop-by-hop names come from the protocol module (one list for the proxy); this module adds
// what a forward needs on top: Connection-listed names, the X-Forwarded-* set, X-Powered-By.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { HOP_BY_HOP as HOP_BY_HOP_LIST } from '../protocol/headers.ts';
import { listTokens } from '../protocol/upgrade.ts';

export const HOP_BY_HOP: ReadonlySet<string> = new Set(HOP_BY_HOP_LIST);

/** Headers a header map may carry: Node's incoming shape, or what a caller built. */
export type HeaderMap = Readonly<Record<string, string | readonly string[] | number | undefined>>;

const NONE: ReadonlySet<string> = new Set();

/** Lower-cased names listed in `Connection` values (one value, or several): each is hop-by-hop for this message. */
export function connectionTokens(value: unknown): ReadonlySet<string> {
  if (value === undefined) return NONE;
  return new Set(listTokens(Array.isArray(value) ? value.map(String) : String(value)));
}

/**
 * A copy without hop-by-hop headers (the fixed list and every name `Connection` lists). `keep`
 * names survive anyway (an upgrade keeps `connection` and `upgrade`). Names come out lower-cased.
 */
export function withoutHopByHop(headers: HeaderMap, keep?: ReadonlySet<string>): Record<string, string | string[]> {
  const listed = connectionTokens(headers['connection'] ?? headers['Connection']);
  const out: Record<string, string | string[]> = {};
  for (const rawName in headers) {
    if (!Object.hasOwn(headers, rawName)) continue;
    const value = headers[rawName];
    if (value === undefined) continue;
    const name = rawName.toLowerCase();
    if ((HOP_BY_HOP.has(name) || listed.has(name)) && !keep?.has(name)) continue;
    const v = Array.isArray(value) ? value.map(String) : String(value);
    const prev = out[name];
    if (prev === undefined) out[name] = v as string | string[];
    else out[name] = [...(Array.isArray(prev) ? prev : [prev]), ...(Array.isArray(v) ? v : [v])];
  }
  return out;
}

export interface ForwardingInfo {
  /** The client address (PROXY protocol's when used), appended to `X-Forwarded-For`. */
  clientIp: string | undefined;
  /** The incoming `Host`, which becomes `X-Forwarded-Host` (overwriting a client value). */
  host: string | undefined;
  /**
   * `X-Forwarded-Proto` to set (overwrite). Undefined leaves any incoming value as is, which is
   * what authentik 2024.x does (spec §6.4: it never sets it).
   */
  proto?: 'http' | 'https' | undefined;
}

/**
 * The upstream request's headers: hop-by-hop removed, `Host` kept as given (the client's; the
 * caller may override it, as `host_header` does in 2025.6.1+),
 * `X-Forwarded-For` appended, `X-Forwarded-Host` set, `X-Forwarded-Proto` set when asked.
 * `keep` as for `withoutHopByHop` (websocket upgrades).
 */
export function upstreamRequestHeaders(headers: HeaderMap, info: ForwardingInfo, keep?: ReadonlySet<string>): Record<string, string | string[]> {
  const out = withoutHopByHop(headers, keep);
  // undici refuses `expect` (Node's server has already answered 100-continue).
  delete out['expect'];
  if (info.clientIp) {
    const prior = out['x-forwarded-for'];
    const joined = prior === undefined ? '' : Array.isArray(prior) ? prior.join(', ') : prior;
    out['x-forwarded-for'] = joined ? `${joined}, ${info.clientIp}` : info.clientIp;
  }
  if (info.host !== undefined) out['x-forwarded-host'] = info.host;
  if (info.proto !== undefined) out['x-forwarded-proto'] = info.proto;
  return out;
}

export const POWERED_BY = 'goauthentik.io';

/** The client response's headers: hop-by-hop removed, `X-Powered-By: goauthentik.io`. */
export function clientResponseHeaders(headers: IncomingHttpHeaders | HeaderMap): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = withoutHopByHop(headers as HeaderMap);
  out['x-powered-by'] = POWERED_BY;
  return out;
}

/** The request target as a path: origin-form kept, absolute-form reduced to path and query. */
export function requestPath(url: string | undefined): string {
  if (!url) return '/';
  if (url.startsWith('/') || url === '*') return url;
  try {
    const u = new URL(url);
    return `${u.pathname}${u.search}`;
  } catch {
    return '/';
  }
}
