// What the contract tests of both API generations share: checking a body against a model of an
// official client package, and the bodies every generation serves, fetched and checked alike.
// Each test file names what differs: the package, the core's mode, how strict a check is, and
// what only its generation serves.
import assert from 'node:assert/strict';
import type { DevCore } from '../../src/devcore/index.ts';
import { totpCode } from '../../src/devcore/totp.ts';
import { configurationErrorEvent } from '../../src/proxy/config-error-events.ts';
import { bearer, FlowClient, http, LDAP_QUERY, LDAP_TOKEN, loginAs, openOutpostSocket, PROXY_TOKEN, RADIUS_TOKEN, until, type Res } from './helpers.ts';

/** What a contract holds a core to. */
export interface ContractSpec {
  /** An official client package (`import * as api from '@goauthentik/api'`): `<Model>FromJSON` by name. */
  api: Record<string, unknown>;
  /** The problems of `body` as `model`, none when it conforms: as strict as the version asks. */
  check(model: string, body: unknown): string[];
  /** What the check holds a body to, for failure messages ("authentik 2026.8.3's model"). */
  against: string;
}

const CHALLENGE_MODELS: Record<string, string> = {
  'ak-stage-identification': 'IdentificationChallenge',
  'ak-stage-password': 'PasswordChallenge',
  'ak-stage-authenticator-validate': 'AuthenticatorValidationChallenge',
  'ak-stage-user-login': 'UserLoginChallenge',
  'ak-stage-access-denied': 'AccessDeniedChallenge',
  'ak-stage-flow-error': 'FlowErrorChallenge',
  'ak-stage-consent': 'ConsentChallenge',
  'xak-flow-redirect': 'RedirectChallenge',
};

/** A running core held to one contract; its methods assert. */
export class Contract {
  private readonly core: DevCore;
  private readonly spec: ContractSpec;

  constructor(core: DevCore, spec: ContractSpec) {
    this.core = core;
    this.spec = spec;
  }

  get(path: string, token = LDAP_TOKEN): Promise<Res> {
    return http(this.core.url, 'GET', path, { headers: bearer(token) });
  }

  /** The package's `<model>FromJSON`. */
  fromJson(model: string): (json: unknown) => unknown {
    const fn = this.spec.api[`${model}FromJSON`];
    assert.equal(typeof fn, 'function', `the package has no ${model}FromJSON`);
    return fn as (json: unknown) => unknown;
  }

  /** Parse with the official model and list the check's problems (the failure names them). */
  conforms(model: string, body: unknown): void {
    assert.ok(body !== undefined && body !== null, `${model}: no body`);
    assert.deepEqual(this.spec.check(model, body), [], `${model} does not match ${this.spec.against}`);
    assert.doesNotThrow(() => this.fromJson(model)(body), `${model}FromJSON failed`);
  }

  /** A 200 with the challenge `component`, conforming to its model. */
  challenge(res: Res, component: string): void {
    assert.equal(res.status, 200);
    assert.equal(res.json?.component, component, JSON.stringify(res.json));
    this.conforms(CHALLENGE_MODELS[component] as string, res.json);
    // The union the executor endpoint is declared with must dispatch it too.
    const parsed = this.fromJson('ChallengeTypes')(res.json) as { component?: string };
    assert.equal(parsed.component, component);
  }

  /** Each outpost's instances list and single outpost, as its own token sees them. */
  async outposts(): Promise<void> {
    for (const token of [LDAP_TOKEN, RADIUS_TOKEN, PROXY_TOKEN]) {
      const list = await this.get('/api/v3/outposts/instances/', token);
      this.conforms('PaginatedOutpostList', list.json);
      this.conforms('Outpost', (await this.get(`/api/v3/outposts/instances/${list.json.results[0].pk}/`, token)).json);
    }
  }

  /** The LDAP outpost's health after one connection's `hello` (args as the outpost sends them). */
  async health(hello: Record<string, unknown>, query = ''): Promise<void> {
    const s = await openOutpostSocket(this.core, 'test-ldap', LDAP_TOKEN, query);
    try {
      s.ws.send(JSON.stringify({ instruction: 1, args: hello }));
      await until('the ACK', () => s.messages.length > 0);
      const health = await this.get(`/api/v3/outposts/instances/${this.core.admin.outpost('test-ldap').pk}/health/`);
      assert.equal(health.json.length, 1);
      for (const h of health.json) this.conforms('OutpostHealth', h);
    } finally {
      s.close();
    }
  }

