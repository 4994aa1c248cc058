// The two API generations of the development core: how one is chosen, and what differs between
// the shapes of authentik 2024.4 and 2026.8 for the same seed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { loadSeedFile, parseSeed, startDevCore, type DevCore } from '../../src/devcore/index.ts';
import { compareVersions, resolveAuthentikVersion, versionOutdated } from '../../src/devcore/version.ts';
import { ADMIN_TOKEN, bearer, FlowClient, http, LDAP_TOKEN, openOutpostSocket, PROXY_TOKEN, quietLogger, RADIUS_TOKEN, startTestCore, TEST_SEED, until } from './helpers.ts';

const MAIN = new URL('../../src/devcore/main.ts', import.meta.url).pathname;

/** `npm run devcore` with an env: its first log line (the listening one), or its exit and output. */
async function runMain(env: Record<string, string>): Promise<{ listening?: Record<string, unknown>; code?: number | null; output: string }> {
  const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env['PATH'] ?? '', DEVCORE_LISTEN: '127.0.0.1:0', DEVCORE_SEED: TEST_SEED, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = once(child, 'exit');
  try {
    await Promise.race([until('the core to listen', () => output.includes('development core listening'), 15_000), exited]);
  } catch {
    // reported below
  }
  if (child.exitCode !== null) return { code: child.exitCode, output };
  const line = output.split('\n').find((l) => l.includes('development core listening')) as string;
  child.kill('SIGTERM');
  await exited;
  return { listening: JSON.parse(line) as Record<string, unknown>, output };
}

describe('choosing the generation', () => {
  it('the option wins, then DEVCORE_AUTHENTIK_VERSION, then 2026.8; anything else is refused by name', () => {
    assert.equal(resolveAuthentikVersion(undefined, {}), '2026.8');
    assert.equal(resolveAuthentikVersion(undefined, { DEVCORE_AUTHENTIK_VERSION: '' }), '2026.8');
    assert.equal(resolveAuthentikVersion(undefined, { DEVCORE_AUTHENTIK_VERSION: '2024.4' }), '2024.4');
    assert.equal(resolveAuthentikVersion('2026.8', { DEVCORE_AUTHENTIK_VERSION: '2024.4' }), '2026.8');
    assert.throws(() => resolveAuthentikVersion(undefined, { DEVCORE_AUTHENTIK_VERSION: '2025.2' }), /^AuthentikVersionError: DEVCORE_AUTHENTIK_VERSION must be one of 2024\.4, 2026\.8, got "2025\.2"$/);
    assert.throws(() => resolveAuthentikVersion('2024.8', {}), /authentikVersion must be one of 2024\.4, 2026\.8, got "2024\.8"/);
  });

  it('startDevCore: env or default, exposed as authentikVersion; an unknown version does not start', async () => {
    const saved = process.env['DEVCORE_AUTHENTIK_VERSION'];
    try {
      delete process.env['DEVCORE_AUTHENTIK_VERSION'];
      const byDefault = await startDevCore({ seed: TEST_SEED, port: 0, logger: quietLogger() });
      assert.equal(byDefault.authentikVersion, '2026.8');
      await byDefault.close();
      process.env['DEVCORE_AUTHENTIK_VERSION'] = '2024.4';
      const byEnv = await startDevCore({ seed: TEST_SEED, port: 0, logger: quietLogger() });
      assert.equal(byEnv.authentikVersion, '2024.4');
      await byEnv.close();
      await assert.rejects(startDevCore({ seed: TEST_SEED, port: 0, logger: quietLogger(), authentikVersion: '2025.2' as never }), /authentikVersion must be one of/);
    } finally {
      if (saved === undefined) delete process.env['DEVCORE_AUTHENTIK_VERSION'];
      else process.env['DEVCORE_AUTHENTIK_VERSION'] = saved;
    }
  });

  it('npm run devcore honours DEVCORE_AUTHENTIK_VERSION and names a bad one', async () => {
    const old = await runMain({ DEVCORE_AUTHENTIK_VERSION: '2024.4' });
    assert.equal(old.listening?.['authentik_version'], '2024.4', old.output);
    const current = await runMain({});
    assert.equal(current.listening?.['authentik_version'], '2026.8', current.output);
    const bad = await runMain({ DEVCORE_AUTHENTIK_VERSION: 'latest' });
    assert.equal(bad.code, 2);
    assert.match(bad.output, /DEVCORE_AUTHENTIK_VERSION must be one of 2024\.4, 2026\.8, got \\?"latest\\?"/);
  });
});

