/**
 * The wire server against an independent client (ldapts): binds, searches with attribute
 * selection, compare, refused writes, extended operations, abandon, unbind, disconnects,
 * handler failures and critical controls.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Attribute, Change, Client, Control, PagedResultsControl, type Entry } from 'ldapts';
import { ResultCode, SearchScope } from '../../../src/ldap/protocol/index.ts';
import { ALICE_DN, ALICE_PW, BASE, RawClient, TestHandler, searchRequest, startFixture, testCertificate, waitUntil, type Fixture } from './support.ts';

function codeOf(e: unknown): number | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'number' ? e.code : undefined;
}

async function rejectsWith(p: Promise<unknown>, code: number): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.equal(codeOf(e), code, `expected result ${code}, got ${String(e)}`);
    return;
  }
  assert.fail(`expected result ${code}, got success`);
}

/** Attributes the server returned (ldapts also lists requested but absent ones, empty). */
function attrNames(e: Entry): string[] {
  return Object.entries(e)
    .filter(([k, v]) => k !== 'dn' && !(Array.isArray(v) && v.length === 0))
    .map(([k]) => k)
    .sort();
}

describe('LDAP server with ldapts', () => {
  let fx: Fixture;
  const clients: Client[] = [];
  const client = (): Client => {
    const c = new Client({ url: fx.url, timeout: 5000 });
    clients.push(c);
    return c;
  };

  before(async () => {
    fx = await startFixture();
  });
  after(async () => {
    for (const c of clients) await c.unbind().catch(() => {});
    await fx.stop();
  });

  it('binds with the right password and refuses a wrong one with 49', async () => {
    const c = client();
    await c.bind(ALICE_DN, ALICE_PW);
    await rejectsWith(c.bind(ALICE_DN, 'wrong'), ResultCode.invalidCredentials);
  });

  it('a failed bind leaves the connection anonymous (RFC 4511 §4.2.1)', async () => {
    const c = client();
    await c.bind(ALICE_DN, ALICE_PW);
    const before = fx.handler.searches.length;
    await c.search(BASE, { scope: 'base' });
    assert.equal(fx.handler.searches[before]?.session?.dn, ALICE_DN);
    await rejectsWith(c.bind(ALICE_DN, 'wrong'), ResultCode.invalidCredentials);
    await c.search(BASE, { scope: 'base' });
    assert.equal(fx.handler.searches[before + 1]?.session, undefined);
    // The old session was ended by the new bind.
    assert.ok(fx.handler.ended.some((x) => x.session.dn === ALICE_DN && x.client.id === fx.handler.searches[before]!.client.id));
  });

  it('anonymous bind succeeds without a session; unauthenticated bind gets 53 without the handler', async () => {
    const c = client();
    const binds = fx.handler.binds.length;
    await c.bind('', '');
    await c.search('', { scope: 'base' });
    assert.equal(fx.handler.searches.at(-1)?.session, undefined);
    await rejectsWith(c.bind(ALICE_DN, ''), ResultCode.unwillingToPerform);
    assert.equal(fx.handler.binds.length, binds, 'the handler saw no bind');
  });

  it('SASL binds get 7 and LDAPv2 binds get 2', async () => {
    const raw = await RawClient.connect(fx.ldapPort);
    raw.send(1, { type: 'bind', version: 3, name: '', authentication: { method: 'sasl', mechanism: 'EXTERNAL', credentials: undefined } });
    assert.equal((await raw.result(1)).resultCode, ResultCode.authMethodNotSupported);
    raw.send(2, { type: 'bind', version: 2, name: ALICE_DN, authentication: { method: 'simple', password: Buffer.from(ALICE_PW) } });
    const r = await raw.result(2);
    assert.equal(r.resultCode, ResultCode.protocolError);
    assert.equal(r.tag, 0x61);
    raw.close();
  });

  it('reads the root DSE anonymously', async () => {
    const c = client();
    const { searchEntries } = await c.search('', { scope: 'base', filter: '(objectClass=*)' });
    assert.equal(searchEntries.length, 1);
    assert.equal(searchEntries[0]!.dn, '');
    assert.deepEqual(searchEntries[0]!.namingContexts, BASE);
    assert.equal(searchEntries[0]!.subschemaSubentry, undefined, 'operational attribute not returned by default');
  });

  describe('attribute selection', () => {
    let c: Client;
    const one = async (attributes: string[], typesOnly = false) => {
      const { searchEntries } = await c.search(ALICE_DN, { scope: 'base', attributes, returnAttributeValues: !typesOnly });
      assert.equal(searchEntries.length, 1);
      return searchEntries[0]!;
    };
    before(async () => {
      c = client();
      await c.bind(ALICE_DN, ALICE_PW);
    });

    it('no list and * give all user attributes, in the server spelling', async () => {
      const user = ['cn', 'mail', 'memberOf', 'objectClass', 'sAMAccountName', 'sn'];
      assert.deepEqual(attrNames(await one([])), user);
      assert.deepEqual(attrNames(await one(['*'])), user);
    });

    it('+ gives operational attributes only; * + gives both', async () => {
      assert.deepEqual(attrNames(await one(['+'])), ['createTimestamp', 'entryUUID']);
      assert.deepEqual(attrNames(await one(['*', '+'])), ['cn', 'createTimestamp', 'entryUUID', 'mail', 'memberOf', 'objectClass', 'sAMAccountName', 'sn']);
    });

    it('1.1 alone gives no attributes; with others it is ignored', async () => {
      assert.deepEqual(attrNames(await one(['1.1'])), []);
      assert.deepEqual(attrNames(await one(['1.1', 'cn'])), ['cn']);
    });

    it('names match case-insensitively, options stripped, and may be combined with +', async () => {
      const e = await one(['MAIL', 'samaccountname', 'cn;lang-en', 'nonexistent']);
      assert.deepEqual(attrNames(e), ['cn', 'mail', 'sAMAccountName']);
      assert.equal(e.mail, 'alice@example.com');
      assert.deepEqual(attrNames(await one(['cn', '+'])), ['cn', 'createTimestamp', 'entryUUID']);
      assert.deepEqual(attrNames(await one(['entryuuid'])), ['entryUUID'], 'operational attribute by name');
    });

    it('typesOnly sends attribute names without values', async () => {
      const raw = await RawClient.connect(fx.ldapPort);
      raw.send(1, searchRequest(ALICE_DN, { scope: SearchScope.baseObject, typesOnly: true, attributes: ['cn', 'mail'] }));
      const entry = await raw.waitFor((r) => r.tag === 0x64);
      assert.deepEqual(entry.attributes, [
        { type: 'cn', values: [] },
        { type: 'mail', values: [] },
      ]);
      assert.equal((await raw.result(1)).resultCode, 0);
      raw.close();
    });
  });

  it('passes the handler result code through (noSuchObject with matchedDN)', async () => {
    const c = client();
    await c.bind(ALICE_DN, ALICE_PW);
    await rejectsWith(c.search('cn=nobody,dc=example,dc=com', { scope: 'base' }), ResultCode.noSuchObject);
  });

  it('compare answers true/false through the handler', async () => {
    const c = client();
    await c.bind(ALICE_DN, ALICE_PW);
    assert.equal(await c.compare(ALICE_DN, 'mail', 'alice@example.com'), true);
    assert.equal(await c.compare(ALICE_DN, 'mail', 'bob@example.com'), false);
  });

  it('refuses writes with 53 and a read-only message', async () => {
    const c = client();
    await c.bind(ALICE_DN, ALICE_PW);
    await rejectsWith(c.add('cn=new,dc=example,dc=com', { cn: 'new', objectClass: 'person' }), ResultCode.unwillingToPerform);
    await rejectsWith(c.modify(ALICE_DN, new Change({ operation: 'replace', modification: new Attribute({ type: 'mail', values: ['x@y'] }) })), ResultCode.unwillingToPerform);
    await rejectsWith(c.del(ALICE_DN), ResultCode.unwillingToPerform);
    await rejectsWith(c.modifyDN(ALICE_DN, 'cn=alicia'), ResultCode.unwillingToPerform);
    const raw = await RawClient.connect(fx.ldapPort);
    raw.send(1, { type: 'delete', entry: ALICE_DN });
    const r = await raw.result(1);
    assert.equal(r.tag, 0x6b);
    assert.match(r.diagnosticMessage ?? '', /read-only/);
    raw.close();
  });

  it('WhoAmI: dn:<bind dn> when bound, empty when anonymous', async () => {
    const c = client();
    assert.equal((await c.exop('1.3.6.1.4.1.4203.1.11.3')).value ?? '', '');
    await c.bind(ALICE_DN, ALICE_PW);
    assert.equal((await c.exop('1.3.6.1.4.1.4203.1.11.3')).value, `dn:${ALICE_DN}`);
  });

  it('unknown extended operation → 2 without responseName; password modify → 53', async () => {
    const raw = await RawClient.connect(fx.ldapPort);
    raw.send(1, { type: 'extended', name: '1.2.3.4.5', value: undefined });
    const r = await raw.result(1);
    assert.equal(r.resultCode, ResultCode.protocolError);
    assert.equal(r.responseName, undefined);
    raw.send(2, { type: 'extended', name: '1.3.6.1.4.1.4203.1.11.1', value: undefined });
    assert.equal((await raw.result(2)).resultCode, ResultCode.unwillingToPerform);
    // The connection is still usable.
    raw.send(3, searchRequest('', { scope: SearchScope.baseObject }));
    assert.equal((await raw.result(3)).resultCode, 0);
    raw.close();
  });

  it('abandon stops a running search without a response and keeps the connection usable', async () => {
    const raw = await RawClient.connect(fx.ldapPort);
    const aborted = fx.handler.abortedSearches;
    raw.send(1, searchRequest('cn=slow'));
    await waitUntil(() => fx.handler.searches.some((s) => s.request.baseObject === 'cn=slow'), 2000, 'slow search started');
    raw.send(2, { type: 'abandon', abandonId: 1 });
    raw.send(3, searchRequest('', { scope: SearchScope.baseObject }));
    const r3 = await raw.result(3);
    assert.equal(r3.resultCode, 0);
    assert.equal(fx.handler.abortedSearches, aborted + 1, 'the handler saw the abort signal');
    assert.equal(raw.responses.filter((r) => r.messageId === 1).length, 0, 'no response at all for the abandoned search');
    // Abandoning an unknown or finished operation is harmless.
    raw.send(4, { type: 'abandon', abandonId: 99 });
    raw.send(5, searchRequest('', { scope: SearchScope.baseObject }));
    assert.equal((await raw.result(5)).resultCode, 0);
    assert.equal(raw.isClosed, false);
    raw.close();
    assert.ok(fx.metrics.get('op:search:abandoned') >= 1);
  });

  it('abandon of a queued request drops it', async () => {
    const raw = await RawClient.connect(fx.ldapPort);
    raw.send(1, searchRequest('cn=slow'));
    raw.send(2, searchRequest('', { scope: SearchScope.baseObject }));
    raw.send(3, { type: 'abandon', abandonId: 2 });
    raw.send(4, { type: 'abandon', abandonId: 1 });
    raw.send(5, searchRequest('', { scope: SearchScope.baseObject }));
    await raw.result(5);
    assert.deepEqual(raw.responses.map((r) => r.messageId), [5, 5]);
    raw.close();
  });

  it('unbind ends the session and closes the connection without a response', async () => {
    const raw = await RawClient.connect(fx.ldapPort);
    await raw.bind(1, ALICE_DN, ALICE_PW);
    const id = fx.handler.binds.at(-1)!.client.id;
    raw.send(2, { type: 'unbind' });
    await raw.closedWithin();
    await waitUntil(() => fx.handler.ended.some((e) => e.client.id === id));
    assert.equal(fx.handler.ended.filter((e) => e.client.id === id).length, 1);
    assert.equal(raw.responses.length, 1);
  });

  it('ldapts unbind calls sessionEnded', async () => {
    const c = new Client({ url: fx.url });
    await c.bind(ALICE_DN, ALICE_PW);
    const id = fx.handler.binds.at(-1)!.client.id;
    await c.unbind();
    await waitUntil(() => fx.handler.ended.some((e) => e.client.id === id));
  });

  it('a client disconnect ends the session exactly once', async () => {
    const raw = await RawClient.connect(fx.ldapPort);
    await raw.bind(1, ALICE_DN, ALICE_PW);
    const id = fx.handler.binds.at(-1)!.client.id;
    raw.close();
    await waitUntil(() => fx.handler.ended.some((e) => e.client.id === id));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(fx.handler.ended.filter((e) => e.client.id === id).length, 1);
  });

  it('a throwing handler gives 1 (internal error), one error line, and the connection stays up', async () => {
    const raw = await RawClient.connect(fx.ldapPort);
    const errorsBefore = fx.logs.lines.filter((l) => l.level === 'error').length;
    raw.send(1, searchRequest('cn=throw'));
    const r1 = await raw.result(1);
    assert.equal(r1.resultCode, ResultCode.operationsError);
    assert.equal(r1.diagnosticMessage, 'internal error');
    raw.send(2, { type: 'compare', entry: 'cn=throw', attribute: 'cn', value: Buffer.from('x') });
    assert.equal((await raw.result(2)).resultCode, ResultCode.operationsError);
    raw.send(3, { type: 'bind', version: 3, name: 'cn=throw', authentication: { method: 'simple', password: Buffer.from('x') } });
    assert.equal((await raw.result(3)).resultCode, ResultCode.operationsError);
    raw.send(4, searchRequest('', { scope: SearchScope.baseObject }));
    assert.equal((await raw.result(4)).resultCode, 0);
    assert.equal(fx.logs.lines.filter((l) => l.level === 'error').length - errorsBefore, 3);
    raw.close();
  });

  it('a handler that throws synchronously is handled the same way', async () => {
    const cert = await testCertificate();
    const handler = new TestHandler(cert.secureContext);
    handler.search = () => {
      throw new Error('sync boom');
    };
    const fx2 = await startFixture({ handler });
    const raw = await RawClient.connect(fx2.ldapPort);
    raw.send(1, searchRequest(''));
    assert.equal((await raw.result(1)).resultCode, ResultCode.operationsError);
    raw.send(2, { type: 'extended', name: '1.3.6.1.4.1.4203.1.11.3', value: undefined });
    assert.equal((await raw.result(2)).resultCode, 0);
    raw.close();
    await fx2.stop();
  });

  it('unknown critical control → 12; non-critical unknown and critical paged results are fine', async () => {
    const c = client();
    await c.bind(ALICE_DN, ALICE_PW);
    await rejectsWith(c.search(BASE, { scope: 'base' }, new Control('1.2.3.4.5.6', { critical: true })), ResultCode.unavailableCriticalExtension);
    const ok = await c.search(BASE, { scope: 'base' }, new Control('1.2.3.4.5.6', { critical: false }));
    assert.equal(ok.searchEntries.length, 1);
    const paged = await c.search(BASE, { scope: 'base' }, new Control('1.2.840.113556.1.4.319', { critical: true }));
    assert.equal(paged.searchEntries.length, 1);
    assert.equal(fx.handler.searches.at(-1)?.controls[0]?.oid, '1.2.840.113556.1.4.319', 'controls reach the handler');
    // Paged results are search-only: critical on compare → 12.
    await rejectsWith(c.compare(ALICE_DN, 'cn', 'alice', new PagedResultsControl({ critical: true, value: { size: 10 } })), ResultCode.unavailableCriticalExtension);
    // ManageDsaIT is accepted everywhere (a no-op without referrals).
    assert.equal(await c.compare(ALICE_DN, 'cn', 'alice', new Control('2.16.840.1.113730.3.4.2', { critical: true })), true);
  });

  it('passes response controls from the handler to SearchResultDone', async () => {
    const cert = await testCertificate();
    const handler = new TestHandler(cert.secureContext);
    handler.search = async () => ({ result: { resultCode: 0 }, entries: [], controls: [{ oid: '1.2.840.113556.1.4.319', criticality: false, value: Buffer.from([0x30, 0x05, 0x02, 0x01, 0x00, 0x04, 0x00]) }] });
    const fx2 = await startFixture({ handler });
    const raw = await RawClient.connect(fx2.ldapPort);
    raw.send(1, searchRequest(BASE));
    const done = await raw.result(1);
    assert.equal(done.controls[0]?.oid, '1.2.840.113556.1.4.319');
    raw.close();
    await fx2.stop();
  });

  it('counts operations by type and result', () => {
    assert.ok(fx.metrics.get('op:bind:success') > 0);
    assert.ok(fx.metrics.get('op:bind:invalidCredentials') > 0);
    assert.ok(fx.metrics.get('op:search:operationsError') > 0);
    assert.ok(fx.metrics.get('op:add:unwillingToPerform') > 0);
    assert.ok(fx.metrics.get('op:whoAmI:success') > 0);
    assert.ok(fx.metrics.get('op:abandon:none') > 0);
  });

  it('never logs passwords', () => {
    assert.ok(!fx.logs.raw.some((l) => l.includes(ALICE_PW)));
  });
});
