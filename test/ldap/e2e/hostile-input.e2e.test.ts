// Requests sent to hurt, or with extreme values, through the whole outpost: log lines stay
// bounded (every bind and search is logged at info, with the client's DN, base and filter), an
// unreachable core's address stays private, and a time limit of 2^31-1 s is no limit.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ResultCode, SearchScope, type Filter } from '../../../src/ldap/protocol/index.ts';
import { RawClient, searchRequest } from '../server/support.ts';
import { B, PASSWORDS, U, auth, dnsOf, ldapsearch, resultOf, startLdapOutpost, type LdapOutpost } from './support.ts';

describe('LDAP outpost: hostile and extreme requests', () => {
  let o: LdapOutpost;
  before(async () => {
    o = await startLdapOutpost();
  });
  after(async () => {
    await o?.stop();
  });

  it('huge DNs, filters and attribute lists are cut in the log lines of binds and searches', async () => {
    const since = o.outpost.logs.raw.length;
    const raw = await RawClient.connect(o.ldapPort);
    // A bind DN of 200,000 characters (not a DN we parse: invalidDNSyntax), logged as failed.
    const longDn = `cn=${'x'.repeat(200_000)},ou=users,${B}`;
    assert.equal((await raw.bind(1, longDn, 'pw')).resultCode, ResultCode.invalidDNSyntax);
    // An anonymous root DSE search with a 300 KB filter and 5,000 requested attributes.
    const filter: Filter = { type: 'or', filters: Array.from({ length: 2000 }, (_, i) => ({ type: 'equalityMatch' as const, attribute: 'description', value: `${i}`.padEnd(140, 'v') })) };
    const attributes = Array.from({ length: 5000 }, (_, i) => `attribute${i}`);
    raw.send(2, searchRequest('', { scope: SearchScope.baseObject, filter, attributes }));
    assert.equal((await raw.result(2)).resultCode, ResultCode.success);
    // A base DN of 100,000 characters.
    raw.send(3, searchRequest(`cn=${'y'.repeat(100_000)},${B}`, { scope: SearchScope.baseObject }));
    assert.equal((await raw.result(3)).resultCode, ResultCode.invalidDNSyntax);
    raw.close();

    const lines = o.outpost.logs.raw.slice(since);
    const bind = o.outpost.logs.lines.slice(since).find((l) => l['event'] === 'Bind request failed');
    assert.ok(bind, 'the failed bind is logged');
    assert.match(String(bind['bindDN']), /^cn=x{1000}.*\(\d+ more characters\)$/);
    const searches = o.outpost.logs.lines.slice(since).filter((l) => l['event'] === 'Search request');
    assert.equal(searches.length, 2);
    assert.match(String(searches[0]!['filter']), /^\(\|\(description=0v+\).*\(\d+ more characters\)$/);
    assert.equal((searches[0]!['attributes'] as string[]).length, 33);
    assert.match(String(searches[1]!['baseDN']), /^cn=y+… \(\d+ more characters\)$/);
    for (const l of lines) assert.ok(l.length < 8 * 1024, `a log line of ${l.length} bytes: ${l.slice(0, 200)}`);
  });

  it('the core unreachable: a search answers unavailable (52) without telling the client where the core is', async (t) => {
    const raw = await RawClient.connect(o.ldapPort);
    assert.equal((await raw.bind(1, U('akadmin'), PASSWORDS['akadmin']!)).resultCode, ResultCode.success);
    await o.core.admin.stopListening();
    t.after(() => o.core.admin.startListening());
    raw.send(2, searchRequest(B, { filter: { type: 'equalityMatch', attribute: 'objectClass', value: 'user' } }));
    const done = await raw.result(2, 15_000);
    assert.equal(done.resultCode, ResultCode.unavailable);
    assert.match(done.diagnosticMessage ?? '', /cannot reach the core for \/api\/v3\/core\/users\/$/);
    assert.doesNotMatch(done.diagnosticMessage ?? '', /127\.0\.0\.1|ECONNREFUSED|:\d{2,5}\b/);
    raw.close();
    await o.core.admin.startListening();
  });

  it('a time limit beyond what a timer holds (`ldapsearch -l max`: 2^31-1 s) is no limit, not an immediate timeLimitExceeded', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      for (const limit of ['max', '2147483']) {
        const r = await ldapsearch(o.url, [...auth('akadmin'), '-l', limit, '-b', `ou=users,${B}`, '-s', 'one', '(cn=alice)', 'cn']);
        assert.equal(resultOf(r.stdout), 0, `-l ${limit}: ${r.stdout}${r.stderr}`);
        assert.deepEqual(dnsOf(r.stdout), [U('alice')]);
      }
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings.map((w) => w.name), [], 'no TimeoutOverflowWarning');
  });

  it('a normal bind and search afterwards are logged whole', async () => {
    const since = o.outpost.logs.lines.length;
    const raw = await RawClient.connect(o.ldapPort);
    assert.equal((await raw.bind(1, U('alice'), PASSWORDS['alice']!)).resultCode, ResultCode.success);
    raw.send(2, searchRequest(B, { filter: { type: 'equalityMatch', attribute: 'cn', value: 'alice' }, attributes: ['cn', 'mail'] }));
    assert.equal((await raw.result(2)).resultCode, ResultCode.success);
    raw.close();
    const search = o.outpost.logs.lines.slice(since).find((l) => l['event'] === 'Search request');
    assert.equal(search?.['filter'], '(cn=alice)');
    assert.deepEqual(search?.['attributes'], ['cn', 'mail']);
    assert.equal(search?.['baseDN'], B);
  });
});
