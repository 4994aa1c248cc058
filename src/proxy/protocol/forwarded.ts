/**
 * Forwarded headers, believed only from trusted proxies, and the original URL a forward-auth
 * request is about (spec proxy.md §2.1, §3.2, §10.22; authentik-now §1.4, §5.5).
 *
 * authentik 2024.4 trusts `X-Forwarded-*` from anyone: any client that can reach the outpost
 * can pick the app (X-Forwarded-Host) and the judged URL (X-Forwarded-Uri) of a forward-auth
 * check, the oauth2-proxy GHSA-7x63-xv5r-3p2x class of bypass. Here they count only when the
 * TCP peer is in the trusted ranges (default: authentik's `listen.trusted_proxy_cidrs`,
 * loopback and private networks). From anyone else the request's own Host, URL and TLS state
 * are used, so a spoofed header can never change the provider or the URL that is judged.
 *
 * The client address is the rightmost address of `X-Forwarded-For` that is not itself a
 * trusted proxy (authentik 2026.8.1), or the peer when the peer is not trusted.
 */
import { CidrMatcher, normalizeIp, parseIp } from '../../net/cidr.ts';
import { parseHost } from './routing.ts';

/** authentik's default `listen.trusted_proxy_cidrs`. */
export const DEFAULT_TRUSTED_PROXY_CIDRS: readonly string[] = Object.freeze([
  '127.0.0.0/8',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  'fe80::/10',
  '::1/128',
]);

/** Node's `IncomingMessage.headers` shape: lower-case names. */
export type HeaderMap = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Compile the trusted ranges once (an empty list trusts nobody). Throws `CidrError`. */
export function trustedProxies(cidrs: readonly string[] = DEFAULT_TRUSTED_PROXY_CIDRS): CidrMatcher<true> {
  return CidrMatcher.of(cidrs);
}

/** The headers this module reads; the others never influence routing or judging. */
export const FORWARDED_HEADERS = [
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-uri',
  'x-forwarded-method',
  'x-original-url',
  'x-original-uri',
] as const;

export interface ForwardedValues {
  readonly host?: string;
  readonly proto?: string;
  readonly uri?: string;
  readonly method?: string;
  readonly originalUrl?: string;
  readonly originalUri?: string;
}

export interface TrustedClient {
  /** Normalized client address (see module comment); the peer's text if it is not an IP. */
  readonly address: string;
  /** The TCP peer is a trusted proxy: `forwarded` holds its headers. */
  readonly peerTrusted: boolean;
  /** Forwarded values believed (empty when the peer is not trusted). */
  readonly forwarded: ForwardedValues;
  /** Forwarded headers that were present but ignored because the peer is not trusted (for a warning). */
  readonly ignored: readonly string[];
}

function lastValue(v: string | readonly string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  const s = typeof v === 'string' ? v : v[v.length - 1];
  return s === undefined || s === '' ? undefined : s;
}

/** Host and proto are single tokens; a proxy that appends (`a, b`) puts its own value last. */
function lastElement(v: string | readonly string[] | undefined): string | undefined {
  const s = lastValue(v);
  if (s === undefined) return undefined;
  const parts = s.split(',');
  const t = parts[parts.length - 1]!.trim();
  return t === '' ? undefined : t;
}

/** `1.2.3.4`, `1.2.3.4:80`, `[::1]:80`, `::1` → the address, or undefined. */
function xffAddress(entry: string): string | undefined {
  let e = entry.trim();
  if (e.startsWith('[')) {
    const end = e.indexOf(']');
    if (end === -1) return undefined;
    e = e.slice(1, end);
  } else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(e)) {
    e = e.slice(0, e.lastIndexOf(':'));
  }
  return normalizeIp(e);
}

interface Peer {
  readonly text: string;
  readonly trusted: boolean;
  /** The matcher's size when computed (a range added later recomputes). */
  readonly size: number;
}
/** Socket addresses already parsed and matched, per matcher (keep-alive peers repeat). Bounded. */
const peers = new WeakMap<CidrMatcher<unknown>, Map<string, Peer>>();
const PEERS_MAX = 4096;

function peerOf(peer: string, trusted: CidrMatcher<unknown>): Peer {
  let byAddress = peers.get(trusted);
  const hit = byAddress?.get(peer);
  if (hit !== undefined && hit.size === trusted.size) return hit;
  const peerIp = parseIp(peer);
  const entry: Peer = { text: normalizeIp(peer) ?? peer, trusted: peerIp !== undefined && trusted.has(peerIp), size: trusted.size };
  if (!byAddress) peers.set(trusted, (byAddress = new Map()));
  if (byAddress.size >= PEERS_MAX) byAddress.clear();
  byAddress.set(peer, entry);
  return entry;
}

