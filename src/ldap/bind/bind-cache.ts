// `bind_mode: cached`: successful binds only, keyed by the bind DN, checked against a salted
// hash of the password, for a bounded time. authentik cached every outcome (a lockout was
// replayed for hours) with no expiry (an old password kept working until a restart); both fixed.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { BoundIdentity } from './identity.ts';

interface Entry {
  salt: Buffer;
  digest: Buffer;
  identity: BoundIdentity;
}

export interface BindCacheOptions {
  ttlMs: number;
  /** Distinct DNs kept at most; the least recently used goes first. */
  max: number;
}

export class BindCache {
  private readonly cache: LRUCache<string, Entry>;

  constructor(opts: BindCacheOptions) {
    this.cache = new LRUCache<string, Entry>({ max: opts.max, ttl: opts.ttlMs, ttlAutopurge: false });
  }

  /** The cached identity when `password` is the one that bound `dnKey` successfully. */
  lookup(dnKey: string, password: string): BoundIdentity | undefined {
    const entry = this.cache.get(dnKey);
    if (!entry) return undefined;
    const digest = hash(entry.salt, password);
    return timingSafeEqual(digest, entry.digest) ? entry.identity : undefined;
  }

  store(dnKey: string, password: string, identity: BoundIdentity): void {
    const salt = randomBytes(16);
    this.cache.set(dnKey, { salt, digest: hash(salt, password), identity });
  }

  /** A bind with another password failed: forget the DN, so a changed password takes effect. */
  forget(dnKey: string): void {
    this.cache.delete(dnKey);
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

  clear(): void {
    this.cache.clear();
  }

  get size(): number {
    return this.cache.size;
  }
}

function hash(salt: Buffer, password: string): Buffer {
  return createHmac('sha256', salt).update(password, 'utf8').digest();
}
