// The Redis session store against a real redis-server: the SessionStore contract (as the memory
// store defines it), what replicas sharing one server see of each other, and a store that is
// down, hung or restarted.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { CachedSessionStore } from '../../../src/proxy/sessions/cached.ts';
import { RedisSessionStore, REDIS_KEY_PREFIX, parseRedisUrl, type RedisSessionStoreOptions } from '../../../src/proxy/sessions/redis.ts';
import { SessionStoreUnavailableError, type Invalidation } from '../../../src/proxy/sessions/shared.ts';
import type { ProxySession } from '../../../src/proxy/sessions/store.ts';
import { captureLogs, type CapturedLogs } from '../../support/logs.ts';
import { startRedis, type RedisServer, type RedisServerOptions } from '../../support/redis.ts';
import { freePort } from '../../support/reverse-proxy.ts';
import { waitFor } from '../../support/wait.ts';

const RAW_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.secret-id-token.sig';

function session(claims: Record<string, unknown>, providerPk = 1, extra: Partial<ProxySession> = {}): ProxySession {
  return { claims, createdAt: 1_000, expiresAt: 2_000, providerPk, outpostPk: 'o1', rawToken: RAW_TOKEN, ...extra };
}

/** A suite's redis-servers, stores and raw clients, all closed after it. */
interface Harness {
  /** The server `harness({ server })` started before the suite's tests. */
  readonly server: RedisServer;
  /** Another server, for one test. */
  startServer(): Promise<RedisServer>;
  /** A fresh database per test keeps tests apart on one server. */
  db(): number;
  store(url: string, opts?: Partial<RedisSessionStoreOptions>): Promise<{ store: RedisSessionStore; logs: CapturedLogs }>;
  raw(url: string): Redis;
}

/** Registers the suite's hooks: with `server`, one redis-server started before its tests; everything it made closed after them. */
function harness(opts: { server?: RedisServerOptions } = {}): Harness {
  let next = 0;
  let shared: RedisServer | undefined;
  const servers: RedisServer[] = [];
  const stores: RedisSessionStore[] = [];
  const raws: Redis[] = [];
  if (opts.server !== undefined) {
    const serverOpts = opts.server;
    before(async () => {
      shared = await startRedis(serverOpts);
      servers.push(shared);
    });
  }
  after(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    for (const r of raws.splice(0)) r.disconnect();
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });
  return {
    get server() {
      if (shared === undefined) throw new Error('this suite started no shared redis-server');
      return shared;
    },
    async startServer() {
      const server = await startRedis();
      servers.push(server);
      return server;
    },
    db: () => next++ % 16,
    async store(url, storeOpts = {}) {
      const logs = captureLogs('debug');
      const store = new RedisSessionStore({ url, logger: logs.logger, probeIntervalMs: 100, ...storeOpts });
      stores.push(store);
      await store.start();
      return { store, logs };
    },
    raw(url) {
      const r = new Redis(url, { lazyConnect: true });
      r.on('error', () => undefined);
      raws.push(r);
      return r;
    },
  };
}

