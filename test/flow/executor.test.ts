// The executor's HTTP behaviour against a scripted stub core: headers, query, cookies,
// redirects, limits, timeouts and error mapping.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpPool } from '../../src/net/pool.ts';
import { CoreError } from '../../src/agent/errors.ts';
import { createFlowExecutor, endSession, MAX_FLOW_ANSWER_BYTES, warmUp, type FlowOutcome } from '../../src/flow/index.ts';
import { captureLogger, makeDeps, startStub, type Handler, type Recorded, type Reply, type Stub } from './stub-core.ts';

const PASSWORD = 'S3cret-pass!';
const CODE = '918273';
const Q_RADIUS = 'query=goauthentik.io%252Foutpost%252Fradius%3Dtrue';
const Q_LDAP = 'query=goauthentik.io%252Foutpost%252Fldap%3Dtrue';
const RADIUS = { 'goauthentik.io/outpost/radius': 'true' };

const dispatcher = new HttpPool({ connections: 8 });
const { logger, lines } = captureLogger();
const stubs: Stub[] = [];

after(async () => {
  for (const s of stubs) await s.close();
  await dispatcher.close();
  const all = lines.join('');
  assert.ok(all.length > 0, 'debug lines were logged');
  assert.equal(all.includes(PASSWORD), false, 'the password never reaches the logs');
  assert.equal(all.includes(CODE), false, 'the code never reaches the logs');
});

async function stub(handler: Handler): Promise<Stub> {
  const s = await startStub(handler);
  stubs.push(s);
  return s;
}

const ident = { type: 'native', component: 'ak-stage-identification', user_fields: ['username'], password_fields: false };
const pwd = { type: 'native', component: 'ak-stage-password', pending_user: 'alice' };
const login = { type: 'native', component: 'ak-stage-user-login', pending_user: 'alice' };
const done = { type: 'redirect', component: 'xak-flow-redirect', to: '/' };
const SESSION = 'authentik_session=sess-1; Path=/; HttpOnly';

/** A scripted flow: GET returns stages[0]; each valid POST advances with a 302 to the same URL. */
function scripted(stages: unknown[], opts: { check?: (r: Recorded, stage: number) => Reply | undefined } = {}): Handler {
  let at = 0;
  return (r) => {
    const path = r.url.split('?')[0] ?? '';
    if (path === '/api/v3/core/users/me/') {
      return { json: { user: { pk: 5, username: 'alice', name: 'Alice', is_active: true, is_superuser: false, groups: [{ pk: 'g1', name: 'ldap-search' }], email: 'a@x', uid: 'u1', avatar: '' } } };
    }
    if (path.endsWith('/check_access/')) return { json: { passing: true, messages: [], log_messages: [] } };
    if (r.method === 'GET') return { json: stages[at], headers: { 'set-cookie': SESSION } };
    const custom = opts.check?.(r, at);
    if (custom) return custom;
    at++;
    if (at >= stages.length - 1) return { json: stages[stages.length - 1] };
    return { status: 302, headers: { location: r.url } };
  };
}

function assertError(o: FlowOutcome, reason: string, includes?: string): void {
  assert.equal(o.kind, 'error', JSON.stringify(o));
  assert.equal(o.kind === 'error' && o.reason, reason, JSON.stringify(o));
  if (includes) assert.ok(o.kind === 'error' && o.message.includes(includes), o.kind === 'error' ? o.message : '');
}

