// The PostgreSQL session store against a real server (a throwaway cluster in a temporary
// directory): the store contract, expiry and the sweep, the schema migrated once by replicas
// starting together, invalidations reaching another instance, and the failure model (bounded
// operations, SessionStoreUnavailableError, health, recovery).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { PostgresSessionStore, type PostgresSessionStoreOptions } from '../../../src/proxy/sessions/postgres.ts';
import { MAX_SESSION_CHARS, SessionStoreUnavailableError, type Invalidation } from '../../../src/proxy/sessions/shared.ts';
import type { ProxySession } from '../../../src/proxy/sessions/store.ts';
import { captureLogs, type CapturedLogs } from '../../support/logs.ts';
import { startPostgres, type PostgresServer } from '../../support/postgres.ts';
import { waitFor } from '../../support/wait.ts';

function session(claims: Record<string, unknown>, providerPk = 1, extra: Partial<ProxySession> = {}): ProxySession {
  const now = Date.now();
  return { claims, createdAt: now, expiresAt: now + 3_600_000, providerPk, outpostPk: 'outpost-1', rawToken: 'header.payload.signature', ...extra };
}

let server: PostgresServer;
let logs: CapturedLogs;
let dbCount = 0;
const stores: PostgresSessionStore[] = [];

async function freshDatabase(): Promise<string> {
  return server.createDatabase(`t${++dbCount}`);
}

function store(url: string, opts: Partial<PostgresSessionStoreOptions> = {}): PostgresSessionStore {
  const s = new PostgresSessionStore({ url, logger: logs.logger, opTimeoutMs: 500, sweepIntervalMs: 0, probeIntervalMs: 200, downProbeIntervalMs: 100, ...opts });
  stores.push(s);
  return s;
}

async function started(url: string, opts: Partial<PostgresSessionStoreOptions> = {}): Promise<PostgresSessionStore> {
  const s = store(url, opts);
  await s.start();
  return s;
}

/** Every invalidation `s` reports from now on. */
function invalidations(s: PostgresSessionStore): Invalidation[] {
  const heard: Invalidation[] = [];
  s.onInvalidate((ids) => heard.push(ids));
  return heard;
}

async function sql<R extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(text, values)).rows;
  } finally {
    await c.end();
  }
}

/** Rows in the table, expired ones included (what `size()` does not count). */
async function rowCount(url: string): Promise<number> {
  return (await sql<{ n: number }>(url, 'SELECT count(*)::int AS n FROM authentik_outpost.proxy_session'))[0]!.n;
}

before(async () => {
  logs = captureLogs('debug');
  server = await startPostgres();
});

after(async () => {
  await Promise.allSettled(stores.map((s) => s.close()));
  await server?.destroy();
  // The URL's password never reaches a log line, whatever failed.
  for (const line of logs?.raw ?? []) assert.ok(!line.includes(server.password), `password in a log line: ${line}`);
});

