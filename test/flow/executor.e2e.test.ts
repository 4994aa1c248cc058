// The flow executor end to end against the development core (config/devcore-test.yaml).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { HttpPool } from '../../src/net/pool.ts';
import { CoreError } from '../../src/agent/errors.ts';
import { startDevCore, totpCode, type DevCore, type RecordedRequest } from '../../src/devcore/index.ts';
import { base32Encode } from '../../src/devcore/totp.ts';
import {
  coreFailure,
  createFlowExecutor,
  endSession,
  splitSecrets,
  warmUp,
  LDAP_PARAMS,
  RADIUS_PARAMS,
  type FlowDeps,
  type FlowOutcome,
  type FlowParams,
} from '../../src/flow/index.ts';
import { userAgent } from '../../src/version.ts';
import { captureLogger, type MetricCall } from './stub-core.ts';

const SEED = new URL('../../config/devcore-test.yaml', import.meta.url).pathname;
const TOKEN = 'test-ldap-token';
const CLIENT = '192.0.2.44';
const EXECUTOR = '/api/v3/flows/executor/';

let core: DevCore;
const dispatcher = new HttpPool({ connections: 16 });
const { logger, lines } = captureLogger();
const calls: MetricCall[] = [];
/** Every secret used below, to check none was ever logged. */
const secrets = new Set<string>();

before(async () => {
  core = await startDevCore({ seed: SEED, port: 0 });
});

after(async () => {
  await core.close();
  await dispatcher.close();
  const all = lines.join('');
  for (const s of secrets) assert.equal(all.includes(s), false, `a secret reached the logs`);
});

function deps(extra: Partial<FlowDeps> = {}): FlowDeps {
  return {
    core: { origin: core.url, token: TOKEN, userAgent: userAgent(), dispatcher, timeoutMs: 5_000 },
    logger,
    metrics: {
      observeGet: (flow, stage, seconds) => calls.push({ kind: 'get', flow, stage, seconds }),
      observePost: (flow, stage, seconds) => calls.push({ kind: 'post', flow, stage, seconds }),
    },
    ...extra,
  };
}

interface Attempt {
  flow: string;
  username: string;
  /** What the user typed (RADIUS User-Password / LDAP bind password), split like a listener does. */
  secret: string;
  mfaSupport?: boolean;
  clientIp?: string | null;
  params?: FlowParams;
  deps?: Partial<FlowDeps>;
}

async function attempt(a: Attempt) {
  secrets.add(a.secret);
  const fe = createFlowExecutor(deps(a.deps), a.clientIp === null ? {} : { clientIp: a.clientIp ?? CLIENT, logFields: { username: a.username } });
  const outcome = await fe.run({
    flowSlug: a.flow,
    params: a.params ?? LDAP_PARAMS,
    answers: { username: a.username, ...splitSecrets(a.secret, a.mfaSupport ?? true) },
  });
  return { fe, outcome };
}

function flowRequests(slug: string): RecordedRequest[] {
  return core.admin.requests().filter((r) => r.path === `${EXECUTOR}${slug}/`);
}

function expectDenied(o: FlowOutcome, reason: 'invalid_credentials' | 'access_denied', message?: string): void {
  assert.equal(o.kind, 'denied', JSON.stringify(o));
  assert.equal(o.kind === 'denied' && o.reason, reason, JSON.stringify(o));
  if (message !== undefined) assert.equal(o.kind === 'denied' && o.message, message);
}

function expectError(o: FlowOutcome, reason: string, includes?: string): void {
  assert.equal(o.kind, 'error', JSON.stringify(o));
  assert.equal(o.kind === 'error' && o.reason, reason, JSON.stringify(o));
  if (includes !== undefined) assert.ok(o.kind === 'error' && o.message.includes(includes), JSON.stringify(o));
}

let userSeq = 0;
/** A fresh user with its own TOTP secret (TOTP replay protection refuses a code used twice). */
function totpUser(digits: 6 | 8 = 6, extra: { groups?: string[] } = {}): { username: string; password: string; secret: string } {
  const username = `totp-user-${++userSeq}`;
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const secret = base32Encode(randomBytes(20));
  core.admin.addUser({ username, password, ...extra });
  core.admin.addTotpDevice(username, { secret, digits });
  return { username, password, secret };
}

