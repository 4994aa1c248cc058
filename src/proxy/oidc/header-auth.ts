// Header authentication (spec §7.2): `Authorization: Bearer` by introspection, `Basic` by a
// client_credentials grant with an app password (`goauthentik.io/token` as the username tries
// the password as a bearer token first). Successes are cached 60 s under a hash of the canonical
// credentials (every spelling of one credential shares an entry, and the core is asked about
// exactly what the key names), never refreshed while present, never past the token's own `exp`,
// bounded in entries.
import { LRUCache } from 'lru-cache';
import { canonicalAuthorization, type Authorization } from '../protocol/index.ts';
import type { OidcClient, VerifiedToken } from './client.ts';
import { headerCacheKey } from './client.ts';
import { OidcError } from './errors.ts';

export const HEADER_AUTH_TTL_MS = 60_000;
export const HEADER_AUTH_MAX_ENTRIES = 10_000;

/** The username with which Basic carries a bearer token. */
export const TOKEN_USERNAME = 'goauthentik.io/token';

/** Every spelling of one credential shares a key. */
const cacheKey = (client: OidcClient, creds: Authorization): string => headerCacheKey(client.clientId, canonicalAuthorization(creds));

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

  /** True when `creds` have a live cached result for `client` (no core call would be made). */
  has(client: OidcClient, creds: Authorization): boolean {
    return this.cache.has(cacheKey(client, creds));
  }

  /**
   * The verified token for `creds` (from `parseAuthorization`) against `client`: from the
   * cache, else from the core, asked about these same parsed values. Throws `OidcError`.
   */
  async authenticate(client: OidcClient, creds: Authorization, signal: AbortSignal): Promise<VerifiedToken> {
    const key = cacheKey(client, creds);
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
