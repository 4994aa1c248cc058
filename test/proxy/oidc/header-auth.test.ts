// The header-auth cache on its own: keyed by a hash of the exact header and the client, bounded,
// and never vouching for a token past its own expiry, even within the 60 s it keeps results.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { HeaderAuthCache, type OidcClient, type VerifiedToken } from '../../../src/proxy/oidc/index.ts';

const nowS = () => Math.floor(Date.now() / 1000);
const signal = new AbortController().signal;

/** A client whose introspection answers `claims(token)` and counts the calls. */
function stubClient(clientId: string, claims: (token: string) => Record<string, unknown>): OidcClient & { calls: number } {
  const c = {
    clientId,
    calls: 0,
    async introspect(token: string): Promise<VerifiedToken> {
      c.calls++;
      return { payload: { active: true, ...claims(token) }, raw: token };
    },
  };
  return c as unknown as OidcClient & { calls: number };
}

describe('the header-auth cache', () => {
  test('each header and each client has its own entry; a hit calls the core no more', async () => {
    const cache = new HeaderAuthCache();
    const a = stubClient('client-a', (t) => ({ sub: t, exp: nowS() + 300 }));
    const b = stubClient('client-b', (t) => ({ sub: `b-${t}`, exp: nowS() + 300 }));
    assert.equal((await cache.authenticate(a, 'Bearer one', signal))?.payload['sub'], 'one');
    assert.equal((await cache.authenticate(a, 'Bearer two', signal))?.payload['sub'], 'two');
    assert.equal((await cache.authenticate(a, 'Bearer one', signal))?.payload['sub'], 'one');
    assert.equal(a.calls, 2);
    assert.equal((await cache.authenticate(b, 'Bearer one', signal))?.payload['sub'], 'b-one');
    assert.equal(b.calls, 1);
    assert.equal(await cache.authenticate(a, 'Digest x', signal), undefined);
  });

  test('bounded in entries: the oldest goes', async () => {
    const cache = new HeaderAuthCache({ max: 3 });
    const a = stubClient('client-a', (t) => ({ sub: t, exp: nowS() + 300 }));
    for (const t of ['1', '2', '3', '4']) await cache.authenticate(a, `Bearer ${t}`, signal);
    assert.equal(cache.size, 3);
    assert.equal(cache.has(a, 'Bearer 1'), false);
    assert.equal(cache.has(a, 'Bearer 4'), true);
  });

  test('a token that expires within the 60 s is not vouched for past its exp', async () => {
    const cache = new HeaderAuthCache();
    const a = stubClient('client-a', () => ({ sub: 'U1', exp: nowS() + 1 }));
    await cache.authenticate(a, 'Bearer short', signal);
    assert.equal(a.calls, 1);
    assert.equal(cache.has(a, 'Bearer short'), true);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    assert.equal(cache.has(a, 'Bearer short'), false);
    await cache.authenticate(a, 'Bearer short', signal);
    assert.equal(a.calls, 2, 'asked the core again');
  });

  test('a result whose exp has passed is not kept', async () => {
    const cache = new HeaderAuthCache();
    const expired = stubClient('client-a', () => ({ sub: 'U1', exp: nowS() - 5 }));
    await cache.authenticate(expired, 'Bearer old', signal);
    await cache.authenticate(expired, 'Bearer old', signal);
    assert.equal(expired.calls, 2);
    assert.equal(cache.size, 0);
  });
});
