// The callback through the whole pipeline (checklist 12.2 #12): whatever is wrong with the token
// the core hands back (another secret, issuer or audience, an expiry in the past, no access
// token at all), the answer is 400 with an empty body and no session results.
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { request } from 'undici';
import { startHarness, type Harness } from './harness.ts';

const CLIENT_ID = 'AbCdEfGh1234567890abcdefghijklmnopqrstuv';
const ISSUER = 'http://ak/application/o/app/';

function token(over: { secret?: string; iss?: string; aud?: string; exp?: number } = {}): Promise<string> {
  return new SignJWT({ sub: 'U1', preferred_username: 'alice', sid: 'H1' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(over.iss ?? ISSUER)
    .setAudience(over.aud ?? CLIENT_ID)
    .setExpirationTime(over.exp ?? Math.floor(Date.now() / 1000) + 300)
    .sign(new TextEncoder().encode(over.secret ?? 'S1'));
}

async function get(h: Harness, path: string, cookie?: string): Promise<{ status: number; body: string; location: string | undefined; cookies: string[] }> {
  const res = await request(`${h.origin}${path}`, { headers: { host: 'app.example.com', ...(cookie ? { cookie } : {}) } });
  const body = await res.body.text();
  const sc = res.headers['set-cookie'];
  return { status: res.statusCode, body, location: res.headers['location'] as string | undefined, cookies: sc === undefined ? [] : Array.isArray(sc) ? sc : [sc] };
}

describe('callback (checklist #12)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness([{}]);
  });
  after(async () => {
    await h?.close();
  });

  /** /start, then the callback with the state it issued and the cookie it set. */
  async function callback(): Promise<{ status: number; body: string; location: string | undefined; cookies: string[]; cookie: string }> {
    const start = await get(h, '/outpost.goauthentik.io/start?rd=%2Fafter');
    assert.equal(start.status, 302);
    const state = new URL(start.location!).searchParams.get('state')!;
    const cookie = start.cookies[0]!.split(';')[0]!;
    const r = await get(h, `/outpost.goauthentik.io/callback?X-authentik-auth-callback=true&code=C&state=${encodeURIComponent(state)}`, cookie);
    return { ...r, cookie };
  }

  test('a good token logs in (the baseline)', async () => {
    const access = await token();
    h.token = () => ({ status: 200, body: { access_token: access, token_type: 'bearer' } });
    const r = await callback();
    assert.equal(r.status, 302, r.body);
    assert.equal(r.location, 'https://app.example.com/after');
    assert.equal((await h.store.size()), 1);
    assert.equal(h.tokenRequests.at(-1)!.get('client_secret'), 'S1');
  });

  test('wrong secret, wrong iss, another aud, an exp in the past, no access_token: 400, empty body, no session', async () => {
    const cases: Record<string, () => Promise<unknown>> = {
      secret: async () => ({ access_token: await token({ secret: 'S2' }) }),
      iss: async () => ({ access_token: await token({ iss: 'http://ak/application/o/other/' }) }),
      aud: async () => ({ access_token: await token({ aud: 'someone-else' }) }),
      exp: async () => ({ access_token: await token({ exp: Math.floor(Date.now() / 1000) - 5 }) }),
      none: async () => ({ id_token: await token() }),
      garbage: async () => ({ access_token: 'not.a.jwt' }),
    };
    for (const [what, body] of Object.entries(cases)) {
      const sessions = await h.store.size();
      const answer = await body();
      h.token = () => ({ status: 200, body: answer });
      const r = await callback();
      assert.equal(r.status, 400, `${what}: ${r.status} ${r.body}`);
      assert.equal(r.body, '', what);
      assert.equal((await h.store.size()), sessions, `${what}: a session was stored`);
      assert.ok(!r.cookies.some((c) => /Max-Age=[1-9]/.test(c)), `${what}: a session cookie was set`);
      // And the next request is still sent to the login.
      assert.equal((await get(h, '/x', r.cookie)).status, 302, what);
    }
  });

  test('two tabs of one browser: the second callback, arriving after the first logged in (its cookie replaced), returns to its own URL', async () => {
    const access = await token();
    h.token = () => ({ status: 200, body: { access_token: access, token_type: 'bearer' } });
    const path = (r: { location: string | undefined }) => new URL(r.location!).pathname + new URL(r.location!).search;
    const one = await get(h, '/one');
    const two = await get(h, '/two');
    const startOne = await get(h, path(one));
    const preLogin = startOne.cookies[0]!.split(';')[0]!;
    const startTwo = await get(h, path(two), preLogin);
    assert.equal(startTwo.cookies.length, 0, 'the second tab reuses the pre-login cookie');
    const state = (r: { location: string | undefined }) => encodeURIComponent(new URL(r.location!).searchParams.get('state')!);
    const cb1 = await get(h, `/outpost.goauthentik.io/callback?X-authentik-auth-callback=true&code=C1&state=${state(startOne)}`, preLogin);
    assert.equal(cb1.status, 302, cb1.body);
    assert.equal(cb1.location, 'https://app.example.com/one');
    const loggedIn = cb1.cookies.at(-1)!.split(';')[0]!;
    const exchanges = h.tokenRequests.length;
    // The browser now sends the session cookie the first callback set.
    const cb2 = await get(h, `/outpost.goauthentik.io/callback?X-authentik-auth-callback=true&code=C2&state=${state(startTwo)}`, loggedIn);
    assert.equal(cb2.status, 302, `${cb2.status} ${cb2.body}`);
    assert.equal(cb2.location, 'https://app.example.com/two');
    // Nothing exchanged, nothing replaced: the session the first tab made goes on.
    assert.equal(h.tokenRequests.length, exchanges);
    assert.deepEqual(cb2.cookies, []);
    assert.equal((await get(h, '/two', loggedIn)).status, 200, 'logged in');
  });

  test('a state bound to another browser is still 400 without a session here (no login CSRF), and with one nothing is exchanged', async () => {
    h.token = () => ({ status: 200, body: { access_token: 'x' } });
    const theirs = await get(h, '/outpost.goauthentik.io/start?rd=%2Fx');
    const state = encodeURIComponent(new URL(theirs.location!).searchParams.get('state')!);
    const exchanges = h.tokenRequests.length;
    const none = await get(h, `/outpost.goauthentik.io/callback?X-authentik-auth-callback=true&code=C&state=${state}`);
    assert.equal(none.status, 400);
    const mine = await get(h, '/outpost.goauthentik.io/start');
    const other = await get(h, `/outpost.goauthentik.io/callback?X-authentik-auth-callback=true&code=C&state=${state}`, mine.cookies[0]!.split(';')[0]!);
    assert.equal(other.status, 400, 'a pre-login cookie is no session');
    assert.equal(h.tokenRequests.length, exchanges);
  });
  test('sign-out tries every deletion even when the first fails (a shared store keeps each for replay)', async () => {
    const access = await token();
    h.token = () => ({ status: 200, body: { access_token: access, token_type: 'bearer' } });
    const login = await callback();
    assert.equal(login.status, 302, login.body);
    const session = login.cookies.at(-1)!.split(';')[0]!;
    const store = h.store;
    const tried: string[] = [];
    const original = { delete: store.delete, deleteByUser: store.deleteByUser, deleteBySid: store.deleteBySid };
    store.delete = async () => {
      tried.push('delete');
      throw new Error('store down');
    };
    store.deleteByUser = async (sub: string) => {
      tried.push(`user ${sub}`);
      return 0;
    };
    store.deleteBySid = async (sid: string) => {
      tried.push(`sid ${sid}`);
      return 0;
    };
    try {
      const out = await get(h, '/outpost.goauthentik.io/sign_out', session);
      assert.equal(out.status, 302);
      assert.deepEqual(tried.sort(), ['delete', 'sid H1', 'user U1']);
    } finally {
      Object.assign(store, original);
    }
  });
});
