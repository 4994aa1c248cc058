// Every body the development core sends, checked against authentik 2024.4's official client
// models (@goauthentik/api): it must parse with the model's FromJSON, and every field the
// model's interface declares without `?` must be present (recursing into nested models).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { once } from 'node:events';
import {
  AccessDeniedChallengeFromJSON,
  AuthenticatorValidationChallengeFromJSON,
  CertificateDataFromJSON,
  CertificateKeyPairFromJSON,
  ChallengeTypesFromJSON,
  ConfigFromJSON,
  ConsentChallengeFromJSON,
  CurrentBrandFromJSON,
  FlowErrorChallengeFromJSON,
  GenericErrorFromJSON,
  GroupFromJSON,
  IdentificationChallengeFromJSON,
  OutpostFromJSON,
  OutpostHealthFromJSON,
  PaginatedGroupListFromJSON,
  PaginatedLDAPOutpostConfigListFromJSON,
  PaginatedOutpostListFromJSON,
  PaginatedProxyOutpostConfigListFromJSON,
  PaginatedRadiusOutpostConfigListFromJSON,
  PaginatedUserListFromJSON,
  PasswordChallengeFromJSON,
  PolicyTestResultFromJSON,
  RedirectChallengeFromJSON,
  SessionUserFromJSON,
  UserFromJSON,
  UserLoginChallengeFromJSON,
} from '@goauthentik/api';
import type { DevCore } from '../../src/devcore/index.ts';
import { totpCode } from '../../src/devcore/totp.ts';
import { bearer, FlowClient, http, LDAP_QUERY, LDAP_TOKEN, missingRequired, PROXY_TOKEN, RADIUS_TOKEN, startTestCore, type Res } from './helpers.ts';

type FromJson = (json: unknown) => unknown;

/** Parse with the official model and list missing required fields (the failure names them). */
function conforms(model: string, fromJson: FromJson, body: unknown): void {
  assert.ok(body !== undefined && body !== null, `${model}: no body`);
  assert.deepEqual(missingRequired(model, body), [], `${model} is missing required fields`);
  assert.doesNotThrow(() => fromJson(body), `${model}FromJSON failed`);
}

const CHALLENGE_MODELS: Record<string, [string, FromJson]> = {
  'ak-stage-identification': ['IdentificationChallenge', IdentificationChallengeFromJSON],
  'ak-stage-password': ['PasswordChallenge', PasswordChallengeFromJSON],
  'ak-stage-authenticator-validate': ['AuthenticatorValidationChallenge', AuthenticatorValidationChallengeFromJSON],
  'ak-stage-user-login': ['UserLoginChallenge', UserLoginChallengeFromJSON],
  'ak-stage-access-denied': ['AccessDeniedChallenge', AccessDeniedChallengeFromJSON],
  'ak-stage-flow-error': ['FlowErrorChallenge', FlowErrorChallengeFromJSON],
  'ak-stage-consent': ['ConsentChallenge', ConsentChallengeFromJSON],
  'xak-flow-redirect': ['RedirectChallenge', RedirectChallengeFromJSON],
};

function challenge(res: Res, component: string): void {
  assert.equal(res.status, 200);
  assert.equal(res.json?.component, component, JSON.stringify(res.json));
  const [model, fromJson] = CHALLENGE_MODELS[component] as [string, FromJson];
  conforms(model, fromJson, res.json);
  // The union the executor endpoint is declared with must dispatch it too.
  const parsed = ChallengeTypesFromJSON(res.json) as { component?: string };
  assert.equal(parsed.component, component);
}

