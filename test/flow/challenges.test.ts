import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accessCheckSchema,
  challengeResponseSchema,
  challengeSchema,
  firstResponseError,
  isRedirect,
  userSelfEnvelopeSchema,
} from '../../src/flow/challenges.ts';

test('parses the 2024.4 challenge templates, keeping unknown fields', () => {
  const ident = challengeSchema.parse({
    type: 'native',
    component: 'ak-stage-identification',
    flow_info: { title: 'Welcome', background: '', cancel_url: '/flows/-/cancel/', layout: 'stacked' },
    user_fields: ['username', 'email'],
    password_fields: true,
  });
  assert.equal(ident.component, 'ak-stage-identification');
  assert.deepEqual(ident['user_fields'], ['username', 'email']);

  const denied = challengeSchema.parse({
    type: 'native', component: 'ak-stage-access-denied', pending_user: 'alice', error_message: 'Flow does not apply to current user.',
  });
  assert.equal(denied.error_message, 'Flow does not apply to current user.');
  assert.equal(denied.pending_user, 'alice');
});

test('redirect: 2024.4 type or later component', () => {
  assert.equal(isRedirect(challengeSchema.parse({ type: 'redirect', component: 'xak-flow-redirect', to: '/' })), true);
  assert.equal(isRedirect(challengeSchema.parse({ component: 'xak-flow-redirect', to: '/' })), true);
  assert.equal(isRedirect(challengeSchema.parse({ type: 'redirect', to: '/' })), true);
  assert.equal(isRedirect(challengeSchema.parse({ type: 'native', component: 'ak-stage-password' })), false);
  // Contradictory: the component decides, as later authentik does.
  assert.equal(isRedirect(challengeSchema.parse({ type: 'redirect', component: 'ak-stage-access-denied' })), false);
  assert.equal(isRedirect(challengeSchema.parse({ type: 'redirect', component: 'ak-stage-password', to: '/' })), false);
});

test('response_errors: first field and message', () => {
  const c = challengeSchema.parse({
    type: 'native', component: 'ak-stage-identification',
    response_errors: { non_field_errors: [{ string: 'Failed to authenticate.', code: 'invalid' }] },
  });
  assert.deepEqual(firstResponseError(c), { field: 'non_field_errors', message: 'Failed to authenticate.' });
  const empty = challengeSchema.parse({ component: 'ak-stage-password', response_errors: { password: [] } });
  assert.equal(firstResponseError(empty), undefined);
  const nul = challengeSchema.parse({ component: 'ak-stage-password', response_errors: null });
  assert.equal(firstResponseError(nul), undefined);
  const noCode = challengeSchema.parse({ component: 'ak-stage-password', response_errors: { password: [{ string: 'Invalid password' }] } });
  assert.deepEqual(firstResponseError(noCode), { field: 'password', message: 'Invalid password' });
});

test('garbage is rejected', () => {
  const bad: unknown[] = [
    null, 42, 'text', [], {},
    { foo: 1 },
    { component: 7 },
    { type: 'native', component: '' },
    { component: 'ak-stage-password', response_errors: ['x'] },
    { component: 'ak-stage-password', response_errors: { password: [{ code: 'invalid' }] } },
    { component: 'ak-stage-access-denied', error_message: 5 },
  ];
  for (const b of bad) assert.equal(challengeSchema.safeParse(b).success, false, JSON.stringify(b));
});

test('response bodies validate', () => {
  assert.equal(challengeResponseSchema.safeParse({ component: 'ak-stage-identification', uid_field: 'a', password: '' }).success, true);
  assert.equal(challengeResponseSchema.safeParse({ component: 'ak-stage-identification', uid_field: 'a' }).success, false);
  assert.equal(challengeResponseSchema.safeParse({ component: 'ak-stage-user-login', remember_me: true }).success, true);
  assert.equal(
    challengeResponseSchema.safeParse({
      component: 'ak-stage-authenticator-validate',
      selected_challenge: { device_class: 'duo', device_uid: '7', challenge: {} },
      duo: 7,
    }).success,
    true,
  );
  assert.equal(challengeResponseSchema.safeParse({ component: 'ak-stage-consent' }).success, false);
});

test('check_access body', () => {
  assert.deepEqual(accessCheckSchema.parse({ passing: false, messages: ['no'], log_messages: [] }).messages, ['no']);
  assert.deepEqual(accessCheckSchema.parse({ passing: true }).messages, []);
  assert.equal(accessCheckSchema.safeParse({ messages: [] }).success, false);
  assert.equal(accessCheckSchema.safeParse({ passing: 'yes' }).success, false);
});

test('users/me body: defaults and required fields', () => {
  const me = userSelfEnvelopeSchema.parse({
    user: {
      pk: 5, username: 'alice', name: 'Alice', is_active: true, is_superuser: false,
      groups: [{ name: 'ldap-search', pk: '9b1d' }], email: 'alice@example.com', avatar: '',
      uid: 'd3adbeef', settings: {}, type: 'internal', system_permissions: [],
    },
  });
  assert.equal(me.user.pk, 5);
  assert.deepEqual(me.user.attributes, {});
  assert.deepEqual(me.user.groups.map((g) => g.pk), ['9b1d']);
  assert.equal(userSelfEnvelopeSchema.safeParse({ user: { username: 'a', is_active: true } }).success, false);
  assert.equal(userSelfEnvelopeSchema.safeParse({ pk: 5 }).success, false);
  assert.equal(userSelfEnvelopeSchema.safeParse({ user: { pk: '5', username: 'a', is_active: true } }).success, false);
});
