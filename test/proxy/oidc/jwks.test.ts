// The JWKS as input: a key set that is huge, slow, failing, full of keys of other types, or
// rotated. The core is asked at most once per cooldown, whatever the tokens say, and a key set it
// cannot serve is the core's failure (`jwks`, a 503), never a verdict on the token.
import { strict as assert } from 'node:assert';
import { createServer } from 'node:http';
import { after, before, beforeEach, describe, test, type TestContext } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { HttpPool } from '../../../src/net/pool.ts';
import { OidcClient, OidcError } from '../../../src/proxy/oidc/index.ts';
import { serveLoopback, type Served } from '../../support/serve.ts';

const ISSUER = 'http://ak/application/o/app/';
const CLIENT_ID = 'AbCdEfGh1234';

type Answer = { status: number; body: string; delayMs?: number };

describe('the JWKS', () => {
  const dispatcher = new HttpPool();
  let served: Served | undefined;
  let base = '';
  let answer: () => Answer = () => ({ status: 200, body: '{"keys":[]}' });
  let fetches = 0;
  let k1: { privateKey: CryptoKey; publicKey: CryptoKey };
  let k2: { privateKey: CryptoKey; publicKey: CryptoKey };
  let jwk1: JWK;

  before(async () => {
    k1 = await generateKeyPair('RS256');
    k2 = await generateKeyPair('RS256');
    jwk1 = { ...(await exportJWK(k1.publicKey)), kid: 'a', alg: 'RS256', use: 'sig' };
    const server = createServer((req, res) => {
      fetches++;
      const a = answer();
      setTimeout(() => {
        res.writeHead(a.status, { 'content-type': 'application/json' });
        res.end(a.body);
      }, a.delayMs ?? 0);
    });
    served = await serveLoopback(server);
    base = `http://127.0.0.1:${served.port}`;
  });
  after(async () => {
    await served?.close();
    await dispatcher.close();
  });
  beforeEach(() => {
    fetches = 0;
    answer = () => ({ status: 200, body: JSON.stringify({ keys: [jwk1] }) });
  });

  const client = (timeoutMs = 2000) =>
    new OidcClient(
      {
        clientId: CLIENT_ID,
        clientSecret: 'S1',
        externalHost: 'https://app.example.com',
        scopes: ['openid'],
        oidc: {
          issuer: ISSUER,
          authorization_endpoint: `${base}/authorize/`,
          token_endpoint: `${base}/token/`,
          end_session_endpoint: `${base}/end-session/`,
          introspection_endpoint: `${base}/introspect/`,
          jwks_uri: `${base}/jwks/`,
          id_token_signing_alg_values_supported: ['RS256'],
        },
      },
      { dispatcher, timeoutMs, userAgent: 'test' },
    );
  const sign = (key: CryptoKey, kid: string) => new SignJWT({ sub: 'U1' }).setProtectedHeader({ alg: 'RS256', kid }).setIssuer(ISSUER).setAudience(CLIENT_ID).setExpirationTime('1h').sign(key);
  const isCode = (code: string) => (e: unknown) => e instanceof OidcError && e.code === code;
  /** Date only: the HTTP deadlines keep running on real timers. */
  const clock = (t: TestContext) => t.mock.timers.enable({ apis: ['Date'], now: Date.now() });

  test('tokens with ever new unknown kids: one fetch per cooldown, not one per token', async (t) => {
    clock(t);
    const c = client();
    assert.equal((await c.verify(await sign(k1.privateKey, 'a'))).payload.sub, 'U1');
    for (let i = 0; i < 5; i++) await assert.rejects(c.verify(await sign(k2.privateKey, `random-${i}`)), isCode('token_invalid'));
    assert.equal(fetches, 1);
    t.mock.timers.tick(30_000);
    for (let i = 0; i < 5; i++) await assert.rejects(c.verify(await sign(k2.privateKey, `again-${i}`)), isCode('token_invalid'));
    assert.equal(fetches, 2);
  });

  test('a JWKS endpoint that fails is not asked again on every token: neither before a first key set nor for a rotation', async (t) => {
    clock(t);
    answer = () => ({ status: 503, body: '{"detail":"down"}' });
    const c = client();
    const token = await sign(k1.privateKey, 'a');
    for (let i = 0; i < 5; i++) await assert.rejects(c.verify(token), isCode('jwks'));
    assert.equal(fetches, 1, 'a failure answers for the next few seconds');
    t.mock.timers.tick(5_000);
    answer = () => ({ status: 200, body: JSON.stringify({ keys: [jwk1] }) });
    assert.equal((await c.verify(token)).payload.sub, 'U1');
    assert.equal(fetches, 2);

    // Rotated at the core while its JWKS endpoint fails: one refetch per cooldown.
    t.mock.timers.tick(30_000);
    answer = () => ({ status: 503, body: '{"detail":"down"}' });
    const rotated = await sign(k2.privateKey, 'b');
    for (let i = 0; i < 5; i++) await assert.rejects(c.verify(rotated), isCode('jwks'));
    assert.equal(fetches, 3);
    // Tokens of the key it has still verify meanwhile, without a fetch.
    assert.equal((await c.verify(token)).payload.sub, 'U1');
    assert.equal(fetches, 3);
  });

  test('slow: tokens arriving together share one fetch, and its deadline is a jwks failure', async () => {
    answer = () => ({ status: 200, body: JSON.stringify({ keys: [jwk1] }), delayMs: 400 });
    const c = client(150);
    const token = await sign(k1.privateKey, 'a');
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => c.verify(token)));
    assert.equal(fetches, 1);
    for (const r of results) assert.ok(r.status === 'rejected' && isCode('jwks')(r.reason), String(r.status === 'rejected' ? r.reason : r.status));
  });

  test('huge: a key set past 1 MiB is refused unread, as the core failing', async () => {
    const filler = Array.from({ length: 3000 }, (_, i) => ({ ...jwk1, kid: `pad-${i}` }));
    answer = () => ({ status: 200, body: JSON.stringify({ keys: [jwk1, ...filler] }) });
    await assert.rejects(client().verify(await sign(k1.privateKey, 'a')), isCode('jwks'));
  });

  test('garbage: no keys array, not JSON, or a jwks_uri that is no URL is the core failing, not the token', async () => {
    const token = await sign(k1.privateKey, 'a');
    for (const body of ['{"nokeys":true}', 'not json', '[]']) {
      answer = () => ({ status: 200, body });
      await assert.rejects(client().verify(token), isCode('jwks'), body);
    }
    const bad = new OidcClient(
      { clientId: CLIENT_ID, clientSecret: 'S1', externalHost: 'https://app.example.com', scopes: ['openid'], oidc: { issuer: ISSUER, authorization_endpoint: `${base}/a/`, token_endpoint: `${base}/t/`, end_session_endpoint: '', introspection_endpoint: `${base}/i/`, jwks_uri: 'not a url', id_token_signing_alg_values_supported: ['RS256'] } },
      { dispatcher, timeoutMs: 2000, userAgent: 'test' },
    );
    await assert.rejects(bad.verify(token), isCode('jwks'));
  });

  test('many keys of other types and algorithms: only the advertised kind verifies, the others are never used', async () => {
    const ec = await generateKeyPair('ES256');
    const hsKey = { kty: 'oct', k: Buffer.from('S1').toString('base64url'), kid: 'a', alg: 'HS256' };
    const ecKey = { ...(await exportJWK(ec.publicKey)), kid: 'a', alg: 'ES256' };
    const encKey = { ...(await exportJWK(k2.publicKey)), kid: 'a', alg: 'RS256', use: 'enc' };
    const others = Array.from({ length: 100 }, (_, i) => ({ ...ecKey, kid: `ec-${i}` }));
    answer = () => ({ status: 200, body: JSON.stringify({ keys: [hsKey, ecKey, encKey, ...others, jwk1] }) });
    const c = client();
    assert.equal((await c.verify(await sign(k1.privateKey, 'a'))).payload.sub, 'U1');
    // Signed by the encryption-only key under the same kid: refused.
    await assert.rejects(c.verify(await sign(k2.privateKey, 'a')), isCode('token_invalid'));
    // An ES256 token under an EC key's kid: the algorithm is pinned.
    const es = await new SignJWT({ sub: 'U1' }).setProtectedHeader({ alg: 'ES256', kid: 'ec-1' }).setIssuer(ISSUER).setAudience(CLIENT_ID).setExpirationTime('1h').sign(ec.privateKey);
    await assert.rejects(c.verify(es), isCode('token_invalid'));
  });
});
