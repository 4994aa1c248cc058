// Every body the development core sends, checked against authentik 2024.4's official client
// models (@goauthentik/api 2024.4.2) as strictly as the 2026.8.3 contract: it must parse with the
// model's FromJSON, carry every required field, no field the model lacks, and every field must be
// of its declared type and null only where the model allows it (recursing into nested models and
// enums). The one exception is NULL_THOUGH_DECLARED_NON_NULL below: fields real authentik 2024.4
// sends as null although its generated models say they never are.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as api from '@goauthentik/api';
import type { DevCore } from '../../src/devcore/index.ts';
import { Contract } from './contract-support.ts';
import { MODELS_2024, OfficialModels, PROXY_TOKEN, startTestCore, type NullAllowance } from './helpers.ts';

/**
 * (model, field) pairs where authentik 2024.4 sends null although the 2024.4 schema (and so the
 * generated model) declares the field non-nullable. Only null is let through: any other value of
 * these fields is type-checked as usual, and every other field is held to its model. Each entry
 * must still be needed: the test 'the allowed nulls are exactly the ones the core sends' fails
 * when the core stops sending one of them (or sends a null not listed here).
 */
const NULL_THOUGH_DECLARED_NON_NULL: readonly NullAllowance[] = [
  // ProviderSerializer: `assigned_application_slug = ReadOnlyField(source="application.slug")`.
  // `application` is the reverse side of Application.provider (a OneToOneField); for a provider
  // no application uses, it raises RelatedObjectDoesNotExist, which DRF's get_attribute turns
  // into None, written as null. The schema gives a ReadOnlyField a plain non-nullable string.
  // Seen in the outposts list: an outpost's providers_obj may name a provider with no application.
  { model: 'Provider', field: 'assigned_application_slug' },
  // The same for `assigned_application_name = ReadOnlyField(source="application.name")`.
  { model: 'Provider', field: 'assigned_application_name' },
  // OutpostSerializer: `service_connection_obj = ServiceConnectionSerializer(
  // source="service_connection", read_only=True)` without allow_null, so the schema declares it
  // non-nullable; but Outpost.service_connection is a nullable foreign key, and DRF's
  // Serializer.to_representation writes None for a None attribute without calling the nested
  // serializer. Outposts with no integration (every outpost of the core) get null. 2024.8+
  // declares it nullable.
  { model: 'Outpost', field: 'service_connection_obj' },
];

/**
 * Models whose bodies carry more keys than the model declares. ProxyOutpostConfigSerializer's
 * `oidc_configuration` is a SerializerMethodField returning ProviderInfoView.get_info(), the
 * whole OIDC discovery document (with revocation_endpoint and device_authorization_endpoint,
 * which OpenIDConnectConfigurationSerializer does not declare); the 2026 contract allows the same.
 */
const OPEN_MODELS = ['OpenIDConnectConfiguration'];

const models = new OfficialModels(MODELS_2024, OPEN_MODELS, NULL_THOUGH_DECLARED_NON_NULL);
/** The same models without the null allowances, to show each is needed. */
const unforgiving = new OfficialModels(MODELS_2024, OPEN_MODELS);