test('identification → password → login: passes, with the right requests', async () => {
  const s = await stub(scripted([ident, pwd, login, done]));
  const deps = makeDeps(s.origin, dispatcher, logger);
  const fe = createFlowExecutor(deps, { clientIp: '192.0.2.10', logFields: { username: 'alice' } });
  const outcome = await fe.run({ flowSlug: 'default-authentication-flow', params: RADIUS, answers: { username: 'alice', password: PASSWORD } });
  assert.deepEqual(outcome, { kind: 'passed', session: 'sess-1' });
  assert.equal(fe.session(), 'sess-1');

  // GET, POST, GET (302), POST, GET (302), POST
  assert.deepEqual(s.requests.map((r) => r.method), ['GET', 'POST', 'GET', 'POST', 'GET', 'POST']);
  for (const r of s.requests) {
    assert.equal(r.url, `/api/v3/flows/executor/default-authentication-flow/?${Q_RADIUS}`);
    assert.equal(r.headers['x-authentik-outpost-token'], 'outpost-token-xyz');
    assert.equal(r.headers['x-authentik-remote-ip'], '192.0.2.10');
    assert.equal(r.headers['user-agent'], 'goauthentik.io/outpost/2026.8.6');
    assert.equal(r.headers['accept'], 'application/json');
    assert.equal(r.headers['authorization'], undefined);
  }
  assert.equal(s.requests[0]?.headers['cookie'], undefined);
  for (const r of s.requests.slice(1)) assert.equal(r.headers['cookie'], 'authentik_session=sess-1');
  const posts = s.requests.filter((r) => r.method === 'POST');
  for (const p of posts) assert.equal(p.headers['content-type'], 'application/json');
  assert.deepEqual(posts.map((p) => JSON.parse(p.body) as unknown), [
    { component: 'ak-stage-identification', uid_field: 'alice', password: PASSWORD },
    { component: 'ak-stage-password', password: PASSWORD },
    { component: 'ak-stage-user-login', remember_me: true },
  ]);

  // Metrics: GET labelled with the first challenge, POSTs with the component of the response.
  assert.deepEqual(deps.calls.map((c) => [c.kind, c.flow, c.stage]), [
    ['get', 'default-authentication-flow', 'ak-stage-identification'],
    ['post', 'default-authentication-flow', 'ak-stage-password'],
    ['post', 'default-authentication-flow', 'ak-stage-user-login'],
    ['post', 'default-authentication-flow', 'xak-flow-redirect'],
  ]);
  for (const c of deps.calls) assert.ok(c.seconds >= 0 && c.seconds < 5);

  // Same executor, same jar and headers, for the follow-up calls.
  assert.deepEqual(await fe.checkAccess('my-app'), { passing: true, messages: [] });
  const me = await fe.userInfo();
  assert.deepEqual(me, { pk: 5, username: 'alice', name: 'Alice', email: 'a@x', is_active: true, is_superuser: false, groups: [{ pk: 'g1', name: 'ldap-search' }], uid: 'u1', attributes: {} });
  const [access, users] = s.requests.slice(-2);
  assert.equal(access?.url, '/api/v3/core/applications/my-app/check_access/');
  assert.equal(users?.url, '/api/v3/core/users/me/');
  for (const r of [access, users]) {
    assert.equal(r?.headers['cookie'], 'authentik_session=sess-1');
    assert.equal(r?.headers['x-authentik-outpost-token'], 'outpost-token-xyz');
    assert.equal(r?.headers['x-authentik-remote-ip'], '192.0.2.10');
    assert.equal(r?.headers['authorization'], undefined);
  }

  await assert.rejects(fe.run({ flowSlug: 'x', params: {}, answers: { username: '', password: '' } }), /once|twice/);
});

test('no X-authentik-remote-ip without a client IP; empty params give query=', async () => {
  const s = await stub(scripted([done]));
  const o = await createFlowExecutor(makeDeps(s.origin, dispatcher, logger)).run({ flowSlug: 'f', params: {}, answers: { username: '', password: '' } });
  assert.deepEqual(o, { kind: 'passed', session: 'sess-1' });
  assert.equal(s.requests[0]?.url, '/api/v3/flows/executor/f/?query=');
  assert.equal(s.requests[0]?.headers['x-authentik-remote-ip'], undefined);
});

test('wrong password: denied / invalid_credentials with the core message', async () => {
  const s = await stub(scripted([ident, pwd, done], {
    check: (r, at) => (at === 1 ? { json: { ...pwd, response_errors: { password: [{ string: 'Invalid password', code: 'invalid' }] } } } : undefined),
  }));
  const o = await createFlowExecutor(makeDeps(s.origin, dispatcher, logger)).run({ flowSlug: 'f', params: RADIUS, answers: { username: 'alice', password: PASSWORD } });
  assert.deepEqual(o, { kind: 'denied', reason: 'invalid_credentials', message: 'flow error password: Invalid password' });
});

