// The LDAP outpost end to end over TLS: StartTLS and LDAPS with the provider's certificate,
// certificate selection by SNI across providers, and the require-TLS option.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SELF_SIGNED_COMMON_NAME } from '../../../src/ldap/server/index.ts';
import {
  AUTHENTIK_VERSIONS,
  B,
  PASSWORDS,
  TLS_ENV,
  U,
  auth,
  closeClients,
  ldapsCertificate,
  ldapsearch,
  numEntries,
  run,
  sameFingerprint,
  startLdapOutpost,
  startTlsCertificate,
  testSeed,
  type LdapOutpost,
} from './support.ts';

after(closeClients);

// Both generations here (the certificate's shape differs); the suites below are about our own
// TLS handling, which no generation changes.
for (const authentikVersion of AUTHENTIK_VERSIONS) describe(`LDAP outpost: TLS with one provider (authentik ${authentikVersion})`, () => {
  let o: LdapOutpost;
  let fingerprint: string;

  before(async () => {
    o = await startLdapOutpost({ authentikVersion });
    fingerprint = o.core.admin.certificate('test-ldap-cert').fingerprint_sha256;
  });
  after(() => o?.stop());

  it('ldapsearch -ZZ (StartTLS) binds and searches', async () => {
    const r = await ldapsearch(o.url, ['-ZZ', ...auth('alice'), '-b', U('alice'), '-s', 'base', 'cn'], TLS_ENV);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(numEntries(r.stdout), 1);
    // Without TLS configuration trust the client refuses the (untrusted) certificate: TLS really ran.
    const strict = await ldapsearch(o.url, ['-ZZ', ...auth('alice'), '-b', U('alice'), '-s', 'base'], { LDAPTLS_REQCERT: 'demand', LDAPTLS_CACERT: '/dev/null' });
    assert.notEqual(strict.code, 0);
  });

  it('ldapsearch over LDAPS binds and searches', async () => {
    const r = await ldapsearch(o.ldapsUrl, [...auth('alice'), '-b', U('alice'), '-s', 'base', 'cn'], TLS_ENV);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(numEntries(r.stdout), 1);
  });

  it('LDAPS and StartTLS serve the provider\'s certificate (test-ldap-cert), whatever the SNI', async () => {
    for (const sni of [undefined, 'ldap.test.local', 'other.example']) {
      const viaLdaps = await ldapsCertificate(o.ldapsPort, sni);
      assert.ok(sameFingerprint(viaLdaps.fingerprint256, fingerprint), `LDAPS, SNI ${sni}: ${viaLdaps.subject}`);
      const viaStartTls = await startTlsCertificate(o.ldapPort, sni);
      assert.ok(sameFingerprint(viaStartTls.fingerprint256, fingerprint), `StartTLS, SNI ${sni}: ${viaStartTls.subject}`);
    }
  });

  it('a plain bind is accepted without requireTls (as authentik)', async () => {
    assert.equal((await run('ldapwhoami', ['-H', o.url, ...auth('alice')])).code, 0);
  });
});