describe('RedisSessionStore: the session store contract', () => {
  const h = harness({ server: {} });

  it('returns what was set: claims, redirect and the raw token', async () => {
    const { store } = await h.store(h.server.url(h.db()));
    const s = session({ sub: 'u1', sid: 's1', groups: ['a', 'b'], nested: { x: 1 } }, 7, { redirect: 'https://app.example/after' });
    await store.set('a', s, 60_000);
    assert.deepEqual(await store.get('a'), s);
    const plain = session({ sub: 'u2' });
    await store.set('b', plain, 60_000);
    const got = await store.get('b');
    assert.deepEqual(got, plain);
    assert.equal(got !== undefined && 'redirect' in got, false, 'no redirect key when none was stored');
    assert.equal(await store.get('missing'), undefined);
    assert.equal(store.up, true);
    assert.equal(store.backend, 'redis');
  });

  it('forgets a session after its ttl', async () => {
    const { store } = await h.store(h.server.url(h.db()));
    await store.set('short', session({ sid: 'x' }), 150);
    await store.set('long', session({ sid: 'x' }), 60_000);
    assert.ok(await store.get('short'));
    await waitFor('the short session to expire', async () => (await store.get('short')) === undefined, 5_000);
    assert.ok(await store.get('long'));
    assert.equal(await store.size(), 1);
    assert.equal(await store.deleteBySid('x'), 1, 'the expired member is not counted');
  });

  it('deletes on a ttl of zero or less (a cookie Max-Age <= 0)', async () => {
    const { store } = await h.store(h.server.url(h.db()));
    await store.set('a', session({ sid: 's' }), 60_000);
    await store.set('a', session({ sid: 's' }), 0);
    assert.equal(await store.get('a'), undefined);
    await store.set('b', session({}), -5);
    assert.equal(await store.get('b'), undefined);
    assert.equal(await store.size(), 0);
  });

  it('delete says whether something was deleted', async () => {
    const { store } = await h.store(h.server.url(h.db()));
    await store.set('a', session({ sub: 'u' }), 60_000);
    assert.equal(await store.delete('a'), true);
    assert.equal(await store.delete('a'), false);
    assert.equal(await store.delete('never'), false);
    assert.equal(await store.get('a'), undefined);
  });

  it('deleteBySid deletes that core session across providers, and only it', async () => {
    const { store } = await h.store(h.server.url(h.db()));
    await store.set('p1', session({ sub: 'u', sid: 'S' }, 1), 60_000);
    await store.set('p2', session({ sub: 'u', sid: 'S' }, 2), 60_000);
    await store.set('other', session({ sub: 'u', sid: 'T' }, 1), 60_000);
    await store.set('nosid', session({ sub: 'u' }, 1), 60_000);
    assert.equal(await store.deleteBySid('S'), 2);
    assert.equal(await store.get('p1'), undefined);
    assert.equal(await store.get('p2'), undefined);
    assert.ok(await store.get('other'));
    assert.ok(await store.get('nosid'));
    assert.equal(await store.deleteBySid('S'), 0);
    assert.equal(await store.deleteBySid(''), 0);
  });

  it('deleteBySid leaves a session that was replaced under another sid', async () => {
    const { store } = await h.store(h.server.url(h.db()));
    await store.set('a', session({ sub: 'u', sid: 'old' }), 60_000);
    await store.set('a', session({ sub: 'u', sid: 'new' }), 60_000);
    assert.equal(await store.deleteBySid('old'), 0);
    assert.ok(await store.get('a'));
    assert.equal(await store.deleteBySid('new'), 1);
  });

  it('drops an index member whose session no longer carries that claim, without deleting the session', async () => {
    const url = h.server.url(h.db());
    const { store } = await h.store(url);
    const raw = h.raw(url);
    await store.set('a', session({ sub: 'u', sid: 'mine' }), 60_000);
    // Members whose session says otherwise (written by hand here; another writer could leave them).
    await raw.zadd(`${REDIS_KEY_PREFIX}_sid:other`, Date.now() + 60_000, 'a');
    await raw.zadd(`${REDIS_KEY_PREFIX}_sub:someone-else`, Date.now() + 60_000, 'a');
    assert.equal(await store.deleteBySid('other'), 0);
    assert.equal(await store.deleteByUser('someone-else'), 0);
    assert.ok(await store.get('a'));
    assert.equal(await raw.exists(`${REDIS_KEY_PREFIX}_sid:other`, `${REDIS_KEY_PREFIX}_sub:someone-else`), 0, 'the stale members were dropped');
  });

  it('deleteByUser deletes the user\'s sessions of one provider, or of all', async () => {
    const { store } = await h.store(h.server.url(h.db()));
    await store.set('u-p1', session({ sub: 'u', sid: 's1' }, 1), 60_000);
    await store.set('u-p2', session({ sub: 'u', sid: 's2' }, 2), 60_000);
    await store.set('u-p2b', session({ sub: 'u', sid: 's3' }, 2), 60_000);
    await store.set('v-p1', session({ sub: 'v', sid: 's4' }, 1), 60_000);
    assert.equal(await store.deleteByUser('u', 2), 2);
    assert.ok(await store.get('u-p1'));
    assert.equal(await store.get('u-p2'), undefined);
    assert.equal(await store.deleteByUser('u'), 1);
    assert.equal(await store.get('u-p1'), undefined);
    assert.ok(await store.get('v-p1'));
    assert.equal(await store.deleteByUser('u'), 0);
    // The sid index forgot the deleted sessions too.
    assert.equal(await store.deleteBySid('s1'), 0);
  });

  it('size counts live sessions, not the index keys', async () => {
    const url = h.server.url(h.db());
    const { store } = await h.store(url);
    assert.equal(await store.size(), 0);
    for (let i = 0; i < 25; i++) await store.set(`id${i}`, session({ sub: `u${i % 3}`, sid: `s${i}` }), 60_000);
    assert.equal(await store.size(), 25);
    const raw = h.raw(url);
    assert.ok((await raw.dbsize()) > 25, 'index keys exist beside the sessions');
    await store.delete('id0');
    assert.equal(await store.size(), 24);
  });

  it('keeps each index alive as long as its longest-lived member, and prunes expired members', async () => {
    const url = h.server.url(h.db());
    const { store } = await h.store(url);
    const raw = h.raw(url);
    await store.set('long', session({ sub: 'u', sid: 'S' }), 60_000);
    await store.set('short', session({ sub: 'u', sid: 'S' }), 100);
    const sidKey = `${REDIS_KEY_PREFIX}_sid:S`;
    const pttl = await raw.pttl(sidKey);
    assert.ok(pttl > 50_000 && pttl <= 60_000, `the index outlives its longest member (${pttl} ms)`);
    assert.ok((await raw.pttl(`${REDIS_KEY_PREFIX}:long`)) <= pttl);
    await new Promise((r) => setTimeout(r, 250));
    await store.set('third', session({ sub: 'u', sid: 'S' }), 60_000);
    assert.deepEqual((await raw.zrange(sidKey, 0, -1)).sort(), ['long', 'third'], 'the expired member was pruned on write');
  });
});