  async rootConfigAndBrand(): Promise<void> {
    this.conforms('Config', (await this.get('/api/v3/root/config/')).json);
    this.conforms('CurrentBrand', (await http(this.core.url, 'GET', '/api/v3/core/brands/current/')).json);
  }

  /** The LDAP, RADIUS and proxy provider lists, one provider each; returned for more checks. */
  async providerLists(): Promise<{ ldap: Res; radius: Res; proxy: Res }> {
    const ldap = await this.get('/api/v3/outposts/ldap/?page=1&page_size=100');
    assert.equal(ldap.json.results.length, 1);
    this.conforms('PaginatedLDAPOutpostConfigList', ldap.json);
    const radius = await this.get('/api/v3/outposts/radius/', RADIUS_TOKEN);
    assert.equal(radius.json.results.length, 1);
    this.conforms('PaginatedRadiusOutpostConfigList', radius.json);
    const proxy = await this.get('/api/v3/outposts/proxy/', PROXY_TOKEN);
    assert.equal(proxy.json.results.length, 1);
    this.conforms('PaginatedProxyOutpostConfigList', proxy.json);
    return { ldap, radius, proxy };
  }

  /** The users list as is and with each of `queries` (`?include_groups=false`, ...), and one user. */
  async users(queries: readonly string[]): Promise<void> {
    const list = await this.get('/api/v3/core/users/');
    assert.ok(list.json.results.length > 5);
    this.conforms('PaginatedUserList', list.json);
    for (const q of queries) this.conforms('PaginatedUserList', (await this.get(`/api/v3/core/users/${q}`)).json);
    const alice = list.json.results.find((u: { username: string }) => u.username === 'alice');
    this.conforms('User', (await this.get(`/api/v3/core/users/${alice.pk}/`)).json);
  }

  /** The groups list as is and with each of `queries`, and one group (a child). */
  async groups(queries: readonly string[]): Promise<void> {
    const list = await this.get('/api/v3/core/groups/');
    this.conforms('PaginatedGroupList', list.json);
    for (const q of queries) this.conforms('PaginatedGroupList', (await this.get(`/api/v3/core/groups/${q}`)).json);
    const child = list.json.results.find((g: { name: string }) => g.name === 'vpn-contractors');
    this.conforms('Group', (await this.get(`/api/v3/core/groups/${child.pk}/`)).json);
  }

  /** A keypair, its certificate and its private key; the keypair is returned for more checks. */
  async keypair(pk: string, token = LDAP_TOKEN): Promise<Res> {
    const kp = await this.get(`/api/v3/crypto/certificatekeypairs/${pk}/`, token);
    this.conforms('CertificateKeyPair', kp.json);
    this.conforms('CertificateData', (await this.get(`/api/v3/crypto/certificatekeypairs/${pk}/view_certificate/`, token)).json);
    this.conforms('CertificateData', (await this.get(`/api/v3/crypto/certificatekeypairs/${pk}/view_private_key/`, token)).json);
    return kp;
  }

