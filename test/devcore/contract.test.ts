// Every body the development core sends, checked against authentik 2024.4's official client
// models (@goauthentik/api): it must parse with the model's FromJSON, and every field the
// model's interface declares without `?` must be present (recursing into nested models).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as api from '@goauthentik/api';
import type { DevCore } from '../../src/devcore/index.ts';
import { Contract } from './contract-support.ts';
import { missingRequired, startTestCore } from './helpers.ts';

describe('contract with the official 2024.4 models', () => {
  let core: DevCore;
  let k: Contract;

  before(async () => {
    core = await startTestCore();
    k = new Contract(core, { api, check: missingRequired, against: "authentik 2024.4's required fields" });
  });
  after(() => core.close());

  it('the checker itself names a missing required field, also in nested models', () => {
    const user = { pk: 1, username: 'a', name: 'A', is_superuser: false, groups_obj: [{ pk: 'x', num_pk: 1, name: 'g', parent_name: null }], avatar: '', uuid: 'u' };
    assert.deepEqual(missingRequired('User', user), ['User.uid is missing (required by User.uid)']);
    const nested = { ...user, uid: 'x', groups_obj: [{ pk: 'x', name: 'g', parent_name: null }] };
    assert.deepEqual(missingRequired('User', nested), ['User.groups_obj[0].num_pk is missing (required by UserGroup.numPk)']);
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

  it('every challenge type, check_access and users/me', async () => {
    await k.challengeWalk();
  });
});
