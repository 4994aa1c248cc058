/**
 * Headers the proxy adds and removes (spec proxy.md §6; authentik-now §1.4).
 *
 * Identity headers, `Set` semantics, on the upstream request (proxy mode) or on the 200 auth
 * response (forward modes), with authentik's names and quirks kept on purpose: groups and
 * entitlements joined with `|` (no escaping), empty values sent as empty headers.
 * `X-authentik-entitlements` is emitted as authentik 2024.12+ and 2026.8 do.
 *
 * Changes from authentik, each a fix:
 * - `additionalHeaders` numbers become their decimal text (Go decodes JSON numbers as floats and
 *   sends '' for them, spec §6.3/§10.8); booleans, null, objects and arrays stay ''.
 * - `additionalHeaders` cannot set framing or hop-by-hop headers (Host, Content-Length,
 *   Transfer-Encoding, Connection…) nor an `X-authentik-*` identity header, and entries whose
 *   name is not an HTTP token or whose value holds CR, LF or NUL are dropped (Node would throw;
 *   Go would smuggle).
 * - `sanitizeRequestHeaders` removes every client-sent `X-authentik-*` and every header whose
 *   name contains `_` (authentik 2026.8), on every path, skip paths included (§10.10).
 */
import type { ProxyProviderConfig } from './provider.ts';
import type { ProxyClaims } from './claims.ts';
import type { HeaderMap } from './forwarded.ts';

export const IDENTITY_HEADERS = {
  username: 'X-authentik-username',
  groups: 'X-authentik-groups',
  entitlements: 'X-authentik-entitlements',
  email: 'X-authentik-email',
  name: 'X-authentik-name',
  uid: 'X-authentik-uid',
  jwt: 'X-authentik-jwt',
  metaJwks: 'X-authentik-meta-jwks',
  metaOutpost: 'X-authentik-meta-outpost',
  metaProvider: 'X-authentik-meta-provider',
  metaApp: 'X-authentik-meta-app',
  metaVersion: 'X-authentik-meta-version',
} as const;

/** The twelve names as sent (HTTP names are case-insensitive), e.g. for Traefik `authResponseHeaders`. */
export const IDENTITY_HEADER_NAMES: readonly string[] = Object.values(IDENTITY_HEADERS);

export interface IdentityMeta {
  /** The token kept as `RawToken`: access token (login), bearer token, or Basic's id_token. */
  readonly rawToken: string;
  /** JWKS URI (the browser-facing variant). */
  readonly jwksUri: string;
  readonly outpostName: string;
  /** `goauthentik.io/outpost/<version>` (the outpost's User-Agent). */
  readonly version: string;
}

/** The twelve `X-authentik-*` headers. `provider` gives its name and application slug. */
export function identityHeaders(
  claims: ProxyClaims,
  provider: Pick<ProxyProviderConfig, 'name' | 'assigned_application_slug'>,
  meta: IdentityMeta,
): Record<string, string> {
  const H = IDENTITY_HEADERS;
  return {
    [H.username]: clean(claims.preferred_username),
    [H.groups]: clean(claims.groups.join('|')),
    [H.entitlements]: clean(claims.entitlements.join('|')),
    [H.email]: clean(claims.email),
    [H.name]: clean(claims.name),
    [H.uid]: clean(claims.sub),
    [H.jwt]: clean(meta.rawToken),
    [H.metaJwks]: clean(meta.jwksUri),
    [H.metaOutpost]: clean(meta.outpostName),
    [H.metaProvider]: clean(provider.name),
    [H.metaApp]: clean(provider.assigned_application_slug),
    [H.metaVersion]: clean(meta.version),
  };
}

/**
 * Header values cannot hold CR, LF or NUL (Node throws, others split). Identity values come
 * from authentik, but a display name is user-editable: replace those characters, and the other
 * controls Node refuses, with a space. Non-ASCII is sent as its UTF-8 bytes, as Go does (Node
 * writes header strings as Latin-1 and throws on anything above U+00FF: a user named "日本"
 * would otherwise get a 500 from forward auth and a 502 in proxy mode).
 */
