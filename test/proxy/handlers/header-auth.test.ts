// Header authentication never makes a path that needs no login depend on the core: with the core
// failing, a request to a skip path that carries an Authorization header (an API client's own
// token, say) is served as without one, in proxy mode and in forward auth. Elsewhere the core
// failing stays a 503 (fail closed), and a token the core accepts still authenticates.
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { request } from 'undici';
import { startHarness, type Harness } from './harness.ts';

const P2 = { pk: 2, name: 'P2', external_host: 'https://fs.example.com', mode: 'forward_single' as const, skip_path_regex: '^/health$', client_id: 'FsClient0000000000000000000000000000000', cookie_secret: 'C2C2C2C2C2C2C2C2C2C2C2C2C2C2C2C2' };

async function get(h: Harness, path: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown> }> {
  const res = await request(`${h.origin}${path}`, { headers });
  await res.body.text();
  return { status: res.statusCode, headers: res.headers };
}

describe('header authentication while the core fails', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness([{}, P2]);
    h.introspect = () => ({ status: 503, body: { detail: 'down' } });
  });
  after(async () => {
    await h?.close();
  });

  test('proxy mode: a skip path with an Authorization header is proxied (without identity), not a 503', async () => {
    const hits = h.upstreamHits.length;
    const r = await get(h, '/public/x', { host: 'app.example.com', authorization: 'Bearer app-own-token' });
    assert.equal(r.status, 200);
    assert.equal(h.upstreamHits.length, hits + 1);
    assert.equal(h.upstreamHits.at(-1)!.headers['x-authentik-username'], undefined);
    // The header was not consumed: the upstream's own credential reaches it.
    assert.equal(h.upstreamHits.at(-1)!.headers['authorization'], 'Bearer app-own-token');
  });

  test('forward auth: a skip path with an Authorization header is 200, not a 503', async () => {
    const n = await get(h, '/outpost.goauthentik.io/auth/nginx', { host: 'fs.example.com', authorization: 'Bearer x', 'x-original-url': 'https://fs.example.com/health' });
    assert.equal(n.status, 200);
    assert.equal(n.headers['x-authentik-username'], undefined);
    const t = await get(h, '/outpost.goauthentik.io/auth/traefik', { host: 'fs.example.com', authorization: 'Bearer x', 'x-forwarded-proto': 'https', 'x-forwarded-uri': '/health' });
    assert.equal(t.status, 200);
  });

  test('elsewhere the core failing is still 503 (never a 302 or 401 for credentials it could not check)', async () => {
    assert.equal((await get(h, '/private', { host: 'app.example.com', authorization: 'Bearer x' })).status, 503);
    assert.equal((await get(h, '/outpost.goauthentik.io/auth/nginx', { host: 'fs.example.com', authorization: 'Bearer x', 'x-original-url': 'https://fs.example.com/secret' })).status, 503);
  });

  test('a token the core accepts still authenticates on a skip path (identity headers sent)', async () => {
    h.introspect = () => ({ status: 200, body: { active: true, sub: 'U1', preferred_username: 'alice', exp: Math.floor(Date.now() / 1000) + 300 } });
    try {
      const r = await get(h, '/public/y', { host: 'app.example.com', authorization: 'Bearer good' });
      assert.equal(r.status, 200);
      assert.equal(h.upstreamHits.at(-1)!.headers['x-authentik-username'], 'alice');
    } finally {
      h.introspect = () => ({ status: 503, body: { detail: 'down' } });
    }
  });
});

