// `bind_mode: cached`: successful binds only, keyed by the bind DN, checked against a salted
// hash of the password, for a bounded time. authentik cached every outcome (a lockout was
// replayed for hours) with no expiry (an old password kept working until a restart); both fixed.
//
// A cached bind is only as good as the core session that authorised it, so the cache owns that
// session. The connection whose bind filled the entry does not end it on unbind: authentik
// 2025.8+ answers a logout with SESSION_END, which drops the entry, so no bind would ever be
// served from the cache. The session is ended when its entry leaves the cache (replaced,
// forgotten, expired, evicted, cleared), except after SESSION_END: the core has ended it.
//
// Outage grace: an entry past its TTL is kept `outageGraceMs` longer, served only while the
// core cannot be reached (`lookupInOutage`), so an outage longer than the TTL does not lock out
// the users the cache holds. Its core session still ends once the TTL has passed (at the next
// refresh, dropExpired, or when a new bind replaces the entry): what stays for the grace is our
// own record that the password was good, which revalidation on refresh still drops for users
// deleted, deactivated or renamed.
//
// The password is never kept: an entry holds HMAC-SHA256(key, salt ‖ password), under a random
// key made once per cache (a KeyObject: `createHmac` with a raw Buffer key builds a new
// KeyObject on every call, which cost more than the rest of a cached bind), with a random salt
// per entry so equal passwords do not show as equal digests, compared in constant time.
import { createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { LRUCache } from 'lru-cache';
import type { BoundIdentity } from './identity.ts';

interface Entry {
  readonly salt: Buffer;
  readonly digest: Buffer;
  /** What a bind from the cache is given: never a session to end (`coreSession` undefined). */
  readonly identity: BoundIdentity;
  /** The `authentik_session` the entry owns; cleared once the core has ended it (or we did, at the TTL). */
  session: string | undefined;
  /** performance.now() past which the entry is served only during an outage. */
  readonly freshUntil: number;
}

export interface BindCacheOptions {
  ttlMs: number;
  /** How long past its TTL an entry may still be served while the core is unreachable (0 = not at all). */
  outageGraceMs?: number;
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
  private readonly ttlMs: number;
  readonly outageGraceMs: number;
  /** Set while binds are served past their TTL, until the core answers a bind again. */
  private outage = false;
  /** This cache's HMAC key: random, never leaves the process. */
  private readonly key: KeyObject = createSecretKey(randomBytes(32));

  constructor(opts: BindCacheOptions) {
    this.onSessionReleased = opts.onSessionReleased;
    this.ttlMs = opts.ttlMs;
    this.outageGraceMs = Math.max(0, opts.outageGraceMs ?? 0);
    // lru-cache reads a ttl of 0 as "never expires".
    const keepMs = Math.max(1, opts.ttlMs + this.outageGraceMs);
    this.cache = new LRUCache<string, Entry>({ max: opts.max, ttl: keepMs, ttlAutopurge: false, dispose: (entry, key) => this.disposed(entry, key) });
  }

  /** The cached identity when `password` is the one that bound `dnKey` successfully, within the TTL. */
  lookup(dnKey: string, password: string): BoundIdentity | undefined {
    const entry = this.match(dnKey, password);
    return entry !== undefined && performance.now() < entry.freshUntil ? entry.identity : undefined;
  }

  /**
   * The same, past the TTL too (within the outage grace): only for a bind the core could not
   * answer (unreachable, timed out, 5xx), never for one it refused.
   */
  lookupInOutage(dnKey: string, password: string): BoundIdentity | undefined {
    return this.match(dnKey, password)?.identity;
  }

  /** Notes a bind served past its TTL. True for the first one since the core last answered. */
  noteOutage(): boolean {
    const first = !this.outage;
    this.outage = true;
    return first;
  }

  /** Notes that the core answered a bind. True when that ends an outage noted before. */
  noteCoreAnswered(): boolean {
    const was = this.outage;
    this.outage = false;
    return was;
  }

  /** Cache a successful bind. Its `coreSession` becomes the cache's to end. */
  store(dnKey: string, password: string, identity: BoundIdentity): void {
    const salt = randomBytes(16);
    this.cache.set(dnKey, {
      salt,
      digest: this.hash(salt, password),
      identity: { ...identity, coreSession: undefined },
      session: identity.coreSession,
      freshUntil: performance.now() + this.ttlMs,
    });
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

  /**
   * End the core sessions of entries past their TTL now (otherwise that waits for their next
   * bind), and drop the entries past the outage grace too.
   */
  dropExpired(): void {
    this.cache.purgeStale();
    const now = performance.now();
    for (const [key, entry] of this.cache.entries()) {
      if (now < entry.freshUntil || entry.session === undefined) continue;
      const session = entry.session;
      entry.session = undefined;
      // Our own logout comes back as SESSION_END: it must not drop the entry kept for the grace.
      this.unindex(entry, key);
      this.onSessionReleased?.(session);
    }
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

  private match(dnKey: string, password: string): Entry | undefined {
    const entry = this.cache.get(dnKey);
    if (!entry) return undefined;
    const digest = this.hash(entry.salt, password);
    return timingSafeEqual(digest, entry.digest) ? entry : undefined;
  }

  private hash(salt: Buffer, password: string): Buffer {
    return createHmac('sha256', this.key).update(salt).update(password, 'utf8').digest();
  }

  private unindex(entry: Entry, key: string): void {
    const id = entry.identity.sessionId;
    if (id === undefined) return;
    const keys = this.bySessionId.get(id);
    keys?.delete(key);
    if (keys?.size === 0) this.bySessionId.delete(id);
  }

  /** Every way out of the cache comes through here (lru-cache's dispose). */
  private disposed(entry: Entry, key: string): void {
    this.unindex(entry, key);
    if (entry.session !== undefined) this.onSessionReleased?.(entry.session);
  }
}
