// Every body the development core sends in 2026.8 mode, checked against authentik 2026.8.3's
// official client models (@goauthentik/api@2026.8.3, installed as @goauthentik/api-2026): it
// must parse with the model's FromJSON, carry every required field, no field the model lacks
// (a leftover of 2024.4), and every field must be of its declared type (recursing into nested
// models and enums).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as api from '@goauthentik/api-2026';
import { loadSeedFile, type DevCore } from '../../src/devcore/index.ts';
import { Contract } from './contract-support.ts';
import { FlowClient, LDAP_QUERY, LDAP_TOKEN, loginAs, models2026, RADIUS_TOKEN, startTestCore, TEST_SEED } from './helpers.ts';

describe('contract with the official 2026.8.3 models (2026.8 mode)', () => {
  let core: DevCore;
  let k: Contract;

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
    k = new Contract(core, { api, check: (model, body) => models2026.check(model, body), against: "authentik 2026.8.3's model" });
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
    await k.outposts();
    await k.health(
      { version: '2026.8.6', buildHash: 'tagged', uuid: 'c0ffee00-0000-4000-8000-000000000001', hostname: 'contract', golangVersion: 'go1.24.6', opensslEnabled: true, opensslVersion: 'OpenSSL 3.0.13', fipsEnabled: false },
      '?instance_uuid=c0ffee00-0000-4000-8000-000000000001&attempt=1',
    );
  });

  it('root config and current brand', () => k.rootConfigAndBrand());

  it('provider lists (LDAP, RADIUS with a certificate, proxy)', async () => {
    const { radius } = await k.providerLists();
    assert.match(radius.json.results[0].certificate, /^[0-9a-f-]{36}$/);
  });

  it('users list (with and without groups and roles), single user, a validation error', async () => {
    await k.users(['?include_groups=false&include_roles=false']);
    const invalid = await k.get('/api/v3/core/users/?groups_by_name=nope');
    assert.equal(invalid.status, 400);
    assert.doesNotThrow(() => api.ValidationErrorFromJSON(invalid.json));
  });

  it('groups list (every include flag both ways), single group', async () => {
    await k.groups(['?include_users=false', '?include_parents=true&include_children=true&include_inherited_roles=true']);
    const list = await k.get('/api/v3/core/groups/?include_parents=true&include_children=true');
    const child = list.json.results.find((g: { name: string }) => g.name === 'vpn-contractors');
    const vpn = list.json.results.find((g: { name: string }) => g.name === 'vpn');
    assert.deepEqual(child.parents, [vpn.pk]);
    assert.deepEqual(child.parents_obj.map((g: { name: string }) => g.name), ['vpn']);
    assert.deepEqual(vpn.children, [child.pk]);
  });

  it('certificate keypairs (EC and RSA), certificate and private key', async () => {
    const ldapCert = (await k.get('/api/v3/outposts/ldap/')).json.results[0].certificate;
    const radiusCert = (await k.get('/api/v3/outposts/radius/', RADIUS_TOKEN)).json.results[0].certificate;
    for (const [pk, token, keyType] of [
      [ldapCert, LDAP_TOKEN, 'ec'],
      [radiusCert, RADIUS_TOKEN, 'rsa'],
    ] as const) {
      assert.equal((await k.keypair(pk, token)).json.key_type, keyType);
    }
  });

  it("events: the proxy outpost's configuration_error", () => k.event());

  it('error bodies, including the check_access 404s', async () => {
    await k.errorBodies();
    k.conforms('GenericError', (await k.get('/api/v3/outposts/ldap/999/check_access/?app_slug=test-ldap-app')).json);
    k.conforms('GenericError', (await k.get('/api/v3/outposts/radius/2/check_access/?app_slug=nope')).json);
  });

  it('the LDAP and RADIUS check_access answers', async () => {
    const searcher = await loginAs(core.url, 'searcher', 'searcher-password');
    const ldap = await searcher.get('/api/v3/outposts/ldap/1/check_access/?app_slug=test-ldap-app');
    k.conforms('LDAPCheckAccess', ldap.json);
    assert.equal(ldap.json.has_search_permission, true);

    const alice = await loginAs(core.url, 'alice', 'alice-password');
    const radius = await alice.get('/api/v3/outposts/radius/2/check_access/?app_slug=test-radius-app');
    k.conforms('RadiusCheckAccess', radius.json);
    assert.equal(typeof radius.json.attributes, 'string');

    // Denied: authentik computes no attributes and its serializer writes None as null, though the
    // schema declares `attributes` a non-nullable optional string; the generated FromJSON maps
    // null to undefined. Everything else is checked as usual.
    const erin = await loginAs(core.url, 'erin', 'erin-password');
    const denied = await erin.get('/api/v3/outposts/radius/2/check_access/?app_slug=test-radius-app');
    assert.equal(denied.json.attributes, null);
    k.conforms('RadiusCheckAccess', { ...denied.json, attributes: undefined });
    assert.equal((api.RadiusCheckAccessFromJSON(denied.json) as { attributes?: string }).attributes, undefined);
  });

  it('every challenge type, application check_access and users/me', async () => {
    const { mfa } = await k.challengeWalk();
    assert.equal(mfa.json.device_challenges[0].last_used, null);

    // The device now has a last use, as a date-time.
    const url = `/api/v3/flows/executor/id-password-flow/${LDAP_QUERY}`;
    const again = new FlowClient(core.url);
    await again.get(url);
    await again.post(url, { component: 'ak-stage-identification', uid_field: 'bob', password: '' });
    await again.post(url, { component: 'ak-stage-password', password: 'bob-password' });
    const used = await again.get(url);
    k.challenge(used, 'ak-stage-authenticator-validate');
    assert.ok(!Number.isNaN(Date.parse(used.json.device_challenges[0].last_used)));

    // The other device challenges the core makes: passwordless WebAuthn, the endless flow's.
    k.challenge(await new FlowClient(core.url).get('/api/v3/flows/executor/passwordless-flow/'), 'ak-stage-authenticator-validate');
    k.challenge(await new FlowClient(core.url).get('/api/v3/flows/executor/endless-validate-flow/'), 'ak-stage-authenticator-validate');
    k.challenge(await new FlowClient(core.url).get('/api/v3/flows/executor/endless-flow/'), 'ak-stage-password');
  });
});