describe('header authentication on the wire (checklist #25, #26)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness([{}]);
  });
  after(async () => {
    await h?.close();
  });

  test('#25 Bearer: introspection gets client_id, client_secret and the token; the upstream no Authorization; a Set-Cookie; the same header within 60 s without the cookie calls the core no more', async () => {
    h.introspect = () => ({ status: 200, body: { active: true, sub: 'U1', preferred_username: 'alice', exp: Math.floor(Date.now() / 1000) + 300 } });
    const first = await get(h, '/api', { host: 'app.example.com', authorization: 'Bearer T' });
    assert.equal(first.status, 200);
    assert.equal(h.introspectRequests.length, 1);
    const form = h.introspectRequests[0]!;
    assert.equal(form.get('client_id'), 'AbCdEfGh1234567890abcdefghijklmnopqrstuv');
    assert.equal(form.get('client_secret'), 'S1');
    assert.equal(form.get('token'), 'T');
    assert.equal(h.upstreamHits.at(-1)!.headers['authorization'], undefined);
    assert.equal(h.upstreamHits.at(-1)!.headers['x-authentik-username'], 'alice');
    assert.ok(String(first.headers['set-cookie']).startsWith('authentik_proxy_AbCdEfGh='));
    const again = await get(h, '/api', { host: 'app.example.com', authorization: 'Bearer T' });
    assert.equal(again.status, 200);
    assert.equal(h.introspectRequests.length, 1, 'introspected again within the minute');
  });

  test('#26 Basic: client_credentials with client_id, username, password and scope (no secret); X-authentik-jwt is the id_token', async () => {
    const idToken = await new SignJWT({ sub: 'U2', preferred_username: 'bob' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('http://ak/application/o/app/')
      .setAudience('AbCdEfGh1234567890abcdefghijklmnopqrstuv')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('S1'));
    h.token = () => ({ status: 200, body: { access_token: 'opaque', id_token: idToken } });
    const r = await get(h, '/api', { host: 'app.example.com', authorization: `Basic ${Buffer.from('bob:apppw').toString('base64')}` });
    assert.equal(r.status, 200);
    const form = h.tokenRequests.at(-1)!;
    assert.equal(form.get('grant_type'), 'client_credentials');
    assert.equal(form.get('client_id'), 'AbCdEfGh1234567890abcdefghijklmnopqrstuv');
    assert.equal(form.get('username'), 'bob');
    assert.equal(form.get('password'), 'apppw');
    assert.equal(form.get('scope'), 'openid profile email ak_proxy');
    assert.equal(form.get('client_secret'), null);
    assert.equal(h.upstreamHits.at(-1)!.headers['x-authentik-jwt'], idToken);
    assert.equal(h.upstreamHits.at(-1)!.headers['x-authentik-username'], 'bob');
  });
});