test('access denied stage: denied / access_denied', async () => {
  const s = await stub(scripted([{ type: 'native', component: 'ak-stage-access-denied', error_message: 'Flow does not apply to current user.' }]));
  const o = await createFlowExecutor(makeDeps(s.origin, dispatcher, logger)).run({ flowSlug: 'f', params: RADIUS, answers: { username: 'a', password: PASSWORD } });
  assert.deepEqual(o, { kind: 'denied', reason: 'access_denied', message: 'Flow does not apply to current user.' });
  assert.equal(s.requests.length, 1);
});

test('MFA: the code is sent to the totp device', async () => {
  const mfa = { type: 'native', component: 'ak-stage-authenticator-validate', device_challenges: [{ device_class: 'duo', device_uid: '7', challenge: {} }, { device_class: 'totp', device_uid: '3', challenge: {} }] };
  const s = await stub(scripted([ident, mfa, done]));
  const o = await createFlowExecutor(makeDeps(s.origin, dispatcher, logger)).run({ flowSlug: 'f', params: RADIUS, answers: { username: 'alice', password: PASSWORD, code: CODE } });
  assert.equal(o.kind, 'passed');
  const last = s.requests.filter((r) => r.method === 'POST').at(-1);
  assert.deepEqual(JSON.parse(last?.body ?? ''), {
    component: 'ak-stage-authenticator-validate', selected_challenge: { device_class: 'totp', device_uid: '3', challenge: {} }, code: CODE,
  });
});

test('unsupported stage: error flow_error, nothing POSTed', async () => {
  const s = await stub(scripted([{ type: 'native', component: 'ak-stage-consent', header_text: 'ok?' }]));
  const o = await createFlowExecutor(makeDeps(s.origin, dispatcher, logger)).run({ flowSlug: 'f', params: RADIUS, answers: { username: 'a', password: PASSWORD } });
  assert.deepEqual(o, { kind: 'error', reason: 'flow_error', message: 'unsupported challenge type ak-stage-consent' });
  assert.equal(s.requests.filter((r) => r.method === 'POST').length, 0);
});

test('endless flow: at most 10 POSTs, then exceeded stage recursion depth', async () => {
  const s = await stub((r) => (r.method === 'GET' ? { json: pwd } : { status: 302, headers: { location: r.url } }));
  const o = await createFlowExecutor(makeDeps(s.origin, dispatcher, logger)).run({ flowSlug: 'f', params: RADIUS, answers: { username: 'a', password: PASSWORD } });
  assert.deepEqual(o, { kind: 'error', reason: 'flow_error', message: 'exceeded stage recursion depth' });
  assert.equal(s.requests.filter((r) => r.method === 'POST').length, 10);
});

test('a redirect answering the 10th POST still passes (authentik ignored that response)', async () => {
  const stages = [...Array.from({ length: 10 }, () => pwd), done];
  const s = await stub(scripted(stages));
  const o = await createFlowExecutor(makeDeps(s.origin, dispatcher, logger)).run({ flowSlug: 'f', params: RADIUS, answers: { username: 'a', password: PASSWORD } });
  assert.equal(o.kind, 'passed');
  assert.equal(s.requests.filter((r) => r.method === 'POST').length, 10);
});

test('a redirect to another origin is never followed', async () => {
  const other = await stub(() => ({ json: done }));
  const s = await stub((r) => (r.method === 'GET' ? { json: pwd } : { status: 302, headers: { location: `${other.origin}/api/v3/flows/executor/f/?${Q_RADIUS}` } }));
  const o = await createFlowExecutor(makeDeps(s.origin, dispatcher, logger)).run({ flowSlug: 'f', params: RADIUS, answers: { username: 'a', password: PASSWORD } });
  assertError(o, 'invalid_response', 'another origin');
  assert.equal(other.requests.length, 0);
});

