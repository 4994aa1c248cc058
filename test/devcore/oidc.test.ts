// The core as the OAuth2/OIDC provider of proxy providers, driven over HTTP the way a browser
// (cookie jar, the flow page's executor calls) and a proxy outpost (back-channel calls) drive it,
// in both API generations.
import { after, before, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT, type JSONWebKeySet } from 'jose';
import type { DevCore } from '../../src/devcore/index.ts';
import { bearer, FlowClient, http, openOutpostSocket, PROXY_TOKEN, quietLogger, sidOf, TEST_SEED, until, type Res } from './helpers.ts';
import { startDevCore, totpCode, type AuthentikVersion, type SeedDocument } from '../../src/devcore/index.ts';

const APP = 'test-proxy-app';
const PROVIDER = 'test-proxy-provider';
const REDIRECT = 'http://localhost:9000/outpost.goauthentik.io/callback?X-authentik-auth-callback=true';
const SCOPE = 'openid email profile ak_proxy entitlements';

/** The test seed plus an RSA signing certificate, entitlements and an app password. */
function seed(): SeedDocument {
  const doc = parseYaml(readFileSync(TEST_SEED, 'utf8')) as SeedDocument & Record<string, any>;
  doc.certificates = [...(doc.certificates ?? []), { name: 'test-signing-cert', common_name: 'signing.test.local', key_type: 'rsa' }];
  for (const a of doc.applications ?? []) {
    if (a.slug === APP) a.entitlements = [{ name: 'proxy-editor', groups: ['staff'] }, { name: 'proxy-vpn', groups: ['vpn-contractors'] }, { name: 'judy-only', users: ['judy'] }];
  }
  for (const u of doc.users ?? []) if (u.username === 'alice') u.app_passwords = ['alice-app-password'];
  return doc;
}