describe('LDAP outpost: certificate selection by SNI with two providers', () => {
  // authentik compared tls_server_name by pointer and never matched (spec §2, §9 item 5); we
  // compare names. Without a match, two providers with different certificates get the
  // built-in self-signed certificate (as authentik).
  let o: LdapOutpost;
  const seed = testSeed();
  seed['certificates']!.push({ name: 'test-ldap-cert-2', common_name: 'ldap2.test.local', sans: ['ldap2.test.local'] });
  seed['applications']!.push({ slug: 'test-ldap-app-2', name: 'Test LDAP 2', provider: 'test-ldap-unlisted-provider' });
  for (const p of seed['providers'] as { name: string; certificate?: string; tls_server_name?: string }[]) {
    if (p.name === 'test-ldap-provider') p.tls_server_name = 'ldap.test.local';
    if (p.name === 'test-ldap-unlisted-provider') Object.assign(p, { certificate: 'test-ldap-cert-2', tls_server_name: 'ldap2.test.local' });
  }

  before(async () => {
    o = await startLdapOutpost({ seed });
  });
  after(() => o?.stop());

  it('the SNI name picks the provider whose tls_server_name matches', async () => {
    const one = o.core.admin.certificate('test-ldap-cert').fingerprint_sha256;
    const two = o.core.admin.certificate('test-ldap-cert-2').fingerprint_sha256;
    assert.ok(!sameFingerprint(one, two));
    for (const [sni, fp] of [
      ['ldap.test.local', one],
      ['LDAP2.test.local', two],
    ] as const) {
      assert.ok(sameFingerprint((await ldapsCertificate(o.ldapsPort, sni)).fingerprint256, fp), `LDAPS ${sni}`);
      assert.ok(sameFingerprint((await startTlsCertificate(o.ldapPort, sni)).fingerprint256, fp), `StartTLS ${sni}`);
    }
  });

  it('no SNI, or an unknown name → the self-signed fallback', async () => {
    for (const sni of [undefined, 'unknown.example']) {
      const cert = await ldapsCertificate(o.ldapsPort, sni);
      assert.match(cert.subject, new RegExp(`CN=${SELF_SIGNED_COMMON_NAME}`), `SNI ${sni}`);
    }
  });

  it('both providers serve binds and searches, each under its own base', async () => {
    const r = await ldapsearch(o.ldapsUrl, ['-x', '-D', 'cn=alice,ou=users,dc=unlisted,dc=goauthentik,dc=io', '-w', PASSWORDS['alice']!, '-b', 'dc=unlisted,dc=goauthentik,dc=io', '(cn=alice)', 'cn'], TLS_ENV);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^dn: cn=alice,ou=users,dc=unlisted,dc=goauthentik,dc=io$/m);
    const dse = await ldapsearch(o.url, ['-x', '-b', '', '-s', 'base', 'namingContexts']);
    assert.match(dse.stdout, new RegExp(`^namingContexts: ${B}$`, 'm'));
    assert.match(dse.stdout, /^namingContexts: dc=unlisted,dc=goauthentik,dc=io$/m);
  });
});

describe('LDAP outpost: AUTHENTIK_LDAP__REQUIRE_TLS', () => {
  let o: LdapOutpost;

  before(async () => {
    o = await startLdapOutpost({ env: { AUTHENTIK_LDAP__REQUIRE_TLS: 'true' } });
  });
  after(() => o?.stop());

  it('a plain bind is refused with confidentialityRequired (13), before reaching the core', async () => {
    const since = o.core.admin.requests().length;
    const r = await run('ldapwhoami', ['-H', o.url, ...auth('alice')]);
    assert.equal(r.code, 13, r.stdout + r.stderr);
    assert.match(r.stderr, /Confidentiality required \(13\)/);
    // Answers (the password) only travel in POSTs to the executor; the start-up warm-up GETs the flow.
    const posts = o.core.admin.requests().slice(since).filter((x) => x.method === 'POST' && x.path.startsWith('/api/v3/flows/'));
    assert.deepEqual(posts.map((x) => x.path), [], 'the password never went to the core');
  });

  it('the same bind after StartTLS, or over LDAPS, succeeds', async () => {
    const st = await run('ldapwhoami', ['-ZZ', '-H', o.url, ...auth('alice')], TLS_ENV);
    assert.equal(st.code, 0, st.stderr);
    assert.equal(st.stdout.trim(), `dn:${U('alice')}`);
    const ldaps = await run('ldapwhoami', ['-H', o.ldapsUrl, ...auth('alice')], TLS_ENV);
    assert.equal(ldaps.code, 0, ldaps.stderr);
  });

  it('the root DSE stays readable in the clear (clients discover StartTLS there)', async () => {
    const r = await ldapsearch(o.url, ['-x', '-b', '', '-s', 'base', 'supportedExtension']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^supportedExtension: 1\.3\.6\.1\.4\.1\.1466\.20037$/m);
  });
});