describe('RedisSessionStore: replicas sharing one server', () => {
  const h = harness({ server: {} });

  it('a second store sees the first one\'s sessions and receives its invalidations', async () => {
    const url = h.server.url(h.db());
    const a = (await h.store(url)).store;
    const b = (await h.store(url)).store;
    const seenByA: Invalidation[] = [];
    const seenByB: Invalidation[] = [];
    a.onInvalidate((ids) => seenByA.push(ids));
    b.onInvalidate((ids) => seenByB.push(ids));

    const s = session({ sub: 'u', sid: 'S' }, 3, { redirect: '/x' });
    await a.set('one', s, 60_000);
    await a.set('two', session({ sub: 'u', sid: 'S' }, 4), 60_000);
    await a.set('three', session({ sub: 'w', sid: 'T' }, 4), 60_000);
    assert.deepEqual(await b.get('one'), s);
    assert.equal(seenByB.length, 0, 'creating a session invalidates nothing');

    await a.delete('three');
    await waitFor('B to hear of the delete', () => seenByB.some((ids) => ids?.includes('three')));
    assert.equal(await b.deleteBySid('S'), 2);
    await waitFor('A to hear of the sid logout', () => seenByA.some((ids) => ids !== undefined && [...ids].sort().join() === 'one,two'));
    assert.ok(seenByB.some((ids) => ids?.includes('one')), 'the deleting replica hears its own deletions too');

    await b.set('four', session({ sub: 'u' }), 60_000);
    await b.set('four', session({ sub: 'u', sid: 'changed' }), 60_000);
    await waitFor('A to hear that a session it may cache was replaced', () => seenByA.some((ids) => ids?.includes('four')));
    assert.ok(!seenByA.includes(undefined), 'no channel loss was reported');
  });

  it('stores on different databases of one server do not see each other', async () => {
    const a = (await h.store(h.server.url(h.db()))).store;
    const b = (await h.store(h.server.url(h.db()))).store;
    const heard: Invalidation[] = [];
    b.onInvalidate((ids) => heard.push(ids));
    await a.set('x', session({ sid: 'S' }), 60_000);
    assert.equal(await b.get('x'), undefined);
    await a.delete('x');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(heard, []);
  });

  it('reports a lost subscriber connection, and hears deletions again once resubscribed', async () => {
    const url = h.server.url(h.db());
    const a = (await h.store(url)).store;
    const b = (await h.store(url)).store;
    const heard: Invalidation[] = [];
    const subscribedWhenHeard: boolean[] = [];
    b.onInvalidate((ids) => {
      heard.push(ids);
      subscribedWhenHeard.push(b.subscribed);
    });
    assert.equal(b.subscribed, true);
    const raw = h.raw(url);
    await raw.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    // B reports the loss (caches stop trusting what they hold) and again once resubscribed
    // (what they cached in the gap may be stale).
    await waitFor('B to report the loss and the return', () => heard.filter((x) => x === undefined).length >= 2, 10_000);
    assert.deepEqual(subscribedWhenHeard.slice(0, 2), [false, true]);
    await waitFor('B to hear a deletion again', async () => {
      await a.set('k', session({}), 60_000);
      await a.delete('k');
      await new Promise((r) => setTimeout(r, 50));
      return heard.some((ids) => ids?.includes('k'));
    }, 10_000);
    assert.equal(b.up, true, 'the store itself stayed up');
  });

  it('reads a malformed value as absent and warns once', async () => {
    const url = h.server.url(h.db());
    const { store, logs } = await h.store(url);
    const raw = h.raw(url);
    await raw.set(`${REDIS_KEY_PREFIX}:notjson`, '{nope');
    await raw.set(`${REDIS_KEY_PREFIX}:shape`, JSON.stringify({ v: 1, claims: {}, createdAt: 'yesterday', expiresAt: 1, providerPk: 1, outpostPk: 'o', rawToken: 't' }));
    await raw.set(`${REDIS_KEY_PREFIX}:version`, JSON.stringify({ v: 99, claims: {}, createdAt: 1, expiresAt: 1, providerPk: 1, outpostPk: 'o', rawToken: 't' }));
    await raw.set(`${REDIS_KEY_PREFIX}:array`, '[1,2]');
    await raw.hset(`${REDIS_KEY_PREFIX}:hash`, 'f', 'v');
    await raw.set(`${REDIS_KEY_PREFIX}:claimsarray`, JSON.stringify({ v: 1, claims: [1], createdAt: 1, expiresAt: 1, providerPk: 1, outpostPk: 'o', rawToken: 't' }));
    await raw.set(`${REDIS_KEY_PREFIX}:oversized`, JSON.stringify({ v: 1, claims: {}, createdAt: 1, expiresAt: 1, providerPk: 1, outpostPk: 'o', rawToken: 'x'.repeat(300_000) }));
    for (const id of ['notjson', 'shape', 'version', 'array', 'hash', 'claimsarray', 'oversized']) assert.equal(await store.get(id), undefined, id);
    assert.equal(logs.lines.filter((l) => /malformed session/.test(String(l['event']))).length, 1);
    assert.equal(store.up, true, 'bad data is not an outage');
    // Deleting by index tolerates them too.
    await raw.zadd(`${REDIS_KEY_PREFIX}_sid:S`, Date.now() + 60_000, 'notjson', Date.now() + 60_000, 'hash');
    assert.equal(await store.deleteBySid('S'), 0);
  });

  it('refuses a session it could not read back, and an over-long ID', async () => {
    const { store } = await h.store(h.server.url(h.db()));
    await assert.rejects(store.set('big', session({ sub: 'u' }, 1, { rawToken: 'x'.repeat(300_000) }), 60_000), RangeError);
    await assert.rejects(store.set('i'.repeat(201), session({ sub: 'u' }), 60_000), RangeError);
    assert.equal(await store.size(), 0);
  });

  it('an invalidation message it cannot trust flushes everything instead of naming IDs', async () => {
    const db = h.db();
    const url = h.server.url(db);
    const { store } = await h.store(url);
    const raw = h.raw(url);
    const seen: Invalidation[] = [];
    store.onInvalidate((ids) => seen.push(ids));
    const channel = `${REDIS_KEY_PREFIX}_invalidate:${db}`;
    await raw.publish(channel, JSON.stringify(['a', 'b']));
    await raw.publish(channel, JSON.stringify(Array.from({ length: 10_001 }, (_, i) => `id-${i}`)));
    await raw.publish(channel, JSON.stringify(['ok', 'x'.repeat(201)]));
    await raw.publish(channel, JSON.stringify(['ok', 7]));
    await waitFor('four invalidations', () => seen.length === 4, 5000);
    assert.deepEqual(seen, [['a', 'b'], undefined, undefined, undefined]);
  });

  it('close() quits both of its connections', async () => {
    const url = h.server.url(h.db());
    const raw = h.raw(url);
    const names = async () => (await raw.client('LIST') as string).split('\n').filter((l) => /name=authentik-outpost-proxy-sessions/.test(l)).length;
    const before = await names();
    const store = new RedisSessionStore({ url, logger: captureLogs().logger, probeIntervalMs: 0 });
    await assert.rejects(store.get('a'), /not started/, 'no connection before start()');
    assert.equal(await names(), before);
    await store.start();
    assert.equal(await names(), before + 2);
    await store.close();
    await waitFor('the connections to go', async () => (await names()) === before);
    await assert.rejects(store.get('a'), SessionStoreUnavailableError);
  });
});

