// Header authentication (spec §7.2): `Authorization: Bearer` by introspection, `Basic` by a
// client_credentials grant with an app password (`goauthentik.io/token` as the username tries
// the password as a bearer token first). Successes are cached 60 s under a hash of the exact
// header value, never refreshed while present, never past the token's own `exp`, bounded in entries.
import { LRUCache } from 'lru-cache';
import type { OidcClient, VerifiedToken } from './client.ts';
import { headerCacheKey } from './client.ts';
import { OidcError } from './errors.ts';

export const HEADER_AUTH_TTL_MS = 60_000;
export const HEADER_AUTH_MAX_ENTRIES = 10_000;

/** The username with which Basic carries a bearer token. */
export const TOKEN_USERNAME = 'goauthentik.io/token';

export type HeaderCredentials = { kind: 'bearer'; token: string } | { kind: 'basic'; username: string; password: string };

/** What an `Authorization` header carries, or undefined when it is neither Bearer nor Basic. */
export function parseAuthorization(value: string | undefined): HeaderCredentials | undefined {
  if (!value) return undefined;
  const space = value.indexOf(' ');
  if (space <= 0) return undefined;
  const scheme = value.slice(0, space).toLowerCase();
  const rest = value.slice(space + 1).trim();
  if (rest === '') return undefined;
  if (scheme === 'bearer') return { kind: 'bearer', token: rest };
  if (scheme === 'basic') {
    let decoded: string;
    try {
      decoded = Buffer.from(rest, 'base64').toString('utf8');
    } catch {
      return undefined;
    }
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    return { kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return undefined;
}

export class HeaderAuthCache {
  private readonly cache: LRUCache<string, VerifiedToken>;
  private readonly ttlMs: number;

  constructor(opts: { ttlMs?: number; max?: number } = {}) {
    this.ttlMs = opts.ttlMs ?? HEADER_AUTH_TTL_MS;
    this.cache = new LRUCache({ max: opts.max ?? HEADER_AUTH_MAX_ENTRIES, ttl: this.ttlMs, updateAgeOnGet: false });
  }

  get size(): number {
    return this.cache.size;
  }

  clear(): void {
    this.cache.clear();
  }

  /** True when `authorization` has a live cached result for `client` (no core call would be made). */
  has(client: OidcClient, authorization: string): boolean {
    return this.cache.has(headerCacheKey(client.clientId, authorization));
  }

  /**
   * The verified token for `authorization` against `client`: from the cache, else from the core.
   * Throws `OidcError` (never for a header that is neither Bearer nor Basic: undefined then).
   */
  async authenticate(client: OidcClient, authorization: string | undefined, signal: AbortSignal): Promise<VerifiedToken | undefined> {
    const creds = parseAuthorization(authorization);
    if (!creds || authorization === undefined) return undefined;
    const key = headerCacheKey(client.clientId, authorization);
    const hit = this.cache.get(key);
    if (hit) return hit;
    let result: VerifiedToken;
    if (creds.kind === 'bearer') result = await client.introspect(creds.token, signal);
    else if (creds.username === TOKEN_USERNAME) result = await client.introspect(creds.password, signal);
    else result = await client.clientCredentials(creds.username, creds.password, signal);
    // Kept no longer than the token lives: a token expiring within the TTL is not vouched for
    // after its `exp` (one without a numeric `exp` authenticates no one: claims.ts requires it).
    const exp = result.payload.exp;
    const ttl = typeof exp === 'number' ? Math.min(this.ttlMs, exp * 1000 - Date.now()) : this.ttlMs;
    if (ttl >= 1) this.cache.set(key, result, { ttl: Math.floor(ttl) });
    return result;
  }

  /** Forget every cached result whose claims carry `sid` (the core ended that session). */
  dropSession(sid: string): number {
    let n = 0;
    for (const [key, value] of this.cache.entries()) {
      if (value.payload['sid'] === sid) {
        this.cache.delete(key);
        n++;
      }
    }
    return n;
  }
}

export { OidcError };
