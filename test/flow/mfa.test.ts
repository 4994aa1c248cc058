import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitSecrets, type Secrets } from '../../src/flow/mfa.ts';

const STATIC_12 = 'aB3dE6gH9jK2';
const STATIC_50 = 'x'.repeat(50);

// [input, expected] with MFA support on.
const MFA_ON: [string, Secrets][] = [
  ['secret', { password: 'secret' }],
  ['secret;123456', { password: 'secret', code: '123456' }],
  ['secret;12345678', { password: 'secret', code: '12345678' }],
  ['secret;1234567', { password: 'secret', code: '1234567' }],
  [`secret;${STATIC_12}`, { password: 'secret', code: STATIC_12 }],
  ['secret;abcd2345', { password: 'secret', code: 'abcd2345' }],
  [`secret;${STATIC_50}`, { password: 'secret', code: STATIC_50 }],
  // Split at the LAST separator: the password may contain ';'.
  ['pa;ss;123456', { password: 'pa;ss', code: '123456' }],
  [';123456', { password: '', code: '123456' }],
  // Suffix that is no code: the whole input stays the password.
  ['pa;ss', { password: 'pa;ss' }],
  ['pa;ss;', { password: 'pa;ss;' }],
  ['secret;', { password: 'secret;' }],
  ['secret;12345', { password: 'secret;12345' }],
  [`secret;${'x'.repeat(51)}`, { password: `secret;${'x'.repeat(51)}` }],
  ['secret;123 456', { password: 'secret;123 456' }],
  ['secret;12-3456', { password: 'secret;12-3456' }],
  ['secret;ab_cdefg', { password: 'secret;ab_cdefg' }],
  // Go's Atoi accepted a sign; no code ever has one.
  ['secret;+12345', { password: 'secret;+12345' }],
  ['secret;-12345', { password: 'secret;-12345' }],
  // Non-ASCII digits and letters are not codes.
  ['secret;١٢٣٤٥٦', { password: 'secret;١٢٣٤٥٦' }],
  ['secret;ünïcödé', { password: 'secret;ünïcödé' }],
  ['', { password: '' }],
  [';', { password: ';' }],
];

test('MFA support on: split table', () => {
  for (const [input, expected] of MFA_ON) assert.deepEqual(splitSecrets(input, true), expected, input);
});

test('MFA support on: the mirror option has no effect', () => {
  assert.deepEqual(splitSecrets('secret;123456', true, { mirrorPasswordAsCode: false }), { password: 'secret', code: '123456' });
  assert.deepEqual(splitSecrets('secret', true, { mirrorPasswordAsCode: true }), { password: 'secret' });
});

test('MFA support off: nothing is split; the input is also the code (RADIUS behaviour, default)', () => {
  assert.deepEqual(splitSecrets('secret;123456', false), { password: 'secret;123456', code: 'secret;123456', codeIsPassword: true });
  assert.deepEqual(splitSecrets('123456', false), { password: '123456', code: '123456', codeIsPassword: true });
  assert.deepEqual(splitSecrets('', false), { password: '' });
});

test('MFA support off with mirroring disabled (LDAP may choose this)', () => {
  assert.deepEqual(splitSecrets('secret;123456', false, { mirrorPasswordAsCode: false }), { password: 'secret;123456' });
  assert.deepEqual(splitSecrets('123456', false, { mirrorPasswordAsCode: false }), { password: '123456' });
});