describe('RedisSessionStore: authentication and start-up', () => {
  const PASSWORD = 'p4ss/w:rd@with%chars';
  const h = harness({ server: { password: PASSWORD } });

  it('connects with the password from the URL and a database number', async () => {
    const url = h.server.url(5);
    const { store, logs } = await h.store(url);
    await store.set('a', session({ sub: 'u' }), 60_000);
    assert.ok(await store.get('a'));
    const raw = h.raw(url);
    assert.equal(await raw.exists(`${REDIS_KEY_PREFIX}:a`), 1, 'in database 5');
    assert.ok(!logs.raw.join('\n').includes(PASSWORD));
    assert.ok(!logs.raw.join('\n').includes(RAW_TOKEN));
  });

  it('a wrong password fails start() with a clear error that does not carry it', async () => {
    const wrong = 'not-the-password-42';
    const logs = captureLogs('debug');
    const store = new RedisSessionStore({ url: h.server.url(0, wrong), logger: logs.logger, probeIntervalMs: 0 });
    const err = await store.start().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof SessionStoreUnavailableError, String(err));
    assert.match(err.message, /cannot connect to redis:\/\/127\.0\.0\.1:\d+\/0: .*(WRONGPASS|invalid|auth)/i);
    for (const text of [err.message, String(err.stack), JSON.stringify(err), String((err.cause as Error | undefined)?.message), ...logs.raw]) {
      assert.ok(!text.includes(wrong), `no password in: ${text}`);
      assert.ok(!text.includes(h.server.url(0, wrong)));
    }
    assert.equal(store.up, false);
    await store.close();
  });

  it('no server fails start() with a clear error', async () => {
    const port = await freePort();
    const store = new RedisSessionStore({ url: `redis://:secret@127.0.0.1:${port}/0`, logger: captureLogs().logger, probeIntervalMs: 0 });
    await assert.rejects(store.start(), (err: unknown) => {
      assert.ok(err instanceof SessionStoreUnavailableError);
      assert.match(err.message, /cannot connect to redis:\/\/127\.0\.0\.1:\d+\/0: .*ECONNREFUSED/);
      assert.ok(!err.message.includes('secret'));
      return true;
    });
    await store.close();
  });

  it('rejects URLs it cannot use without echoing them', () => {
    for (const bad of ['postgres://u:hunter2@h/db', 'redis://:hunter2@h/notadb', 'hunter2']) {
      assert.throws(() => parseRedisUrl(bad), (err: unknown) => err instanceof TypeError && !err.message.includes('hunter2'));
    }
    assert.deepEqual(parseRedisUrl('rediss://:pw@cache.internal:6380/2'), { where: 'rediss://cache.internal:6380/2', db: 2 });
    assert.equal(parseRedisUrl('redis://localhost').db, 0);
  });
});