// ---- credentials ----

test('right password (identification → password → MFA skipped → login): passed, session usable', async () => {
  core.admin.clearRequests();
  const { fe, outcome } = await attempt({ flow: 'id-password-flow', username: 'alice', secret: 'alice-password' });
  assert.equal(outcome.kind, 'passed');
  assert.ok(outcome.kind === 'passed' && outcome.session);
  assert.equal(fe.session(), outcome.kind === 'passed' ? outcome.session : '');

  const reqs = flowRequests('id-password-flow');
  assert.ok(reqs.length >= 3);
  for (const r of reqs) {
    assert.equal(r.rawQuery, 'query=goauthentik.io%252Foutpost%252Fldap%3Dtrue');
    assert.equal(r.headers['x-authentik-outpost-token'], TOKEN);
    assert.equal(r.headers['x-authentik-remote-ip'], CLIENT);
    assert.equal(r.headers['authorization'], undefined);
    assert.equal(r.headers['user-agent'], userAgent());
  }
  // The core answered the POSTs with raw 302s, i.e. our query string was byte-identical to its own.
  assert.ok(reqs.some((r) => r.method === 'POST' && r.status === 302), JSON.stringify(reqs.map((r) => [r.method, r.status])));

  assert.deepEqual(await fe.checkAccess('test-ldap-app'), { passing: true, messages: [] });
  const me = await fe.userInfo();
  assert.equal(me.username, 'alice');
  assert.equal(me.is_active, true);
  assert.deepEqual(me.groups.map((g) => g.name).sort(), ['staff', 'vpn']);
  const followUps = core.admin.requests().filter((r) => r.path.startsWith('/api/v3/core/'));
  for (const r of followUps) {
    assert.match(r.headers['cookie'] ?? '', /authentik_session=/);
    assert.equal(r.headers['authorization'], undefined);
  }
});

test('password embedded in identification: one POST', async () => {
  core.admin.clearRequests();
  const { outcome } = await attempt({ flow: 'id-embedded-flow', username: 'alice', secret: 'alice-password', params: RADIUS_PARAMS });
  assert.equal(outcome.kind, 'passed');
  const posts = flowRequests('id-embedded-flow').filter((r) => r.method === 'POST');
  assert.equal(posts.length, 1);
  assert.deepEqual(posts[0]?.body, { component: 'ak-stage-identification', uid_field: 'alice', password: 'alice-password' });
});

test('wrong password: denied / invalid_credentials', async () => {
  const sep = await attempt({ flow: 'id-password-flow', username: 'alice', secret: 'wrong-password' });
  expectDenied(sep.outcome, 'invalid_credentials', 'flow error password: Invalid password');
  const emb = await attempt({ flow: 'id-embedded-flow', username: 'alice', secret: 'wrong-password' });
  expectDenied(emb.outcome, 'invalid_credentials', 'flow error non_field_errors: Failed to authenticate.');
});

test('unknown user: denied / invalid_credentials', async () => {
  expectDenied((await attempt({ flow: 'id-password-flow', username: 'nobody', secret: 'whatever-pw' })).outcome, 'invalid_credentials');
  expectDenied((await attempt({ flow: 'id-embedded-flow', username: 'nobody', secret: 'whatever-pw' })).outcome, 'invalid_credentials');
});

test('inactive user: refused', async () => {
  expectDenied((await attempt({ flow: 'id-embedded-flow', username: 'carol', secret: 'carol-password' })).outcome, 'invalid_credentials');
  expectDenied((await attempt({ flow: 'id-password-flow', username: 'carol', secret: 'carol-password' })).outcome, 'invalid_credentials');
});

test('user-login stage asking "stay signed in": remember_me true', async () => {
  core.admin.clearRequests();
  const { outcome } = await attempt({ flow: 'remember-me-flow', username: 'alice', secret: 'alice-password' });
  assert.equal(outcome.kind, 'passed');
  const posts = flowRequests('remember-me-flow').filter((r) => r.method === 'POST');
  assert.deepEqual(posts.at(-1)?.body, { component: 'ak-stage-user-login', remember_me: true });
});

// ---- MFA ----