describe('version rules', () => {
  it('compares like PEP 440 for authentik\'s versions', () => {
    assert.equal(compareVersions('2024.4.3', '2026.8.6'), -1);
    assert.equal(compareVersions('2026.8.6', '2026.8.6'), 0);
    assert.equal(compareVersions('2026.8', '2026.8.0'), 0);
    assert.equal(compareVersions('2026.10.0', '2026.8.6'), 1, 'numeric, not lexical');
    assert.equal(compareVersions('2026.8.0-rc1', '2026.8.0'), -1);
    assert.equal(compareVersions('nightly', '2026.8.0'), null);
  });

  it('version_outdated: only with the server\'s build hash, then a lower version', () => {
    assert.equal(versionOutdated('2024.4.3', 'tagged', '2026.8.6', 'tagged'), true);
    assert.equal(versionOutdated('2024.4.3', 'abc123', '2026.8.6', 'tagged'), false, 'another build is never outdated');
    assert.equal(versionOutdated('2026.8.6', 'tagged', '2026.8.6', 'tagged'), false);
    assert.equal(versionOutdated('2027.2.0', 'tagged', '2026.8.6', 'tagged'), false, 'newer is not outdated');
    assert.equal(versionOutdated('', 'tagged', '2026.8.6', 'tagged'), false);
  });
});