function formBody(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const hashOf = (key: string) => createHash('sha256').update(key, 'ascii').digest('hex');

for (const mode of ['2024.4', '2026.8'] as AuthentikVersion[]) {
  describe(`OAuth2/OIDC provider (${mode})`, () => {
    let core: DevCore;
    let clientId: string;
    let clientSecret: string;
    let issuer: string;

    const authorizePath = (over: Record<string, string> = {}) =>
      `/application/o/authorize/?${formBody({ client_id: clientId, redirect_uri: REDIRECT, response_type: 'code', scope: SCOPE, state: 'st-123', ...over })}`;

    /** What the flow page does: executor GET with the page's query, identification POST, follow. */
    async function loginThroughPage(c: FlowClient, pageUrl: string, username: string, password: string): Promise<Res & { api: string }> {
      const u = new URL(pageUrl, core.url);
      const slug = /^\/if\/flow\/([^/]+)\/$/.exec(u.pathname)?.[1];
      assert.ok(slug, `a flow page: ${pageUrl}`);
      const page = await c.get(`${u.pathname}${u.search}`);
      assert.equal(page.status, 200);
      assert.match(page.headers['content-type'] as string, /^text\/html/);
      assert.match(page.text, new RegExp(`data-slug="${slug}"`));
      const api = `/api/v3/flows/executor/${slug}/?query=${encodeURIComponent(u.search.slice(1))}`;
      const first = await c.get(api);
      assert.equal(first.json.component, 'ak-stage-identification');
      let res = await c.post(api, { component: 'ak-stage-identification', uid_field: username, password });
      for (let i = 0; i < 5 && res.status === 302; i++) res = await c.get(res.headers['location'] as string);
      return { ...res, api };
    }

    /** A browser session through authorize → login → authorize again; returns the code. */
    async function codeFor(username: string, password: string, c = new FlowClient(core.url)): Promise<{ client: FlowClient; code: string }> {
      const first = await c.get(authorizePath());
      assert.equal(first.status, 302);
      const done = await loginThroughPage(c, first.headers['location'] as string, username, password);
      assert.equal(done.json.component, 'xak-flow-redirect');
      assert.equal(done.json.to, authorizePath(), 'the flow ends where it was asked to go next');
      const back = await c.get(done.json.to);
      assert.equal(back.status, 302, back.text);
      const loc = new URL(back.headers['location'] as string);
      assert.equal(`${loc.origin}${loc.pathname}`, 'http://localhost:9000/outpost.goauthentik.io/callback');
      assert.equal(loc.searchParams.get('X-authentik-auth-callback'), 'true');
      assert.equal(loc.searchParams.get('state'), 'st-123');
      return { client: c, code: loc.searchParams.get('code') as string };
    }

    const exchange = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
      http(core.url, 'POST', '/application/o/token/', { headers: { ...FORM, ...headers }, rawBody: formBody(fields) });
    const codeGrant = (code: string, extra: Record<string, string> = {}) =>
      exchange({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: clientId, client_secret: clientSecret, ...extra });
    const secret = () => new TextEncoder().encode(clientSecret);

    before(async () => {
      core = await startDevCore({ seed: seed(), port: 0, logger: quietLogger(), authentikVersion: mode });
      const cfg = await http(core.url, 'GET', '/api/v3/outposts/proxy/', { headers: bearer(PROXY_TOKEN) });
      const p = cfg.json.results[0];
      clientId = p.client_id;
      clientSecret = p.client_secret;
      issuer = p.oidc_configuration.issuer;
      assert.equal(issuer, `${core.url}/application/o/${APP}/`);
    });
    after(() => core.close());

    it('code flow: login through the flow page, a code for the registered callback, tokens that verify with the client secret', async () => {
      const { client, code } = await codeFor('alice', 'alice-password');
      const res = await codeGrant(code);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.token_type, 'Bearer');
      assert.equal(res.json.expires_in, 86400);
      const wanted = mode === '2024.4' ? 'openid email profile ak_proxy' : SCOPE;
      assert.deepEqual(res.json.scope.split(' ').sort(), wanted.split(' ').sort());
      for (const t of [res.json.access_token, res.json.id_token]) {
        assert.equal(decodeProtectedHeader(t).alg, 'HS256');
        const { payload } = await jwtVerify(t, secret(), { issuer, audience: clientId });
        const alice = core.admin.getUser('alice') as { uid: string };
        assert.equal(payload.sub, alice.uid, "authentik's default sub mode: the hashed user id");
        assert.equal(payload['sid'], hashOf(sidOf(client.cookie)), 'sid: sha256 of the core session key');
        assert.equal(payload['preferred_username'], 'alice');
        assert.equal(payload['nickname'], 'alice');
        assert.equal(payload['email'], 'alice@example.com');
        assert.equal(payload['email_verified'], mode === '2024.4');
        assert.equal(payload['name'], 'Alice Example');
        assert.deepEqual([...(payload['groups'] as string[])].sort(), ['staff', 'vpn']);
        assert.deepEqual(payload['ak_proxy'], {
          user_attributes: { department: 'engineering', homeDirectory: '/home/alice', 'goauthentik.io/user/sources': ['ldap'] },
          is_superuser: false,
        });
        if (mode === '2024.4') assert.equal(payload['entitlements'], undefined);
        else assert.deepEqual(payload['entitlements'], ['proxy-editor']);
        assert.equal((payload.exp as number) - (payload.iat as number), 86400);
        assert.ok(Math.abs((payload['auth_time'] as number) - Date.now() / 1000) < 30);
      }
      const access = await jwtVerify(res.json.access_token, secret());
      assert.equal(access.payload['azp'], clientId);
      assert.equal(typeof access.payload['uid'], 'string');
    });

    it('a code works once, and not after 60 s', async () => {
      const { code } = await codeFor('alice', 'alice-password');
      assert.equal((await codeGrant(code)).status, 200);
      const again = await codeGrant(code);
      assert.equal(again.status, 400);
      assert.equal(again.json.error, 'invalid_grant');
      const { code: late } = await codeFor('alice', 'alice-password');
      mock.timers.enable({ apis: ['Date'], now: Date.now() + 61_000 });
      try {
        const res = await codeGrant(late);
        assert.equal(res.status, 400);
        assert.equal(res.json.error, 'invalid_grant');
      } finally {
        mock.timers.reset();
      }
    });

    it('a code is bound to its redirect URI and its client', async () => {
      const { code } = await codeFor('alice', 'alice-password');
      const other = await codeGrant(code, { redirect_uri: 'http://localhost:9000?X-authentik-auth-callback=true' });
      assert.equal(other.json.error, 'invalid_grant', 'registered, but not the one the code was issued for');
      const { code: c2 } = await codeFor('alice', 'alice-password');
      const unregistered = await codeGrant(c2, { redirect_uri: 'http://evil.example/cb' });
      assert.equal(unregistered.json.error, 'invalid_client', 'authentik checks the redirect URI against the provider first');
    });

    it('client_secret_basic works like client_secret_post; a wrong or missing secret is invalid_client', async () => {
      const { code } = await codeFor('alice', 'alice-password');
      const basic = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
      const ok = await exchange({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT }, { authorization: basic });
      assert.equal(ok.status, 200, ok.text);
      await jwtVerify(ok.json.id_token, secret(), { issuer, audience: clientId });
      const { code: c2 } = await codeFor('alice', 'alice-password');
      const wrong = await codeGrant(c2, { client_secret: 'not-the-secret' });
      assert.equal(wrong.status, 400);
      assert.deepEqual(Object.keys(wrong.json).sort(), ['error', 'error_description']);
      assert.equal(wrong.json.error, 'invalid_client');
      const wrongBasic = `Basic ${Buffer.from(`${clientId}:nope`).toString('base64')}`;
      assert.equal((await exchange({ grant_type: 'authorization_code', code: c2, redirect_uri: REDIRECT }, { authorization: wrongBasic })).json.error, 'invalid_client');
      assert.equal((await exchange({ grant_type: 'authorization_code', code: c2, redirect_uri: REDIRECT, client_id: 'unknown', client_secret: 'x' })).json.error, 'invalid_client');
      assert.equal((await exchange({ grant_type: 'password', client_id: clientId, client_secret: clientSecret })).json.error, 'unsupported_grant_type');
    });

    it('authorize: an unregistered redirect URI or client is an error page, never a redirect', async () => {
      const c = new FlowClient(core.url);
      for (const path of [authorizePath({ redirect_uri: 'http://evil.example/outpost.goauthentik.io/callback?X-authentik-auth-callback=true' }), authorizePath({ client_id: 'nope' })]) {
        const res = await c.get(path);
        assert.equal(res.status, 400);
        assert.equal(res.headers['location'], undefined);
        assert.match(res.headers['content-type'] as string, /^text\/html/);
        assert.match(res.text, /id="error"/);
      }
      // The second registered URI: the external host itself with the signature.
      const first = await c.get(authorizePath({ redirect_uri: 'http://localhost:9000?X-authentik-auth-callback=true' }));
      assert.equal(first.status, 302);
      assert.match(first.headers['location'] as string, /^\/if\/flow\/id-embedded-flow\/\?next=\/application\/o\/authorize\/%3Fclient_id%3D/);
    });

    it("authorize enforces the application's access policy: a refused user gets 403 and no code", async () => {
      core.admin.setApplicationAccess(APP, ['vpn']);
      try {
        const c = new FlowClient(core.url);
        const first = await c.get(authorizePath());
        const validate = await loginThroughPage(c, first.headers['location'] as string, 'bob', 'bob-password');
        assert.equal(validate.json.component, 'ak-stage-authenticator-validate', 'bob has a TOTP device');
        let res = await c.post(validate.api, { component: 'ak-stage-authenticator-validate', code: totpCode('JBSWY3DPEHPK3PXP') });
        for (let i = 0; i < 5 && res.status === 302; i++) res = await c.get(res.headers['location'] as string);
        assert.equal(res.json.component, 'xak-flow-redirect', res.text);
        const denied = await c.get(res.json.to);
        assert.equal(denied.status, 403);
        assert.equal(denied.headers['location'], undefined);
        assert.match(denied.text, /Permission denied/);
      } finally {
        core.admin.setApplicationAccess(APP, null);
      }
    });

    it('client_credentials: username with the password or an app password; the policy applies; no secret needed', async () => {
      for (const password of ['alice-password', 'alice-app-password']) {
        const res = await exchange({ grant_type: 'client_credentials', client_id: clientId, username: 'alice', password, scope: 'openid email profile ak_proxy' });
        assert.equal(res.status, 200, res.text);
        const { payload } = await jwtVerify(res.json.id_token, secret(), { issuer, audience: clientId });
        assert.equal(payload['preferred_username'], 'alice');
        assert.equal(payload['sid'], undefined, 'no browser session, no sid');
      }
      assert.equal((await exchange({ grant_type: 'client_credentials', client_id: clientId, username: 'alice', password: 'wrong' })).json.error, 'invalid_grant');
      assert.equal((await exchange({ grant_type: 'client_credentials', client_id: clientId, username: 'carol', password: 'carol-password' })).json.error, 'invalid_grant', 'inactive');
      core.admin.setApplicationAccess(APP, ['vpn']);
      try {
        assert.equal((await exchange({ grant_type: 'client_credentials', client_id: clientId, username: 'bob', password: 'bob-password' })).json.error, 'invalid_grant');
      } finally {
        core.admin.setApplicationAccess(APP, null);
      }
    });

    it('introspection: issued tokens are active with their claims; forged, expired or wrongly authenticated ones are not', async () => {
      const { code } = await codeFor('alice', 'alice-password');
      const token = (await codeGrant(code)).json.access_token as string;
      const introspect = (t: string, creds: Record<string, string> = { client_id: clientId, client_secret: clientSecret }) =>
        http(core.url, 'POST', '/application/o/introspect/', { headers: FORM, rawBody: formBody({ token: t, ...creds }) });
      const ok = await introspect(token);
      assert.equal(ok.status, 200);
      assert.equal(ok.json.active, true);
      assert.equal(ok.json.client_id, clientId);
      assert.equal(ok.json.preferred_username, 'alice');
      assert.equal(ok.json.iss, issuer);
      assert.equal(typeof ok.json.scope, 'string');
      const forged = await new SignJWT({ ...(await jwtVerify(token, secret())).payload, uid: 'forged' }).setProtectedHeader({ alg: 'HS256' }).sign(secret());
      assert.deepEqual((await introspect(forged)).json, { active: false }, 'signed with the right key, but never issued');
      assert.deepEqual((await introspect(token, { client_id: clientId, client_secret: 'wrong' })).json, { active: false });
      mock.timers.enable({ apis: ['Date'], now: Date.now() + 86_401_000 });
      try {
        assert.deepEqual((await introspect(token)).json, { active: false });
      } finally {
        mock.timers.reset();
      }
    });

    it('userinfo answers a Bearer access token with the scope claims; anything else is 401', async () => {
      const { code } = await codeFor('alice', 'alice-password');
      const token = (await codeGrant(code)).json.access_token as string;
      const res = await http(core.url, 'GET', '/application/o/userinfo/', { headers: bearer(token) });
      assert.equal(res.status, 200);
      assert.equal(res.json.sub, (core.admin.getUser('alice') as { uid: string }).uid);
      assert.equal(res.json.preferred_username, 'alice');
      assert.equal(res.json.ak_proxy.is_superuser, false);
      const bad = await http(core.url, 'GET', '/application/o/userinfo/', { headers: bearer('nope') });
      assert.equal(bad.status, 401);
      assert.match(bad.headers['www-authenticate'] as string, /invalid_token/);
    });

    it("end-session ends the core session and tells the proxy outposts in this generation's words", async () => {
      const sock = await openOutpostSocket(core, 'test-proxy', PROXY_TOKEN);
      try {
        const { client, code } = await codeFor('alice', 'alice-password');
        const { payload } = await jwtVerify((await codeGrant(code)).json.access_token, secret());
        const out = await client.get(`/application/o/${APP}/end-session/`);
        assert.equal(out.status, 200);
        assert.match(out.text, /Signed out/);
        assert.equal((await client.get('/api/v3/core/users/me/')).status, 403, 'the core session is gone');
        const instruction = mode === '2024.4' ? 3 : 4;
        await until('the session end message', () => sock.messages.some((m) => m.instruction === instruction));
        const msg = sock.messages.find((m) => m.instruction === instruction);
        const expected = mode === '2024.4' ? { type: 'event.provider.specific', sub_type: 'logout', session_id: payload['sid'] } : { type: 'event.session.end', session_id: payload['sid'] };
        assert.deepEqual(msg?.args, expected, 'the session id is the sid of the tokens issued for that session');
      } finally {
        sock.close();
      }
    });

    it('discovery, jwks and RS256 with a signing key: tokens verify against the jwks by kid', async () => {
      const disc = await http(core.url, 'GET', `/application/o/${APP}/.well-known/openid-configuration`);
      assert.equal(disc.status, 200);
      assert.equal(disc.json.issuer, issuer);
      assert.deepEqual(disc.json.id_token_signing_alg_values_supported, ['HS256']);
      assert.deepEqual((await http(core.url, 'GET', `/application/o/${APP}/jwks/`)).json, {});
      core.admin.updateProvider(PROVIDER, { signing_key: 'test-signing-cert' });
      try {
        const d2 = await http(core.url, 'GET', `/application/o/${APP}/.well-known/openid-configuration`);
        assert.deepEqual(d2.json.id_token_signing_alg_values_supported, ['RS256']);
        const cfg = await http(core.url, 'GET', '/api/v3/outposts/proxy/', { headers: bearer(PROXY_TOKEN) });
        assert.deepEqual(cfg.json.results[0].oidc_configuration.id_token_signing_alg_values_supported, ['RS256'], 'the outpost config says so too');
        const jwks = (await http(core.url, 'GET', `/application/o/${APP}/jwks/`)).json as JSONWebKeySet;
        assert.equal(jwks.keys.length, 1);
        assert.equal(jwks.keys[0]?.kty, 'RSA');
        assert.equal(typeof jwks.keys[0]?.kid, 'string');
        const { code } = await codeFor('alice', 'alice-password');
        const res = await codeGrant(code);
        const header = decodeProtectedHeader(res.json.id_token);
        assert.equal(header.alg, 'RS256');
        assert.equal(header.kid, jwks.keys[0]?.kid);
        await jwtVerify(res.json.id_token, createLocalJWKSet(jwks), { issuer, audience: clientId });
        await assert.rejects(jwtVerify(res.json.id_token, secret()), 'not HS256 any more');
        // A rotated certificate signs with its new key, and the jwks follows.
        await core.admin.rotateCertificate('test-signing-cert');
        const rotated = (await http(core.url, 'GET', `/application/o/${APP}/jwks/`)).json as JSONWebKeySet;
        assert.notEqual(rotated.keys[0]?.kid, jwks.keys[0]?.kid);
      } finally {
        core.admin.updateProvider(PROVIDER, { signing_key: null });
      }
    });

    it('the admin API validates proxy provider patches', async () => {
      const patch = (body: unknown) => http(core.url, 'PATCH', `/_devcore/providers/${PROVIDER}`, { headers: bearer('devcore-admin'), body });
      assert.equal((await patch({ access_token_validity: 'forever' })).status, 400);
      assert.equal((await patch({ external_host: 'not a url' })).status, 400);
      assert.equal((await patch({ signing_key: 'no-such-cert' })).status, 404);
      assert.equal((await patch({ access_token_validity: 'minutes=5' })).status, 200);
      try {
        const { code } = await codeFor('alice', 'alice-password');
        assert.equal((await codeGrant(code)).json.expires_in, 300);
      } finally {
        await patch({ access_token_validity: 'hours=24' });
      }
    });
  });
}
