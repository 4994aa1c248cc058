// The local cache in front of a shared store, against a scripted backend: what it serves
// locally, what makes it forget (invalidations, a lost channel, any health change), that a read
// racing a deletion is not kept, and that deletions made while the store is down are replayed
// before anything is read again.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CachedSessionStore, type SessionOperation } from '../../../src/proxy/sessions/cached.ts';
import { MemorySessionStore } from '../../../src/proxy/sessions/memory.ts';
import { SessionStoreUnavailableError, type Invalidation, type SharedSessionStore } from '../../../src/proxy/sessions/shared.ts';
import { sessionSid, type ProxySession } from '../../../src/proxy/sessions/store.ts';

/** A memory store dressed as a shared one, with a switch for "down" and a count of reads. */
class FakeShared implements SharedSessionStore {
  readonly backend = 'postgres' as const;
  readonly inner = new MemorySessionStore({ sweepIntervalMs: 0 });
  reads = 0;
  up = true;
  subscribed = true;
  /** Resolve reads only when released (for races). */
  gate: Promise<void> | undefined;
  private readonly inv: ((ids: Invalidation) => void)[] = [];
  private readonly health: ((up: boolean) => void)[] = [];

  async start(): Promise<void> {}
  onInvalidate(l: (ids: Invalidation) => void): void {
    this.inv.push(l);
  }
  onHealth(l: (up: boolean) => void): void {
    this.health.push(l);
  }
  setUp(up: boolean): void {
    this.up = up;
    for (const l of this.health) l(up);
  }
  invalidate(ids: Invalidation): void {
    for (const l of this.inv) l(ids);
  }
  /**
   * Redis-like: operations are tried whatever `up` says (undefined: PostgreSQL-like, refused while
   * down), fail while this is false, and a success reports the store up before it resolves.
   */
  reachable: boolean | undefined;
  /** Deletions fail (a read-only replica after a failover: reads answer, writes do not). */
  refuseDeletions: 'outage' | 'statement' | undefined;
  private check(): void {
    if (this.reachable === undefined ? !this.up : !this.reachable) throw new SessionStoreUnavailableError('postgres', 'down');
  }
  /** After an operation's answer: Redis-like, the store is up again. */
  private answered(): void {
    if (this.reachable !== undefined && !this.up) this.setUp(true);
  }
  private checkDeletion(): void {
    this.check();
    if (this.refuseDeletions === 'outage') {
      this.setUp(false);
      throw new SessionStoreUnavailableError('postgres', 'READONLY');
    }
    if (this.refuseDeletions === 'statement') throw new SessionStoreUnavailableError('postgres', 'refused');
  }
  async get(id: string) {
    this.check();
    this.reads++;
    const v = await this.inner.get(id);
    if (this.gate) await this.gate;
    this.answered();
    return v === undefined ? undefined : { ...v };
  }
  async set(id: string, s: ProxySession, ttl: number) {
    this.check();
    await this.inner.set(id, s, ttl);
    this.answered();
  }
  async delete(id: string) {
    this.checkDeletion();
    const ok = await this.inner.delete(id);
    if (ok) this.invalidate([id]);
    return ok;
  }
  async deleteBySid(sid: string) {
    this.checkDeletion();
    const ids: string[] = [];
    // The memory store does not say which; the fake tracks it by reading first.
    for (const id of this.known) {
      const s = await this.inner.get(id);
      if (s && sessionSid(s) === sid) ids.push(id);
    }
    const n = await this.inner.deleteBySid(sid);
    if (ids.length > 0) this.invalidate(ids);
    return n;
  }
  async deleteByUser(sub: string, pk?: number) {
    this.checkDeletion();
    return this.inner.deleteByUser(sub, pk);
  }
  async size() {
    this.check();
    return this.inner.size();
  }
  async close() {
    await this.inner.close();
  }
  known: string[] = [];
}

const session = (sid = 'core-1'): ProxySession => ({ claims: { sub: 'u', sid }, createdAt: Date.now(), expiresAt: Date.now() + 3_600_000, providerPk: 1, outpostPk: 'o', rawToken: 't' });