/**
 * Who the client is and which forwarded values to believe. `remoteAddress` is the socket's
 * (or the PROXY-protocol) address. Never throws.
 */
export function trustedClient(remoteAddress: string | undefined, headers: HeaderMap, trusted: CidrMatcher<unknown>): TrustedClient {
  const { text: peerText, trusted: peerTrusted } = peerOf(remoteAddress ?? '', trusted);
  if (!peerTrusted) {
    const ignored = FORWARDED_HEADERS.filter((h) => headers[h] !== undefined);
    return { address: peerText, peerTrusted: false, forwarded: {}, ignored };
  }
  // Walk X-Forwarded-For from the right; stop at the first hop that is not a trusted proxy.
  let address = peerText;
  const xff = headers['x-forwarded-for'];
  const entries = (xff === undefined ? [] : typeof xff === 'string' ? [xff] : xff).flatMap((l) => l.split(','));
  for (let i = entries.length - 1; i >= 0; i--) {
    const a = xffAddress(entries[i]!);
    if (a === undefined) break; // garbage: the nearest trusted hop is the best we know
    address = a;
    if (!trusted.has(a)) break;
  }
  const f: { -readonly [K in keyof ForwardedValues]: ForwardedValues[K] } = {};
  const host = lastElement(headers['x-forwarded-host']);
  if (host !== undefined) f.host = host;
  const proto = lastElement(headers['x-forwarded-proto']);
  if (proto !== undefined) f.proto = proto.toLowerCase();
  const uri = lastValue(headers['x-forwarded-uri']);
  if (uri !== undefined) f.uri = uri;
  const method = lastElement(headers['x-forwarded-method']);
  if (method !== undefined) f.method = method;
  const ourl = lastValue(headers['x-original-url']);
  if (ourl !== undefined) f.originalUrl = ourl;
  const ouri = lastValue(headers['x-original-uri']);
  if (ouri !== undefined) f.originalUri = ouri;
  return { address, peerTrusted: true, forwarded: f, ignored: [] };
}

/** The host used for routing and logs: trusted `X-Forwarded-Host`, else `Host` (§2.1). */
export function requestHost(host: string | undefined, client: TrustedClient): string {
  return client.forwarded.host ?? host ?? '';
}

export type ForwardKind = 'nginx' | 'traefik' | 'caddy' | 'envoy' | 'proxy';

export interface ForwardRequest {
  /** The request target as received (`req.url`): path and query. */
  readonly url: string;
  /** The `Host` header. */
  readonly host: string | undefined;
  /** The connection to the outpost is TLS. */
  readonly secure: boolean;
  /** From `trustedClient`. */
  readonly client: TrustedClient;
  /**
   * Scheme to assume when nothing trusted says (nginx `X-Original-URI`, Envoy): the provider's
   * external-host scheme. Defaults to the connection's.
   */
  readonly defaultScheme?: 'http' | 'https' | undefined;
}

export type OriginalUrlResult =
  | {
      readonly ok: true;
      /** Absolute URL the request is about: judged (skip regex), stored as the post-login redirect. */
      readonly url: URL;
      /** `headers`: built from trusted forwarded headers; `request`: from the request itself. */
      readonly source: 'headers' | 'request';
      /** The path and query as given, before URL parsing (for `SkipMatcher.matches`). */
      readonly rawPath: string;
      /**
       * nginx: `X-Original-URI` and `X-Original-URL` both came and name different targets. A
       * reverse proxy sets one of them and passes the client's headers on to `auth_request`
       * (nginx's default), so the other is the client's: the URL may serve to authenticate,
       * never to skip authentication or to let an outpost path through.
       */
      readonly ambiguous?: true;
    }
  | {
      readonly ok: false;
      /**
       * `forward_url_missing`, `forward_url_invalid`: the reverse proxy's configuration (no
       * headers, no or a bad scheme; 500 and a configuration_error event). `bad_request`: the
       * host or path the client sent, relayed (400; no event a client could cause).
       */
      readonly code: 'forward_url_missing' | 'forward_url_invalid' | 'bad_request';
      readonly detail: string;
    };

