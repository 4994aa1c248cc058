// A short local cache in front of a shared store: what keeps a shared backend within a few per
// cent of the memory store, since most requests read a session another request just read.
//
// Correctness rules, in order of importance:
// - Nothing is served from the cache unless the backend is up and its invalidation channel is
//   subscribed; every change of either flushes the cache. A store outage therefore ends cached
//   sessions at once (or, for an outage nobody noticed yet, within `ttlMs`).
// - Invalidations (this replica's deletions and every other replica's) drop the named entries;
//   a lost channel drops everything. A read that raced an invalidation is not cached.
// - Writes and deletions go through to the backend. A deletion the backend could not take (it is
//   down) is kept and replayed when it is back, before any read is answered, so a sign-out or a
//   core session end during an outage is not lost.
import type { Logger } from '../../log.ts';
import { SessionStoreUnavailableError, type Invalidation, type SharedSessionStore } from './shared.ts';
import type { ProxySession, SessionStore } from './store.ts';

export type SessionOperation = 'get' | 'set' | 'delete' | 'deleteBySid' | 'deleteByUser' | 'size';

export interface CachedSessionStoreOptions {
  /** How long a read session is served locally. Default 5 s. */
  readonly ttlMs?: number;
  /** Sessions kept locally at most (the oldest go first). Default 10,000. */
  readonly maxEntries?: number;
  /** Deletions kept for replay while the backend is down. Default 10,000. */
  readonly maxPendingDeletions?: number;
  /** Every failed backend operation (metrics, the rate-limited log line). */
  readonly onError?: (operation: SessionOperation, err: unknown) => void;
  readonly logger?: Logger;
  /** Clock (epoch ms), for tests. */
  readonly now?: () => number;
}

interface Entry {
  readonly session: ProxySession;
  readonly until: number;
}

interface PendingDeletion {
  readonly operation: 'delete' | 'deleteBySid' | 'deleteByUser';
  readonly run: () => Promise<unknown>;
}

const DEFAULT_CACHE_TTL_MS = 5000;

export class CachedSessionStore implements SessionStore {
  readonly backend: SharedSessionStore;
  private readonly entries = new Map<string, Entry>();
  /** Reads on their way, by ID, with the epoch each started in (only a read of the current epoch is joined). */
  private readonly inflight = new Map<string, { readonly epoch: number; readonly read: Promise<ProxySession | undefined> }>();
  private readonly pending: PendingDeletion[] = [];
  private readonly ttlMs: number;
  private readonly max: number;
  private readonly maxPending: number;
  private readonly onError: CachedSessionStoreOptions['onError'];
  private readonly log: Logger | undefined;
  private readonly now: () => number;
  /** Bumped by every invalidation, write and health change: a read that saw a bump is not kept. */
  private epoch = 0;
  private draining: Promise<void> | undefined;

  constructor(backend: SharedSessionStore, opts: CachedSessionStoreOptions = {}) {
    this.backend = backend;
    this.ttlMs = opts.ttlMs ?? DEFAULT_CACHE_TTL_MS;
    this.max = opts.maxEntries ?? 10_000;
    this.maxPending = opts.maxPendingDeletions ?? 10_000;
    this.onError = opts.onError;
    this.log = opts.logger;
    this.now = opts.now ?? Date.now;
    backend.onInvalidate((ids) => this.invalidate(ids));
    backend.onHealth((up) => {
      this.invalidate(undefined);
      if (up) void this.drain();
    });
  }

  /** Sessions held locally (tests, diagnostics). */
  get cached(): number {
    return this.entries.size;
  }

  /** Deletions waiting for the backend. */
  get pendingDeletions(): number {
    return this.pending.length;
  }

