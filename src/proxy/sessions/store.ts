// The proxy's session store contract. The in-memory store (memory.ts) implements it for one
// outpost process; the shared stores (postgres.ts, redis.ts, behind the local cache of
// cached.ts; their own contract in shared.ts) implement it for several replicas.
//
// Sessions are keyed by a random ID (the cookie carries it, signed). A session only exists
// after a login (≥2024.6 design: state and redirect live in the signed state, not here).

export interface ProxySession {
  /** The verified token's claims. The store does not interpret them, except `sid` and `sub` (see `sessionSid`). The caller validates them when reading. */
  readonly claims: unknown;
  /** Where to send the user after login, when the caller keeps it in the session. */
  readonly redirect?: string | undefined;
  /** Epoch ms. */
  readonly createdAt: number;
  /** Epoch ms: the token's `exp` for a login, the store default for header auth (spec §5.4). Informative; the store expires by `ttlMs`. */
  readonly expiresAt: number;
  /** The provider the session belongs to. */
  readonly providerPk: number;
  /** The outpost that made it (several outposts may share one store). */
  readonly outpostPk: string;
  /** The ID token the claims came from (sent upstream as `X-authentik-jwt`, and as the end-session hint). */
  readonly rawToken: string;
}

export interface SessionStore {
  /** The session, or undefined when absent or expired. */
  get(id: string): Promise<ProxySession | undefined>;
  /** Create or replace. The entry expires `ttlMs` from now; `ttlMs <= 0` deletes it (a cookie Max-Age ≤ 0). */
  set(id: string, session: ProxySession, ttlMs: number): Promise<void>;
  /** True when something was deleted. */
  delete(id: string): Promise<boolean>;
  /**
   * A core session ended (WebSocket instruction 3 `logout` / 4 `SessionEnd`): delete every
   * session whose `claims.sid` equals `sid`, across all providers. Returns how many.
   */
  deleteBySid(sid: string): Promise<number>;
  /** Sign-out: delete the user's (`claims.sub`) sessions, of one provider or all (authentik 2024 wipes all, spec §5.6). */
  deleteByUser?(sub: string, providerPk?: number): Promise<number>;
  /** Live entries (an implementation may count expired ones not yet swept). */
  size(): Promise<number>;
  /** Release timers and connections; the store is unusable afterwards. */
  close(): Promise<void>;
}

function claim(claims: unknown, name: 'sid' | 'sub'): string | undefined {
  if (typeof claims !== 'object' || claims === null) return undefined;
  const v = (claims as Record<string, unknown>)[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** `claims.sid` when it is a non-empty string (the index key for `deleteBySid`). */
export const sessionSid = (s: ProxySession): string | undefined => claim(s.claims, 'sid');
/** `claims.sub` when it is a non-empty string. */
export const sessionSub = (s: ProxySession): string | undefined => claim(s.claims, 'sub');

/**
 * Waits for every deletion, started together: one failing must not keep the others from being
 * tried (and, by a shared store that is down, kept for replay). Resolves with the sessions they
 * deleted (the numbers they resolved with); rejects with the first failure once all have settled.
 */
export async function allDeletions(deletions: readonly Promise<unknown>[]): Promise<number> {
  let deleted = 0;
  let failure: { reason: unknown } | undefined;
  for (const r of await Promise.allSettled(deletions)) {
    if (r.status === 'rejected') failure ??= { reason: r.reason };
    else if (typeof r.value === 'number') deleted += r.value;
  }
  if (failure) throw failure.reason;
  return deleted;
}