describe('contract with the official 2024.4 models', () => {
  let core: DevCore;
  const get = (path: string, token = LDAP_TOKEN) => http(core.url, 'GET', path, { headers: bearer(token) });

  before(async () => {
    core = await startTestCore();
  });
  after(() => core.close());

  it('the checker itself names a missing required field, also in nested models', () => {
    const user = { pk: 1, username: 'a', name: 'A', is_superuser: false, groups_obj: [{ pk: 'x', num_pk: 1, name: 'g', parent_name: null }], avatar: '', uuid: 'u' };
    assert.deepEqual(missingRequired('User', user), ['User.uid is missing (required by User.uid)']);
    const nested = { ...user, uid: 'x', groups_obj: [{ pk: 'x', name: 'g', parent_name: null }] };
    assert.deepEqual(missingRequired('User', nested), ['User.groups_obj[0].num_pk is missing (required by UserGroup.numPk)']);
  });

  it('outposts: instances list, single outpost, health', async () => {
    const list = await get('/api/v3/outposts/instances/');
    conforms('PaginatedOutpostList', PaginatedOutpostListFromJSON, list.json);
    const pk = list.json.results[0].pk;
    conforms('Outpost', OutpostFromJSON, (await get(`/api/v3/outposts/instances/${pk}/`)).json);

    const ws = new WebSocket(`${core.url.replace(/^http/, 'ws')}/ws/outpost/${pk}/`, { headers: bearer(LDAP_TOKEN) });
    await once(ws, 'open');
    ws.send(JSON.stringify({ instruction: 1, args: { version: '2024.4.3', buildHash: 'tagged', uuid: 'c0ffee00-0000-4000-8000-000000000001', hostname: 'contract' } }));
    await once(ws, 'message');
    const health = await get(`/api/v3/outposts/instances/${pk}/health/`);
    assert.equal(health.json.length, 1);
    for (const h of health.json) conforms('OutpostHealth', OutpostHealthFromJSON, h);
    ws.terminate();
  });

  it('root config and current brand', async () => {
    conforms('Config', ConfigFromJSON, (await get('/api/v3/root/config/')).json);
    conforms('CurrentBrand', CurrentBrandFromJSON, (await http(core.url, 'GET', '/api/v3/core/brands/current/')).json);
  });

  it('provider lists (LDAP, RADIUS, proxy)', async () => {
    const ldap = await get('/api/v3/outposts/ldap/?page=1&page_size=100');
    assert.equal(ldap.json.results.length, 1);
    conforms('PaginatedLDAPOutpostConfigList', PaginatedLDAPOutpostConfigListFromJSON, ldap.json);
    const radius = await get('/api/v3/outposts/radius/', RADIUS_TOKEN);
    assert.equal(radius.json.results.length, 1);
    conforms('PaginatedRadiusOutpostConfigList', PaginatedRadiusOutpostConfigListFromJSON, radius.json);
    const proxy = await get('/api/v3/outposts/proxy/', PROXY_TOKEN);
    assert.equal(proxy.json.results.length, 1);
    conforms('PaginatedProxyOutpostConfigList', PaginatedProxyOutpostConfigListFromJSON, proxy.json);
  });

  it('users list (with and without groups), single user', async () => {
    const list = await get('/api/v3/core/users/');
    assert.ok(list.json.results.length > 5);
    conforms('PaginatedUserList', PaginatedUserListFromJSON, list.json);
    conforms('PaginatedUserList', PaginatedUserListFromJSON, (await get('/api/v3/core/users/?include_groups=false')).json);
    const alice = list.json.results.find((u: { username: string }) => u.username === 'alice');
    conforms('User', UserFromJSON, (await get(`/api/v3/core/users/${alice.pk}/`)).json);
  });

  it('groups list (with and without users), single group', async () => {
    const list = await get('/api/v3/core/groups/');
    conforms('PaginatedGroupList', PaginatedGroupListFromJSON, list.json);
    conforms('PaginatedGroupList', PaginatedGroupListFromJSON, (await get('/api/v3/core/groups/?include_users=false')).json);
    const child = list.json.results.find((g: { name: string }) => g.name === 'vpn-contractors');
    conforms('Group', GroupFromJSON, (await get(`/api/v3/core/groups/${child.pk}/`)).json);
  });

  it('certificate keypair, certificate and private key', async () => {
    const pk = (await get('/api/v3/outposts/ldap/')).json.results[0].certificate;
    conforms('CertificateKeyPair', CertificateKeyPairFromJSON, (await get(`/api/v3/crypto/certificatekeypairs/${pk}/`)).json);
    conforms('CertificateData', CertificateDataFromJSON, (await get(`/api/v3/crypto/certificatekeypairs/${pk}/view_certificate/`)).json);
    conforms('CertificateData', CertificateDataFromJSON, (await get(`/api/v3/crypto/certificatekeypairs/${pk}/view_private_key/`)).json);
  });

  it('error bodies', async () => {
    conforms('GenericError', GenericErrorFromJSON, (await http(core.url, 'GET', '/api/v3/outposts/instances/')).json);
    conforms('GenericError', GenericErrorFromJSON, (await get('/api/v3/outposts/instances/', 'nope')).json);
    conforms('GenericError', GenericErrorFromJSON, (await get('/api/v3/nope/')).json);
  });

  it('every challenge type, check_access and users/me', async () => {
    const url = `/api/v3/flows/executor/id-password-flow/${LDAP_QUERY}`;
    const c = new FlowClient(core.url);
    challenge(await c.get(url), 'ak-stage-identification');
    const invalid = await c.post(url, { component: 'ak-stage-identification' });
    challenge(invalid, 'ak-stage-identification');
    assert.ok(invalid.json.response_errors.uid_field);
    await c.post(url, { component: 'ak-stage-identification', uid_field: 'bob', password: '' });
    challenge(await c.get(url), 'ak-stage-password');
    challenge(await c.post(url, { component: 'ak-stage-password', password: 'wrong' }), 'ak-stage-password');
    await c.post(url, { component: 'ak-stage-password', password: 'bob-password' });
    const mfa = await c.get(url);
    challenge(mfa, 'ak-stage-authenticator-validate');
    assert.equal(mfa.json.device_challenges.length, 1);
    challenge(await c.post(url, { component: 'ak-stage-authenticator-validate', selected_challenge: mfa.json.device_challenges[0], code: '000000x' }), 'ak-stage-authenticator-validate');
    const afterMfa = await c.post(url, { component: 'ak-stage-authenticator-validate', selected_challenge: mfa.json.device_challenges[0], code: totpCode('JBSWY3DPEHPK3PXP', { time: Date.now() + 30_000 }) });
    assert.equal(afterMfa.status, 302);
    challenge(await c.get(url), 'xak-flow-redirect');

    const access = await c.get('/api/v3/core/applications/test-radius-app/check_access/');
    conforms('PolicyTestResult', PolicyTestResultFromJSON, access.json);
    conforms('SessionUser', SessionUserFromJSON, (await c.get('/api/v3/core/users/me/')).json);
    conforms('SessionUser', SessionUserFromJSON, (await get('/api/v3/core/users/me/')).json);

    // user-login with "stay signed in"
    const r = new FlowClient(core.url);
    await r.get('/api/v3/flows/executor/remember-me-flow/');
    await r.post('/api/v3/flows/executor/remember-me-flow/', { component: 'ak-stage-identification', uid_field: 'alice', password: 'alice-password' });
    challenge(await r.get('/api/v3/flows/executor/remember-me-flow/'), 'ak-stage-user-login');

    // access denied, flow error, consent
    challenge(await new FlowClient(core.url).get('/api/v3/flows/executor/outpost-only-flow/'), 'ak-stage-access-denied');
    challenge(await new FlowClient(core.url).get('/api/v3/flows/executor/error-flow/'), 'ak-stage-flow-error');
    const k = new FlowClient(core.url);
    await k.get('/api/v3/flows/executor/consent-flow/');
    await k.post('/api/v3/flows/executor/consent-flow/', { component: 'ak-stage-identification', uid_field: 'alice', password: 'alice-password' });
    challenge(await k.get('/api/v3/flows/executor/consent-flow/'), 'ak-stage-consent');

    // The flow error as a superuser sees it (with error and traceback).
    const adminClient = new FlowClient(core.url);
    await adminClient.get('/api/v3/flows/executor/id-embedded-flow/');
    let res = await adminClient.post('/api/v3/flows/executor/id-embedded-flow/', { component: 'ak-stage-identification', uid_field: 'akadmin', password: 'akadmin' });
    while (res.status === 302) res = await adminClient.get('/api/v3/flows/executor/id-embedded-flow/');
    const err = await adminClient.get('/api/v3/flows/executor/error-flow/');
    challenge(err, 'ak-stage-flow-error');
    assert.equal(err.json.error, 'devcore test stage failure');
  });
});