  async get(id: string): Promise<ProxySession | undefined> {
    if (this.cacheable() && this.pending.length === 0) {
      const hit = this.entries.get(id);
      if (hit !== undefined) {
        if (hit.until > this.now()) return hit.session;
        this.entries.delete(id);
      }
    }
    // Deletions the backend could not take come first. Not only once it is reported up: a backend
    // may answer a read before it says so (Redis marks itself up by that very read), and a read
    // answered then would bring back a session signed out or ended during the outage.
    if (this.draining || this.pending.length > 0) {
      await this.drain();
      if (this.pending.length > 0) throw new SessionStoreUnavailableError(this.backend.backend, 'session deletions made while the store was down are not applied yet');
    }
    const epoch = this.epoch;
    // A read that started before a deletion or a write may bring back what is gone: not joined.
    const running = this.inflight.get(id);
    if (running?.epoch === epoch) return running.read;
    const read = this.backend.get(id).then(
      (session) => {
        if (session !== undefined && epoch === this.epoch && this.cacheable()) this.remember(id, session);
        return session;
      },
      (err: unknown) => {
        this.onError?.('get', err);
        throw err;
      },
    ).finally(() => {
      if (this.inflight.get(id)?.read === read) this.inflight.delete(id);
    });
    this.inflight.set(id, { epoch, read });
    return read;
  }

  async set(id: string, session: ProxySession, ttlMs: number): Promise<void> {
    this.entries.delete(id);
    const epoch = ++this.epoch;
    try {
      await this.backend.set(id, session, ttlMs);
    } catch (err) {
      this.onError?.('set', err);
      throw err;
    }
    // Not kept when an invalidation or another write came meanwhile (it may name this ID).
    if (ttlMs > 0 && epoch === this.epoch && this.cacheable()) this.remember(id, session, ttlMs);
  }

  delete(id: string): Promise<boolean> {
    this.entries.delete(id);
    this.epoch++;
    return this.deletion('delete', () => this.backend.delete(id));
  }

  deleteBySid(sid: string): Promise<number> {
    return this.deletion('deleteBySid', () => this.backend.deleteBySid(sid));
  }

  deleteByUser(sub: string, providerPk?: number): Promise<number> {
    return this.deletion('deleteByUser', () => this.backend.deleteByUser(sub, providerPk));
  }

  async size(): Promise<number> {
    try {
      return await this.backend.size();
    } catch (err) {
      this.onError?.('size', err);
      throw err;
    }
  }

  async close(): Promise<void> {
    this.entries.clear();
    this.pending.length = 0;
    await this.backend.close();
  }

  // ---- internals -------------------------------------------------------------------------

  private cacheable(): boolean {
    return this.backend.up && this.backend.subscribed !== false;
  }

  private remember(id: string, session: ProxySession, ttlMs = this.ttlMs): void {
    const now = this.now();
    const until = Math.min(now + Math.min(ttlMs, this.ttlMs), session.expiresAt);
    if (until <= now) return;
    this.entries.delete(id);
    this.entries.set(id, { session, until });
    while (this.entries.size > this.max) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }

  private invalidate(ids: Invalidation): void {
    this.epoch++;
    if (ids === undefined) this.entries.clear();
    else for (const id of ids) this.entries.delete(id);
  }

  /** Run a deletion; when the backend is down afterwards, keep it for replay, and still fail. */
  private async deletion<T>(operation: PendingDeletion['operation'], run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      this.onError?.(operation, err);
      if (!this.backend.up) this.keep({ operation, run });
      throw err;
    }
  }

  private keep(p: PendingDeletion): void {
    this.pending.push(p);
    if (this.pending.length > this.maxPending) {
      this.pending.shift();
      this.log?.warn({ kept: this.maxPending }, 'too many session deletions wait for the session store; the oldest is dropped');
    }
  }

  /**
   * Replay kept deletions in order until one fails for an outage; reads wait for it. One that
   * fails while the backend stays up (a refused statement, not an outage) would fail for ever: it
   * is dropped, as `deletion` would not have kept it.
   */
  private drain(): Promise<void> {
    if (this.draining) return this.draining;
    if (this.pending.length === 0) return Promise.resolve();
    const draining = (async () => {
      let done = 0;
      while (this.pending.length > 0) {
        const next = this.pending[0]!;
        try {
          await next.run();
          done++;
        } catch (err) {
          this.onError?.(next.operation, err);
          if (!this.backend.up) break;
          this.log?.warn({ operation: next.operation }, 'a session deletion kept while the store was down was refused by it; dropped');
        }
        if (this.pending[0] === next) this.pending.shift();
      }
      if (done > 0) {
        // Nothing read or kept before the replay may be served after it.
        this.invalidate(undefined);
        this.log?.info({ deletions: done, left: this.pending.length }, 'session deletions made while the store was down were applied');
      }
    })().finally(() => {
      this.draining = undefined;
    });
    this.draining = draining;
    return draining;
  }
}