test('redirect loops are bounded; 303 is followed as GET; 302 without Location is an error', async () => {
  const loop = await stub((r) => (r.method === 'GET' ? { status: 302, headers: { location: r.url } } : { json: pwd }));
  assertError(await createFlowExecutor(makeDeps(loop.origin, dispatcher, logger)).run({ flowSlug: 'f', params: RADIUS, answers: { username: 'a', password: PASSWORD } }), 'invalid_response', 'redirects');
  assert.ok(loop.requests.length <= 7);

  const see = await stub((r, i) => (i === 0 ? { json: pwd } : r.method === 'POST' ? { status: 303, headers: { location: '/done/' } } : { json: done }));
  assert.equal((await createFlowExecutor(makeDeps(see.origin, dispatcher, logger)).run({ flowSlug: 'f', params: RADIUS, answers: { username: 'a', password: PASSWORD } })).kind, 'passed');
  assert.deepEqual(see.requests.map((r) => `${r.method} ${r.url}`).slice(1), [`POST /api/v3/flows/executor/f/?${Q_RADIUS}`, 'GET /done/']);

  const noLoc = await stub((r) => (r.method === 'GET' ? { json: pwd } : { status: 302 }));
  assertError(await createFlowExecutor(makeDeps(noLoc.origin, dispatcher, logger)).run({ flowSlug: 'f', params: RADIUS, answers: { username: 'a', password: PASSWORD } }), 'invalid_response', 'Location');
});

test('garbage bodies are errors, never a pass or a crash', async () => {
  const bodies: Reply[] = [
    { text: 'not json' },
    { text: '<html>login</html>', headers: { 'content-type': 'text/html' } },
    { json: null },
    { json: {} },
    { json: [] },
    { json: { component: 42 } },
    { json: { type: 'native' } },
    { text: '' },
  ];
  for (const b of bodies) {
    const s = await stub(() => b);
    assertError(await createFlowExecutor(makeDeps(s.origin, dispatcher, logger)).run({ flowSlug: 'f', params: RADIUS, answers: { username: 'a', password: PASSWORD } }), 'invalid_response');
  }
  // Garbage as the answer to a POST.
  const s = await stub((r) => (r.method === 'GET' ? { json: pwd } : { text: '{"type":' }));
  assertError(await createFlowExecutor(makeDeps(s.origin, dispatcher, logger)).run({ flowSlug: 'f', params: RADIUS, answers: { username: 'a', password: PASSWORD } }), 'invalid_response', 'failed to submit challenge ak-stage-password');
});

test('non-2xx: http_status with the status', async () => {
  const notFound = await stub(() => ({ status: 404, json: { detail: 'Not found.' } }));
  const o = await createFlowExecutor(makeDeps(notFound.origin, dispatcher, logger)).run({ flowSlug: 'nope', params: RADIUS, answers: { username: 'a', password: PASSWORD } });
  assert.deepEqual(o, { kind: 'error', reason: 'http_status', status: 404, message: 'failed to get the initial challenge: GET /api/v3/flows/executor/nope/ answered 404: Not found.' });

  const boom = await stub((r) => (r.method === 'GET' ? { json: ident } : { status: 500, text: 'oops' }));
  const p = await createFlowExecutor(makeDeps(boom.origin, dispatcher, logger)).run({ flowSlug: 'f', params: RADIUS, answers: { username: 'a', password: PASSWORD } });
  assertError(p, 'http_status', 'failed to submit challenge ak-stage-identification');
  assert.equal(p.kind === 'error' && p.status, 500);
});

test('an answer above MAX_FLOW_ANSWER_BYTES is invalid_response, not buffered whole', async () => {
  const huge = await stub(() => ({ text: 'x'.repeat(MAX_FLOW_ANSWER_BYTES + 1) }));
  assertError(await createFlowExecutor(makeDeps(huge.origin, dispatcher, logger)).run({ flowSlug: 'f', params: RADIUS, answers: { username: 'a', password: PASSWORD } }), 'invalid_response', 'too large');
});