function clean(v: string): string {
  const text = /[\u0000-\u0008\u000a-\u001f\u007f]/.test(v) ? v.replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, ' ') : v;
  return /[^\u0000-\u007f]/.test(text) ? Buffer.from(text, 'utf8').toString('latin1') : text;
}

/**
 * `Basic base64(user:password)` from the user's attributes (spec §6.2), or undefined when
 * Basic injection is off, `ak_proxy` is absent, or both parts are empty. The user name falls
 * back to the e-mail when the attribute is not a string.
 */
export function basicAuthorization(
  claims: ProxyClaims,
  provider: Pick<ProxyProviderConfig, 'basic_auth_enabled' | 'basic_auth_user_attribute' | 'basic_auth_password_attribute'>,
): string | undefined {
  if (!provider.basic_auth_enabled || claims.ak_proxy === undefined) return undefined;
  const attrs = claims.ak_proxy.user_attributes;
  const pw = attrs[provider.basic_auth_password_attribute];
  const user = attrs[provider.basic_auth_user_attribute];
  const password = typeof pw === 'string' ? pw : '';
  const username = typeof user === 'string' ? user : claims.email;
  if (username === '' && password === '') return undefined;
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Names `additionalHeaders` may not set (lower case). */
const PROTECTED = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'cookie',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
]);

export interface AdditionalHeadersResult {
  readonly headers: Record<string, string>;
  /** Names that were refused (for a debug log): protected, not a token, or a bad value. */
  readonly dropped: readonly string[];
}

function headerText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'bigint') return v.toString();
  return '';
}

/** `user_attributes.additionalHeaders` (spec §6.3 with the fixes above). */
export function additionalHeaders(claims: ProxyClaims): AdditionalHeadersResult {
  const headers: Record<string, string> = {};
  const dropped: string[] = [];
  const extra = claims.ak_proxy?.user_attributes['additionalHeaders'];
  if (extra === null || typeof extra !== 'object' || Array.isArray(extra)) return { headers, dropped };
  for (const [name, value] of Object.entries(extra as Record<string, unknown>)) {
    const lower = name.toLowerCase();
    const text = headerText(value);
    if (!TOKEN.test(name) || PROTECTED.has(lower) || lower.startsWith('x-authentik-') || /[\r\n\0]/.test(text)) {
      dropped.push(name);
      continue;
    }
    headers[name] = clean(text);
  }
  return { headers, dropped };
}

/**
 * Everything authentik sets for an authenticated user, in its order (identity, then Basic
 * `Authorization`, then `additionalHeaders`, which may override `Authorization`). Apply with
 * `Set` semantics over a request already passed through `sanitizeRequestHeaders`.
 */
export function authHeaders(
  claims: ProxyClaims,
  provider: Pick<
    ProxyProviderConfig,
    'name' | 'assigned_application_slug' | 'basic_auth_enabled' | 'basic_auth_user_attribute' | 'basic_auth_password_attribute'
  >,
  meta: IdentityMeta,
): Record<string, string> {
  const out = identityHeaders(claims, provider, meta);
  const basic = basicAuthorization(claims, provider);
  if (basic !== undefined) out['Authorization'] = basic;
  if (claims.ak_proxy !== undefined) {
    for (const [k, v] of Object.entries(additionalHeaders(claims).headers)) {
      // `Set` semantics: a case variant replaces the earlier name.
      for (const existing of Object.keys(out)) if (existing.toLowerCase() === k.toLowerCase()) delete out[existing];
      out[k] = v;
    }
  }
  return out;
}

/** True for a request header a client must not be able to send through the outpost. */
export function isSpoofableHeader(name: string): boolean {
  const l = name.toLowerCase();
  return l.startsWith('x-authentik-') || l.includes('_');
}

/** A copy without client-sent `X-authentik-*` headers and without names containing `_`. */
export function sanitizeRequestHeaders<T extends HeaderMap>(headers: T): Partial<T> {
  const out: Record<string, string | readonly string[] | undefined> = {};
  for (const [k, v] of Object.entries(headers)) if (!isSpoofableHeader(k)) out[k] = v;
  return out as Partial<T>;
}

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1, plus the legacy names Go's reverse proxy also drops).
 * Lower case.
 */
export const HOP_BY_HOP: readonly string[] = Object.freeze([
  'connection',
  'proxy-connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