describe('PostgresSessionStore', () => {
  it('returns what was set, field for field, and nothing for an unknown ID', async () => {
    const s = await started(await freshDatabase());
    const v = session({ sub: 'u1', sid: 's1', groups: ['a', 'b'], ak_proxy: { user_attributes: { x: 1 } } }, 7, { redirect: 'https://app.example.com/x' });
    await s.set('id-1', v, 60_000);
    assert.deepEqual(await s.get('id-1'), v);
    assert.equal(await s.get('nope'), undefined);
    const replaced = session({ sub: 'u1', sid: 's2' }, 7);
    await s.set('id-1', replaced, 60_000);
    assert.deepEqual(await s.get('id-1'), replaced);
    assert.equal(await s.size(), 1);
  });

  it('never returns an expired row, and the sweep deletes it', async () => {
    const url = await freshDatabase();
    const s = await started(url);
    await s.set('short', session({ sub: 'u' }), 300);
    await s.set('long', session({ sub: 'u' }), 60_000);
    assert.ok(await s.get('short'));
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(await s.get('short'), undefined);
    assert.equal(await s.size(), 1);
    assert.equal(await rowCount(url), 2);
    assert.equal(await s.sweep(), 1);
    assert.equal(await rowCount(url), 1);
  });

  it('sweeps in the background on its timer', async () => {
    const url = await freshDatabase();
    const s = await started(url, { sweepIntervalMs: 100 });
    await s.set('short', session({}), 50);
    await waitFor('the sweep', async () => (await rowCount(url)) === 0, 5000);
  });

  it('deletes on a ttl of zero or less', async () => {
    const s = await started(await freshDatabase());
    await s.set('a', session({}), 60_000);
    await s.set('a', session({}), 0);
    assert.equal(await s.get('a'), undefined);
    assert.equal(await s.size(), 0);
  });

  it('delete says whether something was deleted; deleteBySid spans providers; deleteByUser one provider or all', async () => {
    const s = await started(await freshDatabase());
    await s.set('a', session({ sub: 'alice', sid: 'core-1' }, 1), 60_000);
    await s.set('b', session({ sub: 'alice', sid: 'core-1' }, 2), 60_000);
    await s.set('c', session({ sub: 'alice', sid: 'core-2' }, 1), 60_000);
    await s.set('d', session({ sub: 'bob', sid: 'core-3' }, 1), 60_000);
    await s.set('e', session({ sub: 'alice' }, 3), 60_000);
    assert.equal(await s.delete('zzz'), false);
    assert.equal(await s.deleteBySid('core-1'), 2);
    assert.equal(await s.get('a'), undefined);
    assert.equal(await s.get('b'), undefined);
    assert.equal(await s.deleteByUser('alice', 3), 1);
    assert.equal(await s.get('e'), undefined);
    assert.ok(await s.get('c'));
    assert.equal(await s.deleteByUser('alice'), 1);
    assert.equal(await s.delete('d'), true);
    assert.equal(await s.size(), 0);
  });

  it('refuses a session it could not read back, and reads an oversized row as no session', async () => {
    const url = await freshDatabase();
    const s = await started(url);
    await assert.rejects(s.set('big', session({ sub: 'u' }, 1, { rawToken: 'x'.repeat(300_000) }), 60_000), RangeError);
    await s.set('a', session({ sub: 'u' }), 60_000);
    await sql(url, `UPDATE authentik_outpost.proxy_session SET raw_token = repeat('x', 300000) WHERE id = 'a'`);
    assert.equal(await s.get('a'), undefined);
    assert.equal(s.up, true, 'bad data is not an outage');
  });

  it('reads back every session it writes: the limit counts the claims as PostgreSQL prints them, on write and on read', async () => {
    const url = await freshDatabase();
    const s = await started(url);
    // rawToken and outpostPk of session(): 24 + 9 characters beside the claims.
    const others = 'header.payload.signature'.length + 'outpost-1'.length;
    const printed = async (claims: unknown) => (await sql<{ n: number }>(url, 'SELECT length($1::jsonb::text)::int AS n', [JSON.stringify(claims)]))[0]!.n;
    /** Claims of many short strings (PostgreSQL adds a space after each ','), padded to `target` characters as `measure` counts them. */
    const claimsOf = async (target: number, measure: (c: unknown) => number | Promise<number>) => {
      const claims = { sub: 'u', groups: Array.from({ length: 20_000 }, (_, i) => `g${i % 10}`), pad: '' };
      claims.pad = 'x'.repeat(target - (await measure(claims)));
      assert.equal(await measure(claims), target);
      return claims;
    };
    const outcome = (id: string, v: ProxySession) => s.set(id, v, 60_000).then(() => 'written', (e: unknown) => (e instanceof RangeError ? 'refused' : Promise.reject(e)));

    // At the limit as PostgreSQL prints it: written, and read back.
    const atLimit = session(await claimsOf(MAX_SESSION_CHARS - others, printed));
    assert.equal(await outcome('at', atLimit), 'written');
    assert.deepEqual(await s.get('at'), atLimit);

    // At the limit as JSON.stringify writes it, so over as PostgreSQL prints it: refused, not
    // written and then read as "no session" on every request. What was there stays.
    const before = session({ sub: 'u' });
    await s.set('over', before, 60_000);
    const jsonOver = session(await claimsOf(MAX_SESSION_CHARS - others, (c) => JSON.stringify(c).length));
    assert.ok((await printed(jsonOver.claims)) + others > MAX_SESSION_CHARS);
    assert.equal(await outcome('over', jsonOver), 'refused');
    assert.deepEqual(await s.get('over'), before);

    // Small as JSON, large as PostgreSQL prints it (numbers without exponents): the same.
    const numbers = session({ sub: 'u', n: Array.from({ length: 1000 }, () => 1e300) });
    assert.ok(JSON.stringify(numbers.claims).length < 10_000 && (await printed(numbers.claims)) > MAX_SESSION_CHARS);
    assert.equal(await outcome('numbers', numbers), 'refused');
    assert.equal(await s.get('numbers'), undefined);
    assert.equal(s.up, true, 'a refused session is not an outage');
  });

  it('treats an unreadable row as no session', async () => {
    const url = await freshDatabase();
    const s = await started(url);
    await s.set('a', session({ sub: 'u' }), 60_000);
    await sql(url, `UPDATE authentik_outpost.proxy_session SET claims = '[1,2]'::jsonb WHERE id = 'a'`);
    assert.equal(await s.get('a'), undefined);
  });

  it('creates its schema once when several replicas start at the same moment, and again is a no-op', async () => {
    const url = await freshDatabase();
    const all = Array.from({ length: 5 }, () => store(url));
    await Promise.all(all.map((s) => s.start()));
    const versions = await sql<{ component: string; version: number }>(url, 'SELECT component, version FROM authentik_outpost.schema_version');
    assert.deepEqual(versions, [{ component: 'proxy_session', version: 1 }]);
    const late = await started(url);
    await all[0]!.set('x', session({ sub: 'u' }), 60_000);
    assert.ok(await late.get('x'));
    const indexes = await sql<{ indexname: string }>(url, `SELECT indexname FROM pg_indexes WHERE schemaname = 'authentik_outpost' AND tablename = 'proxy_session' ORDER BY indexname`);
    assert.deepEqual(indexes.map((i) => i.indexname), ['proxy_session_expires_at', 'proxy_session_pkey', 'proxy_session_sid', 'proxy_session_sub']);
  });

  it('tells another instance which IDs were deleted, in payloads under 8000 bytes', async () => {
    const url = await freshDatabase();
    const a = await started(url);
    const b = await started(url);
    const seen = invalidations(b);
    const mine = invalidations(a);
    await a.set('one', session({ sub: 'u', sid: 'x' }), 60_000);
    await a.delete('one');
    await waitFor('the delete notification', () => seen.some((ids) => ids?.includes('one')), 3000);
    // This replica hears of its own deletion at once, before the call returns.
    assert.ok(mine.some((ids) => ids?.includes('one')));
    const ids = Array.from({ length: 400 }, (_, i) => `${String(i).padStart(3, '0')}-${'x'.repeat(39)}`);
    for (const id of ids) await a.set(id, session({ sub: 'many', sid: 'core-many' }), 60_000);
    seen.length = 0;
    assert.equal(await a.deleteBySid('core-many'), 400);
    await waitFor('every ID notified', () => new Set(seen.flatMap((x) => x ?? [])).size === 400, 5000);
    assert.ok(seen.length >= 3, `400 IDs of 43 bytes need at least 3 payloads, got ${seen.length}`);
    for (const chunk of seen) assert.ok(Buffer.byteLength((chunk ?? []).join(' ')) < 8000);
  });

  it('fails every operation within its bound when the server stops answering, then recovers by itself', async () => {
    const url = await freshDatabase();
    const s = await started(url);
    const health: boolean[] = [];
    s.onHealth((up) => health.push(up));
    await s.set('a', session({ sub: 'u' }), 60_000);
    server.freeze();
    try {
      const t0 = performance.now();
      await assert.rejects(s.get('a'), (e: Error) => e instanceof SessionStoreUnavailableError && e.backend === 'postgres');
      const took = performance.now() - t0;
      assert.ok(took < 500 + 300, `the operation took ${took} ms, bound 500 ms`);
      assert.equal(s.up, false);
      assert.deepEqual(health, [false]);
      // Down: further operations fail at once, without waiting for a timeout each.
      const t1 = performance.now();
      await assert.rejects(s.set('b', session({}), 1000), SessionStoreUnavailableError);
      assert.ok(performance.now() - t1 < 100);
    } finally {
      server.thaw();
    }
    await waitFor('the store up again', () => s.up, 10_000);
    assert.deepEqual(health, [false, true]);
    assert.ok(await s.get('a'));
  });

  it('survives a server restart: down while stopped, its channel lost and re-established, data kept', async () => {
    const url = await freshDatabase();
    const s = await started(url);
    const other = await started(url);
    const seen = invalidations(s);
    await s.set('kept', session({ sub: 'u' }), 60_000);
    await server.stop();
    try {
      await waitFor('a lost channel reported', () => seen.includes(undefined), 5000);
      await waitFor('the store down', () => !s.up, 5000);
      const t0 = performance.now();
      await assert.rejects(s.get('kept'), SessionStoreUnavailableError);
      assert.ok(performance.now() - t0 < 600);
    } finally {
      await server.start();
    }
    await waitFor('the store up again', () => s.up && s.subscribed, 15_000);
    assert.ok(await s.get('kept'));
    // And invalidations flow again.
    await waitFor('the other instance up again', () => other.up, 15_000);
    await other.delete('kept');
    await waitFor('the notification after the restart', () => seen.some((ids) => ids?.includes('kept')), 3000);
  });

  it('refuses to start against an unreachable server with an error that names neither URL nor password', async () => {
    const wrong = server.url('postgres').replace(encodeURIComponent(server.password), 'not-the-password-at-all');
    const s = store(wrong);
    await assert.rejects(s.start(), (e: Error) => e instanceof SessionStoreUnavailableError && !e.message.includes('not-the-password-at-all') && /start:/.test(e.message));
    assert.equal(s.up, false);
    await assert.rejects(s.get('x'), SessionStoreUnavailableError);
    const refused = store(`postgres://u:secret-pw-123@127.0.0.1:1/db`);
    await assert.rejects(refused.start(), (e: Error) => e instanceof SessionStoreUnavailableError && !e.message.includes('secret-pw-123'));
  });
});
