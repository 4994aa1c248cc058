/**
 * The session cookie: its name, its signed value (a random session ID plus an HMAC), and the
 * `Set-Cookie` strings (spec proxy.md §5.1–5.3, §11).
 *
 * Name: `authentik_proxy_` + the first 8 characters of `client_id`, what authentik 2024.4
 * actually sends (its "hash" appends rather than hashes; §5.1, checklist 12.2 #47). The Rust
 * 2026.8 outpost uses the first 8 hex characters of SHA-256(client_id) instead
 * (`sessionCookieNameSha256`). Neither outpost can read the other's cookie values, so the name
 * only matters to reverse-proxy configs and users who look at it; we keep the 2024.4 name,
 * falling back to the SHA-256 form when the client_id prefix is not a valid cookie-name token.
 *
 * Value: `<id>.<mac>`, both base64url without padding: the ID is 32 random bytes, the MAC is
 * HMAC-SHA256 keyed with `cookie_secret` over `authentik_proxy_session.<id>` (a prefix no state
 * JWT signing input can have). Verification never throws and compares in constant time;
 * anything malformed is simply "no session" (CVE-2026-25748 was a malformed cookie failing open).
 */
import { createHash, createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';

export const COOKIE_PREFIX = 'authentik_proxy_';
const MAC_CONTEXT = 'authentik_proxy_session.';
const B64URL_43 = /^[A-Za-z0-9_-]{43}$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Cookie values: RFC 6265 cookie-octet (no space, DQUOTE, comma, semicolon, backslash, CTLs).
const COOKIE_VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;
const DOMAIN = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;

export class CookieError extends Error {
  override readonly name = 'CookieError';
  readonly code = 'invalid_cookie_attribute';
}

/** `authentik_proxy_<first 8 chars of client_id>` (authentik 2024.4). */
export function sessionCookieName(clientId: string): string {
  const prefix = clientId.slice(0, 8);
  if (prefix.length === 8 && /^[A-Za-z0-9]{8}$/.test(prefix)) return COOKIE_PREFIX + prefix;
  return sessionCookieNameSha256(clientId);
}

/** `authentik_proxy_<hex(sha256(client_id))[0:8]>` (authentik 2025+ / Rust 2026.8). */
export function sessionCookieNameSha256(clientId: string): string {
  return COOKIE_PREFIX + createHash('sha256').update(clientId, 'utf8').digest('hex').slice(0, 8);
}

/** A new session ID: 32 random bytes, base64url (43 characters). */
export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

/** True for a value `newSessionId` could have produced. */
export function isSessionId(id: unknown): id is string {
  return typeof id === 'string' && B64URL_43.test(id);
}

/** The HMAC key of each cookie secret, built once (a handful of providers; bounded anyway). */
const macKeys = new Map<string, KeyObject>();
const MAC_KEYS_MAX = 256;

function macKey(cookieSecret: string): KeyObject {
  let key = macKeys.get(cookieSecret);
  if (key === undefined) {
    if (macKeys.size >= MAC_KEYS_MAX) macKeys.clear();
    key = createSecretKey(Buffer.from(cookieSecret, 'utf8'));
    macKeys.set(cookieSecret, key);
  }
  return key;
}

function mac(id: string, cookieSecret: string): Buffer {
  return createHmac('sha256', macKey(cookieSecret)).update(MAC_CONTEXT + id, 'utf8').digest();
}

/** `<id>.<mac>`. Throws `CookieError` for an ID `newSessionId` would not make or an empty secret. */
export function signSessionId(id: string, cookieSecret: string): string {
  if (!isSessionId(id)) throw new CookieError('session ID must be 43 base64url characters');
  if (cookieSecret === '') throw new CookieError('cookie_secret is empty');
  return `${id}.${mac(id, cookieSecret).toString('base64url')}`;
}

/** The session ID in a signed cookie value, or undefined. Never throws. */
export function verifySessionId(value: unknown, cookieSecret: string): string | undefined {
  try {
    if (typeof value !== 'string' || value.length !== 87 || typeof cookieSecret !== 'string' || cookieSecret === '') return undefined;
    const id = value.slice(0, 43);
    const sig = value.slice(44);
    if (value[43] !== '.' || !B64URL_43.test(id) || !B64URL_43.test(sig)) return undefined;
    const given = Buffer.from(sig, 'base64url');
    // Reject non-canonical encodings (the last character carries 2 unused bits).
    if (given.length !== 32 || given.toString('base64url') !== sig) return undefined;
    return timingSafeEqual(given, mac(id, cookieSecret)) ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Every value of cookie `name` in a `Cookie` header, in order (a host-only and a domain cookie
 * of the same name can both be sent; try each). Never throws.
 */
export function readCookies(header: string | readonly string[] | undefined, name: string): string[] {
  if (header === undefined) return [];
  const out: string[] = [];
  for (const line of typeof header === 'string' ? [header] : header) {
    for (const part of line.split(';')) {
      const eq = part.indexOf('=');
      if (eq === -1) continue;
      if (part.slice(0, eq).trim() !== name) continue;
      let v = part.slice(eq + 1).trim();
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
      out.push(v);
    }
  }
  return out;
}

export interface SessionCookieOptions {
  readonly name: string;
  readonly value: string;
  /** Sets `Secure`; pass true when the external host is https. */
  readonly secure: boolean;
  /** `Domain` (forward_domain's cookie domain); a leading dot is dropped. */
  readonly domain?: string | undefined;
  /** Seconds; omitted → a browser-session cookie. ≤ 0 deletes the cookie. */
  readonly maxAge?: number | undefined;
}

/**
 * `name=value; Path=/; [Domain=d; ][Max-Age=n; ]HttpOnly; [Secure; ]SameSite=Lax`.
 * Throws `CookieError` for a name, value or domain that would corrupt the header.
 */
export function sessionCookie(o: SessionCookieOptions): string {
  if (!TOKEN.test(o.name)) throw new CookieError(`invalid cookie name "${o.name}"`);
  if (!COOKIE_VALUE.test(o.value)) throw new CookieError('invalid cookie value');
  const parts = [`${o.name}=${o.value}`, 'Path=/'];
  if (o.domain !== undefined && o.domain !== '') {
    const d = o.domain.startsWith('.') ? o.domain.slice(1) : o.domain;
    if (!DOMAIN.test(d)) throw new CookieError(`invalid cookie domain "${o.domain}"`);
    parts.push(`Domain=${d}`);
  }
  if (o.maxAge !== undefined) {
    if (!Number.isFinite(o.maxAge)) throw new CookieError('Max-Age must be finite');
    const n = Math.max(0, Math.floor(o.maxAge));
    parts.push(`Max-Age=${n}`);
    if (n === 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  }
  parts.push('HttpOnly');
  if (o.secure) parts.push('Secure');
  parts.push('SameSite=Lax');
  return parts.join('; ');
}

/** The `Set-Cookie` that deletes the session cookie (same name, path and domain). */
export function clearSessionCookie(o: Omit<SessionCookieOptions, 'value' | 'maxAge'>): string {
  return sessionCookie({ ...o, value: '', maxAge: 0 });
}
