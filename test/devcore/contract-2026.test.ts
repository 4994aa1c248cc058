// Every body the development core sends in 2026.8 mode, checked against authentik 2026.8.3's
// official client models (@goauthentik/api@2026.8.3, installed as @goauthentik/api-2026): it
// must parse with the model's FromJSON, carry every required field, no field the model lacks
// (a leftover of 2024.4), and every field must be of its declared type (recursing into nested
// models and enums).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
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
  LDAPCheckAccessFromJSON,
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
  RadiusCheckAccessFromJSON,
  RedirectChallengeFromJSON,
  SessionUserFromJSON,
  UserFromJSON,
  UserLoginChallengeFromJSON,
  ValidationErrorFromJSON,
} from '@goauthentik/api-2026';
import { loadSeedFile, type DevCore } from '../../src/devcore/index.ts';
import { totpCode } from '../../src/devcore/totp.ts';
import { bearer, FlowClient, http, LDAP_QUERY, LDAP_TOKEN, loginAs, models2026, openOutpostSocket, PROXY_TOKEN, RADIUS_TOKEN, startTestCore, TEST_SEED, until, type Res } from './helpers.ts';

type FromJson = (json: unknown) => unknown;

/** Parse with the official model; list missing, unknown and mistyped fields (the failure names them). */
function conforms(model: string, fromJson: FromJson, body: unknown): void {
  assert.ok(body !== undefined && body !== null, `${model}: no body`);
  assert.deepEqual(models2026.check(model, body), [], `${model} does not match authentik 2026.8.3's model`);
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
  const parsed = ChallengeTypesFromJSON(res.json) as { component?: string };
  assert.equal(parsed.component, component);
}

