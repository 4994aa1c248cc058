/**
 * End to end with the OpenLDAP client tools (Debian ldap-utils). Nothing is skipped: when the
 * tools are missing these tests fail (CI installs them).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALICE_DN, ALICE_PW, BASE, BIG_BASE, run, startFixture, type Fixture } from './support.ts';

const TLS_ENV = { LDAPTLS_REQCERT: 'never' };
const AUTH = ['-x', '-D', ALICE_DN, '-w', ALICE_PW];

function numEntries(ldif: string): number {
  const m = /# numEntries: (\d+)/.exec(ldif);
  return m === null ? 0 : Number(m[1]);
}

describe('OpenLDAP client tools', () => {
  let fx: Fixture;
  let dir: string;

  before(async () => {
    fx = await startFixture({ level: 'info' });
    dir = await mkdtemp(join(tmpdir(), 'ldap-server-test-'));
  });
  after(async () => {
    await fx.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('the tools are installed', async () => {
    for (const tool of ['ldapsearch', 'ldapwhoami', 'ldapcompare', 'ldapmodify', 'ldapadd', 'ldapdelete', 'ldapmodrdn', 'ldappasswd']) {
      const r = await run('sh', ['-c', `command -v ${tool}`]);
      assert.equal(r.code, 0, `${tool} is not installed (apt-get install ldap-utils)`);
    }
  });

  it('ldapsearch reads the root DSE anonymously', async () => {
    const r = await run('ldapsearch', ['-x', '-H', fx.url, '-b', '', '-s', 'base', '(objectClass=*)', '*', '+']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^namingContexts: dc=example,dc=com$/m);
    assert.match(r.stdout, /^supportedExtension: 1\.3\.6\.1\.4\.1\.1466\.20037$/m);
    assert.match(r.stdout, /^subschemaSubentry: cn=subschema$/m, '+ returns operational attributes');
  });

  it('ldapsearch bound, with a filter and an attribute list', async () => {
    const r = await run('ldapsearch', [...AUTH, '-H', fx.url, '-b', BASE, '(objectClass=person)', 'cn', 'MAIL']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(numEntries(r.stdout), 2);
    assert.match(r.stdout, /^dn: cn=alice,ou=users,dc=example,dc=com$/m);
    assert.match(r.stdout, /^mail: bob@example\.com$/m);
    assert.doesNotMatch(r.stdout, /^sn:/m);
    assert.equal(fx.handler.searches.at(-1)?.session?.dn, ALICE_DN);
  });

  it('ldapsearch -ZZ (StartTLS) binds over TLS', async () => {
    const before = fx.handler.binds.length;
    const r = await run('ldapsearch', [...AUTH, '-ZZ', '-H', fx.url, '-b', BASE, '-s', 'base'], TLS_ENV);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(numEntries(r.stdout), 1);
    const bind = fx.handler.binds[before];
    assert.equal(bind?.client.tls, true);
    assert.equal(bind?.client.listener, 'ldap');
  });

  it('ldapsearch over LDAPS', async () => {
    const before = fx.handler.binds.length;
    const r = await run('ldapsearch', [...AUTH, '-H', fx.ldapsUrl, '-b', BASE, '-s', 'one'], TLS_ENV);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(numEntries(r.stdout), 1);
    assert.equal(fx.handler.binds[before]?.client.listener, 'ldaps');
    assert.equal(fx.handler.binds[before]?.client.tls, true);
  });

  it('ldapwhoami bound and anonymous', async () => {
    const bound = await run('ldapwhoami', [...AUTH, '-H', fx.url]);
    assert.equal(bound.code, 0, bound.stderr);
    assert.equal(bound.stdout.trim(), `dn:${ALICE_DN}`);
    const anon = await run('ldapwhoami', ['-x', '-H', fx.url]);
    assert.equal(anon.code, 0, anon.stderr);
    assert.equal(anon.stdout.trim(), 'anonymous');
  });

  it('ldapcompare → TRUE (6) / FALSE (5)', async () => {
    const t = await run('ldapcompare', [...AUTH, '-H', fx.url, ALICE_DN, 'mail:alice@example.com']);
    assert.equal(t.code, 6, t.stderr);
    assert.match(t.stdout, /TRUE/);
    const f = await run('ldapcompare', [...AUTH, '-H', fx.url, ALICE_DN, 'mail:bob@example.com']);
    assert.equal(f.code, 5, f.stderr);
    assert.match(f.stdout, /FALSE/);
  });

  it('ldapadd / ldapmodify / ldapdelete / ldapmodrdn → 53 (read-only)', async () => {
    const add = join(dir, 'add.ldif');
    await writeFile(add, 'dn: cn=new,dc=example,dc=com\nobjectClass: person\ncn: new\nsn: new\n');
    const mod = join(dir, 'mod.ldif');
    await writeFile(mod, `dn: ${ALICE_DN}\nchangetype: modify\nreplace: mail\nmail: x@example.com\n`);
    const results = [
      await run('ldapadd', [...AUTH, '-H', fx.url, '-f', add]),
      await run('ldapmodify', [...AUTH, '-H', fx.url, '-f', mod]),
      await run('ldapdelete', [...AUTH, '-H', fx.url, ALICE_DN]),
      await run('ldapmodrdn', [...AUTH, '-H', fx.url, ALICE_DN, 'cn=alicia']),
    ];
    for (const r of results) {
      assert.equal(r.code, 53, r.stderr);
      assert.match(r.stdout + r.stderr, /read-only/);
    }
  });

  it('ldappasswd → 53 (ldappasswd itself exits 1)', async () => {
    const r = await run('ldappasswd', [...AUTH, '-H', fx.url, '-s', 'newpassword']);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /^Result: Server is unwilling to perform \(53\)$/m);
    assert.match(r.stdout, /read-only/);
  });

  it('a failed bind exits 49', async () => {
    const r = await run('ldapsearch', ['-x', '-D', ALICE_DN, '-w', 'wrong', '-H', fx.url, '-b', BASE]);
    assert.equal(r.code, 49);
  });

  it('a 10,000-entry result arrives complete', async () => {
    const r = await run('ldapsearch', [...AUTH, '-H', fx.url, '-b', BIG_BASE, '-s', 'one'], {}, 60_000);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(numEntries(r.stdout), 10_000);
    assert.equal(r.stdout.match(/^dn: /gm)?.length, 10_000);
    assert.match(r.stdout, /^cn: user9999$/m);
  });

  it('the same over LDAPS', async () => {
    const r = await run('ldapsearch', [...AUTH, '-H', fx.ldapsUrl, '-b', BIG_BASE, '-s', 'one', 'cn'], TLS_ENV, 60_000);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(numEntries(r.stdout), 10_000);
  });
});

describe('OpenLDAP client tools with requireTls', () => {
  let fx: Fixture;
  before(async () => {
    fx = await startFixture({ requireTls: true, level: 'info' });
  });
  after(async () => {
    await fx.stop();
  });

  it('a password bind on plain LDAP is refused with 13', async () => {
    const r = await run('ldapsearch', [...AUTH, '-H', fx.url, '-b', BASE]);
    assert.equal(r.code, 13, r.stderr);
    assert.match(r.stderr, /TLS/);
  });

  it('the root DSE stays readable anonymously (to discover StartTLS)', async () => {
    const r = await run('ldapsearch', ['-x', '-H', fx.url, '-b', '', '-s', 'base']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(numEntries(r.stdout), 1);
  });

  it('an anonymous search below the root DSE is refused with 13', async () => {
    const r = await run('ldapsearch', ['-x', '-H', fx.url, '-b', BASE]);
    assert.equal(r.code, 13, r.stderr);
  });

  it('after StartTLS, or on LDAPS, binds and searches work', async () => {
    const z = await run('ldapsearch', [...AUTH, '-ZZ', '-H', fx.url, '-b', BASE, '-s', 'base'], TLS_ENV);
    assert.equal(z.code, 0, z.stderr);
    const s = await run('ldapsearch', [...AUTH, '-H', fx.ldapsUrl, '-b', BASE, '-s', 'base'], TLS_ENV);
    assert.equal(s.code, 0, s.stderr);
  });
});