export const ENVOY_PREFIX = '/outpost.goauthentik.io/auth/envoy';

/**
 * `scheme://host` + target. The host is checked on its own and written before the target, so
 * the target can only ever be a path and query on it: `//evil.com/x` and `/\\evil.com` are paths
 * of `host` (as Go parses them), which `isCanonicalPath` keeps from being skip or outpost paths.
 */
function build(scheme: string, host: string | undefined, target: string, source: 'headers' | 'request'): OriginalUrlResult {
  if (scheme !== 'http' && scheme !== 'https') return { ok: false, code: 'forward_url_invalid', detail: `scheme "${scheme}" is not http or https` };
  // The host (nginx: $http_host; Traefik, Caddy: the request's Host) and the path are the client's.
  if (host === undefined || parseHost(host) === undefined) return { ok: false, code: 'bad_request', detail: `host "${(host ?? '').slice(0, 255)}" is not a host` };
  if (!target.startsWith('/') || /[\u0000-\u001f\u007f]/.test(target)) return { ok: false, code: 'bad_request', detail: 'the request target is not an absolute path' };
  const u = URL.parse(`${scheme}://${host}${target}`);
  if (u === null) return { ok: false, code: 'bad_request', detail: 'not a URL' };
  u.hash = '';
  return { ok: true, url: u, source, rawPath: target };
}

/**
 * The URL a forward-auth request (or, for `proxy`, the request itself) is about:
 * - traefik, caddy: `X-Forwarded-Proto` :// `X-Forwarded-Host` `X-Forwarded-Uri`. No proto →
 *   `forward_url_invalid` (authentik: 500 configuration error). No host → `Host`; no URI → `/`.
 * - nginx: `X-Original-URI` (a path, on the request's Host) wins; else `X-Original-URL`
 *   (absolute http(s)); neither → `forward_url_missing` (500). Both, naming different targets
 *   → `ambiguous` (one of them is the client's).
 * - envoy: the request path after `/outpost.goauthentik.io/auth/envoy`, its query, on `Host`.
 * - proxy: the request itself.
 * Forwarded headers are used only when `client.peerTrusted`; otherwise every kind judges the
 * request's own URL (the auth endpoint itself), whatever headers it carries.
 */
export function originalUrl(kind: ForwardKind, req: ForwardRequest): OriginalUrlResult {
  const own = req.secure ? 'https' : 'http';
  const f = req.client.forwarded;
  const fallbackScheme = f.proto ?? req.defaultScheme ?? own;
  if (!req.client.peerTrusted && kind !== 'envoy') return build(own, req.host, req.url, 'request');
  switch (kind) {
    case 'traefik':
    case 'caddy': {
      if (f.proto === undefined) return { ok: false, code: 'forward_url_invalid', detail: 'X-Forwarded-Proto is missing' };
      return build(f.proto, f.host ?? req.host, f.uri ?? '/', 'headers');
    }
    case 'nginx': {
      const m = f.originalUrl === undefined ? undefined : /^(https?):\/\/([^/?#]*)(.*)$/i.exec(f.originalUrl);
      if (f.originalUri !== undefined) {
        const r = build(fallbackScheme, req.host, f.originalUri, 'headers');
        // ingress-nginx sends both, `$request_uri` and `$scheme://$http_host$request_uri`: they agree.
        if (!r.ok || m === undefined || (m !== null && m[3] === f.originalUri)) return r;
        return { ...r, ambiguous: true };
      }
      if (m === undefined) return { ok: false, code: 'forward_url_missing', detail: 'neither X-Original-URI nor X-Original-URL is set' };
      if (m === null) return { ok: false, code: 'forward_url_invalid', detail: 'X-Original-URL is not an absolute http(s) URL' };
      const rest = m[3] === '' ? '/' : m[3]!.startsWith('/') ? m[3]! : `/${m[3]!}`;
      return build(m[1]!.toLowerCase(), m[2], rest, 'headers');
    }
    case 'envoy': {
      const path = req.url.startsWith(ENVOY_PREFIX) ? req.url.slice(ENVOY_PREFIX.length) : req.url;
      const target = path === '' || path.startsWith('?') ? `/${path}` : path;
      return build(req.client.peerTrusted ? fallbackScheme : (req.defaultScheme ?? own), req.host, target, 'request');
    }
    case 'proxy':
      return build(fallbackScheme, f.host ?? req.host, req.url, f.host !== undefined || f.proto !== undefined ? 'headers' : 'request');
  }
}
