// DuplicateCache (RFC 5080 §2.2.2): keyed by client address, port, Identifier and Request
// Authenticator. In flight → drop; answered → the same reply again; abandoned → run again.
// authentik only dropped in-flight duplicates and re-ran answered ones (spec §2).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { DuplicateCache, requestKey } from '../../src/radius/duplicates.ts';

const AUTH_A = Buffer.alloc(16, 0xaa);
const AUTH_B = Buffer.alloc(16, 0xbb);
const cache = (ttlMs = 30_000, max = 100) => new DuplicateCache({ ttlMs, max });

describe('requestKey', () => {
  it('differs in every component', () => {
    const base = requestKey('127.0.0.1', 1000, 7, AUTH_A);
    assert.equal(requestKey('127.0.0.1', 1000, 7, Buffer.from(AUTH_A)), base, 'same values, same key');
    assert.notEqual(requestKey('127.0.0.2', 1000, 7, AUTH_A), base);
    assert.notEqual(requestKey('127.0.0.1', 1001, 7, AUTH_A), base);
    assert.notEqual(requestKey('127.0.0.1', 1000, 8, AUTH_A), base);
    assert.notEqual(requestKey('127.0.0.1', 1000, 7, AUTH_B), base);
    const oneBit = Buffer.from(AUTH_A);
    oneBit[15] = oneBit[15]! ^ 1;
    assert.notEqual(requestKey('127.0.0.1', 1000, 7, oneBit), base);
  });

  it('cannot be confused by components running into each other', () => {
    // "1.2.3.4" + port 15 vs "1.2.3.41" + port 5, and ID/port boundaries.
    assert.notEqual(requestKey('1.2.3.4', 15, 1, AUTH_A), requestKey('1.2.3.41', 5, 1, AUTH_A));
    assert.notEqual(requestKey('::1', 11, 2, AUTH_A), requestKey('::1', 1, 12, AUTH_A));
  });
});

describe('DuplicateCache', () => {
  it('a new request is in flight until answered, then its answer is replayed', () => {
    const c = cache();
    const k = requestKey('127.0.0.1', 1000, 1, AUTH_A);
    assert.deepEqual(c.check(k), { kind: 'new' });
    assert.equal(c.pending, 1);
    assert.deepEqual(c.check(k), { kind: 'in-flight' }, 'a retransmission while authenticating is not run again');
    assert.deepEqual(c.check(k), { kind: 'in-flight' });
    const reply = Buffer.from('reply-bytes');
    c.answer(k, reply);
    assert.equal(c.pending, 0);
    const again = c.check(k);
    assert.equal(again.kind, 'answered');
    assert.ok(again.kind === 'answered' && again.reply.equals(reply), 'the cached reply, byte for byte');
    assert.equal(c.check(k).kind, 'answered', 'every later retransmission too');
    assert.equal(c.pending, 0, 'an answered request is not put back in flight');
  });

  it('an abandoned request (dropped, timed out) may be tried again', () => {
    const c = cache();
    const k = requestKey('127.0.0.1', 1000, 2, AUTH_A);
    assert.equal(c.check(k).kind, 'new');
    c.abandon(k);
    assert.equal(c.pending, 0);
    assert.equal(c.check(k).kind, 'new', 'the NAS retransmission gets a fresh attempt');
    assert.equal(c.check(k).kind, 'in-flight');
  });

  it('same address, port and ID with another authenticator is a new request', () => {
    const c = cache();
    const a = requestKey('127.0.0.1', 1000, 3, AUTH_A);
    const b = requestKey('127.0.0.1', 1000, 3, AUTH_B);
    assert.equal(c.check(a).kind, 'new');
    assert.equal(c.check(b).kind, 'new', 'even while the first is in flight (authentik dropped it)');
    c.answer(a, Buffer.from('A'));
    assert.equal(c.check(b).kind, 'in-flight');
    c.answer(b, Buffer.from('B'));
    const ra = c.check(a);
    const rb = c.check(b);
    assert.ok(ra.kind === 'answered' && ra.reply.toString() === 'A');
    assert.ok(rb.kind === 'answered' && rb.reply.toString() === 'B');
  });

  it('forgets answers after the TTL', async () => {
    const c = cache(60);
    const k = requestKey('127.0.0.1', 1000, 4, AUTH_A);
    c.check(k);
    c.answer(k, Buffer.from('x'));
    assert.equal(c.check(k).kind, 'answered');
    await sleep(120);
    assert.equal(c.check(k).kind, 'new', 'after the TTL a retransmission is a new request');
  });

  it('keeps at most `max` answers (the oldest go first)', () => {
    const c = cache(30_000, 3);
    const keys = [0, 1, 2, 3].map((i) => requestKey('127.0.0.1', 2000 + i, i, AUTH_A));
    for (const k of keys) {
      c.check(k);
      c.answer(k, Buffer.from(k));
    }
    assert.equal(c.check(keys[0]!).kind, 'new', 'the oldest answer was evicted');
    c.abandon(keys[0]!);
    for (const k of keys.slice(1)) assert.equal(c.check(k).kind, 'answered');
  });

  it('keeps at most `maxBytes` of answers: replies padded to 4 KB with Proxy-States cannot pile up (the oldest go first)', () => {
    const c = new DuplicateCache({ ttlMs: 30_000, max: 1000, maxBytes: 10_000 });
    const keys = Array.from({ length: 10 }, (_, i) => requestKey('10.0.0.2', 4000 + i, i, AUTH_A));
    for (const k of keys) {
      c.check(k);
      c.answer(k, Buffer.alloc(4096, 1));
    }
    assert.equal(c.bytes, 2 * 4096, 'two answers fit');
    assert.equal(c.check(keys[9]!).kind, 'answered', 'the newest kept');
    assert.equal(c.check(keys[8]!).kind, 'answered');
    assert.equal(c.check(keys[7]!).kind, 'new', 'older ones went');
  });

  it('counts answers out as they expire or are replaced', async () => {
    const c = new DuplicateCache({ ttlMs: 60, max: 10, maxBytes: 1000 });
    const a = requestKey('10.0.0.3', 1, 1, AUTH_A);
    const b = requestKey('10.0.0.3', 2, 2, AUTH_A);
    c.check(a);
    c.answer(a, Buffer.alloc(100));
    c.answer(a, Buffer.alloc(300));
    assert.equal(c.bytes, 300, 'a replaced answer is counted once');
    await sleep(120);
    c.check(b);
    c.answer(b, Buffer.alloc(50));
    assert.equal(c.bytes, 50, 'the expired answer no longer counts');
    assert.equal(c.check(a).kind, 'new');
  });

  it('in-flight entries are not subject to the answer bound', () => {
    const c = cache(30_000, 2);
    const keys = Array.from({ length: 10 }, (_, i) => requestKey('10.0.0.1', 3000 + i, i, AUTH_B));
    for (const k of keys) assert.equal(c.check(k).kind, 'new');
    assert.equal(c.pending, 10);
    for (const k of keys) assert.equal(c.check(k).kind, 'in-flight');
  });
});