function setup(opts: { ttlMs?: number } = {}) {
  const backend = new FakeShared();
  const errors: SessionOperation[] = [];
  const store = new CachedSessionStore(backend, { ...opts, onError: (op) => errors.push(op) });
  return { backend, store, errors };
}

describe('CachedSessionStore', () => {
  it('serves a session read a moment ago without asking the backend, for the same object', async () => {
    const { backend, store } = setup();
    await backend.inner.set('a', session(), 60_000);
    const first = await store.get('a');
    const second = await store.get('a');
    assert.equal(first, second);
    assert.equal(backend.reads, 1);
  });

  it('asks the backend again once its short ttl has passed', async () => {
    const { backend, store } = setup({ ttlMs: 30 });
    await backend.inner.set('a', session(), 60_000);
    await store.get('a');
    await new Promise((r) => setTimeout(r, 50));
    await store.get('a');
    assert.equal(backend.reads, 2);
  });

  it('joins concurrent reads of one ID into one backend read', async () => {
    const { backend, store } = setup();
    await backend.inner.set('a', session(), 60_000);
    const all = await Promise.all([store.get('a'), store.get('a'), store.get('a')]);
    assert.equal(backend.reads, 1);
    assert.ok(all.every((s) => s === all[0]));
  });

  it('forgets what another replica deleted, and everything when the channel is lost', async () => {
    const { backend, store } = setup();
    await backend.inner.set('a', session(), 60_000);
    await backend.inner.set('b', session(), 60_000);
    await store.get('a');
    await store.get('b');
    await backend.inner.delete('a');
    backend.invalidate(['a']);
    assert.equal(await store.get('a'), undefined);
    assert.ok(await store.get('b'));
    assert.equal(store.cached, 1);
    backend.invalidate(undefined);
    assert.equal(store.cached, 0);
  });

  it('keeps nothing while the channel is not subscribed', async () => {
    const { backend, store } = setup();
    await backend.inner.set('a', session(), 60_000);
    backend.subscribed = false;
    await store.get('a');
    await store.get('a');
    assert.equal(backend.reads, 2);
    assert.equal(store.cached, 0);
  });

  it('flushes on a store outage: a cached session is not served while the backend is down', async () => {
    const { backend, store, errors } = setup();
    await backend.inner.set('a', session(), 60_000);
    await store.get('a');
    backend.setUp(false);
    assert.equal(store.cached, 0);
    await assert.rejects(store.get('a'), SessionStoreUnavailableError);
    assert.deepEqual(errors, ['get']);
    backend.setUp(true);
    assert.ok(await store.get('a'));
  });

  it('does not keep a read that raced a deletion', async () => {
    const { backend, store } = setup();
    await backend.inner.set('a', session(), 60_000);
    let release!: () => void;
    backend.gate = new Promise((r) => (release = r));
    const reading = store.get('a');
    await new Promise((r) => setImmediate(r));
    // Another replica deletes 'a' while the read is on its way back with the old row.
    await backend.inner.delete('a');
    backend.invalidate(['a']);
    release();
    backend.gate = undefined;
    assert.ok(await reading, 'the racing read itself returns what it read');
    assert.equal(store.cached, 0);
    assert.equal(await store.get('a'), undefined);
  });

  it('a read asked for after a deletion does not join a read that started before it', async () => {
    const { backend, store } = setup();
    await backend.inner.set('a', session(), 60_000);
    let release!: () => void;
    backend.gate = new Promise((r) => (release = r));
    const before = store.get('a');
    await new Promise((r) => setImmediate(r));
    // Sign-out on this replica while the first read is still on its way with the old row.
    await store.delete('a');
    const after = store.get('a');
    release();
    backend.gate = undefined;
    assert.ok(await before, 'the earlier read returns what it read');
    assert.equal(await after, undefined, 'the later read asked the backend again');
    assert.equal(backend.reads, 2);
  });

  it('drops its own copy on delete and on set, and keeps what it wrote', async () => {
    const { backend, store } = setup();
    const s = session();
    await store.set('a', s, 60_000);
    assert.equal(await store.get('a'), s);
    assert.equal(backend.reads, 0);
    assert.equal(await store.delete('a'), true);
    assert.equal(await store.get('a'), undefined);
    await store.set('b', s, 60_000);
    await store.set('b', s, 0);
    assert.equal(await store.get('b'), undefined);
  });

  it('drops the sessions a deleteBySid named', async () => {
    const { backend, store } = setup();
    backend.known = ['a', 'b'];
    await store.set('a', session('x'), 60_000);
    await store.set('b', session('y'), 60_000);
    assert.equal(await store.deleteBySid('x'), 1);
    assert.equal(await store.get('a'), undefined);
    assert.ok(await store.get('b'));
  });

  it('replays deletions made while the store was down before answering the next read', async () => {
    const { backend, store, errors } = setup();
    backend.known = ['a', 'b'];
    await store.set('a', session('core-1'), 60_000);
    await store.set('b', session('core-2'), 60_000);
    backend.setUp(false);
    await assert.rejects(store.deleteBySid('core-1'), SessionStoreUnavailableError);
    await assert.rejects(store.delete('b'), SessionStoreUnavailableError);
    assert.equal(store.pendingDeletions, 2);
    assert.deepEqual(errors, ['deleteBySid', 'delete']);
    backend.setUp(true);
    // The first read after the outage waits for the replay: neither session comes back.
    assert.equal(await store.get('a'), undefined);
    assert.equal(await store.get('b'), undefined);
    assert.equal(store.pendingDeletions, 0);
  });

  it('a backend that answers a read before it reports itself up (Redis) still gets the kept deletions first', async () => {
    const { backend, store } = setup();
    backend.reachable = true;
    backend.known = ['a', 'b'];
    await store.set('a', session('core-1'), 60_000);
    await store.set('b', session('core-2'), 60_000);
    // A command timed out: down, and the sign-out and the core's session end made meanwhile fail.
    backend.reachable = false;
    backend.setUp(false);
    await assert.rejects(store.delete('a'), SessionStoreUnavailableError);
    await assert.rejects(store.deleteBySid('core-2'), SessionStoreUnavailableError);
    assert.equal(store.pendingDeletions, 2);
    // The server answers again; nothing has said so yet but the next request's own read.
    backend.reachable = true;
    assert.equal(await store.get('a'), undefined, 'the signed-out session is not served');
    assert.equal(await store.get('b'), undefined, 'the ended session is not served');
    assert.equal(store.pendingDeletions, 0);
    assert.equal(await backend.inner.get('a'), undefined);
  });

  it('fails closed while the kept deletions cannot be made, even when reads answer (a read-only replica)', async () => {
    const { backend, store } = setup();
    backend.reachable = true;
    await store.set('a', session(), 60_000);
    await store.set('b', session(), 60_000);
    assert.ok(await store.get('b'));
    backend.refuseDeletions = 'outage';
    await assert.rejects(store.delete('a'), SessionStoreUnavailableError);
    assert.equal(store.pendingDeletions, 1);
    // Reads answer (and report the store up), deletions still fail: no session is served at all.
    await assert.rejects(store.get('a'), SessionStoreUnavailableError);
    await assert.rejects(store.get('b'), SessionStoreUnavailableError);
    backend.refuseDeletions = undefined;
    assert.equal(await store.get('a'), undefined);
    assert.ok(await store.get('b'));
  });

  it('drops a kept deletion the backend refuses while up, instead of failing every read for ever', async () => {
    const { backend, store } = setup();
    await store.set('a', session(), 60_000);
    backend.setUp(false);
    await assert.rejects(store.delete('a'), SessionStoreUnavailableError);
    backend.refuseDeletions = 'statement';
    backend.setUp(true);
    assert.equal(await store.get('a').then(() => 'read', () => 'failed'), 'read');
    assert.equal(store.pendingDeletions, 0);
  });

  it('reports a failed write and keeps nothing of it', async () => {
    const { backend, store, errors } = setup();
    backend.setUp(false);
    await assert.rejects(store.set('a', session(), 60_000), SessionStoreUnavailableError);
    assert.deepEqual(errors, ['set']);
    assert.equal(store.cached, 0);
  });
});