describe('header authentication: one credential, one core call and one session, however it is spelled', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness([{}]);
    h.introspect = (form) => ({ status: 200, body: { active: true, sub: `sub-${form.get('token')}`, preferred_username: String(form.get('token')), exp: Math.floor(Date.now() / 1000) + 300 } });
  });
  after(async () => {
    await h?.close();
  });

  /** A request to the app's protected path, without keeping any cookie. */
  const api = (authorization: string) => get(h, '/api', { host: 'app.example.com', authorization });

  /** An id_token for `user` as the stub core's token endpoint would sign it. */
  const idToken = (user: string) =>
    new SignJWT({ sub: `sub-${user}`, preferred_username: user })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('http://ak/application/o/app/')
      .setAudience('AbCdEfGh1234567890abcdefghijklmnopqrstuv')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('S1'));

  test('Bearer: scheme case, spaces and tabs between scheme and token, trailing whitespace: one introspection, one stored session, the bare token introspected', async () => {
    const calls = h.introspectRequests.length;
    const sessions = await h.store.size();
    const cookies = new Set<string>();
    for (const v of ['Bearer variant-tok', 'bearer variant-tok', 'BEARER variant-tok', 'Bearer    variant-tok', 'Bearer\tvariant-tok', 'bEaReR \t variant-tok', 'Bearer variant-tok  ', 'Bearer variant-tok\t']) {
      const r = await api(v);
      assert.equal(r.status, 200, JSON.stringify(v));
      assert.equal(h.upstreamHits.at(-1)!.headers['x-authentik-username'], 'variant-tok');
      cookies.add(String(r.headers['set-cookie']).split(';')[0]!);
    }
    assert.equal(h.introspectRequests.length, calls + 1);
    assert.equal(h.introspectRequests.at(-1)!.get('token'), 'variant-tok');
    assert.equal(await h.store.size(), sessions + 1);
    assert.equal(cookies.size, 1, 'one session cookie for every spelling');
  });

  test('Basic: scheme case and whitespace: one client_credentials grant with the decoded values, one stored session; the unpadded spelling is refused', async () => {
    const jwt = await idToken('carol');
    h.token = (form) => (form.get('username') === 'carol' && form.get('password') === 'app:pw' ? { status: 200, body: { access_token: 'opaque', id_token: jwt } } : { status: 400, body: { error: 'invalid_grant' } });
    const calls = h.tokenRequests.length;
    const sessions = await h.store.size();
    const cred = Buffer.from('carol:app:pw').toString('base64'); // Y2Fyb2w6YXBwOnB3: no padding needed
    const padded = Buffer.from('carol:app:pw1').toString('base64');
    assert.ok(padded.endsWith('='));
    for (const v of [`Basic ${cred}`, `basic ${cred}`, `BASIC ${cred}`, `Basic   ${cred}`, `Basic\t${cred}`, `Basic ${cred}  `]) {
      const r = await api(v);
      assert.equal(r.status, 200, JSON.stringify(v));
      assert.equal(h.upstreamHits.at(-1)!.headers['x-authentik-username'], 'carol');
    }
    assert.equal(h.tokenRequests.length, calls + 1);
    assert.equal(h.tokenRequests.at(-1)!.get('username'), 'carol');
    assert.equal(h.tokenRequests.at(-1)!.get('password'), 'app:pw');
    assert.equal(await h.store.size(), sessions + 1);
    // Padding: the padded spelling is the credential; without its padding (which Node would decode
    // to the same bytes) it is no credential at all, so neither another grant nor another session.
    const jwt1 = await idToken('dave');
    h.token = () => ({ status: 200, body: { access_token: 'opaque', id_token: jwt1 } });
    assert.equal((await api(`Basic ${padded}`)).status, 200);
    assert.equal((await api(`basic  ${padded}`)).status, 200);
    assert.equal((await api(`Basic ${padded.replace(/=+$/, '')}`)).status, 401);
    assert.equal(h.tokenRequests.length, calls + 2);
    assert.equal(await h.store.size(), sessions + 2);
  });

  test('a Bearer token with whitespace inside, or an empty one, is not authenticated and asks the core nothing', async () => {
    const calls = h.introspectRequests.length + h.tokenRequests.length;
    const sessions = await h.store.size();
    const hits = h.upstreamHits.length;
    for (const v of ['Bearer variant-tok x', 'Bearer variant-tok\tx', 'Bearer variant\u00a0tok', 'Bearer', 'Bearer   ', 'bearer\t']) {
      const r = await api(v);
      assert.equal(r.status, 401, JSON.stringify(v));
      assert.equal(r.headers['set-cookie'], undefined);
    }
    assert.equal(h.introspectRequests.length + h.tokenRequests.length, calls);
    assert.equal(await h.store.size(), sessions);
    assert.equal(h.upstreamHits.length, hits);
  });

  test('invalid base64 is not authenticated and asks the core nothing (Node would skip the invalid characters)', async () => {
    const calls = h.introspectRequests.length + h.tokenRequests.length;
    const sessions = await h.store.size();
    const cred = Buffer.from('carol:app:pw').toString('base64');
    for (const v of [`Basic ${cred}!!!`, `Basic ${cred.slice(0, 4)}!${cred.slice(4)}`, `Basic ${cred.slice(0, 8)} ${cred.slice(8)}`, `Basic ${cred}====`, `Basic ${Buffer.from('nocolon').toString('base64')}`, 'Basic']) {
      const r = await api(v);
      assert.equal(r.status, 401, JSON.stringify(v));
    }
    assert.equal(h.introspectRequests.length + h.tokenRequests.length, calls);
    assert.equal(await h.store.size(), sessions);
  });

  test('different credentials still get different sessions', async () => {
    const calls = h.introspectRequests.length;
    const sessions = await h.store.size();
    const cookies = new Set<string>();
    for (const v of ['Bearer other-1', 'Bearer other-2', 'Bearer OTHER-1']) {
      const r = await api(v);
      assert.equal(r.status, 200);
      cookies.add(String(r.headers['set-cookie']).split(';')[0]!);
    }
    assert.equal(h.introspectRequests.length, calls + 3, 'a token is case-sensitive');
    assert.equal(await h.store.size(), sessions + 3);
    assert.equal(cookies.size, 3);
  });
});