test('TOTP: right code (password;code) passes', async () => {
  const u = totpUser();
  const code = totpCode(u.secret);
  const { outcome } = await attempt({ flow: 'id-password-flow', username: u.username, secret: `${u.password};${code}` });
  assert.equal(outcome.kind, 'passed', JSON.stringify(outcome));
});

test('TOTP: 8-digit code passes (ivan in the seed has an 8-digit device)', async () => {
  const u = totpUser(8);
  const code = totpCode(u.secret, { digits: 8 });
  const { outcome } = await attempt({ flow: 'id-embedded-flow', username: u.username, secret: `${u.password};${code}` });
  assert.equal(outcome.kind, 'passed', JSON.stringify(outcome));
});

test('TOTP: wrong code is denied / invalid_credentials', async () => {
  const u = totpUser();
  const right = totpCode(u.secret);
  const wrong = right === '000000' ? '111111' : '000000';
  const { outcome } = await attempt({ flow: 'id-password-flow', username: u.username, secret: `${u.password};${wrong}` });
  expectDenied(outcome, 'invalid_credentials');
});

test('TOTP: code used twice is refused the second time (replay)', async () => {
  const u = totpUser();
  const code = totpCode(u.secret);
  assert.equal((await attempt({ flow: 'id-embedded-flow', username: u.username, secret: `${u.password};${code}` })).outcome.kind, 'passed');
  expectDenied((await attempt({ flow: 'id-embedded-flow', username: u.username, secret: `${u.password};${code}` })).outcome, 'invalid_credentials');
});

test('TOTP: missing code is a flow error (no compatible authenticator class found)', async () => {
  const u = totpUser();
  const { outcome } = await attempt({ flow: 'id-password-flow', username: u.username, secret: u.password });
  expectError(outcome, 'flow_error', 'no compatible authenticator class found');
});

test('static token: 8 characters and a 12-character token (beyond authentik 2024.4\'s split rule)', async () => {
  assert.equal((await attempt({ flow: 'id-embedded-flow', username: 'dave', secret: 'dave-password;stat1234' })).outcome.kind, 'passed');
  assert.equal((await attempt({ flow: 'id-embedded-flow', username: 'dave', secret: 'dave-password;staticdave12' })).outcome.kind, 'passed');
  // A static token is consumed.
  expectDenied((await attempt({ flow: 'id-embedded-flow', username: 'dave', secret: 'dave-password;staticdave12' })).outcome, 'invalid_credentials');
});

test('Duo: pushed when no code is given; a denied push is refused', async () => {
  core.admin.clearRequests();
  assert.equal((await attempt({ flow: 'id-embedded-flow', username: 'grace', secret: 'grace-password' })).outcome.kind, 'passed');
  const mfaPost = flowRequests('id-embedded-flow').find((r) => r.method === 'POST' && (r.body as { component?: string }).component === 'ak-stage-authenticator-validate');
  assert.equal(typeof (mfaPost?.body as { duo?: unknown }).duo, 'number');
  const heidi = await attempt({ flow: 'id-embedded-flow', username: 'heidi', secret: 'heidi-password' });
  expectDenied(heidi.outcome, 'invalid_credentials', 'flow error duo: Duo denied access');
});

test('TOTP and Duo: a supplied code wins over Duo (authentik bug fixed); no code uses Duo', async () => {
  const secret = 'KRSXG5CTMVRXEZLUKN2XAZLSKNSWG4TF'; // judy's TOTP in the seed
  core.admin.clearRequests();
  const withCode = await attempt({ flow: 'id-embedded-flow', username: 'judy', secret: `judy-password;${totpCode(secret)}` });
  assert.equal(withCode.outcome.kind, 'passed', JSON.stringify(withCode.outcome));
  const body = flowRequests('id-embedded-flow').map((r) => r.body as Record<string, unknown> | undefined).find((b) => b?.['component'] === 'ak-stage-authenticator-validate');
  assert.equal(body?.['duo'], undefined);
  assert.equal((body?.['selected_challenge'] as { device_class?: string }).device_class, 'totp');

  assert.equal((await attempt({ flow: 'id-embedded-flow', username: 'judy', secret: 'judy-password' })).outcome.kind, 'passed');
});

