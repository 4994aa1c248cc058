// The in-memory session store: expiry, LRU eviction at the bound, the sid and sub indexes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemorySessionStore } from '../../../src/proxy/sessions/memory.ts';
import { allDeletions, type ProxySession } from '../../../src/proxy/sessions/store.ts';

function session(claims: Record<string, unknown>, providerPk = 1): ProxySession {
  return { claims, createdAt: 0, expiresAt: 0, providerPk, outpostPk: "o", rawToken: "t" };
}

function clocked(opts: { maxEntries?: number } = {}) {
  let t = 1_000_000;
  const evicted: Array<[string, string]> = [];
  const store = new MemorySessionStore({ ...opts, sweepIntervalMs: 0, now: () => t, onEvict: (id, why) => evicted.push([id, why]) });
  return { store, evicted, advance: (ms: number) => (t += ms) };
}

describe('MemorySessionStore', () => {
  it('returns what was set, and nothing after its ttl', async () => {
    const { store, advance } = clocked();
    const s = session({ sub: 'u1', sid: 's1' });
    await store.set('a', s, 1000);
    assert.equal(await store.get('a'), s);
    advance(999);
    assert.equal(await store.get('a'), s);
    advance(1);
    assert.equal(await store.get('a'), undefined);
    assert.equal(await store.size(), 0);
  });

  it('deletes on a ttl of zero or less (a cookie Max-Age <= 0)', async () => {
    const { store } = clocked();
    await store.set('a', session({}), 1000);
    await store.set('a', session({}), 0);
    assert.equal(await store.get('a'), undefined);
    assert.equal(await store.size(), 0);
  });

  it('sweeps expired entries and reports them', async () => {
    const { store, evicted, advance } = clocked();
    await store.set('short', session({ sid: 'x' }), 100);
    await store.set('long', session({ sid: 'x' }), 10_000);
    advance(500);
    assert.equal(store.sweep(), 1);
    assert.deepEqual(evicted, [['short', 'expired']]);
    assert.equal(await store.size(), 1);
    // The index forgot the swept entry too.
    assert.equal(await store.deleteBySid('x'), 1);
  });

  it('evicts the least recently used session beyond maxEntries', async () => {
    const { store, evicted } = clocked({ maxEntries: 3 });
    for (const id of ['a', 'b', 'c']) await store.set(id, session({ sid: id }), 60_000);
    await store.get('a'); // a is now the most recent; b is the least
    await store.set('d', session({ sid: 'd' }), 60_000);
    assert.deepEqual(evicted, [['b', 'capacity']]);
    assert.equal(await store.size(), 3);
    assert.equal(await store.get('b'), undefined);
    assert.ok(await store.get('a'));
    assert.equal(await store.deleteBySid('b'), 0, 'the evicted entry left the index');
  });

  it('replacing a session re-indexes it', async () => {
    const { store } = clocked();
    await store.set('a', session({ sid: 'old' }), 60_000);
    await store.set('a', session({ sid: 'new' }), 60_000);
    assert.equal(await store.deleteBySid('old'), 0);
    assert.equal(await store.deleteBySid('new'), 1);
    assert.equal(await store.size(), 0);
  });

  it("deleteBySid ends every provider's sessions of that core session, and only those", async () => {
    const { store } = clocked();
    await store.set('p1', session({ sid: 'core-1', sub: 'u' }, 1), 60_000);
    await store.set('p2', session({ sid: 'core-1', sub: 'u' }, 2), 60_000);
    await store.set('other', session({ sid: 'core-2', sub: 'u' }, 1), 60_000);
    await store.set('nosid', session({ sub: 'u' }, 1), 60_000);
    await store.set('weird', session(null as unknown as Record<string, unknown>), 60_000);
    assert.equal(await store.deleteBySid('core-1'), 2);
    assert.equal(await store.get('p1'), undefined);
    assert.equal(await store.get('p2'), undefined);
    assert.ok(await store.get('other'));
    assert.equal(await store.deleteBySid('core-1'), 0);
    assert.equal(await store.size(), 3);
  });

  it('deleteByUser deletes a user’s sessions, of one provider or all', async () => {
    const { store } = clocked();
    await store.set('a', session({ sub: 'u' }, 1), 60_000);
    await store.set('b', session({ sub: 'u' }, 2), 60_000);
    await store.set('c', session({ sub: 'v' }, 1), 60_000);
    assert.equal(await store.deleteByUser('u', 2), 1);
    assert.ok(await store.get('a'));
    assert.equal(await store.deleteByUser('u'), 1);
    assert.equal(await store.size(), 1);
  });

  it('delete says whether something was there, and close makes the store unusable', async () => {
    const { store } = clocked();
    await store.set('a', session({}), 60_000);
    assert.equal(await store.delete('a'), true);
    assert.equal(await store.delete('a'), false);
    await store.close();
    await assert.rejects(store.get('a'), /closed/);
  });

  it('rejects a maxEntries that is not a positive integer', () => {
    assert.throws(() => new MemorySessionStore({ maxEntries: 0 }), RangeError);
  });

  it('stays at its bound under many more sessions than it holds', async () => {
    const { store } = clocked({ maxEntries: 1000 });
    for (let i = 0; i < 20_000; i++) await store.set(`id${i}`, session({ sid: `s${i % 50}`, sub: `u${i % 7}` }), 60_000);
    assert.equal(await store.size(), 1000);
    let total = 0;
    for (let i = 0; i < 50; i++) total += await store.deleteBySid(`s${i}`);
    assert.equal(total, 1000);
    assert.equal(await store.size(), 0);
  });
});

describe('allDeletions', () => {
  it('tries every deletion even when one fails, then rejects with the first failure', async () => {
    const tried: string[] = [];
    const run = (name: string, result: number | Error) =>
      new Promise<number>((resolve, reject) => {
        tried.push(name);
        setTimeout(() => (result instanceof Error ? reject(result) : resolve(result)), name === 'slow' ? 20 : 0);
      });
    const first = new Error('store down');
    await assert.rejects(allDeletions([run('by id', first), run('by user', 2), run('slow', new Error('later'))]), (e) => e === first);
    assert.deepEqual(tried, ['by id', 'by user', 'slow']);
  });
  it('sums what the deletions counted (a boolean is not a count)', async () => {
    assert.equal(await allDeletions([Promise.resolve(true), Promise.resolve(2), Promise.resolve(3)]), 5);
    assert.equal(await allDeletions([]), 0);
  });
});
