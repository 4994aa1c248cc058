// The flow executor driven with raw HTTP requests and a hand-kept session cookie.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DevCore } from '../../src/devcore/index.ts';
import { totpCode } from '../../src/devcore/totp.ts';
import { bearer, executorQuery, FlowClient, http, LDAP_QUERY, LDAP_TOKEN, RADIUS_TOKEN, startTestCore, type Res } from './helpers.ts';

const BOB_SECRET = 'JBSWY3DPEHPK3PXP';
const IVAN_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const exec = (slug: string, query = LDAP_QUERY) => `/api/v3/flows/executor/${slug}/${query}`;

/** Follow 302s with GETs, as Go's client does (a skipped stage answers a GET with 302 too). */
async function follow(c: FlowClient, res: Res): Promise<Res> {
  for (let i = 0; i < 10 && res.status === 302; i++) res = await c.get(res.headers['location'] as string);
  return res;
}

function errorsOf(res: Res): Record<string, { string: string; code: string }[]> {
  return res.json?.response_errors ?? {};
}

/** Log in through id-embedded-flow; returns the client holding the session cookie. */
async function login(core: DevCore, username: string, password: string): Promise<FlowClient> {
  const c = new FlowClient(core.url);
  const url = exec('id-embedded-flow');
  assert.equal((await c.get(url)).json.component, 'ak-stage-identification');
  const done = await follow(c, await c.post(url, { component: 'ak-stage-identification', uid_field: username, password }));
  assert.equal(done.json?.component, 'xak-flow-redirect', `login of ${username}: ${JSON.stringify(done.json)}`);
  return c;
}