describe('contract with the official 2026.8.3 models (2026.8 mode)', () => {
  let core: DevCore;
  const get = (path: string, token = LDAP_TOKEN) => http(core.url, 'GET', path, { headers: bearer(token) });

  before(async () => {
    const seed = loadSeedFile(TEST_SEED);
    core = await startTestCore({
      authentikVersion: '2026.8',
      seed: {
        ...seed,
        certificates: [...seed.certificates, { name: 'test-radius-cert', common_name: 'radius.test.local', key_type: 'rsa' }],
        property_mappings: [
          {
            name: 'contract-vlan',
            type: 'radius',
            groups: ['vpn'],
            attributes: [
              { name: 'Tunnel-Type', value: 'VLAN' },
              { name: 'Tunnel-Medium-Type', value: 'IEEE-802' },
              { name: 'Tunnel-Private-Group-Id', value: '42' },
            ],
          },
        ],
        providers: seed.providers.map((p) => (p.type === 'radius' ? { ...p, certificate: 'test-radius-cert', property_mappings: ['contract-vlan'] } : p)),
        users: [...seed.users, { username: 'searcher', password: 'searcher-password', permissions: [{ permission: 'search_full_directory', provider: 'test-ldap-provider' }] }],
        flows: [
          ...seed.flows,
          { slug: 'passwordless-flow', stages: [{ kind: 'authenticator_validate', device_classes: ['webauthn'] }] },
          { slug: 'endless-validate-flow', stages: [{ kind: 'endless', component: 'ak-stage-authenticator-validate' }] },
        ],
      },
    });
  });
  after(() => core.close());

  it('the checker names missing, unknown, mistyped and wrongly null fields, also nested', () => {
    const health = {
      uid: 'u',
      last_seen: 'not a date',
      version: '2026.8.6',
      golang_version: '',
      openssl_enabled: 'yes',
      openssl_version: '',
      fips_enabled: null,
      version_should: '2026.8.6',
      version_outdated: false,
      build_hash: '',
      build_hash_should: null,
      hostname: 'h',
      search_group: null,
    };
    assert.deepEqual(models2026.check('OutpostHealth', health), [
      'OutpostHealth.search_group is not a field of OutpostHealth',
      'OutpostHealth.last_seen: expected a date-time string, got "not a date" (OutpostHealth.lastSeen)',
      'OutpostHealth.openssl_enabled: expected a boolean, got "yes" (OutpostHealth.opensslEnabled)',
      'OutpostHealth.build_hash_should is null (OutpostHealth.buildHashShould is not nullable)',
    ]);
    const outpost = { pk: 'p', name: 'n', type: 'ldap', providers: [1], providers_obj: [{ pk: 1 }], service_connection_obj: null, token_identifier: 't', config: {} };
    assert.deepEqual(models2026.check('Outpost', { ...outpost, type: 'smtp' }), [
      'Outpost.type: expected one of proxy, ldap, radius, rac (OutpostTypeEnum), got "smtp" (Outpost.type)',
      'Outpost.providers_obj[0].name is missing (required by Provider.name)',
      'Outpost.providers_obj[0].component is missing (required by Provider.component)',
      'Outpost.providers_obj[0].assigned_application_slug is missing (required by Provider.assignedApplicationSlug)',
      'Outpost.providers_obj[0].assigned_application_name is missing (required by Provider.assignedApplicationName)',
      'Outpost.providers_obj[0].assigned_backchannel_application_slug is missing (required by Provider.assignedBackchannelApplicationSlug)',
      'Outpost.providers_obj[0].assigned_backchannel_application_name is missing (required by Provider.assignedBackchannelApplicationName)',
      'Outpost.providers_obj[0].verbose_name is missing (required by Provider.verboseName)',
      'Outpost.providers_obj[0].verbose_name_plural is missing (required by Provider.verboseNamePlural)',
      'Outpost.providers_obj[0].meta_model_name is missing (required by Provider.metaModelName)',
      'Outpost.refresh_interval_s is missing (required by Outpost.refreshIntervalS)',
    ]);
  });

  it('outposts: instances list, single outpost, health with the runtime facts of the hello', async () => {
    for (const token of [LDAP_TOKEN, RADIUS_TOKEN, PROXY_TOKEN]) {
      const list = await get('/api/v3/outposts/instances/', token);
      conforms('PaginatedOutpostList', PaginatedOutpostListFromJSON, list.json);
      conforms('Outpost', OutpostFromJSON, (await get(`/api/v3/outposts/instances/${list.json.results[0].pk}/`, token)).json);
    }
    const pk = core.admin.outpost('test-ldap').pk;
    const s = await openOutpostSocket(core, 'test-ldap', LDAP_TOKEN, '?instance_uuid=c0ffee00-0000-4000-8000-000000000001&attempt=1');
    s.ws.send(
      JSON.stringify({
        instruction: 1,
        args: { version: '2026.8.6', buildHash: 'tagged', uuid: 'c0ffee00-0000-4000-8000-000000000001', hostname: 'contract', golangVersion: 'go1.24.6', opensslEnabled: true, opensslVersion: 'OpenSSL 3.0.13', fipsEnabled: false },
      }),
    );
    await until('the ACK', () => s.messages.length > 0);
    const health = await get(`/api/v3/outposts/instances/${pk}/health/`);
    assert.equal(health.json.length, 1);
    for (const h of health.json) conforms('OutpostHealth', OutpostHealthFromJSON, h);
    s.close();
  });

  it('root config and current brand', async () => {
    conforms('Config', ConfigFromJSON, (await get('/api/v3/root/config/')).json);
    conforms('CurrentBrand', CurrentBrandFromJSON, (await http(core.url, 'GET', '/api/v3/core/brands/current/')).json);
  });

  it('provider lists (LDAP, RADIUS with a certificate, proxy)', async () => {
    const ldap = await get('/api/v3/outposts/ldap/?page=1&page_size=100');
    assert.equal(ldap.json.results.length, 1);
    conforms('PaginatedLDAPOutpostConfigList', PaginatedLDAPOutpostConfigListFromJSON, ldap.json);
    const radius = await get('/api/v3/outposts/radius/', RADIUS_TOKEN);
    assert.equal(radius.json.results.length, 1);
    assert.match(radius.json.results[0].certificate, /^[0-9a-f-]{36}$/);
    conforms('PaginatedRadiusOutpostConfigList', PaginatedRadiusOutpostConfigListFromJSON, radius.json);
    const proxy = await get('/api/v3/outposts/proxy/', PROXY_TOKEN);
    assert.equal(proxy.json.results.length, 1);
    conforms('PaginatedProxyOutpostConfigList', PaginatedProxyOutpostConfigListFromJSON, proxy.json);
  });

  it('users list (with and without groups and roles), single user, a validation error', async () => {
    const list = await get('/api/v3/core/users/');
    assert.ok(list.json.results.length > 5);
    conforms('PaginatedUserList', PaginatedUserListFromJSON, list.json);
    conforms('PaginatedUserList', PaginatedUserListFromJSON, (await get('/api/v3/core/users/?include_groups=false&include_roles=false')).json);
    const alice = list.json.results.find((u: { username: string }) => u.username === 'alice');
    conforms('User', UserFromJSON, (await get(`/api/v3/core/users/${alice.pk}/`)).json);
    const invalid = await get('/api/v3/core/users/?groups_by_name=nope');
    assert.equal(invalid.status, 400);
    assert.doesNotThrow(() => ValidationErrorFromJSON(invalid.json));
  });

  it('groups list (every include flag both ways), single group', async () => {
    for (const q of ['', '?include_users=false', '?include_parents=true&include_children=true&include_inherited_roles=true']) {
      conforms('PaginatedGroupList', PaginatedGroupListFromJSON, (await get(`/api/v3/core/groups/${q}`)).json);
    }
    const list = await get('/api/v3/core/groups/?include_parents=true&include_children=true');
    const child = list.json.results.find((g: { name: string }) => g.name === 'vpn-contractors');
    const vpn = list.json.results.find((g: { name: string }) => g.name === 'vpn');
    assert.deepEqual(child.parents, [vpn.pk]);
    assert.deepEqual(child.parents_obj.map((g: { name: string }) => g.name), ['vpn']);
    assert.deepEqual(vpn.children, [child.pk]);
    conforms('Group', GroupFromJSON, (await get(`/api/v3/core/groups/${child.pk}/`)).json);
  });

  it('certificate keypairs (EC and RSA), certificate and private key', async () => {
    const ldapCert = (await get('/api/v3/outposts/ldap/')).json.results[0].certificate;
    const radiusCert = (await get('/api/v3/outposts/radius/', RADIUS_TOKEN)).json.results[0].certificate;
    for (const [pk, token, keyType] of [
      [ldapCert, LDAP_TOKEN, 'ec'],
      [radiusCert, RADIUS_TOKEN, 'rsa'],
    ] as const) {
      const kp = (await get(`/api/v3/crypto/certificatekeypairs/${pk}/`, token)).json;
      conforms('CertificateKeyPair', CertificateKeyPairFromJSON, kp);
      assert.equal(kp.key_type, keyType);
      conforms('CertificateData', CertificateDataFromJSON, (await get(`/api/v3/crypto/certificatekeypairs/${pk}/view_certificate/`, token)).json);
      conforms('CertificateData', CertificateDataFromJSON, (await get(`/api/v3/crypto/certificatekeypairs/${pk}/view_private_key/`, token)).json);
    }
  });

  it('error bodies, including the check_access 404s', async () => {
    conforms('GenericError', GenericErrorFromJSON, (await http(core.url, 'GET', '/api/v3/outposts/instances/')).json);
    conforms('GenericError', GenericErrorFromJSON, (await get('/api/v3/outposts/instances/', 'nope')).json);
    conforms('GenericError', GenericErrorFromJSON, (await get('/api/v3/nope/')).json);
    conforms('GenericError', GenericErrorFromJSON, (await get('/api/v3/outposts/ldap/999/check_access/?app_slug=test-ldap-app')).json);
    conforms('GenericError', GenericErrorFromJSON, (await get('/api/v3/outposts/radius/2/check_access/?app_slug=nope')).json);
  });

  it('the LDAP and RADIUS check_access answers', async () => {
    const searcher = await loginAs(core.url, 'searcher', 'searcher-password');
    const ldap = await searcher.get('/api/v3/outposts/ldap/1/check_access/?app_slug=test-ldap-app');
    conforms('LDAPCheckAccess', LDAPCheckAccessFromJSON, ldap.json);
    assert.equal(ldap.json.has_search_permission, true);

    const alice = await loginAs(core.url, 'alice', 'alice-password');
    const radius = await alice.get('/api/v3/outposts/radius/2/check_access/?app_slug=test-radius-app');
    conforms('RadiusCheckAccess', RadiusCheckAccessFromJSON, radius.json);
    assert.equal(typeof radius.json.attributes, 'string');

    // Denied: authentik computes no attributes and its serializer writes None as null, though the
    // schema declares `attributes` a non-nullable optional string; the generated FromJSON maps
    // null to undefined. Everything else is checked as usual.
    const erin = await loginAs(core.url, 'erin', 'erin-password');
    const denied = await erin.get('/api/v3/outposts/radius/2/check_access/?app_slug=test-radius-app');
    assert.equal(denied.json.attributes, null);
    conforms('RadiusCheckAccess', RadiusCheckAccessFromJSON, { ...denied.json, attributes: undefined });
    assert.equal((RadiusCheckAccessFromJSON(denied.json) as { attributes?: string }).attributes, undefined);
  });

  it('every challenge type, application check_access and users/me', async () => {
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
    assert.equal(mfa.json.device_challenges[0].last_used, null);
    challenge(await c.post(url, { component: 'ak-stage-authenticator-validate', selected_challenge: mfa.json.device_challenges[0], code: '000000x' }), 'ak-stage-authenticator-validate');
    const afterMfa = await c.post(url, { component: 'ak-stage-authenticator-validate', selected_challenge: mfa.json.device_challenges[0], code: totpCode('JBSWY3DPEHPK3PXP', { time: Date.now() + 30_000 }) });
    assert.equal(afterMfa.status, 302);
    challenge(await c.get(url), 'xak-flow-redirect');

    // The device now has a last use, as a date-time.
    const again = new FlowClient(core.url);
    await again.get(url);
    await again.post(url, { component: 'ak-stage-identification', uid_field: 'bob', password: '' });
    await again.post(url, { component: 'ak-stage-password', password: 'bob-password' });
    const used = await again.get(url);
    challenge(used, 'ak-stage-authenticator-validate');
    assert.ok(!Number.isNaN(Date.parse(used.json.device_challenges[0].last_used)));

    conforms('PolicyTestResult', PolicyTestResultFromJSON, (await c.get('/api/v3/core/applications/test-radius-app/check_access/')).json);
    conforms('SessionUser', SessionUserFromJSON, (await c.get('/api/v3/core/users/me/')).json);
    conforms('SessionUser', SessionUserFromJSON, (await get('/api/v3/core/users/me/')).json);

    const r = new FlowClient(core.url);
    await r.get('/api/v3/flows/executor/remember-me-flow/');
    await r.post('/api/v3/flows/executor/remember-me-flow/', { component: 'ak-stage-identification', uid_field: 'alice', password: 'alice-password' });
    challenge(await r.get('/api/v3/flows/executor/remember-me-flow/'), 'ak-stage-user-login');

    challenge(await new FlowClient(core.url).get('/api/v3/flows/executor/outpost-only-flow/'), 'ak-stage-access-denied');
    challenge(await new FlowClient(core.url).get('/api/v3/flows/executor/error-flow/'), 'ak-stage-flow-error');
    const k = new FlowClient(core.url);
    await k.get('/api/v3/flows/executor/consent-flow/');
    await k.post('/api/v3/flows/executor/consent-flow/', { component: 'ak-stage-identification', uid_field: 'alice', password: 'alice-password' });
    challenge(await k.get('/api/v3/flows/executor/consent-flow/'), 'ak-stage-consent');

    const admin = await loginAs(core.url, 'akadmin', 'akadmin');
    const err = await admin.get('/api/v3/flows/executor/error-flow/');
    challenge(err, 'ak-stage-flow-error');
    assert.equal(err.json.error, 'devcore test stage failure');

    // The other device challenges the core makes: passwordless WebAuthn, the endless flow's.
    challenge(await new FlowClient(core.url).get('/api/v3/flows/executor/passwordless-flow/'), 'ak-stage-authenticator-validate');
    challenge(await new FlowClient(core.url).get('/api/v3/flows/executor/endless-validate-flow/'), 'ak-stage-authenticator-validate');
    challenge(await new FlowClient(core.url).get('/api/v3/flows/executor/endless-flow/'), 'ak-stage-password');
  });
});
