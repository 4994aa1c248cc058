// The LDAP outpost end to end: binds through the development core's flows with real clients
// (OpenLDAP's ldapwhoami/ldapsearch and ldapts), per-connection identity, the headers the
// flow requests carry, the core session ended on unbind, metrics and secret-free logs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SearchOptions } from 'ldapts';
import net from 'node:net';
import { totpCode } from '../../../src/devcore/index.ts';
import { waitFor } from '../../support/wait.ts';
import { RawClient } from '../server/support.ts';
import {
  AUTHENTIK_VERSIONS,
  B,
  BOB_TOTP_SECRET,
  OUTPOST_TOKEN,
  PASSWORDS,
  U,
  auth,
  checkAccessPath,
  client,
  closeClients,
  flowRequests,
  ldapsearch,
  metricValue,
  metricsText,
  rejectsWith,
  run,
  startLdapOutpost,
  type LdapOutpost,
} from './support.ts';

const WRONG = 'definitely-Wrong-pw-7731';

/** A 6-digit code that is none of the codes valid around now (±1 step, as the core tolerates). */
function wrongTotp(secret: string): string {
  const valid = new Set([-30_000, 0, 30_000].map((d) => totpCode(secret, { time: Date.now() + d })));
  for (let i = 0; ; i++) {
    const c = String(i * 137_911 % 1_000_000).padStart(6, '0');
    if (!valid.has(c)) return c;
  }
}