describe('flow executor', () => {
  let core: DevCore;
  before(async () => {
    core = await startTestCore();
  });
  after(() => core.close());

  it('unknown slug is 404 {"detail":"Not found."}', async () => {
    const res = await http(core.url, 'GET', exec('no-such-flow'));
    assert.equal(res.status, 404);
    assert.deepEqual(res.json, { detail: 'Not found.' });
  });

  it('identification then password: cookie, 302 to the exact request URL, redirect challenge, login', async () => {
    const c = new FlowClient(core.url);
    const url = exec('id-password-flow');
    const first = await c.get(url);
    assert.equal(first.status, 200);
    assert.equal(first.json.type, 'native');
    assert.equal(first.json.component, 'ak-stage-identification');
    assert.deepEqual(first.json.user_fields, ['username', 'email']);
    assert.equal(first.json.password_fields, false);
    const setCookie = String(first.headers['set-cookie']);
    assert.match(setCookie, /^authentik_session=[\w-]+\.[\w-]+\.[\w-]+; HttpOnly; Path=\/; SameSite=Lax$/);
    const anonymousCookie = c.cookie;

    const afterId = await c.post(url, { component: 'ak-stage-identification', uid_field: 'alice', password: '' });
    assert.equal(afterId.status, 302);
    assert.equal(afterId.headers['location'], url);
    const pw = await c.get(url);
    assert.equal(pw.json.component, 'ak-stage-password');
    assert.equal(pw.json.pending_user, 'alice');

    const afterPw = await c.post(url, { component: 'ak-stage-password', password: 'alice-password' });
    assert.equal(afterPw.status, 302);
    assert.equal(afterPw.headers['location'], url);
    // alice has no MFA device: authenticator_validate (skip) answers the GET with another 302.
    const skip = await c.get(url);
    assert.equal(skip.status, 302);
    const done = await c.get(url);
    assert.equal(done.status, 200);
    assert.deepEqual(done.json, { type: 'redirect', component: 'xak-flow-redirect', to: '/' });
    assert.notEqual(c.cookie, anonymousCookie, 'login cycles the session key');
    const payload = JSON.parse(Buffer.from((c.cookie ?? '').split('.')[1] ?? '', 'base64url').toString());
    assert.equal(payload.authenticated, true);
    assert.equal(payload.iss, 'authentik');
    const me = await c.get('/api/v3/core/users/me/');
    assert.equal(me.status, 200);
    assert.equal(me.json.user.username, 'alice');
    assert.deepEqual(me.json.user.groups.map((g: { name: string }) => g.name).sort(), ['staff', 'vpn']);
  });

  it('a query Django would re-encode differently gets a JSON redirect instead of a 302', async () => {
    const c = new FlowClient(core.url);
    // An unescaped '/' inside query=: Django re-encodes it as %2F, so Location != full path.
    const url = '/api/v3/flows/executor/id-embedded-flow/?query=goauthentik.io/outpost/ldap%3Dtrue';
    await c.get(url);
    const res = await c.post(url, { component: 'ak-stage-identification', uid_field: 'alice', password: 'alice-password' });
    assert.equal(res.status, 200);
    assert.equal(res.json.component, 'xak-flow-redirect');
    assert.equal(res.json.to, '/api/v3/flows/executor/id-embedded-flow/?query=goauthentik.io%2Foutpost%2Fldap%3Dtrue');
  });

  it('the query value is parsed and recorded; next= sets the final redirect', async () => {
    const c = new FlowClient(core.url);
    const url = exec('id-embedded-flow', executorQuery({ 'goauthentik.io/outpost/ldap': 'true', next: '/if/user/' }));
    await c.get(url);
    const done = await follow(c, await c.post(url, { component: 'ak-stage-identification', uid_field: 'alice', password: 'alice-password' }));
    assert.deepEqual(done.json, { type: 'redirect', component: 'xak-flow-redirect', to: '/if/user/' });
    const rec = core.admin.requests().filter((r) => r.path === '/api/v3/flows/executor/id-embedded-flow/').at(-1);
    assert.equal(rec?.query['query'], 'goauthentik.io%2Foutpost%2Fldap=true&next=%2Fif%2Fuser%2F');
  });

  it('wrong password: password errors, and the 6th failure (more than 5) is access denied', async () => {
    const c = new FlowClient(core.url);
    const url = exec('id-password-flow');
    await c.get(url);
    await follow(c, await c.post(url, { component: 'ak-stage-identification', uid_field: 'alice', password: '' }));
    for (let i = 1; i <= 5; i++) {
      const res = await c.post(url, { component: 'ak-stage-password', password: `wrong-${i}` });
      assert.equal(res.status, 200);
      assert.equal(res.json.component, 'ak-stage-password', `attempt ${i}`);
      assert.deepEqual(errorsOf(res), { password: [{ string: 'Invalid password', code: 'invalid' }] });
    }
    const denied = await c.post(url, { component: 'ak-stage-password', password: 'wrong-6' });
    assert.equal(denied.json.component, 'ak-stage-access-denied');
    assert.equal(denied.json.pending_user, 'alice');
    // The plan is gone: the next GET starts over.
    assert.equal((await c.get(url)).json.component, 'ak-stage-identification');
  });

  it('identification with embedded password: wrong password / unknown user / inactive user all fail alike', async () => {
    for (const [uid, password] of [
      ['alice', 'nope'],
      ['nobody', 'x'],
      ['carol', 'carol-password'],
    ] as const) {
      const c = new FlowClient(core.url);
      const url = exec('id-embedded-flow');
      await c.get(url);
      const t = performance.now();
      const res = await c.post(url, { component: 'ak-stage-identification', uid_field: uid, password });
      const took = performance.now() - t;
      assert.equal(res.status, 200);
      assert.equal(res.json.component, 'ak-stage-identification');
      assert.deepEqual(errorsOf(res), { non_field_errors: [{ string: 'Failed to authenticate.', code: 'invalid' }] }, uid);
      if (uid === 'nobody') assert.ok(took >= 85, `unknown users are delayed 90-210 ms, took ${took}`);
    }
  });

  it('an unknown user passes identification (pretend_user_exists) and fails at the password stage; inactive too', async () => {
    for (const uid of ['ghost', 'carol']) {
      const c = new FlowClient(core.url);
      const url = exec('id-password-flow');
      await c.get(url);
      const res = await follow(c, await c.post(url, { component: 'ak-stage-identification', uid_field: uid, password: '' }));
      assert.equal(res.json.component, 'ak-stage-password');
      assert.equal(res.json.pending_user, uid);
      const pw = await c.post(url, { component: 'ak-stage-password', password: 'carol-password' });
      assert.deepEqual(errorsOf(pw), { password: [{ string: 'Invalid password', code: 'invalid' }] });
    }
  });

  it('validates the body like DRF: missing uid_field, blank password', async () => {
    const c = new FlowClient(core.url);
    const url = exec('id-password-flow');
    await c.get(url);
    const res = await c.post(url, { component: 'ak-stage-identification' });
    assert.deepEqual(errorsOf(res), { uid_field: [{ string: 'This field is required.', code: 'required' }] });
    await follow(c, await c.post(url, { component: 'ak-stage-identification', uid_field: 'alice' }));
    const blank = await c.post(url, { component: 'ak-stage-password', password: '' });
    assert.deepEqual(errorsOf(blank), { password: [{ string: 'This field may not be blank.', code: 'blank' }] });
  });

  it('malformed JSON in a POST gives a flow-error challenge (DRF ParseError inside the executor)', async () => {
    const c = new FlowClient(core.url);
    const url = exec('id-password-flow');
    await c.get(url);
    const res = await http(core.url, 'POST', url, { headers: { cookie: `authentik_session=${c.cookie}`, 'content-type': 'application/json' }, rawBody: '{"component":' });
    assert.equal(res.status, 200);
    assert.equal(res.json.component, 'ak-stage-flow-error');
    assert.match(res.json.request_id, /^[0-9a-f]{32}$/);
  });

  it('TOTP: offers the device, rejects a wrong code, accepts the right one, refuses a replay', async () => {
    const run = async (code: string): Promise<Res> => {
      const c = new FlowClient(core.url);
      const url = exec('id-embedded-flow');
      await c.get(url);
      const mfa = await follow(c, await c.post(url, { component: 'ak-stage-identification', uid_field: 'bob', password: 'bob-password' }));
      assert.equal(mfa.json.component, 'ak-stage-authenticator-validate');
      assert.equal(mfa.json.pending_user, 'bob');
      assert.equal(mfa.json.device_challenges.length, 1);
      const dc = mfa.json.device_challenges[0];
      assert.equal(dc.device_class, 'totp');
      assert.match(dc.device_uid, /^\d+$/);
      assert.deepEqual(dc.challenge, {});
      return follow(c, await c.post(url, { component: 'ak-stage-authenticator-validate', selected_challenge: dc, code }));
    };
    const wrong = await run(code6Wrong(totpCode(BOB_SECRET)));
    assert.equal(wrong.json.component, 'ak-stage-authenticator-validate');
    assert.deepEqual(errorsOf(wrong), { code: [{ string: 'Invalid Token', code: 'invalid' }] });
    const code = totpCode(BOB_SECRET);
    const ok = await run(code);
    assert.equal(ok.json.component, 'xak-flow-redirect');
    const replay = await run(code);
    assert.deepEqual(errorsOf(replay), { code: [{ string: 'Invalid Token', code: 'invalid' }] }, 'django-otp refuses a used time step');
  });

  it('8-digit TOTP works for a member of a child group', async () => {
    const c = new FlowClient(core.url);
    const url = exec('radius-test-flow', executorQuery({ 'goauthentik.io/outpost/radius': 'true' }));
    await c.get(url);
    const mfa = await follow(c, await c.post(url, { component: 'ak-stage-identification', uid_field: 'ivan', password: 'ivan-password' }));
    const dc = mfa.json.device_challenges[0];
    const done = await follow(c, await c.post(url, { component: 'ak-stage-authenticator-validate', selected_challenge: dc, code: totpCode(IVAN_SECRET, { digits: 8, time: Date.now() - 30_000 }) }));
    assert.equal(done.json.component, 'xak-flow-redirect', JSON.stringify(done.json));
    const access = await c.get('/api/v3/core/applications/test-radius-app/check_access/');
    assert.deepEqual(access.json, { passing: true, messages: [], log_messages: [] });
  });

  it('static tokens (8 and 12 characters) work once each', async () => {
    const attempt = async (code: string) => {
      const c = new FlowClient(core.url);
      const url = exec('id-embedded-flow');
      await c.get(url);
      const mfa = await follow(c, await c.post(url, { component: 'ak-stage-identification', uid_field: 'dave', password: 'dave-password' }));
      const dc = mfa.json.device_challenges[0];
      assert.equal(dc.device_class, 'static');
      return follow(c, await c.post(url, { component: 'ak-stage-authenticator-validate', selected_challenge: dc, code }));
    };
    assert.equal((await attempt('stat1234')).json.component, 'xak-flow-redirect');
    assert.deepEqual(errorsOf(await attempt('stat1234')), { code: [{ string: 'Invalid Token', code: 'invalid' }] });
    assert.equal((await attempt('staticdave12')).json.component, 'xak-flow-redirect');
  });

  it('a selected challenge that was not offered is refused; an empty answer too', async () => {
    const c = new FlowClient(core.url);
    const url = exec('id-embedded-flow');
    await c.get(url);
    await follow(c, await c.post(url, { component: 'ak-stage-identification', uid_field: 'bob', password: 'bob-password' }));
    const res = await c.post(url, { component: 'ak-stage-authenticator-validate', selected_challenge: { device_class: 'totp', device_uid: '999', challenge: {} }, code: code6Wrong(totpCode(BOB_SECRET)) });
    assert.deepEqual(errorsOf(res).selected_challenge, [{ string: 'invalid challenge selected', code: 'invalid' }]);
    const empty = await c.post(url, { component: 'ak-stage-authenticator-validate' });
    assert.deepEqual(errorsOf(empty), { non_field_errors: [{ string: 'Empty response', code: 'invalid' }] });
  });

  it('Duo: answers after a delay for the owner; another user\'s device is a flow error; deny is an error', async () => {
    const start = async (user: string) => {
      const c = new FlowClient(core.url);
      const url = exec('id-embedded-flow');
      await c.get(url);
      const mfa = await follow(c, await c.post(url, { component: 'ak-stage-identification', uid_field: user, password: `${user}-password` }));
      return { c, url, dc: mfa.json.device_challenges[0] };
    };
    const grace = await start('grace');
    assert.equal(grace.dc.device_class, 'duo');
    const t = performance.now();
    const ok = await follow(grace.c, await grace.c.post(grace.url, { component: 'ak-stage-authenticator-validate', selected_challenge: grace.dc, duo: Number(grace.dc.device_uid) }));
    assert.ok(performance.now() - t >= 150, 'the push takes a while');
    assert.equal(ok.json.component, 'xak-flow-redirect');

    const heidi = await start('heidi');
    const denied = await heidi.c.post(heidi.url, { component: 'ak-stage-authenticator-validate', selected_challenge: heidi.dc, duo: Number(heidi.dc.device_uid) });
    assert.deepEqual(errorsOf(denied), { duo: [{ string: 'Duo denied access', code: 'denied' }] });
    const stolen = await heidi.c.post(heidi.url, { component: 'ak-stage-authenticator-validate', selected_challenge: heidi.dc, duo: Number(grace.dc.device_uid) });
    assert.equal(stolen.json.component, 'ak-stage-flow-error');
  });

  it('mixed devices are offered in django-otp order (duo before totp); webauthn-only offers only webauthn', async () => {
    const c = new FlowClient(core.url);
    const url = exec('id-embedded-flow');
    await c.get(url);
    const judy = await follow(c, await c.post(url, { component: 'ak-stage-identification', uid_field: 'judy', password: 'judy-password' }));
    assert.deepEqual(judy.json.device_challenges.map((d: { device_class: string }) => d.device_class), ['duo', 'totp']);
    const f = new FlowClient(core.url);
    await f.get(url);
    const frank = await follow(f, await f.post(url, { component: 'ak-stage-identification', uid_field: 'frank', password: 'frank-password' }));
    assert.equal(frank.json.component, 'ak-stage-authenticator-validate');
    assert.deepEqual(frank.json.device_challenges.map((d: { device_class: string }) => d.device_class), ['webauthn']);
    assert.ok(Array.isArray(frank.json.device_challenges[0].challenge.allowCredentials));
  });

  it('MFA-only flow: a user without devices is denied (not_configured_action deny); bob passes with a code', async () => {
    const url = exec('mfa-only-flow');
    const e = new FlowClient(core.url);
    await e.get(url);
    const denied = await follow(e, await e.post(url, { component: 'ak-stage-identification', uid_field: 'erin', password: '' }));
    assert.equal(denied.json.component, 'ak-stage-access-denied');
    const b = new FlowClient(core.url);
    await b.get(url);
    const mfa = await follow(b, await b.post(url, { component: 'ak-stage-identification', uid_field: 'bob', password: '' }));
    const done = await follow(b, await b.post(url, { component: 'ak-stage-authenticator-validate', selected_challenge: mfa.json.device_challenges[0], code: totpCode(BOB_SECRET, { time: Date.now() + 30_000 }) }));
    assert.equal(done.json.component, 'xak-flow-redirect', JSON.stringify(done.json));
  });

  it('deny, consent, flow error, remember-me login challenge', async () => {
    const d = new FlowClient(core.url);
    await d.get(exec('deny-flow'));
    const denied = await follow(d, await d.post(exec('deny-flow'), { component: 'ak-stage-identification', uid_field: 'alice', password: 'alice-password' }));
    assert.equal(denied.json.component, 'ak-stage-access-denied');
    assert.equal(denied.json.error_message, 'Access denied by the devcore test flow.');

    const c = new FlowClient(core.url);
    await c.get(exec('consent-flow'));
    const consent = await follow(c, await c.post(exec('consent-flow'), { component: 'ak-stage-identification', uid_field: 'alice', password: 'alice-password' }));
    assert.equal(consent.json.component, 'ak-stage-consent');
    assert.equal(typeof consent.json.token, 'string');

    const err = await new FlowClient(core.url).get(exec('error-flow'));
    assert.equal(err.json.component, 'ak-stage-flow-error');
    assert.equal(err.json.error, undefined, 'errors are shown to superusers only');

    const r = new FlowClient(core.url);
    await r.get(exec('remember-me-flow'));
    const ul = await follow(r, await r.post(exec('remember-me-flow'), { component: 'ak-stage-identification', uid_field: 'alice', password: 'alice-password' }));
    assert.equal(ul.json.component, 'ak-stage-user-login');
    assert.deepEqual(errorsOf(await r.post(exec('remember-me-flow'), { component: 'ak-stage-user-login' })), { remember_me: [{ string: 'This field is required.', code: 'required' }] });
    const done = await follow(r, await r.post(exec('remember-me-flow'), { component: 'ak-stage-user-login', remember_me: true }));
    assert.equal(done.json.component, 'xak-flow-redirect');
  });

  it('endless flow: every POST is accepted and answered with a 302 back to the same stage', async () => {
    const c = new FlowClient(core.url);
    const url = exec('endless-flow');
    assert.equal((await c.get(url)).json.component, 'ak-stage-password');
    for (let i = 0; i < 12; i++) {
      const res = await c.post(url, { component: 'ak-stage-password', password: 'x' });
      assert.equal(res.status, 302);
      assert.equal((await c.get(url)).json.component, 'ak-stage-password');
    }
  });

  it('require_outpost: denied without valid outpost headers, planned with them; the session records them', async () => {
    const url = exec('outpost-only-flow');
    const plain = await new FlowClient(core.url).get(url);
    assert.equal(plain.json.component, 'ak-stage-access-denied');
    assert.equal(plain.json.error_message, 'Flow does not apply to current user.');
    const badIp = await new FlowClient(core.url, { 'x-authentik-outpost-token': RADIUS_TOKEN, 'x-authentik-remote-ip': 'not-an-ip' }).get(url);
    assert.equal(badIp.json.component, 'ak-stage-access-denied');
    const badToken = await new FlowClient(core.url, { 'x-authentik-outpost-token': 'nope', 'x-authentik-remote-ip': '10.1.2.3' }).get(url);
    assert.equal(badToken.json.component, 'ak-stage-access-denied');
    const c = new FlowClient(core.url, { 'x-authentik-outpost-token': RADIUS_TOKEN, 'x-authentik-remote-ip': '10.1.2.3' });
    assert.equal((await c.get(url)).json.component, 'ak-stage-identification');
    const done = await follow(c, await c.post(url, { component: 'ak-stage-identification', uid_field: 'alice', password: 'alice-password' }));
    assert.equal(done.json.component, 'xak-flow-redirect');
    const mine = core.admin.listSessions().find((s) => s.remote_ip === '10.1.2.3');
    assert.equal(mine?.outpost, 'test-radius');
    assert.equal(mine?.username, 'alice');
    assert.equal(mine?.authenticated, true);
    assert.deepEqual(mine?.last_flow_query, { 'goauthentik.io/outpost/ldap': 'true' });
  });

  it('check_access and users/me use the session; for_user only for superusers; 403 without a session', async () => {
    assert.equal((await http(core.url, 'GET', '/api/v3/core/applications/test-radius-app/check_access/')).status, 403);
    assert.equal((await http(core.url, 'GET', '/api/v3/core/users/me/')).status, 403);
    const alice = await login(core, 'alice', 'alice-password');
    assert.deepEqual((await alice.get('/api/v3/core/applications/test-radius-app/check_access/')).json, { passing: true, messages: [], log_messages: [] });
    assert.equal((await alice.get('/api/v3/core/applications/test-ldap-app/check_access/')).json.passing, true);
    const bobPk = (core.admin.getUser('bob') as { pk: number }).pk;
    assert.equal((await alice.get(`/api/v3/core/applications/test-radius-app/check_access/?for_user=${bobPk}`)).json.passing, true, 'for_user ignored for non-superusers');
    const erin = await login(core, 'erin', 'erin-password');
    assert.equal((await erin.get('/api/v3/core/applications/test-radius-app/check_access/')).json.passing, false);
    const admin = await login(core, 'akadmin', 'akadmin');
    assert.equal((await admin.get(`/api/v3/core/applications/test-radius-app/check_access/?for_user=${bobPk}`)).json.passing, false);
    assert.equal((await admin.get('/api/v3/core/applications/test-radius-app/check_access/?for_user=abc')).status, 400);
    const me = await admin.get('/api/v3/core/users/me/');
    assert.equal(me.json.user.is_superuser, true);
    assert.ok(me.json.user.groups.some((g: { name: string }) => g.name === 'authentik Admins'));
    assert.equal((await alice.get('/api/v3/core/applications/no-such-app/check_access/')).status, 404);
  });

  it('a bearer token works for users/me too (the outpost service account)', async () => {
    const me = await http(core.url, 'GET', '/api/v3/core/users/me/', { headers: bearer(LDAP_TOKEN) });
    assert.equal(me.status, 200);
    assert.match(me.json.user.username, /^ak-outpost-[0-9a-f]{32}$/);
    assert.equal(me.json.user.type, 'internal_service_account');
  });

  it('logout through the invalidation flow ends the session; deactivating a user ends theirs', async () => {
    const c = await login(core, 'alice', 'alice-password');
    const old = c.cookie;
    const out = await c.get(exec('default-invalidation-flow'));
    assert.deepEqual(out.json, { type: 'redirect', component: 'xak-flow-redirect', to: '/' });
    const oldSession = await http(core.url, 'GET', '/api/v3/core/users/me/', { headers: { cookie: `authentik_session=${old}` } });
    assert.equal(oldSession.status, 403);
    assert.equal((await c.get('/api/v3/core/users/me/')).status, 403, 'the new session is anonymous');

    const erin = await login(core, 'erin', 'erin-password');
    assert.equal((await erin.get('/api/v3/core/users/me/')).status, 200);
    core.admin.updateUser('erin', { is_active: false });
    assert.equal((await erin.get('/api/v3/core/users/me/')).status, 403);
    core.admin.updateUser('erin', { is_active: true });
    assert.equal((await erin.get('/api/v3/core/users/me/')).status, 200);
    core.admin.updateUser('erin', { password: 'changed' });
    assert.equal((await erin.get('/api/v3/core/users/me/')).status, 403, 'a password change drops other sessions (Django session hash)');
    core.admin.updateUser('erin', { password: 'erin-password' });
  });

  it('endSessions and listSessions', async () => {
    // dave has static tokens: id-embedded-flow asks for one.
    const d = new FlowClient(core.url);
    const url = exec('id-embedded-flow');
    await d.get(url);
    const mfa = await follow(d, await d.post(url, { component: 'ak-stage-identification', uid_field: 'dave', password: 'dave-password' }));
    await follow(d, await d.post(url, { component: 'ak-stage-authenticator-validate', selected_challenge: mfa.json.device_challenges[0], code: 'stat5678' }));
    assert.equal((await d.get('/api/v3/core/users/me/')).json.user.username, 'dave');
    assert.ok(core.admin.listSessions().some((s) => s.username === 'dave' && s.authenticated));
    assert.ok(core.admin.endSessions('dave') >= 1);
    assert.equal((await d.get('/api/v3/core/users/me/')).status, 403);
  });
});

/** A 6-digit code that is certainly not the current one (nor its neighbours). */
function code6Wrong(current: string): string {
  const neighbours = new Set([totpCode(BOB_SECRET, { time: Date.now() - 30_000 }), current, totpCode(BOB_SECRET, { time: Date.now() + 30_000 })]);
  for (let i = 0; ; i++) {
    const c = String(i).padStart(6, '0');
    if (!neighbours.has(c)) return c;
  }
}
