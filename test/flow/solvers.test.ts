import { test } from 'node:test';
import assert from 'node:assert/strict';
import { challengeSchema } from '../../src/flow/challenges.ts';
import { nextStep, scrub, type FlowAnswers, type Step } from '../../src/flow/solvers.ts';

const ANSWERS: FlowAnswers = { username: 'alice', password: 'hunter2!' };

function step(raw: Record<string, unknown>, answers: FlowAnswers = ANSWERS): Step {
  return nextStep(challengeSchema.parse(raw), answers);
}

const totp = { device_class: 'totp', device_uid: '3', challenge: {} };
const stat = { device_class: 'static', device_uid: '4', challenge: {} };
const duo = { device_class: 'duo', device_uid: '7', challenge: { extra: 1 } };
const webauthn = { device_class: 'webauthn', device_uid: '9', challenge: { publicKey: {} } };
const sms = { device_class: 'sms', device_uid: '10', challenge: {} };

function mfa(...devices: unknown[]) {
  return { type: 'native', component: 'ak-stage-authenticator-validate', pending_user: 'alice', device_challenges: devices, configuration_stages: [] };
}

test('identification: uid_field and password (always present)', () => {
  assert.deepEqual(step({ type: 'native', component: 'ak-stage-identification' }), {
    kind: 'post', body: { component: 'ak-stage-identification', uid_field: 'alice', password: 'hunter2!' },
  });
  assert.deepEqual(step({ type: 'native', component: 'ak-stage-identification' }, { username: 'bob', password: '' }), {
    kind: 'post', body: { component: 'ak-stage-identification', uid_field: 'bob', password: '' },
  });
});

test('password and user-login', () => {
  assert.deepEqual(step({ type: 'native', component: 'ak-stage-password' }), {
    kind: 'post', body: { component: 'ak-stage-password', password: 'hunter2!' },
  });
  assert.deepEqual(step({ type: 'native', component: 'ak-stage-user-login' }), {
    kind: 'post', body: { component: 'ak-stage-user-login', remember_me: true },
  });
});

test('terminal challenges', () => {
  assert.deepEqual(step({ type: 'redirect', component: 'xak-flow-redirect', to: '/' }), { kind: 'passed' });
  assert.deepEqual(step({ component: 'xak-flow-redirect', to: '/' }), { kind: 'passed' });
  assert.deepEqual(step({ type: 'native', component: 'ak-stage-access-denied', error_message: 'Flow does not apply to current user.' }), {
    kind: 'denied', reason: 'access_denied', message: 'Flow does not apply to current user.',
  });
  assert.deepEqual(step({ type: 'native', component: 'ak-stage-access-denied' }), { kind: 'denied', reason: 'access_denied', message: 'access denied' });
});

test('a challenge that says redirect in type but names another stage is taken by its component: never a pass', () => {
  assert.deepEqual(step({ type: 'redirect', component: 'ak-stage-access-denied', error_message: 'no' }), { kind: 'denied', reason: 'access_denied', message: 'no' });
  assert.deepEqual(step({ type: 'redirect', component: 'ak-stage-password', to: '/' }), { kind: 'post', body: { component: 'ak-stage-password', password: 'hunter2!' } });
  assert.deepEqual(step({ type: 'redirect', component: 'ak-stage-consent', to: '/' }), { kind: 'error', reason: 'flow_error', message: 'unsupported challenge type ak-stage-consent' });
  // 2024.4's redirect without a component is still the end of the flow.
  assert.deepEqual(step({ type: 'redirect', to: '/' }), { kind: 'passed' });
});

// authentik sends its error stage when a stage raised an exception: the core failing (LDAP 52,
// RADIUS no answer), not a wrong password (49, Access-Reject), which it was before.
test('the flow-error stage is the core failing (core_error), with its request id and no secret', () => {
  assert.deepEqual(step({ type: 'native', component: 'ak-stage-flow-error', request_id: 'b2c1d3' }), {
    kind: 'error', reason: 'core_error', message: 'authentik failed while running the flow (request_id b2c1d3)',
  });
  assert.deepEqual(step({ type: 'native', component: 'ak-stage-flow-error', request_id: 'b2c1d3', error: 'database is locked', traceback: 'Traceback …' }), {
    kind: 'error', reason: 'core_error', message: 'authentik failed while running the flow (request_id b2c1d3): database is locked',
  });
  assert.deepEqual(step({ type: 'native', component: 'ak-stage-flow-error', error: 'bad password hunter2! for alice' }), {
    kind: 'error', reason: 'core_error', message: 'authentik failed while running the flow: [redacted]',
  });
  // Errors in the answer come first, as for every stage.
  assert.equal(step({ type: 'native', component: 'ak-stage-flow-error', response_errors: { x: [{ string: 'y' }] } }).kind, 'error');
});