describe('contract with the official 2024.4 models', () => {
  let core: DevCore;
  let k: Contract;

  before(async () => {
    core = await startTestCore();
    k = new Contract(core, { api, check: (model, body) => models.check(model, body), against: "authentik 2024.4's model (with its allowed nulls)" });
  });
  after(() => core.close());

  it('the checker names missing, unknown, mistyped and wrongly null fields, also nested', () => {
    const user = { pk: 1, username: 'a', name: 'A', is_superuser: false, groups_obj: [{ pk: 'x', num_pk: 1, name: 'g', parent_name: null }], avatar: '', uuid: 'u' };
    assert.deepEqual(models.check('User', user), ['User.uid is missing (required by User.uid)']);
    const nested = { ...user, uid: 'x', groups_obj: [{ pk: 'x', name: 'g', parent_name: null }] };
    assert.deepEqual(models.check('User', nested), ['User.groups_obj[0].num_pk is missing (required by UserGroup.numPk)']);

    const health = { uid: 'u', last_seen: 'not a date', version: '2024.4.3', version_should: null, version_outdated: 'no', build_hash: '', build_hash_should: '', hostname: 'h', fips_enabled: false };
    assert.deepEqual(models.check('OutpostHealth', health), [
      'OutpostHealth.fips_enabled is not a field of OutpostHealth',
      'OutpostHealth.last_seen: expected a date-time string, got "not a date" (OutpostHealth.lastSeen)',
      'OutpostHealth.version_should is null (OutpostHealth.versionShould is not nullable)',
      'OutpostHealth.version_outdated: expected a boolean, got "no" (OutpostHealth.versionOutdated)',
    ]);

    const provider = { pk: 1, name: 'p', authorization_flow: 'f', property_mappings: [], component: 'c', assigned_application_slug: null, assigned_application_name: null, assigned_backchannel_application_slug: '', assigned_backchannel_application_name: '', verbose_name: 'v', verbose_name_plural: 'v', meta_model_name: 'm' };
    const outpost = { pk: 'p', name: 'n', type: 'ldap', providers: [1], providers_obj: [provider], service_connection: null, service_connection_obj: null, token_identifier: 't', config: {}, managed: null };
    // The allowed nulls pass ...
    assert.deepEqual(models.check('Outpost', outpost), []);
    // ... and are all the checker forgives: the model itself rejects them,
    assert.deepEqual(unforgiving.check('Outpost', outpost), [
      'Outpost.providers_obj[0].assigned_application_slug is null (Provider.assignedApplicationSlug is not nullable)',
      'Outpost.providers_obj[0].assigned_application_name is null (Provider.assignedApplicationName is not nullable)',
      'Outpost.service_connection_obj is null (Outpost.serviceConnectionObj is not nullable)',
    ]);
    // a value other than null in those fields is checked by type, and other fields of the same
    // models may still not be null.
    assert.deepEqual(models.check('Outpost', { ...outpost, type: 'smtp', service_connection_obj: 'docker', providers_obj: [{ ...provider, assigned_application_slug: 7, name: null, assigned_backchannel_application_slug: null }] }), [
      'Outpost.type: expected one of proxy, ldap, radius, rac (OutpostTypeEnum), got "smtp" (Outpost.type)',
      'Outpost.providers_obj[0].name is null (Provider.name is not nullable)',
      'Outpost.providers_obj[0].assigned_application_slug: expected a string, got 7 (Provider.assignedApplicationSlug)',
      'Outpost.providers_obj[0].assigned_backchannel_application_slug is null (Provider.assignedBackchannelApplicationSlug is not nullable)',
      'Outpost.service_connection_obj: expected an object for ServiceConnection',
    ]);

    // An allowance must name a field of the model that the model declares non-nullable.
    assert.throws(() => new OfficialModels(MODELS_2024, [], [{ model: 'Provider', field: 'assigned_application' }]), /no such field/);
    assert.throws(() => new OfficialModels(MODELS_2024, [], [{ model: 'Outpost', field: 'managed' }]), /already declares it nullable/);
  });

  it('the allowed nulls are exactly the ones the core sends', async () => {
    // Unforgiven, the outposts list fails on the allow-list's fields and on nothing else; this
    // keeps the list from outliving what it excuses.
    const problems = new Set<string>();
    for (const token of [PROXY_TOKEN, undefined]) {
      const list = await k.get('/api/v3/outposts/instances/', token);
      for (const p of unforgiving.check('PaginatedOutpostList', list.json)) problems.add(p.replace(/^.*\.(\w+) is null \((\w+)\.\w+ is not nullable\)$/, '$2.$1'));
    }
    assert.deepEqual([...problems].sort(), NULL_THOUGH_DECLARED_NON_NULL.map((a) => `${a.model}.${a.field}`).sort());
  });

  it('outposts: instances list, single outpost, health', async () => {
    await k.outposts();
    await k.health({ version: '2024.4.3', buildHash: 'tagged', uuid: 'c0ffee00-0000-4000-8000-000000000001', hostname: 'contract' });
  });

  it('root config and current brand', () => k.rootConfigAndBrand());

  it('provider lists (LDAP, RADIUS, proxy)', async () => {
    await k.providerLists();
  });

  it('users list (with and without groups), single user', () => k.users(['?include_groups=false']));

  it('groups list (with and without users), single group', () => k.groups(['?include_users=false']));

  it('certificate keypair, certificate and private key', async () => {
    await k.keypair((await k.get('/api/v3/outposts/ldap/')).json.results[0].certificate);
  });

  it('error bodies', () => k.errorBodies());

  it("events: the proxy outpost's configuration_error", () => k.event());

  it('every challenge type, check_access and users/me', async () => {
    await k.challengeWalk();
  });
});