  /**
   * The proxy outpost's configuration_error event, built by the outpost's own code: the request
   * is an EventRequest, the 201 answer an Event, both by the official models.
   */
  async event(): Promise<void> {
    const body = configurationErrorEvent({
      providerPk: 1,
      provider: 'contract-provider',
      outpost: 'contract-outpost',
      message: 'Outpost contract-outpost (Provider contract-provider) failed to detect a forward URL from nginx',
      path: '/outpost.goauthentik.io/auth/nginx',
      headers: { host: ['fs.example.com'], cookie: ['authentik_proxy_x=secret'] },
      clientIp: '::ffff:192.0.2.10',
    });
    this.conforms('EventRequest', body);
    const res = await http(this.core.url, 'POST', '/api/v3/events/events/', { headers: bearer(PROXY_TOKEN), body });
    assert.equal(res.status, 201, res.text);
    this.conforms('Event', res.json);
    assert.equal(res.json.action, 'configuration_error');
    assert.equal(res.json.client_ip, '192.0.2.10');
    assert.deepEqual(res.json.context.headers, { host: 'fs.example.com', cookie: '[redacted]' });
    // DRF's validation errors, and no event without a token.
    const bad = await http(this.core.url, 'POST', '/api/v3/events/events/', { headers: bearer(PROXY_TOKEN), body: { action: 'nope', client_ip: '1.2.3.4:5' } });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.json, { action: ['"nope" is not a valid choice.'], app: ['This field is required.'], client_ip: ['Enter a valid IPv4 or IPv6 address.'] });
    this.conforms('GenericError', (await http(this.core.url, 'POST', '/api/v3/events/events/', { body })).json);
  }

  /** No token, a wrong token, an unknown path. */
  async errorBodies(): Promise<void> {
    this.conforms('GenericError', (await http(this.core.url, 'GET', '/api/v3/outposts/instances/')).json);
    this.conforms('GenericError', (await this.get('/api/v3/outposts/instances/', 'nope')).json);
    this.conforms('GenericError', (await this.get('/api/v3/nope/')).json);
  }

  /**
   * Every challenge type the seed's flows make, the application check_access and users/me
   * bodies on the way. Returns bob's first (unused) device challenge for more checks.
   */
  async challengeWalk(): Promise<{ mfa: Res }> {
    const base = this.core.url;
    const url = `/api/v3/flows/executor/id-password-flow/${LDAP_QUERY}`;
    const c = new FlowClient(base);
    this.challenge(await c.get(url), 'ak-stage-identification');
    const invalid = await c.post(url, { component: 'ak-stage-identification' });
    this.challenge(invalid, 'ak-stage-identification');
    assert.ok(invalid.json.response_errors.uid_field);
    await c.post(url, { component: 'ak-stage-identification', uid_field: 'bob', password: '' });
    this.challenge(await c.get(url), 'ak-stage-password');
    this.challenge(await c.post(url, { component: 'ak-stage-password', password: 'wrong' }), 'ak-stage-password');
    await c.post(url, { component: 'ak-stage-password', password: 'bob-password' });
    const mfa = await c.get(url);
    this.challenge(mfa, 'ak-stage-authenticator-validate');
    assert.equal(mfa.json.device_challenges.length, 1);
    this.challenge(await c.post(url, { component: 'ak-stage-authenticator-validate', selected_challenge: mfa.json.device_challenges[0], code: '000000x' }), 'ak-stage-authenticator-validate');
    const afterMfa = await c.post(url, { component: 'ak-stage-authenticator-validate', selected_challenge: mfa.json.device_challenges[0], code: totpCode('JBSWY3DPEHPK3PXP', { time: Date.now() + 30_000 }) });
    assert.equal(afterMfa.status, 302);
    this.challenge(await c.get(url), 'xak-flow-redirect');

    this.conforms('PolicyTestResult', (await c.get('/api/v3/core/applications/test-radius-app/check_access/')).json);
    this.conforms('SessionUser', (await c.get('/api/v3/core/users/me/')).json);
    this.conforms('SessionUser', (await this.get('/api/v3/core/users/me/')).json);

    // user-login with "stay signed in"
    const r = new FlowClient(base);
    await r.get('/api/v3/flows/executor/remember-me-flow/');
    await r.post('/api/v3/flows/executor/remember-me-flow/', { component: 'ak-stage-identification', uid_field: 'alice', password: 'alice-password' });
    this.challenge(await r.get('/api/v3/flows/executor/remember-me-flow/'), 'ak-stage-user-login');

    // access denied, flow error, consent
    this.challenge(await new FlowClient(base).get('/api/v3/flows/executor/outpost-only-flow/'), 'ak-stage-access-denied');
    this.challenge(await new FlowClient(base).get('/api/v3/flows/executor/error-flow/'), 'ak-stage-flow-error');
    const k = new FlowClient(base);
    await k.get('/api/v3/flows/executor/consent-flow/');
    await k.post('/api/v3/flows/executor/consent-flow/', { component: 'ak-stage-identification', uid_field: 'alice', password: 'alice-password' });
    this.challenge(await k.get('/api/v3/flows/executor/consent-flow/'), 'ak-stage-consent');

    // The flow error as a superuser sees it (with error and traceback).
    const admin = await loginAs(base, 'akadmin', 'akadmin');
    const err = await admin.get('/api/v3/flows/executor/error-flow/');
    this.challenge(err, 'ak-stage-flow-error');
    assert.equal(err.json.error, 'devcore test stage failure');
    return { mfa };
  }
}