test('webauthn only: no compatible authenticator class found', async () => {
  expectError((await attempt({ flow: 'id-embedded-flow', username: 'frank', secret: 'frank-password;123456' })).outcome, 'flow_error', 'no compatible authenticator class found');
});

test('MFA support off: the password is also the code (an MFA-only flow accepts the TOTP as the password)', async () => {
  const u = totpUser();
  const code = totpCode(u.secret);
  const { outcome } = await attempt({ flow: 'mfa-only-flow', username: u.username, secret: code, mfaSupport: false });
  assert.equal(outcome.kind, 'passed', JSON.stringify(outcome));
  // And with MFA support off, "password;code" is not split: the literal string is the password.
  const v = totpUser();
  const split = await attempt({ flow: 'id-embedded-flow', username: v.username, secret: `${v.password};${totpCode(v.secret)}`, mfaSupport: false });
  expectDenied(split.outcome, 'invalid_credentials');
});

test('MFA stage that denies users without a device: access_denied', async () => {
  expectDenied((await attempt({ flow: 'mfa-only-flow', username: 'erin', secret: 'erin-password' })).outcome, 'access_denied');
});

// ---- policies and unusual flows ----

test('access denied by policy: the flow passes, checkAccess says passing false', async () => {
  const { fe, outcome } = await attempt({ flow: 'radius-test-flow', username: 'erin', secret: 'erin-password', params: RADIUS_PARAMS });
  assert.equal(outcome.kind, 'passed');
  const access = await fe.checkAccess('test-radius-app');
  assert.equal(access.passing, false);
  // A member of vpn passes.
  const alice = await attempt({ flow: 'radius-test-flow', username: 'alice', secret: 'alice-password', params: RADIUS_PARAMS });
  assert.equal((await alice.fe.checkAccess('test-radius-app')).passing, true);
});

test('deny stage: denied / access_denied with the stage message', async () => {
  expectDenied((await attempt({ flow: 'deny-flow', username: 'alice', secret: 'alice-password' })).outcome, 'access_denied', 'Access denied by the devcore test flow.');
});

test('require_outpost flow: passes with a delegated client IP, denied without', async () => {
  assert.equal((await attempt({ flow: 'outpost-only-flow', username: 'alice', secret: 'alice-password' })).outcome.kind, 'passed');
  expectDenied((await attempt({ flow: 'outpost-only-flow', username: 'alice', secret: 'alice-password', clientIp: null })).outcome, 'access_denied');
});

test('unknown stage: unsupported challenge type', async () => {
  expectError((await attempt({ flow: 'consent-flow', username: 'alice', secret: 'alice-password' })).outcome, 'flow_error', 'unsupported challenge type ak-stage-consent');
});

test('the core failing inside a stage (ak-stage-flow-error) is core_error, the core failing, not a wrong password', async () => {
  const { outcome } = await attempt({ flow: 'error-flow', username: 'alice', secret: 'alice-password' });
  expectError(outcome, 'core_error', 'authentik failed while running the flow (request_id ');
  assert.equal(coreFailure(outcome)?.cause, 'status');
});

test('unknown flow: http_status 404', async () => {
  const { outcome } = await attempt({ flow: 'no-such-flow', username: 'alice', secret: 'alice-password' });
  expectError(outcome, 'http_status');
  assert.equal(outcome.kind === 'error' && outcome.status, 404);
});

test('too many stages: at most 10 POSTs, then exceeded stage recursion depth', async () => {
  core.admin.clearRequests();
  const { outcome } = await attempt({ flow: 'endless-flow', username: 'alice', secret: 'alice-password' });
  expectError(outcome, 'flow_error', 'exceeded stage recursion depth');
  assert.equal(flowRequests('endless-flow').filter((r) => r.method === 'POST').length, 10);
});

// ---- logout and warm-up ----

