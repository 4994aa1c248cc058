// `bind_mode: cached`: successful binds only, keyed by the bind DN, checked against a salted
// hash of the password, for a bounded time. authentik cached every outcome (a lockout was
// replayed for hours) with no expiry (an old password kept working until a restart); both fixed.
//
// A cached bind is only as good as the core session that authorised it, so the cache owns that
// session. The connection whose bind filled the entry does not end it on unbind: authentik
// 2025.8+ answers a logout with SESSION_END, which drops the entry, so no bind would ever be
// served from the cache. The session is ended when its entry leaves the cache (replaced,
// forgotten, expired, evicted, cleared), except after SESSION_END: the core has ended it.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { BoundIdentity } from './identity.ts';

interface Entry {
  readonly salt: Buffer;
  readonly digest: Buffer;
  /** What a bind from the cache is given: never a session to end (`coreSession` undefined). */
  readonly identity: BoundIdentity;
  /** The `authentik_session` the entry owns; cleared once the core has ended it. */
  session: string | undefined;
}

export interface BindCacheOptions {
  ttlMs: number;
  /** Distinct DNs kept at most; the least recently used goes first. */
  max: number;
  /** An entry left the cache still owning a core session: end it (in the background; must not throw). */
  onSessionReleased?: (coreSession: string) => void;
}

export class BindCache {
  private readonly cache: LRUCache<string, Entry>;
  /** Cache keys by the hashed id of the core session that authorised them (SESSION_END). */
  private readonly bySessionId = new Map<string, Set<string>>();
  private readonly onSessionReleased: ((coreSession: string) => void) | undefined;

  constructor(opts: BindCacheOptions) {
    this.onSessionReleased = opts.onSessionReleased;
    this.cache = new LRUCache<string, Entry>({ max: opts.max, ttl: opts.ttlMs, ttlAutopurge: false, dispose: (entry, key) => this.disposed(entry, key) });
  }

  /** The cached identity when `password` is the one that bound `dnKey` successfully. */
  lookup(dnKey: string, password: string): BoundIdentity | undefined {
    const entry = this.cache.get(dnKey);
    if (!entry) return undefined;
    const digest = hash(entry.salt, password);
    return timingSafeEqual(digest, entry.digest) ? entry.identity : undefined;
  }

  /** Cache a successful bind. Its `coreSession` becomes the cache's to end. */
  store(dnKey: string, password: string, identity: BoundIdentity): void {
    const salt = randomBytes(16);
    this.cache.set(dnKey, { salt, digest: hash(salt, password), identity: { ...identity, coreSession: undefined }, session: identity.coreSession });
    // After set(): replacing an entry disposes the old one first, which unindexes this key.
    const id = identity.sessionId;
    if (id === undefined) return;
    let keys = this.bySessionId.get(id);
    if (!keys) this.bySessionId.set(id, (keys = new Set()));
    keys.add(dnKey);
  }

  /** A bind with another password failed: forget the DN, so a changed password takes effect. */
  forget(dnKey: string): void {
    this.cache.delete(dnKey);
  }

  /** The core ended a session (SESSION_END): drop the binds it authorised. Returns how many. */
  dropSession(sessionId: string): number {
    const keys = this.bySessionId.get(sessionId);
    if (!keys) return 0;
    let dropped = 0;
    for (const key of [...keys]) {
      const entry = this.cache.peek(key, { allowStale: true });
      // Nothing left to end on the core.
      if (entry) entry.session = undefined;
      if (this.cache.delete(key)) dropped++;
    }
    return dropped;
  }

  /** Drop expired entries now, ending their sessions (otherwise that waits for their next lookup). */
  dropExpired(): void {
    this.cache.purgeStale();
  }

  /** Drop entries whose identity `keep` refuses (user deleted, deactivated, renamed). */
  retainUsers(keep: (userPk: number, username: string) => boolean): number {
    let dropped = 0;
    for (const [key, entry] of this.cache.entries()) {
      if (!keep(entry.identity.userPk, entry.identity.username)) {
        this.cache.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  userPks(): Set<number> {
    const pks = new Set<number>();
    for (const entry of this.cache.values()) pks.add(entry.identity.userPk);
    return pks;
  }

  /** Drop every entry, ending their sessions. */
  clear(): void {
    this.cache.clear();
  }

  get size(): number {
    return this.cache.size;
  }

  /** Every way out of the cache comes through here (lru-cache's dispose). */
  private disposed(entry: Entry, key: string): void {
    const id = entry.identity.sessionId;
    if (id !== undefined) {
      const keys = this.bySessionId.get(id);
      keys?.delete(key);
      if (keys?.size === 0) this.bySessionId.delete(id);
    }
    if (entry.session !== undefined) this.onSessionReleased?.(entry.session);
  }
}

function hash(salt: Buffer, password: string): Buffer {
  return createHmac('sha256', salt).update(password, 'utf8').digest();
}