describe('shapes per generation (one seed)', () => {
  const cores: Record<'2024.4' | '2026.8', DevCore> = {} as never;
  const get = (v: '2024.4' | '2026.8', path: string, token = LDAP_TOKEN) => http(cores[v].url, 'GET', path, { headers: bearer(token) });

  before(async () => {
    const seed = loadSeedFile(TEST_SEED);
    // The seed carries both generations' data: search_group, and a grant; a radius certificate.
    const doc = { ...seed, providers: seed.providers.map((p) => (p.type === 'radius' ? { ...p, certificate: 'test-ldap-cert' } : p)), outpost_state_ttl_seconds: 5 };
    cores['2024.4'] = await startTestCore({ seed: doc, authentikVersion: '2024.4' });
    cores['2026.8'] = await startTestCore({ seed: doc, authentikVersion: '2026.8' });
  });
  after(async () => {
    await cores['2024.4'].close();
    await cores['2026.8'].close();
  });

  it('outposts: refresh_interval_s (300 by default, patched over the admin API) only in 2026.8', async () => {
    const old = (await get('2024.4', '/api/v3/outposts/instances/')).json.results[0];
    assert.equal('refresh_interval_s' in old, false);
    const current = (await get('2026.8', '/api/v3/outposts/instances/', RADIUS_TOKEN)).json.results[0];
    assert.equal(current.refresh_interval_s, 300);
    assert.deepEqual(Object.keys(current), ['pk', 'name', 'type', 'providers', 'providers_obj', 'service_connection', 'service_connection_obj', 'refresh_interval_s', 'token_identifier', 'config', 'managed']);
    const s = await openOutpostSocket(cores['2026.8'], 'test-radius', RADIUS_TOKEN);
    const patch = await http(cores['2026.8'].url, 'PATCH', '/_devcore/outposts/test-radius', { headers: bearer(ADMIN_TOKEN), body: { refresh_interval_s: 45 } });
    assert.equal(patch.status, 200);
    assert.equal((await get('2026.8', '/api/v3/outposts/instances/', RADIUS_TOKEN)).json.results[0].refresh_interval_s, 45);
    await until('a TRIGGER_UPDATE', () => s.messages.some((m) => m.instruction === 2));
    s.close();
    assert.equal((await http(cores['2026.8'].url, 'PATCH', '/_devcore/outposts/test-radius', { headers: bearer(ADMIN_TOKEN), body: { refresh_interval_s: 1.5 } })).status, 400);
    cores['2026.8'].admin.updateOutpost('test-radius', { refresh_interval_s: 300 });
    const seeded = await startTestCore({ seed: { ...loadSeedFile(TEST_SEED), outposts: loadSeedFile(TEST_SEED).outposts.map((o) => ({ ...o, refresh_interval_s: 60 })) }, authentikVersion: '2026.8' });
    try {
      assert.equal((await http(seeded.url, 'GET', '/api/v3/outposts/instances/', { headers: bearer(LDAP_TOKEN) })).json.results[0].refresh_interval_s, 60);
    } finally {
      await seeded.close();
    }
  });

  it('LDAP config: search_group in 2024.4; unbind_flow_slug (the provider\'s, else the brand\'s) in 2026.8', async () => {
    const old = (await get('2024.4', '/api/v3/outposts/ldap/')).json.results[0];
    assert.match(old.search_group, /^[0-9a-f-]{36}$/);
    assert.equal('unbind_flow_slug' in old, false);
    const current = (await get('2026.8', '/api/v3/outposts/ldap/')).json.results[0];
    assert.deepEqual(Object.keys(current), ['pk', 'name', 'base_dn', 'bind_flow_slug', 'unbind_flow_slug', 'application_slug', 'certificate', 'tls_server_name', 'uid_start_number', 'gid_start_number', 'search_mode', 'bind_mode', 'mfa_support']);
    assert.equal(current.unbind_flow_slug, 'default-invalidation-flow', 'no unbind_flow: the brand\'s invalidation flow');
    cores['2026.8'].admin.updateProvider('test-ldap-provider', { unbind_flow: 'deny-flow' });
    assert.equal((await get('2026.8', '/api/v3/outposts/ldap/')).json.results[0].unbind_flow_slug, 'deny-flow');
    const flowPk = (await get('2026.8', '/api/v3/outposts/instances/')).json.results[0].providers_obj[0].invalidation_flow;
    assert.match(flowPk, /^[0-9a-f-]{36}$/, 'the provider object names it as invalidation_flow');
    const unknown = await http(cores['2026.8'].url, 'PATCH', '/_devcore/providers/test-ldap-provider', { headers: bearer(ADMIN_TOKEN), body: { unbind_flow: 'no-such-flow' } });
    assert.equal(unknown.status, 404);
    assert.match(unknown.json.detail, /unknown flow "no-such-flow"/);
    cores['2026.8'].admin.updateProvider('test-ldap-provider', { unbind_flow: null });
    assert.equal((await get('2026.8', '/api/v3/outposts/ldap/')).json.results[0].unbind_flow_slug, 'default-invalidation-flow');
    assert.throws(() => parseSeed({ flows: [{ slug: 'f' }], providers: [{ type: 'ldap', name: 'l', bind_flow: 'f', unbind_flow: 'g' }] }), /providers\.0\.unbind_flow: unknown flow "g"/);
  });

  it('RADIUS config: certificate (viewable by its outpost) only in 2026.8', async () => {
    const old = (await get('2024.4', '/api/v3/outposts/radius/', RADIUS_TOKEN)).json.results[0];
    assert.equal('certificate' in old, false);
    const cert = cores['2024.4'].admin.certificate('test-ldap-cert');
    assert.equal((await get('2024.4', `/api/v3/crypto/certificatekeypairs/${cert.pk}/`, RADIUS_TOKEN)).status, 404, 'a 2024.4 RADIUS provider has no certificate');
    const current = (await get('2026.8', '/api/v3/outposts/radius/', RADIUS_TOKEN)).json.results[0];
    assert.equal(current.certificate, cores['2026.8'].admin.certificate('test-ldap-cert').pk);
    const kp = await get('2026.8', `/api/v3/crypto/certificatekeypairs/${current.certificate}/view_certificate/`, RADIUS_TOKEN);
    assert.equal(kp.status, 200);
    assert.match(kp.json.data, /^-----BEGIN CERTIFICATE-----/);
    assert.equal((await get('2026.8', `/api/v3/crypto/certificatekeypairs/${current.certificate}/`, PROXY_TOKEN)).status, 404);
  });

  it('health: golang/openssl/fips facts of the hello in 2026.8 only; version_should by generation', async () => {
    const hello = { version: '2024.4.3', buildHash: 'tagged', uuid: 'hello-uuid', hostname: 'h', golangVersion: 'go1.24.6', opensslEnabled: true, opensslVersion: 'OpenSSL 3.0.13', fipsEnabled: true };
    const health: Record<string, Record<string, unknown>> = {};
    for (const v of ['2024.4', '2026.8'] as const) {
      const s = await openOutpostSocket(cores[v], 'test-ldap', LDAP_TOKEN, '?instance_uuid=query-uuid');
      s.ws.send(JSON.stringify({ instruction: 1, args: hello }));
      await until('the ACK', () => s.messages.some((m) => m.instruction === 0));
      health[v] = cores[v].admin.health('test-ldap')[0] as never;
      s.close();
    }
    assert.deepEqual(health['2024.4'] && Object.keys(health['2024.4']), ['uid', 'last_seen', 'version', 'version_should', 'version_outdated', 'build_hash', 'build_hash_should', 'hostname']);
    assert.equal(health['2024.4']?.['uid'], 'hello-uuid', '2024.4 keys instances by the hello\'s uuid');
    assert.equal(health['2024.4']?.['version_should'], '2024.4.3');
    assert.equal(health['2024.4']?.['version_outdated'], false);
    const current = health['2026.8'] ?? {};
    assert.deepEqual(Object.keys(current), ['uid', 'last_seen', 'version', 'golang_version', 'openssl_enabled', 'openssl_version', 'fips_enabled', 'version_should', 'version_outdated', 'build_hash', 'build_hash_should', 'hostname']);
    assert.equal(current['uid'], 'query-uuid', '2026.8 keys instances by the instance_uuid query parameter');
    assert.equal(current['golang_version'], 'go1.24.6');
    assert.equal(current['openssl_enabled'], true);
    assert.equal(current['openssl_version'], 'OpenSSL 3.0.13');
    assert.equal(current['fips_enabled'], true);
    assert.equal(current['version_should'], '2026.8.6');
    assert.equal(current['version_outdated'], true, 'same build hash, older version');

    // A hello without the facts (the Rust outpost's) gets authentik's defaults; another build is never outdated.
    const s = await openOutpostSocket(cores['2026.8'], 'test-ldap', LDAP_TOKEN);
    s.ws.send(JSON.stringify({ instruction: 1, args: { version: '2024.4.3', buildHash: 'custom', hostname: 'rust' } }));
    await until('the ACK', () => s.messages.some((m) => m.instruction === 0));
    const rust = cores['2026.8'].admin.health('test-ldap').find((h) => h.hostname === 'rust');
    assert.ok(rust?.uid.startsWith('specific.'), 'no instance_uuid: the channel name');
    assert.deepEqual([rust?.golang_version, rust?.openssl_enabled, rust?.openssl_version, rust?.fips_enabled, rust?.version_outdated], ['', false, '', false, false]);
    s.close();
  });

  it('a seed version overrides the generation\'s', async () => {
    const core = await startTestCore({ seed: { ...loadSeedFile(TEST_SEED), version: '2025.2.1' }, authentikVersion: '2026.8' });
    try {
      const s = await openOutpostSocket(core, 'test-ldap', LDAP_TOKEN);
      s.ws.send(JSON.stringify({ instruction: 1, args: { version: '2025.10.0', buildHash: 'tagged' } }));
      await until('the ACK', () => s.messages.some((m) => m.instruction === 0));
      assert.equal(core.admin.health('test-ldap')[0]?.version_should, '2025.2.1');
      assert.equal(core.admin.health('test-ldap')[0]?.version_outdated, false, 'numeric compare: 2025.10 > 2025.2');
      s.close();
    } finally {
      await core.close();
    }
  });

  it('the outpost check_access endpoints are 404 in 2024.4, even before authentication', async () => {
    for (const path of ['/api/v3/outposts/ldap/1/check_access/?app_slug=test-ldap-app', '/api/v3/outposts/radius/2/check_access/?app_slug=test-radius-app']) {
      const anonymous = await http(cores['2024.4'].url, 'GET', path);
      assert.equal(anonymous.status, 404);
      assert.deepEqual(anonymous.json, { detail: 'Not found.' });
      assert.equal((await get('2024.4', path)).status, 404);
      assert.equal((await http(cores['2026.8'].url, 'GET', path)).status, 403, 'they exist in 2026.8');
    }
  });

  it('lists carry autocomplete in 2026.8; users and groups have that release\'s fields only', async () => {
    assert.equal('autocomplete' in (await get('2024.4', '/api/v3/core/users/')).json, false);
    assert.deepEqual((await get('2026.8', '/api/v3/core/users/')).json.autocomplete, {});
    const old = (await get('2024.4', '/api/v3/core/groups/?name=vpn-contractors')).json.results[0];
    assert.equal(old.parent_name, 'vpn');
    const group = (await get('2026.8', '/api/v3/core/groups/?name=vpn-contractors')).json.results[0];
    assert.equal('parent' in group || 'parent_name' in group, false);
    assert.equal(group.parents.length, 1);
    assert.equal(group.parents_obj, null, 'include_parents defaults to false');
    const alice = (await get('2026.8', '/api/v3/core/users/?username=alice')).json.results[0];
    assert.deepEqual(alice.roles_obj, []);
    assert.ok(!Number.isNaN(Date.parse(alice.date_joined)));
    assert.equal('parent_name' in alice.groups_obj[0], false);
    assert.equal((await get('2026.8', '/api/v3/core/users/?username=alice&include_roles=false')).json.results[0].roles_obj, null);
    cores['2026.8'].admin.updateUser('alice', { password: 'alice-password' });
    const changed = (await get('2026.8', '/api/v3/core/users/?username=alice')).json.results[0];
    assert.ok(Date.parse(changed.password_change_date) >= Date.parse(alice.date_joined));
  });

  it('challenges: type in 2024.4 only', async () => {
    const old = await new FlowClient(cores['2024.4'].url).get('/api/v3/flows/executor/id-embedded-flow/');
    assert.equal(old.json.type, 'native');
    const current = await new FlowClient(cores['2026.8'].url).get('/api/v3/flows/executor/id-embedded-flow/');
    assert.equal(current.json.component, 'ak-stage-identification');
    assert.equal('type' in current.json, false);
    const c = new FlowClient(cores['2026.8'].url);
    await c.get('/api/v3/flows/executor/id-embedded-flow/');
    let res = await c.post('/api/v3/flows/executor/id-embedded-flow/', { component: 'ak-stage-identification', uid_field: 'alice', password: 'alice-password' });
    while (res.status === 302) res = await c.get('/api/v3/flows/executor/id-embedded-flow/');
    assert.deepEqual(res.json, { component: 'xak-flow-redirect', to: '/' });
  });
});
