// The LDAP outpost end to end: what clients read. Root DSE and schema without a bind,
// anonymous limits, the directory as a privileged and a non-privileged user sees it, entry
// contents, filters, limits, paging, attribute selection, compare, refused writes, extended
// operations, and a malformed request that must not disturb other connections.
//
// Where we deliberately differ from authentik 2024.4 (spec §10) the test says so; see
// src/ldap/directory/README.md and src/ldap/server/server.ts for the decisions.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SearchOptions } from 'ldapts';
import net from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AUTHENTIK_VERSIONS,
  B,
  G,
  PASSWORDS,
  U,
  VG,
  auth,
  client,
  closeClients,
  dnsOf,
  ldapsearch,
  numEntries,
  parseLdif,
  rejectsWith,
  resultOf,
  run,
  startLdapOutpost,
  within,
  type LdapOutpost,
} from './support.ts';

const SEED_USERS = ['akadmin', 'alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'];
const SEED_GROUPS = ['authentik Admins', 'ldap-search', 'staff', 'vpn', 'vpn-contractors'];
const CONTAINERS = [`ou=users,${B}`, `ou=groups,${B}`, `ou=virtual-groups,${B}`];

const sorted = (xs: readonly string[]) => [...xs].sort();

for (const authentikVersion of AUTHENTIK_VERSIONS) describe(`LDAP outpost: search and other operations (authentik ${authentikVersion})`, () => {
  let o: LdapOutpost;
  let dir: string;
  /** Every user the core has (seed users plus one service account per outpost). */
  let allUsers: string[];
  const search = (user: string, args: string[], env: Record<string, string> = {}) => ldapsearch(o.url, [...auth(user), ...args], env);

  before(async () => {
    o = await startLdapOutpost({ authentikVersion });
    dir = await mkdtemp(join(tmpdir(), 'ldap-e2e-'));
    allUsers = [...SEED_USERS, ...o.core.admin.outposts().map((x) => `ak-outpost-${x.pk.replace(/-/g, '')}`)];
    for (const u of allUsers) assert.ok(o.core.admin.getUser(u), `the core has ${u}`);
  });
  after(async () => {
    await closeClients();
    await o?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  describe('without a bind', () => {
    it('the root DSE is readable anonymously', async () => {
      // authentik 2024.4 gives unbound clients a fallback entry without naming contexts and
      // lists no supportedControl/supportedExtension (spec §4.2, §10 items 23, 26).
      const r = await ldapsearch(o.url, ['-x', '-b', '', '-s', 'base', '(objectClass=*)', '*', '+']);
      assert.equal(r.code, 0, r.stderr);
      const dse = parseLdif(r.stdout).get('');
      assert.ok(dse, r.stdout);
      assert.deepEqual(dse.get('namingcontexts'), [B]);
      assert.deepEqual(dse.get('supportedldapversion'), ['3']);
      assert.ok(dse.get('supportedcontrol')?.includes('1.2.840.113556.1.4.319'), 'paged results');
      assert.ok(dse.get('supportedextension')?.includes('1.3.6.1.4.1.1466.20037'), 'StartTLS');
      assert.ok(dse.get('supportedextension')?.includes('1.3.6.1.4.1.4203.1.11.3'), 'WhoAmI');
      assert.deepEqual(dse.get('vendorname'), ['goauthentik.io']);
      assert.match(dse.get('vendorversion')?.[0] ?? '', /^authentik LDAP Outpost Version \d/);
      assert.deepEqual(dse.get('subschemasubentry'), ['cn=subschema']);
    });

    it('cn=subschema is readable anonymously', async () => {
      const r = await ldapsearch(o.url, ['-x', '-b', 'cn=subschema', '-s', 'base', '(objectClass=subschema)', '+', '*']);
      assert.equal(r.code, 0, r.stderr);
      const schema = parseLdif(r.stdout).get('cn=subschema');
      assert.ok(schema, r.stdout);
      assert.ok(schema.get('attributetypes')?.some((d) => d.includes("'ak-active'") && d.includes('1.3.6.1.4.1.26027.1.1.3')));
      assert.ok(schema.get('objectclasses')?.some((d) => d.includes("'goauthentik.io/ldap/user'")));
    });

    it('an anonymous bind succeeds but grants nothing beyond (50, connection kept)', async () => {
      // authentik 2024.4 refuses the anonymous bind itself with 50 (spec §3.2, §10 item 11);
      // we follow RFC 4513 §5.1.1: the bind succeeds, every directory search is refused.
      const c = client(o.url);
      await c.bind('', '');
      await rejectsWith(c.search(B, { scope: 'sub', filter: '(objectClass=*)' }), 50);
      await rejectsWith(c.search(U('alice'), { scope: 'base' }), 50);
      const dse = await c.search('', { scope: 'base', attributes: ['namingContexts'] });
      assert.deepEqual(dse.searchEntries.map((e) => e.namingContexts), [B]);
      // ldapsearch -x without -D: the same.
      const r = await ldapsearch(o.url, ['-x', '-b', B, '(objectClass=*)']);
      assert.equal(r.code, 50, r.stdout + r.stderr);
      assert.equal(numEntries(r.stdout), 0);
      assert.equal((await run('ldapwhoami', ['-x', '-H', o.url])).stdout.trim(), 'anonymous');
    });
  });

  // akadmin may search everything: a member of the search group (2024.4), a superuser (2024.8+).
  describe('as akadmin (search group, superuser)', () => {
    it('sees the base, the containers, every user, group and virtual group', async () => {
      const r = await search('akadmin', ['-b', B, '(objectClass=*)', '1.1']);
      assert.equal(r.code, 0, r.stderr);
      const expected = [B, ...CONTAINERS, ...allUsers.map(U), ...SEED_GROUPS.map(G), ...allUsers.map(VG)];
      assert.deepEqual(sorted(dnsOf(r.stdout)), sorted(expected));
    });

    it('entry contents (spec §4.7) for alice, bob, a group and a virtual group', async () => {
      const r = await search('akadmin', ['-b', B, '(|(cn=alice)(cn=bob)(cn=staff)(cn=akadmin))']);
      assert.equal(r.code, 0, r.stderr);
      const entries = parseLdif(r.stdout);
      const alice = entries.get(U('alice'));
      assert.ok(alice, r.stdout);
      const core = o.core.admin.getUser('alice') as { pk: number; uid: string };
      assert.deepEqual(alice.get('cn'), ['alice']);
      assert.deepEqual(alice.get('samaccountname'), ['alice']);
      assert.deepEqual(alice.get('uid'), [core.uid]);
      for (const a of ['name', 'displayname', 'sn']) assert.deepEqual(alice.get(a), ['Alice Example'], a);
      assert.deepEqual(alice.get('mail'), ['alice@example.com']);
      assert.deepEqual(sorted(alice.get('objectclass') ?? []), sorted(['user', 'organizationalPerson', 'inetOrgPerson', 'goauthentik.io/ldap/user', 'posixAccount']));
      assert.deepEqual(alice.get('uidnumber'), [String(2000 + core.pk)]);
      assert.deepEqual(alice.get('gidnumber'), [String(2000 + core.pk)]);
      assert.deepEqual(alice.get('homedirectory'), ['/home/alice']);
      assert.deepEqual(alice.get('ak-active'), ['true']);
      assert.deepEqual(alice.get('ak-superuser'), ['false']);
      assert.deepEqual(sorted(alice.get('memberof') ?? []), [G('staff'), G('vpn')]);
      assert.deepEqual(alice.get('goauthentikio-user-sources'), ['ldap'], 'custom attribute, key sanitised');
      // Defaults where the user has no custom attribute; superuser in lower case.
      const bob = entries.get(U('bob'));
      assert.deepEqual(bob?.get('homedirectory'), ['/home/bob']);
      assert.deepEqual(entries.get(U('akadmin'))?.get('ak-superuser'), ['true']);
      const staff = entries.get(G('staff'));
      assert.ok(staff);
      assert.deepEqual(sorted(staff.get('member') ?? []), sorted([U('alice'), U('bob'), U('carol')]));
      assert.deepEqual(staff.get('department'), ['engineering']);
      assert.equal(staff.get('memberof'), undefined);
      const vg = entries.get(VG('alice'));
      assert.ok(vg);
      assert.deepEqual(vg.get('gidnumber'), [String(2000 + core.pk)]);
      assert.deepEqual(vg.get('member'), [U('alice')]);
      assert.ok(vg.get('objectclass')?.includes('goauthentik.io/ldap/virtual-group'));
    });

    const cases: { name: string; filter: string; expected: () => string[]; note?: string }[] = [
      { name: 'objectClass=user', filter: '(objectClass=user)', expected: () => allUsers.map(U) },
      // authentik: the last objectClass in the filter decides → no users (spec §10 item 44).
      { name: 'OR of object classes', filter: '(|(objectClass=user)(objectClass=group))', expected: () => [...allUsers.map(U), ...SEED_GROUPS.map(G), ...allUsers.map(VG)] },
      // authentik: result 1 and the connection closed (spec §10 item 29).
      { name: '>= on uidNumber', filter: '(uidNumber>=2000)', expected: () => allUsers.map(U) },
      // authentik: only the first component counts, (cn=a*) (spec §10 item 30).
      { name: 'multi-part substring', filter: '(cn=a*li*e)', expected: () => [U('alice'), VG('alice')] },
      { name: 'memberOf', filter: `(memberOf=${G('staff')})`, expected: () => [U('alice'), U('bob'), U('carol')] },
      { name: 'memberOf, other spelling of the DN', filter: `(memberOf=CN=Staff, OU=Groups, ${B.toUpperCase()})`, expected: () => [U('alice'), U('bob'), U('carol')] },
      { name: 'AND with NOT', filter: '(&(objectClass=user)(memberOf=*)(!(ak-active=true)))', expected: () => [U('carol')] },
      // Anchored: an initial component at the start, a final one at the end (the core's `search` is not).
      { name: 'initial substring not at the start', filter: '(cn=li*)', expected: () => [] },
      { name: 'final substring not at the end', filter: '(cn=*lic)', expected: () => [] },
      { name: 'initial and final substrings', filter: '(&(objectClass=user)(cn=al*)(cn=*ice))', expected: () => [U('alice')] },
      // Other names and the OID of a type (RFC 4512 §2.5).
      { name: 'commonName', filter: '(&(objectClass=user)(commonName=alice))', expected: () => [U('alice')] },
      { name: 'the OID of cn', filter: '(&(objectClass=user)(2.5.4.3=alice))', expected: () => [U('alice')] },
      { name: 'rfc822Mailbox', filter: '(rfc822Mailbox=alice@example.com)', expected: () => [U('alice')] },
    ];
    for (const c of cases) {
      it(`filter ${c.name}: ${c.filter}`, async () => {
        const r = await search('akadmin', ['-b', B, c.filter, '1.1']);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(sorted(dnsOf(r.stdout)), sorted(c.expected()));
      });
    }

    it('sizeLimit: -z 2 → 2 entries and sizeLimitExceeded (4)', async () => {
      // authentik truncates silently with result 0 (spec §10 item 31).
      const r = await search('akadmin', ['-z', '2', '-b', B, '(objectClass=user)', '1.1']);
      assert.equal(r.code, 4, r.stderr);
      assert.equal(numEntries(r.stdout), 2);
      assert.equal(resultOf(r.stdout), 4);
    });

    it('a base that does not exist → noSuchObject (32)', async () => {
      // authentik answers 0 with no entries (spec §4.6).
      const r = await search('akadmin', ['-b', `ou=nothere,${B}`, '(objectClass=*)']);
      assert.equal(r.code, 32, r.stdout + r.stderr);
      assert.match(r.stdout, /^matchedDN: dc=ldap,dc=goauthentik,dc=io$/m);
    });

    it('paged results: -E pr=2/noprompt returns everything across pages', async () => {
      // authentik ignores the control and returns everything at once (spec §10 item 32).
      const r = await search('akadmin', ['-E', 'pr=2/noprompt', '-b', B, '(objectClass=user)', '1.1']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(sorted(dnsOf(r.stdout)), sorted(allUsers.map(U)));
      // One SearchResultDone per page, each with at most 2 entries.
      const pages = r.stdout.split(/^# search result$/m).length - 1;
      assert.equal(pages, Math.ceil(allUsers.length / 2), 'pages of 2');
      assert.match(r.stdout, new RegExp(`^pagedresults: estimate=${allUsers.length} cookie=`, 'm'));
    });

    it('each search is logged at info as authentik does: Search request with bindDN, baseDN, scope, filter, attributes, client, requestId, took-ms', async () => {
      const r = await search('akadmin', ['-b', B, '-s', 'one', '(&(objectClass=user)(cn=ali*))', 'cn', 'mail']);
      assert.equal(r.code, 0, r.stderr);
      const line = o.outpost.logs.lines.findLast((l) => l['event'] === 'Search request' && l['filter'] === '(&(objectClass=user)(cn=ali*))');
      assert.ok(line, 'the search was logged with its filter');
      assert.equal(line['level'], 'info');
      assert.equal(line['bindDN'], U('akadmin'));
      assert.equal(line['baseDN'], B);
      assert.equal(line['scope'], 'Single Level');
      assert.deepEqual(line['attributes'], ['cn', 'mail']);
      assert.equal(line['client'], '127.0.0.1');
      assert.match(String(line['requestId']), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(typeof line['took-ms'], 'number');
      assert.equal(line['logger'], 'authentik.outpost.ldap');
      // An anonymous search of the root DSE is logged too, with an empty bindDN.
      await ldapsearch(o.url, ['-x', '-b', '', '-s', 'base', '(objectClass=*)']);
      const dse = o.outpost.logs.lines.findLast((l) => l['event'] === 'Search request' && l['baseDN'] === '');
      assert.equal(dse?.['bindDN'], '');
      assert.equal(dse?.['scope'], 'Base Object');
    });

    it('attribute selection: a list, 1.1 and +', async () => {
      const two = parseLdif((await search('akadmin', ['-b', U('alice'), '-s', 'base', '(objectClass=*)', 'mail', 'cn'])).stdout).get(U('alice'));
      assert.deepEqual(sorted([...(two?.keys() ?? [])]), ['cn', 'mail']);
      const none = await search('akadmin', ['-b', U('alice'), '-s', 'base', '(objectClass=*)', '1.1']);
      assert.equal(numEntries(none.stdout), 1);
      assert.deepEqual([...(parseLdif(none.stdout).get(U('alice'))?.keys() ?? [])], []);
      // authentik has no operational attributes (`+` → nothing); ours are entryDN and subschemaSubentry.
      const op = parseLdif((await search('akadmin', ['-b', U('alice'), '-s', 'base', '(objectClass=*)', '+'])).stdout).get(U('alice'));
      assert.deepEqual(sorted([...(op?.keys() ?? [])]), ['entrydn', 'subschemasubentry']);
      assert.deepEqual(op?.get('entrydn'), [U('alice')]);
    });
  });

  describe('as alice (neither in the search group nor holding the search permission)', () => {
    it('sees the base, containers, herself, her virtual group and her groups with only her as member', async () => {
      const r = await search('alice', ['-b', B, '(objectClass=*)', 'member']);
      assert.equal(r.code, 0, r.stderr);
      const entries = parseLdif(r.stdout);
      assert.deepEqual(sorted([...entries.keys()]), sorted([B, ...CONTAINERS, U('alice'), VG('alice'), G('staff'), G('vpn')]));
      for (const g of [G('staff'), G('vpn'), VG('alice')]) assert.deepEqual(entries.get(g)?.get('member'), [U('alice')], g);
    });

    it('another user\'s entry answers noSuchObject (32)', async () => {
      // authentik: 0 entries with result 0 (spec §10 item 19); we do not reveal whether it exists.
      const r = await search('alice', ['-b', U('akadmin'), '-s', 'base', '(objectClass=*)']);
      assert.equal(r.code, 32, r.stdout + r.stderr);
      assert.equal(numEntries(r.stdout), 0);
    });
  });

  describe('other operations', () => {
    it('compare: TRUE (6) and FALSE (5)', async () => {
      // authentik 2024.4 answers 50 to every compare (spec §10 item 35).
      const t = await run('ldapcompare', [...auth('akadmin'), '-H', o.url, U('alice'), 'mail:alice@example.com']);
      assert.equal(t.code, 6, t.stderr);
      assert.match(t.stdout, /TRUE/);
      const f = await run('ldapcompare', [...auth('akadmin'), '-H', o.url, U('alice'), 'mail:bob@example.com']);
      assert.equal(f.code, 5, f.stderr);
      assert.match(f.stdout, /FALSE/);
      // DN-valued attributes compare as DNs, as in search filters.
      const dn = await run('ldapcompare', [...auth('akadmin'), '-H', o.url, U('alice'), `memberOf:CN=Staff, OU=Groups, ${B.toUpperCase()}`]);
      assert.equal(dn.code, 6, dn.stdout + dn.stderr);
      // Another name of a type is that type.
      for (const ava of ['commonName:alice', '2.5.4.3:ALICE', 'rfc822Mailbox:alice@example.com']) {
        const alias = await run('ldapcompare', [...auth('akadmin'), '-H', o.url, U('alice'), ava]);
        assert.equal(alias.code, 6, `${ava}: ${alias.stdout}${alias.stderr}`);
      }
      // Compare sees what search sees: alice cannot compare on akadmin's entry.
      const hidden = await run('ldapcompare', [...auth('alice'), '-H', o.url, U('akadmin'), 'cn:akadmin']);
      assert.equal(hidden.code, 32, hidden.stdout + hidden.stderr);
    });

    it('ldapadd / ldapmodify / ldapdelete / ldapmodrdn / ldappasswd → 53 (read-only)', async () => {
      // authentik: 50 for writes and 2 for Password Modify (spec §10 item 35).
      const add = join(dir, 'add.ldif');
      await writeFile(add, `dn: cn=new,ou=users,${B}\nobjectClass: user\ncn: new\n`);
      const mod = join(dir, 'mod.ldif');
      await writeFile(mod, `dn: ${U('alice')}\nchangetype: modify\nreplace: mail\nmail: x@example.com\n`);
      const h = ['-H', o.url];
      const results = [
        await run('ldapadd', [...auth('akadmin'), ...h, '-f', add]),
        await run('ldapmodify', [...auth('akadmin'), ...h, '-f', mod]),
        await run('ldapdelete', [...auth('akadmin'), ...h, U('alice')]),
        await run('ldapmodrdn', [...auth('akadmin'), ...h, U('alice'), 'cn=alicia']),
      ];
      for (const r of results) assert.equal(r.code, 53, r.stdout + r.stderr);
      const pw = await run('ldappasswd', [...auth('alice'), ...h, '-s', 'new-password']);
      assert.match(pw.stdout, /Server is unwilling to perform \(53\)/);
      // Nothing changed in the core.
      assert.equal((o.core.admin.getUser('alice') as { email: string }).email, 'alice@example.com');
      assert.equal((await run('ldapwhoami', [...auth('alice'), ...h])).code, 0, 'the password is unchanged');
    });

    it('WhoAmI answers the bound DN; an unknown extended operation → protocolError (2)', async () => {
      // authentik answers 2 to WhoAmI too (spec §10 item 34).
      const c = client(o.url);
      await c.bind(U('alice'), PASSWORDS['alice']!);
      const who = await c.exop('1.3.6.1.4.1.4203.1.11.3');
      assert.equal(who.value, `dn:${U('alice')}`);
      await rejectsWith(c.exop('1.2.3.4.5.6.7'), 2);
      // The connection is still usable.
      const r = await c.search(U('alice'), { scope: 'base', attributes: ['cn'] });
      assert.equal(r.searchEntries.length, 1);
    });

    it('a malformed PDU closes only its own connection', async () => {
      const c = client(o.url);
      await c.bind(U('akadmin'), PASSWORDS['akadmin']!);
      const q: SearchOptions = { scope: 'sub', filter: '(objectClass=group)', attributes: ['cn'] };
      const before = (await c.search(B, q)).searchEntries.length;
      const raw = net.connect(o.ldapPort, '127.0.0.1');
      const closed = new Promise<Buffer>((resolve) => {
        const got: Buffer[] = [];
        raw.on('data', (d: Buffer) => got.push(d));
        raw.on('close', () => resolve(Buffer.concat(got)));
        raw.on('error', () => {});
      });
      await new Promise<void>((resolve) => raw.once('connect', () => resolve()));
      // A SEQUENCE whose messageID is an OCTET STRING: framed, but not an LDAPMessage.
      raw.write(Buffer.from([0x30, 0x07, 0x04, 0x01, 0x41, 0x60, 0x02, 0x05, 0x00]));
      const during = c.search(B, q);
      raw.write(Buffer.from('garbage that is not BER at all\r\n'));
      const notice = await within(closed, 5000, 'closing the connection that sent a malformed PDU');
      // A Notice of Disconnection (extended response, messageID 0) with protocolError, then close.
      assert.ok(notice.includes(Buffer.from('1.3.6.1.4.1.1466.20036')), 'a notice of disconnection was sent');
      assert.equal((await during).searchEntries.length, before);
      assert.equal((await c.search(B, q)).searchEntries.length, before);
    });
  });
});