test('unsupported challenges are errors', () => {
  for (const component of ['ak-stage-consent', 'ak-stage-prompt', 'ak-stage-autosubmit', 'ak-stage-captcha']) {
    assert.deepEqual(step({ type: 'native', component }), { kind: 'error', reason: 'flow_error', message: `unsupported challenge type ${component}` });
  }
  // 2024.4 POSTed a shell challenge with no body; we refuse it.
  assert.deepEqual(step({ type: 'shell', component: 'xak-flow-shell', body: '<p>' }), {
    kind: 'error', reason: 'flow_error', message: 'unsupported challenge type xak-flow-shell',
  });
  assert.deepEqual(step({ type: 'shell', component: 'ak-stage-password' }), {
    kind: 'error', reason: 'flow_error', message: 'unsupported challenge type ak-stage-password',
  });
});

test('response_errors: credential stages are denied/invalid_credentials, others flow_error; checked first', () => {
  assert.deepEqual(
    step({ type: 'native', component: 'ak-stage-identification', response_errors: { non_field_errors: [{ string: 'Failed to authenticate.', code: 'invalid' }] } }),
    { kind: 'denied', reason: 'invalid_credentials', message: 'flow error non_field_errors: Failed to authenticate.' },
  );
  assert.deepEqual(
    step({ type: 'native', component: 'ak-stage-password', response_errors: { password: [{ string: 'Invalid password', code: 'invalid' }] } }),
    { kind: 'denied', reason: 'invalid_credentials', message: 'flow error password: Invalid password' },
  );
  assert.deepEqual(
    step({ ...mfa(totp), response_errors: { code: [{ string: 'Invalid Token', code: 'invalid' }] } }, { ...ANSWERS, code: '123456' }),
    { kind: 'denied', reason: 'invalid_credentials', message: 'flow error code: Invalid Token' },
  );
  assert.deepEqual(
    step({ type: 'native', component: 'ak-stage-prompt', response_errors: { email: [{ string: 'Enter a valid email', code: 'invalid' }] } }),
    { kind: 'error', reason: 'flow_error', message: 'flow error email: Enter a valid email' },
  );
  // Even on a redirect, errors win (authentik's order).
  assert.equal(step({ type: 'redirect', to: '/', response_errors: { x: [{ string: 'y' }] } }).kind, 'error');
});

test('messages never carry the password or code', () => {
  const answers = { username: 'alice', password: 'hunter2!', code: '123456' };
  const s = step({ type: 'native', component: 'ak-stage-password', response_errors: { password: [{ string: 'bad hunter2! was given' }] } }, answers);
  assert.deepEqual(s, { kind: 'denied', reason: 'invalid_credentials', message: 'flow error password: [redacted]' });
  const d = step({ type: 'native', component: 'ak-stage-access-denied', error_message: 'code 123456 is wrong' }, answers);
  assert.deepEqual(d, { kind: 'denied', reason: 'access_denied', message: '[redacted]' });
  const u = step({ type: 'native', component: 'x-hunter2!-y' }, answers);
  assert.deepEqual(u, { kind: 'error', reason: 'flow_error', message: 'unsupported challenge type [redacted]' });
  // Very short secrets are not searched for (they would match ordinary words).
  assert.equal(scrub('Invalid password', { password: 'in' }), 'Invalid password');
  assert.equal(scrub('x'.repeat(300), { password: 'abcd' }).length, 201);
});

// ---- authenticator-validate ----

const CODE: FlowAnswers = { username: 'alice', password: 'pw', code: '123456' };
const MIRRORED: FlowAnswers = { username: 'alice', password: '654321', code: '654321', codeIsPassword: true };
const NO_CODE: FlowAnswers = { username: 'alice', password: 'pw' };

function codeBody(device: Record<string, unknown>, code: string) {
  return { kind: 'post', body: { component: 'ak-stage-authenticator-validate', selected_challenge: device, code } };
}
function duoBody(device: Record<string, unknown>, id: number) {
  return { kind: 'post', body: { component: 'ak-stage-authenticator-validate', selected_challenge: device, duo: id } };
}

