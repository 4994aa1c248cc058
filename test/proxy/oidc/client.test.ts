// The OIDC client on its own: token verification (checklist #12), the pinned algorithm, the JWKS
// cache refetched on an unknown kid, the authorize URL, browser-host rewriting, header parsing.
import { strict as assert } from 'node:assert';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { HttpPool } from '../../../src/net/pool.ts';
import { OidcClient, OidcError, redirectUriFor, type OidcConfiguration } from '../../../src/proxy/oidc/index.ts';
import { parseAuthorization } from '../../../src/proxy/protocol/index.ts';
import { serveLoopback, type Served } from '../../support/serve.ts';

const ISSUER = 'http://ak/application/o/app/';
const CLIENT_ID = 'AbCdEfGh1234';
const SECRET = 'S1';

function oidc(base: string, algs: string[]): OidcConfiguration {
  return {
    issuer: ISSUER,
    authorization_endpoint: `${base}/application/o/authorize/`,
    token_endpoint: `${base}/application/o/token/`,
    end_session_endpoint: `${base}/application/o/app/end-session/`,
    introspection_endpoint: `${base}/application/o/introspect/`,
    jwks_uri: `${base}/application/o/app/jwks/`,
    id_token_signing_alg_values_supported: algs,
  };
}

const claims = { preferred_username: 'alice', sub: 'U1', sid: 'H1' };
const hs = (over: { secret?: string; iss?: string; aud?: string; exp?: number } = {}) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(over.iss ?? ISSUER)
    .setAudience(over.aud ?? CLIENT_ID)
    .setExpirationTime(over.exp ?? Math.floor(Date.now() / 1000) + 300)
    .sign(new TextEncoder().encode(over.secret ?? SECRET));