test('core down: unreachable', async () => {
  const s = await stub(() => ({ json: done }));
  const origin = s.origin;
  await s.close();
  stubs.splice(stubs.indexOf(s), 1);
  const o = await createFlowExecutor(makeDeps(origin, dispatcher, logger)).run({ flowSlug: 'f', params: RADIUS, answers: { username: 'a', password: PASSWORD } });
  assertError(o, 'unreachable', 'failed to get the initial challenge');
  const w = await warmUp(makeDeps(origin, dispatcher, logger), 'f');
  assert.ok(w instanceof CoreError && w.code === 'transport');
});

test('slow core: per-request timeout', async () => {
  const s = await stub(() => ({ json: done, delayMs: 3_000 }));
  const t0 = Date.now();
  const o = await createFlowExecutor(makeDeps(s.origin, dispatcher, logger, { requestTimeoutMs: 200 })).run({ flowSlug: 'f', params: RADIUS, answers: { username: 'a', password: PASSWORD } });
  assertError(o, 'timeout');
  assert.ok(Date.now() - t0 < 2_000);
});

test('slow flow: per-attempt deadline', async () => {
  const s = await stub((r) => (r.method === 'GET' ? { json: pwd, delayMs: 150 } : { status: 302, headers: { location: r.url }, delayMs: 150 }));
  const t0 = Date.now();
  const o = await createFlowExecutor(makeDeps(s.origin, dispatcher, logger, { requestTimeoutMs: 1_000, attemptTimeoutMs: 500 })).run({ flowSlug: 'f', params: RADIUS, answers: { username: 'a', password: PASSWORD } });
  assertError(o, 'timeout', 'did not finish within 500 ms');
  assert.ok(Date.now() - t0 < 1_500);
});

test('caller abort: aborted', async () => {
  const s = await stub(() => ({ json: done, delayMs: 2_000 }));
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  const o = await createFlowExecutor(makeDeps(s.origin, dispatcher, logger)).run({ flowSlug: 'f', params: RADIUS, answers: { username: 'a', password: PASSWORD }, signal: ac.signal });
  assertError(o, 'aborted');
});

test('the core deleting the session cookie is honoured', async () => {
  const s = await stub((r) => (r.method === 'GET'
    ? { json: pwd, headers: { 'set-cookie': SESSION } }
    : { json: done, headers: { 'set-cookie': 'authentik_session=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/' } }));
  const o = await createFlowExecutor(makeDeps(s.origin, dispatcher, logger)).run({ flowSlug: 'f', params: RADIUS, answers: { username: 'a', password: PASSWORD } });
  assert.deepEqual(o, { kind: 'passed', session: undefined });
});

test('checkAccess / userInfo errors are typed CoreErrors', async () => {
  const s = await stub((r) => {
    if (r.url.includes('check_access')) return { status: 403, json: { detail: 'Authentication credentials were not provided.' } };
    if (r.url.includes('/users/me/')) return { json: { user: { pk: 'x' } } };
    return { json: done };
  });
  const fe = createFlowExecutor(makeDeps(s.origin, dispatcher, logger));
  await assert.rejects(fe.checkAccess('app'), (e: unknown) => e instanceof CoreError && e.code === 'status' && e.status === 403);
  await assert.rejects(fe.userInfo(), (e: unknown) => e instanceof CoreError && e.code === 'invalid');

  const passingFalse = await stub(() => ({ json: { passing: false, messages: ['denied by policy'] } }));
  assert.deepEqual(await createFlowExecutor(makeDeps(passingFalse.origin, dispatcher, logger)).checkAccess('app'), { passing: false, messages: ['denied by policy'] });
});