test('authenticator-validate: a supplied code picks the first totp/static device', () => {
  assert.deepEqual(step(mfa(totp), CODE), codeBody(totp, '123456'));
  assert.deepEqual(step(mfa(stat), CODE), codeBody(stat, '123456'));
  assert.deepEqual(step(mfa(webauthn, stat, totp), CODE), codeBody(stat, '123456'));
});

test('authenticator-validate: a supplied code wins over Duo, whatever the order (authentik bug fixed)', () => {
  assert.deepEqual(step(mfa(duo, totp), CODE), codeBody(totp, '123456'));
  assert.deepEqual(step(mfa(totp, duo), CODE), codeBody(totp, '123456'));
});

test('authenticator-validate: Duo when no code is supplied', () => {
  assert.deepEqual(step(mfa(totp, duo), NO_CODE), duoBody(duo, 7));
  assert.deepEqual(step(mfa(duo), NO_CODE), duoBody(duo, 7));
  assert.deepEqual(step(mfa(duo), { ...NO_CODE, code: '' }), duoBody(duo, 7));
});

test('authenticator-validate: a code but only Duo offered falls back to Duo', () => {
  assert.deepEqual(step(mfa(duo, webauthn), CODE), duoBody(duo, 7));
});

test('authenticator-validate: mirrored password (MFA off) prefers Duo, else is sent as the code', () => {
  assert.deepEqual(step(mfa(totp, duo), MIRRORED), duoBody(duo, 7));
  assert.deepEqual(step(mfa(totp), MIRRORED), codeBody(totp, '654321'));
});

test('authenticator-validate: nothing compatible', () => {
  const err = { kind: 'error', reason: 'flow_error', message: 'no compatible authenticator class found' };
  assert.deepEqual(step(mfa(webauthn), CODE), err);
  assert.deepEqual(step(mfa(sms), CODE), err);
  assert.deepEqual(step(mfa(totp, stat), NO_CODE), err);
  assert.deepEqual(step(mfa(), CODE), err);
  assert.deepEqual(step(mfa({ device_class: 'unknown', device_uid: '1', challenge: {} }), CODE), err);
});

test('authenticator-validate: Duo device ids', () => {
  const bad = { kind: 'error', reason: 'flow_error', message: 'failed to convert duo device id to int' };
  for (const uid of ['abc', '', '-1', '+7', ' 7', '2147483648', '1.5']) {
    assert.deepEqual(step(mfa({ ...duo, device_uid: uid }), NO_CODE), bad, uid);
  }
  assert.deepEqual(step(mfa({ ...duo, device_uid: '2147483647' }), NO_CODE), duoBody({ ...duo, device_uid: '2147483647' }, 2147483647));
  // A numeric uid is tolerated and echoed back unchanged.
  assert.deepEqual(step(mfa({ ...duo, device_uid: 7 }), NO_CODE), duoBody({ ...duo, device_uid: 7 }, 7));
});

test('authenticator-validate: device challenge echoed exactly (class, uid, challenge); missing challenge is {}', () => {
  assert.deepEqual(step(mfa({ device_class: 'totp', device_uid: '3' }), CODE), codeBody(totp, '123456'));
});

test('authenticator-validate: malformed device list is an invalid_response error', () => {
  for (const raw of [
    { type: 'native', component: 'ak-stage-authenticator-validate' },
    { type: 'native', component: 'ak-stage-authenticator-validate', device_challenges: 'x' },
    mfa({ device_class: 'totp' }),
    mfa({ device_uid: '3' }),
  ]) {
    const s = step(raw, CODE);
    assert.equal(s.kind, 'error');
    assert.equal(s.kind === 'error' && s.reason, 'invalid_response', JSON.stringify(raw));
  }
});

test('authentikReason reproduces authentik 2024.4 labels', async () => {
  const { authentikReason } = await import('../../src/flow/reasons.ts');
  assert.equal(authentikReason({ kind: 'denied', reason: 'access_denied', message: '' }), 'invalid_credentials');
  assert.equal(authentikReason({ kind: 'denied', reason: 'invalid_credentials', message: '' }), 'flow_error');
  assert.equal(authentikReason({ kind: 'error', reason: 'timeout', message: '' }), 'flow_error');
});