describe('OidcClient', () => {
  const dispatcher = new HttpPool();
  let served: Served | undefined;
  let base = '';
  let jwks: { keys: JWK[] } = { keys: [] };
  let jwksFetches = 0;
  let lastTokenRequest: { headers: Record<string, unknown>; body: string } | undefined;

  before(async () => {
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (req.url === '/application/o/app/jwks/') {
          jwksFetches++;
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(jwks));
          return;
        }
        lastTokenRequest = { headers: req.headers, body };
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'invalid_grant' }));
      });
    });
    served = await serveLoopback(server);
    base = `http://127.0.0.1:${served.port}`;
  });
  after(async () => {
    await served?.close();
    await dispatcher.close();
  });

  const client = (algs = ['HS256'], browserOrigin?: URL) =>
    new OidcClient({ clientId: CLIENT_ID, clientSecret: SECRET, externalHost: 'https://app.example.com', scopes: ['openid', 'profile', 'email', 'ak_proxy'], oidc: oidc(base, algs) }, { dispatcher, timeoutMs: 2000, userAgent: 'test', browserOrigin });

  test('the authorize URL carries client_id, the callback redirect_uri, code, the scopes and the state, in that order', () => {
    const u = new URL(client().authorizeUrl('st ate'));
    assert.deepEqual([...u.searchParams], [
      ['client_id', CLIENT_ID],
      ['redirect_uri', 'https://app.example.com/outpost.goauthentik.io/callback?X-authentik-auth-callback=true'],
      ['response_type', 'code'],
      ['scope', 'openid profile email ak_proxy'],
      ['state', 'st ate'],
    ]);
    assert.equal(redirectUriFor('https://app.example.com/sub/'), 'https://app.example.com/sub/outpost.goauthentik.io/callback?X-authentik-auth-callback=true');
  });

  test('#12 an HS256 token with the client secret, issuer, audience and a future exp verifies', async () => {
    const v = await client().verify(await hs());
    assert.equal(v.payload['preferred_username'], 'alice');
  });

  test('#12 wrong secret, wrong iss, another aud, or an exp in the past is rejected', async () => {
    for (const token of [await hs({ secret: 'other' }), await hs({ iss: 'http://evil/' }), await hs({ aud: 'someone-else' }), await hs({ exp: Math.floor(Date.now() / 1000) - 1 })]) {
      await assert.rejects(client().verify(token), (e: unknown) => e instanceof OidcError && e.code === 'token_invalid');
    }
  });

  test('the algorithm is pinned: an HS256 token is refused when the provider signs RS256, and alg none always', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] };
    const rs = client(['RS256']);
    await assert.rejects(rs.verify(await hs()), OidcError);
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ ...claims, iss: ISSUER, aud: CLIENT_ID, exp: 2e9 })).toString('base64url')}.`;
    await assert.rejects(client().verify(none), OidcError);
    const good = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(ISSUER).setAudience(CLIENT_ID).setExpirationTime('5m').sign(privateKey);
    assert.equal((await rs.verify(good)).payload['sub'], 'U1');
  });

  test('ES256 (a provider with an ECDSA signing key, as the README promises): verified through the JWKS, and pinned', async () => {
    const ec = await generateKeyPair('ES256');
    const rsa = await generateKeyPair('RS256');
    jwks = { keys: [{ ...(await exportJWK(ec.publicKey)), kid: 'e1', alg: 'ES256', use: 'sig' }, { ...(await exportJWK(rsa.publicKey)), kid: 'r1', alg: 'RS256', use: 'sig' }] };
    const es = client(['ES256']);
    const good = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'e1' }).setIssuer(ISSUER).setAudience(CLIENT_ID).setExpirationTime('5m').sign(ec.privateKey);
    assert.equal((await es.verify(good)).payload['sub'], 'U1');
    // Only the advertised algorithm: an RS256 token (even one the JWKS could verify) and HS256 are refused.
    const other = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'r1' }).setIssuer(ISSUER).setAudience(CLIENT_ID).setExpirationTime('5m').sign(rsa.privateKey);
    await assert.rejects(es.verify(other), OidcError);
    await assert.rejects(es.verify(await hs()), OidcError);
    // And the other way round.
    await assert.rejects(client(['RS256']).verify(good), OidcError);
    // Nothing usable advertised: RS256, as before.
    assert.equal((await client([]).verify(other)).payload['sub'], 'U1');
    await assert.rejects(client(['PS512']).verify(good), OidcError);
  });

  test('RS256: the JWKS is cached, and fetched again for an unknown kid (key rotation)', async () => {
    const k1 = await generateKeyPair('RS256');
    const k2 = await generateKeyPair('RS256');
    jwks = { keys: [{ ...(await exportJWK(k1.publicKey)), kid: 'a', alg: 'RS256' }] };
    const rs = client(['RS256']);
    const sign = (key: Parameters<SignJWT["sign"]>[0], kid: string) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).setIssuer(ISSUER).setAudience(CLIENT_ID).setExpirationTime('5m').sign(key);
    const before = jwksFetches;
    await rs.verify(await sign(k1.privateKey, 'a'));
    await rs.verify(await sign(k1.privateKey, 'a'));
    assert.equal(jwksFetches - before, 1);
    jwks = { keys: [...jwks.keys, { ...(await exportJWK(k2.publicKey)), kid: 'b', alg: 'RS256' }] };
    // The first fetch was just now: within the cooldown the set is not fetched again.
    await assert.rejects(rs.verify(await sign(k2.privateKey, 'b')), OidcError);
  });

  test('a refused code is a code_exchange error; the browser host rewrites the authorize and end-session URLs, the issuer and the back-channel Host', async () => {
    const browser = new URL('https://auth.example.com');
    const c = client(['HS256'], browser);
    assert.ok(c.authorizeUrl('s').startsWith('https://auth.example.com/application/o/authorize/?'));
    assert.ok(c.endSessionUrl('t').startsWith('https://auth.example.com/application/o/app/end-session/?id_token_hint=t'));
    assert.equal(c.issuer, 'https://auth.example.com/application/o/app/');
    await assert.rejects(c.exchangeCode('C', new AbortController().signal), (e: unknown) => e instanceof OidcError && e.code === 'code_exchange');
    assert.equal(lastTokenRequest?.headers['host'], 'auth.example.com');
    assert.equal(lastTokenRequest?.headers['x-forwarded-proto'], 'https');
    const form = new URLSearchParams(lastTokenRequest!.body);
    assert.equal(form.get('grant_type'), 'authorization_code');
    assert.equal(form.get('client_secret'), SECRET);
    assert.equal(form.get('redirect_uri'), 'https://app.example.com/outpost.goauthentik.io/callback?X-authentik-auth-callback=true');
  });

  test('the core unreachable is core_unavailable, not a refusal', async () => {
    const c = new OidcClient({ clientId: CLIENT_ID, clientSecret: SECRET, externalHost: 'https://app.example.com', scopes: ['openid'], oidc: oidc('http://127.0.0.1:1', ['HS256']) }, { dispatcher, timeoutMs: 2000, userAgent: 'test' });
    await assert.rejects(c.introspect('t', new AbortController().signal), (e: unknown) => e instanceof OidcError && e.code === 'core_unavailable' && e.isCoreFailure);
  });

  test('Authorization headers: Bearer and Basic are recognised, anything else is not', () => {
    assert.deepEqual(parseAuthorization('Bearer abc'), { kind: 'bearer', token: 'abc' });
    assert.deepEqual(parseAuthorization('bearer abc'), { kind: 'bearer', token: 'abc' });
    assert.deepEqual(parseAuthorization(`Basic ${Buffer.from('u:p:q').toString('base64')}`), { kind: 'basic', username: 'u', password: 'p:q' });
    assert.equal(parseAuthorization('Basic bm9jb2xvbg=='), undefined);
    assert.equal(parseAuthorization('Digest x'), undefined);
    assert.equal(parseAuthorization('Bearer '), undefined);
    assert.equal(parseAuthorization(undefined), undefined);
  });
});