test('endSession sends the stored session to the invalidation flow, which ends it', async () => {
  const { fe, outcome } = await attempt({ flow: 'id-embedded-flow', username: 'alice', secret: 'alice-password' });
  assert.ok(outcome.kind === 'passed' && outcome.session);
  const session = outcome.session;
  assert.deepEqual((await fe.checkAccess('test-ldap-app')).passing, true);

  core.admin.clearRequests();
  const out = await endSession(deps(), { invalidationFlowSlug: 'default-invalidation-flow', session, clientIp: CLIENT });
  assert.equal(out.kind, 'passed');
  const first = flowRequests('default-invalidation-flow')[0];
  assert.match(first?.headers['cookie'] ?? '', new RegExp(`authentik_session=${session.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.equal(first?.rawQuery, 'query=goauthentik.io%252Foutpost%252Fldap%3Dtrue');

  // The old session no longer authenticates.
  const again = createFlowExecutor(deps());
  again.useSession(session);
  await assert.rejects(again.checkAccess('test-ldap-app'), (e: unknown) => e instanceof CoreError && e.code === 'status' && e.status === 403);
});

test('warmUp: one GET with the warm-up params, no error', async () => {
  core.admin.clearRequests();
  assert.equal(await warmUp(deps(), 'id-password-flow'), undefined);
  const reqs = flowRequests('id-password-flow');
  assert.equal(reqs.length, 1);
  assert.equal(reqs[0]?.rawQuery, 'query=goauthentik.io%252Foutpost%252Fldap-warmup%3Dtrue');
  assert.equal(reqs[0]?.headers['cookie'], undefined);
});

// ---- a misbehaving core ----

test('slow core: per-request timeout gives a timeout error, quickly', async () => {
  core.admin.setFaults({ latencyMs: 2_000, pathPrefix: EXECUTOR });
  try {
    const t0 = Date.now();
    const { outcome } = await attempt({ flow: 'id-embedded-flow', username: 'alice', secret: 'alice-password', deps: { requestTimeoutMs: 300 } });
    expectError(outcome, 'timeout');
    assert.ok(Date.now() - t0 < 1_500);
  } finally {
    core.admin.clearFaults();
  }
});

test('slow core: per-attempt deadline', async () => {
  core.admin.setFaults({ latencyMs: 200, pathPrefix: EXECUTOR });
  try {
    const { outcome } = await attempt({ flow: 'id-password-flow', username: 'alice', secret: 'alice-password', deps: { requestTimeoutMs: 1_000, attemptTimeoutMs: 500 } });
    expectError(outcome, 'timeout', 'did not finish within 500 ms');
  } finally {
    core.admin.clearFaults();
  }
});

test('garbage body: invalid_response, never a pass', async () => {
  core.admin.setFaults({ garbage: true, pathPrefix: EXECUTOR, failCount: 1 });
  try {
    expectError((await attempt({ flow: 'id-embedded-flow', username: 'alice', secret: 'alice-password' })).outcome, 'invalid_response');
  } finally {
    core.admin.clearFaults();
  }
});

test('core error status: http_status', async () => {
  core.admin.setFaults({ failStatus: 502, pathPrefix: EXECUTOR, failCount: 1 });
  try {
    const { outcome } = await attempt({ flow: 'id-embedded-flow', username: 'alice', secret: 'alice-password' });
    expectError(outcome, 'http_status');
    assert.equal(outcome.kind === 'error' && outcome.status, 502);
  } finally {
    core.admin.clearFaults();
  }
});

test('core down: unreachable; back up: passes again', async () => {
  await core.admin.stopListening();
  try {
    expectError((await attempt({ flow: 'id-embedded-flow', username: 'alice', secret: 'alice-password' })).outcome, 'unreachable');
    const w = await warmUp(deps(), 'id-embedded-flow');
    assert.ok(w instanceof CoreError && w.code === 'transport');
  } finally {
    await core.admin.startListening();
  }
  assert.equal((await attempt({ flow: 'id-embedded-flow', username: 'alice', secret: 'alice-password' })).outcome.kind, 'passed');
});

test('metrics: GETs and POSTs observed per flow and stage', () => {
  assert.ok(calls.some((c) => c.kind === 'get' && c.flow === 'id-password-flow' && c.stage === 'ak-stage-identification'));
  assert.ok(calls.some((c) => c.kind === 'post' && c.flow === 'id-password-flow' && c.stage === 'ak-stage-password'));
  assert.ok(calls.some((c) => c.kind === 'post' && c.stage === 'xak-flow-redirect'));
  for (const c of calls) assert.ok(Number.isFinite(c.seconds) && c.seconds >= 0);
});