describe('RedisSessionStore: a store that hangs, stops or restarts', () => {
  const h = harness();

  it('a hung server makes operations fail within the bound, and `up` follows it down and back', async () => {
    const server = await h.startServer();
    const opTimeoutMs = 400;
    const { store } = await h.store(server.url(0), { opTimeoutMs });
    const health: boolean[] = [];
    store.onHealth((up) => health.push(up));
    await store.set('a', session({ sub: 'u', sid: 'S' }), 60_000);

    server.pause();
    const ops: Array<[string, () => Promise<unknown>]> = [
      ['get', () => store.get('a')],
      ['set', () => store.set('b', session({}), 60_000)],
      ['delete', () => store.delete('a')],
      ['deleteBySid', () => store.deleteBySid('S')],
      ['deleteByUser', () => store.deleteByUser('u')],
      ['size', () => store.size()],
    ];
    for (const [name, op] of ops) {
      const t0 = Date.now();
      await assert.rejects(op(), SessionStoreUnavailableError, name);
      assert.ok(Date.now() - t0 < 5_000, `${name} settled in ${Date.now() - t0} ms`);
    }
    assert.equal(store.up, false);
    assert.deepEqual(health, [false]);

    server.resume();
    await waitFor('the store to answer again', () => store.up, 15_000);
    assert.ok(await store.get('a'), 'the data survived the pause');
    assert.equal(health.at(-1), true);
  });

  it('a restarted server: fails fast while gone, `up` and the channel come back, caches are told to flush', async () => {
    const server = await h.startServer();
    const { store } = await h.store(server.url(0), { opTimeoutMs: 1_000 });
    const heard: Invalidation[] = [];
    store.onInvalidate((ids) => heard.push(ids));
    await store.set('a', session({ sub: 'u' }), 60_000);

    let restarted = false;
    const restart = server.restart().then(() => (restarted = true));
    await waitFor('`up` to go false', () => !store.up, 10_000);
    if (!restarted) {
      const t0 = Date.now();
      await store.get('a').then(() => undefined, (e: unknown) => assert.ok(e instanceof SessionStoreUnavailableError));
      assert.ok(Date.now() - t0 < 5_000);
    }
    await restart;
    await waitFor('`up` to come back', () => store.up, 15_000);
    assert.ok(heard.includes(undefined), 'the channel loss was reported');
    assert.equal(await store.get('a'), undefined, 'a server without persistence comes back empty');
    await store.set('b', session({ sub: 'u' }), 60_000);
    assert.ok(await store.get('b'));
    await waitFor('the channel to be back', async () => {
      await store.set('c', session({}), 60_000);
      await store.delete('c');
      await new Promise((r) => setTimeout(r, 50));
      return heard.some((ids) => ids?.includes('c'));
    }, 10_000);
  });

  it('a stopped server makes operations fail at once, not after a timeout', async () => {
    const server = await h.startServer();
    const { store } = await h.store(server.url(0), { opTimeoutMs: 3_000 });
    await server.stop();
    await waitFor('`up` to go false', () => !store.up, 10_000);
    const t0 = Date.now();
    await assert.rejects(store.get('a'), SessionStoreUnavailableError);
    assert.ok(Date.now() - t0 < 2_500, `failed in ${Date.now() - t0} ms`);
  });
});