test('the core failing is reported to core.failures; answers about the user and our own abort are not', async () => {
  const reported: string[] = [];
  const withSink = (origin: string) => {
    const deps = makeDeps(origin, dispatcher, logger);
    return { ...deps, core: { ...deps.core, failures: { report: (f: { cause: string }) => reported.push(f.cause) } } };
  };
  const garbage = await stub(() => ({ text: '<html>bad gateway</html>' }));
  assertError(await createFlowExecutor(withSink(garbage.origin)).run({ flowSlug: 'f', params: RADIUS, answers: { username: 'a', password: PASSWORD } }), 'invalid_response');
  const wrong = await stub(scripted([pwd, done], { check: () => ({ json: { type: 'native', component: 'ak-stage-password', response_errors: { password: [{ string: 'Invalid password', code: 'invalid' }] } } }) }));
  assert.equal((await createFlowExecutor(withSink(wrong.origin)).run({ flowSlug: 'f', params: RADIUS, answers: { username: 'a', password: PASSWORD } })).kind, 'denied');
  const slow = await stub(() => ({ json: done, delayMs: 2_000 }));
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  assertError(await createFlowExecutor(withSink(slow.origin)).run({ flowSlug: 'f', params: RADIUS, answers: { username: 'a', password: PASSWORD }, signal: ac.signal }), 'aborted');
  const refused = await stub(() => ({ status: 403, json: { detail: 'Authentication credentials were not provided.' } }));
  await assert.rejects(createFlowExecutor(withSink(refused.origin)).checkAccess('app'));
  const broken = await stub(() => ({ status: 502, text: 'bad gateway' }));
  await assert.rejects(createFlowExecutor(withSink(broken.origin)).userInfo(), (e: unknown) => e instanceof CoreError && e.code === 'status');
  assert.deepEqual(reported, ['invalid', 'status']);
});

test('endSession: runs the invalidation flow with the stored session cookie', async () => {
  const s = await stub(() => ({ json: done, headers: { 'set-cookie': 'authentik_session=""; Max-Age=0; Path=/' } }));
  const o = await endSession(makeDeps(s.origin, dispatcher, logger), { invalidationFlowSlug: 'default-invalidation-flow', session: 'kept-session', clientIp: '198.51.100.7' });
  assert.deepEqual(o, { kind: 'passed', session: undefined });
  assert.equal(s.requests.length, 1);
  const r = s.requests[0];
  assert.equal(r?.method, 'GET');
  assert.equal(r?.url, `/api/v3/flows/executor/default-invalidation-flow/?${Q_LDAP}`);
  assert.equal(r?.headers['cookie'], 'authentik_session=kept-session');
  assert.equal(r?.headers['x-authentik-remote-ip'], '198.51.100.7');
});

test('warmUp: one GET with the warm-up params in a fresh jar; body ignored', async () => {
  const s = await stub(() => ({ text: 'whatever' }));
  assert.equal(await warmUp(makeDeps(s.origin, dispatcher, logger), 'default-authentication-flow'), undefined);
  assert.equal(s.requests.length, 1);
  assert.equal(s.requests[0]?.url, '/api/v3/flows/executor/default-authentication-flow/?query=goauthentik.io%252Foutpost%252Fldap-warmup%3Dtrue');
  assert.equal(s.requests[0]?.headers['cookie'], undefined);

  const missing = await stub(() => ({ status: 404, json: { detail: 'Not found.' } }));
  const err = await warmUp(makeDeps(missing.origin, dispatcher, logger), 'nope');
  assert.ok(err instanceof CoreError && err.code === 'status' && err.status === 404);
});

before(() => {
  // The capture logger runs at trace level so that debug lines are checked for secrets.
  logger.debug('flow executor tests start');
});

test('a client address that is not an IP is not delegated', async () => {
  const s = await stub(scripted([done]));
  await createFlowExecutor(makeDeps(s.origin, dispatcher, logger), { clientIp: 'evil\r\nX-Injected: 1' }).run({ flowSlug: 'f', params: {}, answers: { username: '', password: '' } });
  assert.equal(s.requests[0]?.headers['x-authentik-remote-ip'], undefined);
  assert.equal(s.requests[0]?.headers['x-injected'], undefined);
  const v6 = await stub(scripted([done]));
  await createFlowExecutor(makeDeps(v6.origin, dispatcher, logger), { clientIp: '2001:db8::1' }).run({ flowSlug: 'f', params: {}, answers: { username: '', password: '' } });
  assert.equal(v6.requests[0]?.headers['x-authentik-remote-ip'], '2001:db8::1');
});
