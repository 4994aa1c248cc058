// The header-auth cache on its own: keyed by a hash of the canonical credentials and the client
// (every spelling of one credential shares an entry), bounded, and never vouching for a token
// past its own expiry, even within the 60 s it keeps results.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { HeaderAuthCache, type OidcClient, type VerifiedToken } from '../../../src/proxy/oidc/index.ts';
import { parseAuthorization, type Authorization } from '../../../src/proxy/protocol/index.ts';

const nowS = () => Math.floor(Date.now() / 1000);
const signal = new AbortController().signal;

/** The credentials of a header value the parser accepts. */
function creds(header: string): Authorization {
  const c = parseAuthorization(header);
  assert.ok(c, `parses: ${header}`);
  return c;
}

type StubClient = OidcClient & { calls: number; asked: string[] };

/** A client whose introspection and client_credentials answer `claims(what was asked)` and count the calls. */
function stubClient(clientId: string, claims: (token: string) => Record<string, unknown>): StubClient {
  const c = {
    clientId,
    calls: 0,
    asked: [] as string[],
    async introspect(token: string): Promise<VerifiedToken> {
      c.calls++;
      c.asked.push(`introspect ${token}`);
      return { payload: { active: true, ...claims(token) }, raw: token };
    },
    async clientCredentials(username: string, password: string): Promise<VerifiedToken> {
      c.calls++;
      c.asked.push(`client_credentials ${username} ${password}`);
      return { payload: { ...claims(username) }, raw: `id-token-of-${username}` };
    },
  };
  return c as unknown as StubClient;
}

describe('the header-auth cache', () => {
  test('each header and each client has its own entry; a hit calls the core no more', async () => {
    const cache = new HeaderAuthCache();
    const a = stubClient('client-a', (t) => ({ sub: t, exp: nowS() + 300 }));
    const b = stubClient('client-b', (t) => ({ sub: `b-${t}`, exp: nowS() + 300 }));
    assert.equal((await cache.authenticate(a, creds('Bearer one'), signal))?.payload['sub'], 'one');
    assert.equal((await cache.authenticate(a, creds('Bearer two'), signal))?.payload['sub'], 'two');
    assert.equal((await cache.authenticate(a, creds('Bearer one'), signal))?.payload['sub'], 'one');
    assert.equal(a.calls, 2);
    assert.equal((await cache.authenticate(b, creds('Bearer one'), signal))?.payload['sub'], 'b-one');
    assert.equal(b.calls, 1);
  });

  test('every spelling of one Bearer token shares one entry: one introspection, of the bare token', async () => {
    const cache = new HeaderAuthCache();
    const a = stubClient('client-a', (t) => ({ sub: t, exp: nowS() + 300 }));
    for (const h of ['Bearer tok', 'bearer tok', 'BEARER tok', 'Bearer   tok', 'Bearer\ttok', 'Bearer tok  ', ' Bearer \t tok\t']) {
      assert.equal((await cache.authenticate(a, creds(h), signal)).payload['sub'], 'tok', h);
    }
    assert.deepEqual(a.asked, ['introspect tok']);
    assert.equal(cache.size, 1);
  });

  test('every spelling of one Basic credential shares one entry: one client_credentials grant, with the decoded values', async () => {
    const cache = new HeaderAuthCache();
    const a = stubClient('client-a', (u) => ({ sub: u, exp: nowS() + 300 }));
    const b64 = Buffer.from('bob:pw:x').toString('base64');
    for (const h of [`Basic ${b64}`, `basic ${b64}`, `BASIC\t${b64}`, `Basic   ${b64}  `]) await cache.authenticate(a, creds(h), signal);
    assert.deepEqual(a.asked, ['client_credentials bob pw:x']);
    assert.equal(cache.size, 1);
    // Another credential is another entry.
    await cache.authenticate(a, creds(`Basic ${Buffer.from('bob:pw:y').toString('base64')}`), signal);
    assert.equal(a.calls, 2);
  });

  test('Basic with the token username introspects the password', async () => {
    const cache = new HeaderAuthCache();
    const a = stubClient('client-a', (t) => ({ sub: t, exp: nowS() + 300 }));
    await cache.authenticate(a, creds(`Basic ${Buffer.from('goauthentik.io/token:apptok').toString('base64')}`), signal);
    assert.deepEqual(a.asked, ['introspect apptok']);
  });

  test('bounded in entries: the oldest goes', async () => {
    const cache = new HeaderAuthCache({ max: 3 });
    const a = stubClient('client-a', (t) => ({ sub: t, exp: nowS() + 300 }));
    for (const t of ['1', '2', '3', '4']) await cache.authenticate(a, creds(`Bearer ${t}`), signal);
    assert.equal(cache.size, 3);
    assert.equal(cache.has(a, creds('Bearer 1')), false);
    assert.equal(cache.has(a, creds('Bearer 4')), true);
  });

  test('a token that expires within the 60 s is not vouched for past its exp', async () => {
    const cache = new HeaderAuthCache();
    const a = stubClient('client-a', () => ({ sub: 'U1', exp: nowS() + 1 }));
    await cache.authenticate(a, creds('Bearer short'), signal);
    assert.equal(a.calls, 1);
    assert.equal(cache.has(a, creds('Bearer short')), true);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    assert.equal(cache.has(a, creds('Bearer short')), false);
    await cache.authenticate(a, creds('Bearer short'), signal);
    assert.equal(a.calls, 2, 'asked the core again');
  });

  test('a result whose exp has passed is not kept', async () => {
    const cache = new HeaderAuthCache();
    const expired = stubClient('client-a', () => ({ sub: 'U1', exp: nowS() - 5 }));
    await cache.authenticate(expired, creds('Bearer old'), signal);
    await cache.authenticate(expired, creds('Bearer old'), signal);
    assert.equal(expired.calls, 2);
    assert.equal(cache.size, 0);
  });
});