describe('RedisSessionStore behind the local cache: a deletion made while writes fail', () => {
  const h = harness({ server: {} });

  it('a sign-out refused by a read-only server (a failover in progress) is not undone by the reads it still answers', async () => {
    const db = h.db();
    // No probe: the only thing that can report the store up is an operation's own answer.
    const { store: backend } = await h.store(h.server.url(db), { probeIntervalMs: 0, opTimeoutMs: 1_000 });
    const cached = new CachedSessionStore(backend);
    await cached.set('a', session({ sub: 'u', sid: 'S' }, 1, { expiresAt: Date.now() + 60_000 }), 60_000);
    const raw = h.raw(h.server.url(db));
    await raw.connect();
    // A replica of a master that is not there: reads are answered (stale data), writes refused (READONLY).
    await raw.replicaof('127.0.0.1', await freePort());
    try {
      await assert.rejects(cached.delete('a'), SessionStoreUnavailableError);
      assert.equal(cached.pendingDeletions, 1);
      await assert.rejects(cached.get('a'), SessionStoreUnavailableError, 'no session is read before the sign-out is made');
    } finally {
      await raw.replicaof('NO', 'ONE');
    }
    assert.equal(await cached.get('a'), undefined, 'the sign-out was made once writes were taken again');
    assert.equal(cached.pendingDeletions, 0);
  });
});