for (const authentikVersion of AUTHENTIK_VERSIONS) describe(`LDAP outpost: binds (authentik ${authentikVersion})`, () => {
  let o: LdapOutpost;
  const whoami = (args: string[]) => run('ldapwhoami', ['-H', o.url, ...args]);
  const secretsUsed = new Set<string>([WRONG, OUTPOST_TOKEN, PASSWORDS['alice']!, PASSWORDS['bob']!, PASSWORDS['carol']!, PASSWORDS['dave']!, 'stat1234']);

  before(async () => {
    o = await startLdapOutpost({ authentikVersion });
  });
  after(async () => {
    await closeClients();
    await o?.stop();
  });

  it('binds with cn=<user>,ou=users,<base>; WhoAmI answers the bound DN', async () => {
    const r = await whoami(auth('akadmin'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `dn:${U('akadmin')}`);
  });

  it('binds with uid=<user>,ou=users,<base> and other spellings; WhoAmI answers the user\'s entry DN (cn=...)', async () => {
    // authentik 2024.4 refuses uid= bind DNs (no cn RDN → 50, spec §10 item 13); we accept
    // uid= as the username too and name the user's entry in WhoAmI.
    // Other spellings that find the same user (case, spaces, no ou=, the email) name her entry too.
    for (const dn of [`uid=alice,ou=users,${B}`, `CN=ALICE,OU=Users,${B.toUpperCase()}`, `cn=alice, ou=users, ${B.replace(/,/g, ', ')}`, `cn=alice,${B}`, `cn=alice@example.com,ou=users,${B}`]) {
      const r = await whoami(auth(dn, PASSWORDS['alice']));
      assert.equal(r.code, 0, `${dn}: ${r.stderr}`);
      assert.equal(r.stdout.trim(), `dn:${U('alice')}`, dn);
    }
  });

  it('wrong password, unknown user and an inactive user → 49', async () => {
    for (const [dn, pw] of [
      [U('alice'), WRONG],
      [U('nobody-here'), WRONG],
      [U('carol'), PASSWORDS['carol']!],
    ] as const) {
      const r = await whoami(['-x', '-D', dn, '-w', pw]);
      assert.equal(r.code, 49, `${dn}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /Invalid credentials \(49\)/);
    }
  });

  it('the application policy denies → 50', async (t) => {
    o.core.admin.setApplicationAccess('test-ldap-app', ['ldap-search']);
    t.after(() => o.core.admin.setApplicationAccess('test-ldap-app', null));
    const r = await whoami(auth('alice'));
    assert.equal(r.code, 50, r.stdout + r.stderr);
    assert.match(r.stderr, /Insufficient access \(50\)/);
    o.core.admin.setApplicationAccess('test-ldap-app', null);
    assert.equal((await whoami(auth('alice'))).code, 0, 'allowed again once the policy is lifted');
  });

  it('an access check or users/me that fails never lets the bind through (authentik answered 0 after a panic)', async (t) => {
    t.after(() => o.core.admin.clearFaults());
    // Exactly the access check: a refresh's provider listing (/api/v3/outposts/ldap/) must not take the fault.
    const check = checkAccessPath(authentikVersion);
    for (const [path, status, code] of [
      [check, 500, 52],
      [check, 403, 1],
      ['/api/v3/core/users/me/', 502, 52],
      ['/api/v3/core/users/me/', 404, 1],
    ] as const) {
      o.core.admin.setFaults({ pathPrefix: path, failStatus: status, failCount: 1 });
      const r = await whoami(auth('alice'));
      assert.equal(r.code, code, `${path} answering ${status}: ${r.stdout}${r.stderr}`);
      o.core.admin.clearFaults();
    }
    assert.equal((await whoami(auth('alice'))).code, 0, 'binds work again once the core answers');
  });

  it('a DN outside every base DN → 50', async () => {
    const r = await whoami(['-x', '-D', 'cn=alice,ou=users,dc=other,dc=example', '-w', PASSWORDS['alice']!]);
    assert.equal(r.code, 50, r.stdout + r.stderr);
    // The unlisted provider (no application) is not served either.
    const unlisted = await whoami(['-x', '-D', 'cn=alice,ou=users,dc=unlisted,dc=goauthentik,dc=io', '-w', PASSWORDS['alice']!]);
    assert.equal(unlisted.code, 50, unlisted.stdout + unlisted.stderr);
  });

  it('MFA: bob binds with password;<totp> (mfa_support); a wrong code or no code → 49', async () => {
    const code = totpCode(BOB_TOTP_SECRET);
    secretsUsed.add(code);
    const ok = await whoami(auth('bob', `${PASSWORDS['bob']};${code}`));
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), `dn:${U('bob')}`);
    const bad = wrongTotp(BOB_TOTP_SECRET);
    const wrong = await whoami(auth('bob', `${PASSWORDS['bob']};${bad}`));
    assert.equal(wrong.code, 49, wrong.stderr);
    const none = await whoami(auth('bob'));
    assert.equal(none.code, 49, 'bob has a device: the password alone is not enough');
  });

  it('MFA: dave binds with a static token (password;token)', async () => {
    const r = await whoami(auth('dave', `${PASSWORDS['dave']};stat1234`));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `dn:${U('dave')}`);
    // Static tokens are single use.
    assert.equal((await whoami(auth('dave', `${PASSWORDS['dave']};stat1234`))).code, 49);
  });

  it('a failed bind leaves the connection anonymous (not the previous identity)', async () => {
    // authentik 2024.4 kept the previous successful identity after a failed bind (spec §3.1).
    const c = client(o.url);
    await c.bind(U('akadmin'), PASSWORDS['akadmin']!);
    const first = await c.search(B, { scope: 'sub', filter: '(objectClass=user)', attributes: ['cn'] });
    assert.ok(first.searchEntries.length > 5);
    await rejectsWith(c.bind(U('akadmin'), WRONG), 49);
    await rejectsWith(c.search(B, { scope: 'sub', filter: '(objectClass=user)' }), 50);
    // The connection is still usable.
    await c.bind(U('alice'), PASSWORDS['alice']!);
    const again = await c.search(B, { scope: 'sub', filter: '(objectClass=user)', attributes: ['cn'] });
    assert.deepEqual(again.searchEntries.map((e) => e.dn), [U('alice')]);
  });

  it('identity is per connection: two connections bound as different users see different things', async () => {
    const admin = client(o.url);
    const alice = client(o.url);
    await admin.bind(U('akadmin'), PASSWORDS['akadmin']!);
    await alice.bind(U('alice'), PASSWORDS['alice']!);
    const opts: SearchOptions = { scope: 'sub', filter: '(objectClass=user)', attributes: ['cn'] };
    for (let i = 0; i < 2; i++) {
      const [a, b] = await Promise.all([admin.search(B, opts), alice.search(B, opts)]);
      assert.ok(a.searchEntries.length >= 10, `akadmin sees every user (${a.searchEntries.length})`);
      assert.ok(a.searchEntries.some((e) => e.dn === U('bob')));
      assert.deepEqual(b.searchEntries.map((e) => e.dn), [U('alice')]);
    }
    // A failed bind as akadmin on a third connection changes nothing for the first (authentik
    // shared one record per DN, spec §3.4).
    const third = client(o.url);
    await rejectsWith(third.bind(U('akadmin'), WRONG), 49);
    assert.ok((await admin.search(B, opts)).searchEntries.length >= 10);
  });

  it('flow requests carry X-authentik-remote-ip (the client address), the outpost token and the LDAP query', async () => {
    const since = o.core.admin.requests().length;
    assert.equal((await whoami(auth('alice'))).code, 0);
    // The bind flow, and (in the background, after ldapwhoami's unbind) the logout flow.
    const reqs = flowRequests(o.core, since);
    const bindFlow = reqs.filter((r) => r.path === '/api/v3/flows/executor/id-password-flow/');
    assert.ok(bindFlow.length >= 2, `GET and POSTs to the bind flow (${bindFlow.length})`);
    for (const r of reqs) {
      assert.match(r.path, /^\/api\/v3\/flows\/executor\/(id-password-flow|default-invalidation-flow)\/$/);
      assert.equal(r.headers['x-authentik-remote-ip'], '127.0.0.1');
      assert.equal(r.headers['x-authentik-outpost-token'], OUTPOST_TOKEN);
      // `query` is itself a query string (authentik's executor encodes it, the API client again).
      assert.equal(new URLSearchParams(r.query['query']).get('goauthentik.io/outpost/ldap'), 'true');
      assert.equal(r.headers['authorization'], undefined, 'the flow runs as an anonymous browser');
    }
    const after = o.core.admin.requests().slice(since);
    assert.ok(after.some((r) => r.path === checkAccessPath(authentikVersion)), 'the access check of the core\'s API generation');
    assert.ok(!after.some((r) => r.path.endsWith('/check_access/') && r.path !== checkAccessPath(authentikVersion)), 'and only that one');
    assert.ok(after.some((r) => r.path === '/api/v3/core/users/me/'));
  });

  it('unbind ends the core session of the bind (logout flow, in the background)', async () => {
    const aliceSessions = () => new Set(o.core.admin.listSessions().filter((s) => s.username === 'alice' && s.authenticated).map((s) => s.session_key));
    const before = aliceSessions();
    const c = client(o.url);
    await c.bind(U('alice'), PASSWORDS['alice']!);
    const mine = [...aliceSessions()].filter((k) => !before.has(k));
    assert.equal(mine.length, 1, 'the bind created one logged-in core session');
    const key = mine[0]!;
    const since = o.core.admin.requests().length;
    await c.unbind();
    // The devcore's logout stage flushes the session: it disappears from the list.
    await waitFor('the core session to end', () => !o.core.admin.listSessions().some((s) => s.session_key === key));
    assert.ok(flowRequests(o.core, since).some((r) => r.path === '/api/v3/flows/executor/default-invalidation-flow/'), 'the brand\'s invalidation flow ran');
    await waitFor('an unbind observation', async () => /authentik_outpost_ldap_requests_count\{[^}]*type="unbind"[^}]*\} [1-9]/.test(await metricsText(o.metricsUrl)));
  });

  it('a second bind on the same connection ends the first bind\'s core session', async () => {
    const sessionsOf = (user: string) => new Set(o.core.admin.listSessions().filter((s) => s.username === user && s.authenticated).map((s) => s.session_key));
    const before = sessionsOf('alice');
    const c = client(o.url);
    await c.bind(U('alice'), PASSWORDS['alice']!);
    const key = [...sessionsOf('alice')].find((k) => !before.has(k));
    assert.ok(key);
    const erinBefore = sessionsOf('erin');
    await c.bind(U('erin'), PASSWORDS['erin']!);
    await waitFor('alice\'s session to end', () => !o.core.admin.listSessions().some((s) => s.session_key === key));
    const erin = [...sessionsOf('erin')].filter((k) => !erinBefore.has(k));
    assert.equal(erin.length, 1, 'erin\'s session is alive');
    await c.unbind();
    await waitFor('erin\'s session to end', () => !sessionsOf('erin').has(erin[0]!));
  });

  it('closing the socket without unbind ends the core session too', async () => {
    const aliceSessions = () => new Set(o.core.admin.listSessions().filter((s) => s.username === 'alice' && s.authenticated).map((s) => s.session_key));
    const before = aliceSessions();
    const r = await ldapsearch(o.url, [...auth('alice'), '-b', U('alice'), '-s', 'base', '1.1']);
    assert.equal(r.code, 0, r.stderr);
    await waitFor('the ldapsearch session to end', () => [...aliceSessions()].every((k) => before.has(k)));
    const before2 = aliceSessions();
    const c = client(o.url);
    await c.bind(U('alice'), PASSWORDS['alice']!);
    const key = [...aliceSessions()].find((k) => !before2.has(k));
    assert.ok(key);
    // ldapts has no "close without unbind": destroy its socket.
    const sock = (c as unknown as { socket?: net.Socket }).socket;
    assert.ok(sock, 'ldapts keeps its socket in `socket`');
    sock.destroy();
    await waitFor('the closed connection\'s session to end', () => !o.core.admin.listSessions().some((s) => s.session_key === key));
  });

  it('metrics: rejected binds by reason, bind counts and durations in seconds', async () => {
    const labels = { outpost_name: 'test-ldap', type: 'bind', app: 'test-ldap-app' };
    const m0 = await metricsText(o.metricsUrl);
    // Wrong password: authentik's executor errors on response_errors → flow_error (src/flow/reasons.ts).
    assert.equal((await whoami(auth('alice', WRONG))).code, 49);
    o.core.admin.setApplicationAccess('test-ldap-app', ['ldap-search']);
    try {
      assert.equal((await whoami(auth('alice'))).code, 50);
    } finally {
      o.core.admin.setApplicationAccess('test-ldap-app', null);
    }
    assert.equal((await whoami(['-x', '-D', 'cn=alice,dc=other,dc=example', '-w', 'x'])).code, 50);
    assert.equal((await whoami(auth('alice'))).code, 0);
    // A flow that ends in an access-denied stage: "not passed" → invalid_credentials.
    o.core.admin.updateProvider('test-ldap-provider', { bind_flow: 'deny-flow' });
    await o.refresh();
    try {
      assert.equal((await whoami(auth('alice'))).code, 49);
    } finally {
      o.core.admin.updateProvider('test-ldap-provider', { bind_flow: 'id-password-flow' });
      await o.refresh();
    }
    const m1 = await metricsText(o.metricsUrl);
    const rejected = (m: string, l: Record<string, string>) => metricValue(m, 'authentik_outpost_ldap_requests_rejected', l);
    assert.equal(rejected(m1, { ...labels, reason: 'flow_error' }) - rejected(m0, { ...labels, reason: 'flow_error' }), 1);
    assert.equal(rejected(m1, { ...labels, reason: 'access_denied' }) - rejected(m0, { ...labels, reason: 'access_denied' }), 1);
    assert.equal(rejected(m1, { ...labels, reason: 'invalid_credentials' }) - rejected(m0, { ...labels, reason: 'invalid_credentials' }), 1);
    // No provider: no outpost and no application to name.
    const noProvider = { type: 'bind', reason: 'no_provider' };
    assert.equal(rejected(m1, noProvider) - rejected(m0, noProvider), 1);
    assert.equal(rejected(m1, { ...noProvider, app: '', outpost_name: '' }), rejected(m1, noProvider));

    const count = (m: string) => metricValue(m, 'authentik_outpost_ldap_requests_count', labels);
    const sum = (m: string) => metricValue(m, 'authentik_outpost_ldap_requests_sum', labels);
    assert.equal(count(m1) - count(m0), 4, 'four binds reached the provider');
    const avg = (sum(m1) - sum(m0)) / 4;
    assert.ok(avg > 0 && avg < 2, `a bind takes milliseconds, observed in seconds (${avg})`);
    assert.match(m1, /^# HELP authentik_outpost_ldap_requests /m);
  });

  it('logs never contain a password, a TOTP/static code or the outpost token', async () => {
    const lines = o.outpost.logs.raw;
    assert.ok(lines.some((l) => l.includes('Bind request')), 'binds were logged');
    for (const secret of secretsUsed) {
      const hit = lines.find((l) => l.includes(secret));
      assert.equal(hit, undefined, `a log line contains a secret (${secret.slice(0, 3)}…)`);
    }
    // akadmin's password equals the username, so it cannot be checked this way.
    // Nor the core's session cookies (a JWT: its header is always the same).
    const jwtHeader = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
    assert.equal(lines.find((l) => l.includes(jwtHeader)), undefined, 'a log line contains an authentik_session cookie');
  });
});

describe('LDAP outpost: client address through a trusted proxy, slow core', () => {
  let o: LdapOutpost;

  before(async () => {
    o = await startLdapOutpost({ env: { AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS: '127.0.0.1/32', AUTHENTIK_OUTPOST__FLOW_TIMEOUT: '500ms' } });
  });
  after(async () => {
    o?.core.admin.clearFaults();
    await o?.stop();
  });

  it('the PROXY header\'s source address becomes X-authentik-remote-ip', async () => {
    const sock = net.connect(o.ldapPort, '127.0.0.1');
    await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
    sock.write('PROXY TCP4 203.0.113.9 127.0.0.1 40000 389\r\n');
    const raw = RawClient.wrap(sock);
    const since = o.core.admin.requests().length;
    const r = await raw.bind(1, U('alice'), PASSWORDS['alice']!);
    assert.equal(r.resultCode, 0, r.diagnosticMessage);
    raw.close();
    const reqs = flowRequests(o.core, since).filter((x) => x.path.includes('id-password-flow'));
    assert.ok(reqs.length > 0);
    for (const x of reqs) assert.equal(x.headers['x-authentik-remote-ip'], '203.0.113.9');
  });

  it('a client that goes away during its bind: logged as such, not counted as a rejected bind', async () => {
    o.core.admin.setFaults({ latencyMs: 300, pathPrefix: '/api/v3/flows/' });
    try {
      const rejectedBinds = async () => {
        const text = await metricsText(o.metricsUrl);
        return [...text.matchAll(/^authentik_outpost_ldap_requests_rejected(?:_total)?\{[^}]*type="bind"[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
      };
      const before = await rejectedBinds();
      const lines = o.outpost.logs.lines.length;
      const since = o.core.admin.requests().length;
      const raw = await RawClient.connect(o.ldapPort);
      raw.send(1, { type: 'bind', version: 3, name: U('alice'), authentication: { method: 'simple', password: Buffer.from(PASSWORDS['alice']!) } });
      await waitFor('the bind to reach the core', () => flowRequests(o.core, since).length > 0);
      raw.close();
      await waitFor('the bind to end', () => o.outpost.logs.lines.slice(lines).some((l) => /^Bind request/.test(String(l['event']))));
      const mine = o.outpost.logs.lines.slice(lines).filter((l) => /^Bind request/.test(String(l['event'])));
      assert.deepEqual(mine.map((l) => l['event']), ['Bind request: client went away']);
      assert.equal(mine[0]!['level'], 'debug');
      assert.equal(await rejectedBinds(), before, 'no rejected bind counted');
    } finally {
      o.core.admin.clearFaults();
    }
  });

  it('a core slower than the flow timeout → unavailable (52) in bounded time, never 0 or 49', async () => {
    o.core.admin.setFaults({ latencyMs: 1500, pathPrefix: '/api/v3/flows/' });
    const started = performance.now();
    const r = await run('ldapwhoami', ['-H', o.url, ...auth('alice')]);
    const took = performance.now() - started;
    o.core.admin.clearFaults();
    assert.equal(r.code, 52, r.stdout + r.stderr);
    assert.ok(took < 1300, `answered after the flow timeout, not the core's latency (${Math.round(took)} ms)`);
    assert.equal((await run('ldapwhoami', ['-H', o.url, ...auth('alice')])).code, 0);
  });
});
