// A bounded in-memory SessionStore for one outpost process (what authentik's standalone outposts
// get from files in /dev/shm, without the files): at most `maxEntries` sessions, the least
// recently used evicted first, each expiring `ttlMs` after it was set, and an index by
// `claims.sid` (and `claims.sub`) so a back-channel logout touches only that core session's
// entries. Expired entries are dropped when read, and by a sweep (an unref'd timer).
import { sessionSid, sessionSub, type ProxySession, type SessionStore } from './store.ts';

export interface MemorySessionStoreOptions {
  /** Default 10,000. Beyond it, the least recently used session is evicted. */
  maxEntries?: number;
  /** How often expired entries are swept, ms; 0 disables the timer. Default 60 s. */
  sweepIntervalMs?: number;
  /** Clock (epoch ms), for tests. */
  now?: () => number;
  /** Called for each session dropped without a delete call (for a metric). */
  onEvict?: (id: string, reason: 'expired' | 'capacity') => void;
}

interface Entry {
  session: ProxySession;
  expires: number;
  sid: string | undefined;
  sub: string | undefined;
}

const DEFAULT_MAX_SESSIONS = 10_000;

export class MemorySessionStore implements SessionStore {
  // Map order is the LRU order: a read moves the entry to the end, eviction takes the first.
  private readonly entries = new Map<string, Entry>();
  private readonly bySid = new Map<string, Set<string>>();
  private readonly bySub = new Map<string, Set<string>>();
  private readonly max: number;
  private readonly now: () => number;
  private readonly onEvict: MemorySessionStoreOptions['onEvict'];
  private readonly timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(opts: MemorySessionStoreOptions = {}) {
    const max = opts.maxEntries ?? DEFAULT_MAX_SESSIONS;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxEntries must be a positive integer, got ${max}`);
    this.max = max;
    this.now = opts.now ?? Date.now;
    this.onEvict = opts.onEvict;
    const every = opts.sweepIntervalMs ?? 60_000;
    if (every > 0) {
      this.timer = setInterval(() => this.sweep(), every);
      this.timer.unref();
    }
  }

  async get(id: string): Promise<ProxySession | undefined> {
    this.assertOpen();
    const e = this.entries.get(id);
    if (!e) return undefined;
    if (e.expires <= this.now()) {
      this.remove(id, e);
      this.onEvict?.(id, 'expired');
      return undefined;
    }
    this.entries.delete(id);
    this.entries.set(id, e);
    return e.session;
  }

  async set(id: string, session: ProxySession, ttlMs: number): Promise<void> {
    this.assertOpen();
    const prior = this.entries.get(id);
    if (prior) this.remove(id, prior);
    if (!(ttlMs > 0)) return;
    const e: Entry = { session, expires: this.now() + ttlMs, sid: sessionSid(session), sub: sessionSub(session) };
    this.entries.set(id, e);
    if (e.sid !== undefined) index(this.bySid, e.sid, id);
    if (e.sub !== undefined) index(this.bySub, e.sub, id);
    while (this.entries.size > this.max) {
      const [oldId, old] = this.entries.entries().next().value as [string, Entry];
      this.remove(oldId, old);
      this.onEvict?.(oldId, old.expires <= this.now() ? 'expired' : 'capacity');
    }
  }

  async delete(id: string): Promise<boolean> {
    this.assertOpen();
    const e = this.entries.get(id);
    if (!e) return false;
    this.remove(id, e);
    return true;
  }

  async deleteBySid(sid: string): Promise<number> {
    this.assertOpen();
    return this.deleteIndexed(this.bySid, sid, undefined);
  }

  async deleteByUser(sub: string, providerPk?: number): Promise<number> {
    this.assertOpen();
    return this.deleteIndexed(this.bySub, sub, providerPk);
  }

  async size(): Promise<number> {
    return this.entries.size;
  }

  /** Drop every expired entry now; returns how many. */
  sweep(): number {
    const now = this.now();
    let n = 0;
    for (const [id, e] of this.entries) {
      if (e.expires > now) continue;
      this.remove(id, e);
      this.onEvict?.(id, 'expired');
      n++;
    }
    return n;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.entries.clear();
    this.bySid.clear();
    this.bySub.clear();
  }

  private deleteIndexed(idx: Map<string, Set<string>>, key: string, providerPk: number | undefined): number {
    const ids = idx.get(key);
    if (!ids) return 0;
    let n = 0;
    for (const id of [...ids]) {
      const e = this.entries.get(id);
      if (!e || (providerPk !== undefined && e.session.providerPk !== providerPk)) continue;
      this.remove(id, e);
      n++;
    }
    return n;
  }

  private remove(id: string, e: Entry): void {
    this.entries.delete(id);
    if (e.sid !== undefined) unindex(this.bySid, e.sid, id);
    if (e.sub !== undefined) unindex(this.bySub, e.sub, id);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the session store is closed');
  }
}

function index(idx: Map<string, Set<string>>, key: string, id: string): void {
  let ids = idx.get(key);
  if (!ids) idx.set(key, (ids = new Set()));
  ids.add(id);
}

function unindex(idx: Map<string, Set<string>>, key: string, id: string): void {
  const ids = idx.get(key);
  if (!ids) return;
  ids.delete(id);
  if (ids.size === 0) idx.delete(key);
}
