import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LruMap } from '../src/lru-map.ts';

function clock(start = 1_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('LruMap', () => {
  it('without a TTL, forgets the least recently used first; get counts as a use, has does not', () => {
    const m = new LruMap<string, number>({ max: 3 });
    m.set('a', 1);
    m.set('b', 2);
    m.set('c', 3);
    assert.equal(m.get('a'), 1); // a is now the most recent
    assert.equal(m.has('b'), true); // not a use: b stays the least recent
    m.set('d', 4);
    assert.equal(m.has('b'), false, 'b was the least recently used');
    assert.deepEqual(['a', 'c', 'd'].map((k) => m.get(k)), [1, 3, 4]);
    assert.equal(m.size, 3);
  });

  it('setting a key again replaces its value without growing', () => {
    const m = new LruMap<string, number>({ max: 2 });
    m.set('a', 1);
    m.set('a', 2);
    m.set('b', 3);
    assert.equal(m.size, 2);
    assert.equal(m.get('a'), 2);
    assert.equal(m.get('b'), 3);
  });

  it('with a TTL, an entry is gone once its time has passed, and reading does not extend it', () => {
    const c = clock();
    const m = new LruMap<string, string>({ max: 10, ttlMs: 100, now: c.now });
    m.set('k', 'v');
    c.advance(99);
    assert.equal(m.get('k'), 'v');
    c.advance(1);
    assert.equal(m.get('k'), undefined);
    assert.equal(m.has('k'), false);
    assert.equal(m.size, 0, 'the expired entry was dropped when read');
  });

  it('with a TTL, setting drops the expired entries, so a burst does not stay held', () => {
    const c = clock();
    const m = new LruMap<number, number>({ max: 1_000, ttlMs: 50, now: c.now });
    for (let i = 0; i < 500; i++) m.set(i, i);
    c.advance(50);
    m.set(-1, -1);
    assert.equal(m.size, 1);
  });

  it('with a TTL, the bound drops the oldest set first, even if read since', () => {
    const c = clock();
    const m = new LruMap<string, number>({ max: 2, ttlMs: 1_000, now: c.now });
    m.set('a', 1);
    m.set('b', 2);
    assert.equal(m.get('a'), 1);
    m.set('c', 3);
    assert.equal(m.has('a'), false);
    assert.equal(m.get('b'), 2);
    assert.equal(m.get('c'), 3);
  });

  it('delete removes; a bound that is not a positive integer is refused', () => {
    const m = new LruMap<string, number>({ max: 1 });
    m.set('a', 1);
    assert.equal(m.delete('a'), true);
    assert.equal(m.delete('a'), false);
    assert.equal(m.get('a'), undefined);
    assert.throws(() => new LruMap({ max: 0 }), RangeError);
    assert.throws(() => new LruMap({ max: 1.5 }), RangeError);
  });

  it('a TTL that is not a positive finite number is refused (0 would keep nothing; lru-cache reads it as none)', () => {
    for (const ttlMs of [0, -1, Number.NaN, Infinity]) assert.throws(() => new LruMap({ max: 1, ttlMs }), RangeError, String(ttlMs));
    assert.equal(new LruMap({ max: 1, ttlMs: 0.5 }).size, 0);
  });

  it('bounded in the total size of its values: the first to leave go, a replaced or deleted value stops counting', () => {
    const m = new LruMap<string, string>({ max: 100, maxSize: 10, sizeOf: (v) => v.length });
    m.set('a', 'xxxx');
    m.set('b', 'xxxx');
    assert.equal(m.totalSize, 8);
    m.set('c', 'xxxx');
    assert.deepEqual([m.has('a'), m.has('b'), m.has('c')], [false, true, true]);
    assert.equal(m.totalSize, 8);
    m.set('b', 'x');
    assert.equal(m.totalSize, 5);
    m.delete('c');
    assert.equal(m.totalSize, 1);
    // A value larger than the bound is not kept, and pushes nothing out.
    m.set('big', 'x'.repeat(11));
    assert.equal(m.has('big'), false);
    assert.equal(m.has('b'), true);
    assert.equal(m.totalSize, 1);
  });
});
