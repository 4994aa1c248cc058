// The bind cache: only the right password is served, and the cache owns the core session of the
// bind that filled an entry: it is ended when the entry leaves, except when the core ended it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { BindCache } from '../../../src/ldap/bind/bind-cache.ts';
import type { BoundIdentity } from '../../../src/ldap/bind/identity.ts';

const identity = (username: string, sessionId: string, coreSession = `cookie-${sessionId}`): BoundIdentity => ({ userPk: username.length, username, canSearch: false, coreSession, sessionId });

function cache(opts: { ttlMs?: number; max?: number; outageGraceMs?: number } = {}): { c: BindCache; released: string[] } {
  const released: string[] = [];
  const c = new BindCache({ ttlMs: opts.ttlMs ?? 60_000, max: opts.max ?? 100, outageGraceMs: opts.outageGraceMs ?? 0, onSessionReleased: (s) => released.push(s) });
  return { c, released };
}

describe('bind cache', () => {
  it('serves only the password that bound, and never hands out the core session', () => {
    const { c, released } = cache();
    c.store('cn=alice', 'pw', identity('alice', 's1'));
    assert.equal(c.lookup('cn=alice', 'wrong'), undefined);
    const hit = c.lookup('cn=alice', 'pw');
    assert.equal(hit?.username, 'alice');
    assert.equal(hit?.coreSession, undefined, 'a bind from the cache must not end the session on unbind');
    assert.equal(hit?.sessionId, 's1', 'but it knows which session authorised it');
    assert.deepEqual(released, []);
  });

  it('ends the session of an entry that is replaced, forgotten, evicted, expired or cleared', async () => {
    const { c, released } = cache({ max: 2, ttlMs: 50 });
    c.store('cn=alice', 'pw', identity('alice', 's1'));
    c.store('cn=alice', 'pw2', identity('alice', 's2'));
    assert.deepEqual(released, ['cookie-s1'], 'replaced');
    c.forget('cn=alice');
    assert.deepEqual(released, ['cookie-s1', 'cookie-s2'], 'forgotten');
    c.store('cn=a', 'pw', identity('a', 'sa'));
    c.store('cn=b', 'pw', identity('b', 'sb'));
    c.store('cn=c', 'pw', identity('c', 'sc'));
    assert.deepEqual(released.slice(2), ['cookie-sa'], 'evicted (least recently used)');
    await sleep(80);
    c.dropExpired();
    assert.deepEqual(released.slice(3).sort(), ['cookie-sb', 'cookie-sc'], 'expired');
    assert.equal(c.size, 0);
    c.store('cn=d', 'pw', identity('d', 'sd'));
    c.clear();
    assert.deepEqual(released.slice(5), ['cookie-sd'], 'cleared');
  });

  it('SESSION_END drops every bind its session authorised, ending nothing (the core did)', () => {
    const { c, released } = cache();
    c.store('cn=alice', 'pw', identity('alice', 's1'));
    c.store('uid=alice', 'pw', identity('alice', 's1'));
    c.store('cn=bob', 'pw', identity('bob', 's2'));
    assert.equal(c.dropSession('unknown'), 0);
    assert.equal(c.dropSession('s1'), 2);
    assert.equal(c.lookup('cn=alice', 'pw'), undefined);
    assert.equal(c.lookup('uid=alice', 'pw'), undefined);
    assert.equal(c.lookup('cn=bob', 'pw')?.username, 'bob');
    assert.deepEqual(released, []);
    assert.equal(c.dropSession('s1'), 0, 'nothing left of it');
    // An entry replaced by a bind through another session is no longer the old session's.
    c.store('cn=bob', 'pw', identity('bob', 's3'));
    assert.equal(c.dropSession('s2'), 0);
    assert.equal(c.dropSession('s3'), 1);
    assert.deepEqual(released, ['cookie-s2']);
  });

  it('entries without a session id (or a cookie) are kept and released like the others', () => {
    const { c, released } = cache();
    c.store('cn=x', 'pw', { userPk: 1, username: 'x', canSearch: true, coreSession: undefined, sessionId: undefined });
    assert.equal(c.lookup('cn=x', 'pw')?.canSearch, true);
    c.forget('cn=x');
    assert.deepEqual(released, []);
  });

  it('outage grace: past its TTL an entry is served only to a bind the core could not answer, within the grace', async () => {
    const { c } = cache({ ttlMs: 60, outageGraceMs: 200 });
    c.store('cn=alice', 'pw', identity('alice', 's1'));
    assert.equal(c.lookup('cn=alice', 'pw')?.username, 'alice');
    await sleep(90);
    assert.equal(c.lookup('cn=alice', 'pw'), undefined, 'past the TTL: the core decides');
    assert.equal(c.lookupInOutage('cn=alice', 'pw')?.username, 'alice', 'unless it cannot be reached');
    assert.equal(c.lookupInOutage('cn=alice', 'pw')?.coreSession, undefined);
    assert.equal(c.lookupInOutage('cn=alice', 'wrong'), undefined, 'never another password');
    assert.equal(c.lookupInOutage('cn=bob', 'pw'), undefined);
    await sleep(220);
    assert.equal(c.lookupInOutage('cn=alice', 'pw'), undefined, 'past the grace: gone');
  });

  it('outage grace 0: nothing is served past the TTL', async () => {
    const { c, released } = cache({ ttlMs: 50, outageGraceMs: 0 });
    c.store('cn=alice', 'pw', identity('alice', 's1'));
    await sleep(80);
    assert.equal(c.lookupInOutage('cn=alice', 'pw'), undefined);
    c.dropExpired();
    assert.deepEqual(released, ['cookie-s1']);
    assert.equal(c.size, 0);
  });

  it('at the TTL the core session ends (dropExpired) and the entry stays for the grace; its SESSION_END does not drop it', async () => {
    const { c, released } = cache({ ttlMs: 50, outageGraceMs: 60_000 });
    c.store('cn=alice', 'pw', identity('alice', 's1'));
    c.store('cn=bob', 'pw', identity('bob', 's2'));
    await sleep(80);
    c.store('cn=carol', 'pw', identity('carol', 's3'));
    c.dropExpired();
    assert.deepEqual(released.sort(), ['cookie-s1', 'cookie-s2'], 'the expired ones, not the fresh one');
    assert.equal(c.size, 3);
    // The core answers our logout with SESSION_END: our own, not a revocation.
    assert.equal(c.dropSession('s1'), 0);
    assert.equal(c.lookupInOutage('cn=alice', 'pw')?.username, 'alice');
    c.dropExpired();
    assert.equal(released.length, 2, 'each session is ended once');
    // A later bind through the core replaces the entry; nothing is left to end of the old one.
    c.store('cn=alice', 'pw', identity('alice', 's4'));
    assert.equal(released.length, 2);
    assert.equal(c.lookup('cn=alice', 'pw')?.sessionId, 's4');
    // Deleted, deactivated, renamed users go in the grace as well.
    assert.equal(c.retainUsers((_pk, username) => username !== 'bob'), 1);
    assert.equal(c.lookupInOutage('cn=bob', 'pw'), undefined);
  });

  it('notes an outage once, until the core answers again', () => {
    const { c } = cache({ outageGraceMs: 1000 });
    assert.equal(c.noteCoreAnswered(), false);
    assert.equal(c.noteOutage(), true);
    assert.equal(c.noteOutage(), false);
    assert.equal(c.noteCoreAnswered(), true);
    assert.equal(c.noteCoreAnswered(), false);
    assert.equal(c.noteOutage(), true);
  });
});
