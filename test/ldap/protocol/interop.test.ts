/**
 * Interop with an independent implementation (ldapts): ldapts encodes requests that our
 * decoder must understand, and ldapts decodes the responses our encoder produces.
 */

import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  AbandonRequest as LdaptsAbandon,
  Attribute,
  Change,
  Client,
  Control as LdaptsControl,
  InsufficientAccessError,
  InvalidCredentialsError,
  ProtocolError,
  SearchRequest as LdaptsSearchRequest,
  EqualityFilter,
  UnavailableCriticalExtensionError,
} from 'ldapts';
import { CaptureServer, type Reply } from './helpers.ts';
import { ResultCode, encodeNoticeOfDisconnection, type LdapMessage, type LdapRequest } from '../../../src/ldap/protocol/messages.ts';
import { ControlOid, ExtendedOid, decodePagedResultsValue, pagedResultsResponseControl } from '../../../src/ldap/protocol/controls.ts';
import { formatFilter, parseFilter } from '../../../src/ldap/protocol/filter.ts';
import { splitPdus } from '../../../src/ldap/protocol/framing.ts';

function req<T extends LdapRequest['type']>(m: LdapMessage, type: T): Extract<LdapRequest, { type: T }> {
  assert.equal(m.request.type, type);
  return m.request as Extract<LdapRequest, { type: T }>;
}

const server = new CaptureServer();
let url = '';

/** Default answers: success for everything, with a couple of special cases. */
function defaultResponder(m: LdapMessage): readonly Reply[] {
  const r = m.request;
  switch (r.type) {
    case 'bind':
      if (r.authentication.method === 'simple' && r.authentication.password.toString() === 'wrong') {
        return [{ response: { type: 'bind', resultCode: ResultCode.invalidCredentials, diagnosticMessage: 'bad password' } }];
      }
      return [{ response: { type: 'bind', resultCode: ResultCode.success } }];
    case 'search':
      return [{ response: { type: 'searchDone', resultCode: ResultCode.success } }];
    case 'compare':
      return [{ response: { type: 'compare', resultCode: ResultCode.compareTrue } }];
    case 'add':
    case 'modify':
    case 'delete':
    case 'modifyDN':
      return [{ response: { type: r.type, resultCode: ResultCode.success } }];
    case 'extended':
      if (r.name === ExtendedOid.whoAmI) {
        return [{ response: { type: 'extended', resultCode: 0, responseValue: 'dn:cn=alice,ou=users,dc=ldap' } }];
      }
      if (r.name === ExtendedOid.passwordModify) {
        return [{ response: { type: 'extended', resultCode: ResultCode.protocolError, diagnosticMessage: 'nope' } }];
      }
      return [{ response: { type: 'extended', resultCode: 0, responseName: r.name } }];
    case 'unbind':
    case 'abandon':
      return [];
  }
}

async function withClient<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ url, timeout: 3000, connectTimeout: 3000 });
  const unbinds = (): number => server.received.filter((m) => m.request.type === 'unbind').length;
  try {
    return await fn(c);
  } finally {
    // Wait until the server has seen this client's unbind so it cannot leak into the next test.
    const before = unbinds();
    const wasConnected = c.isConnected;
    await c.unbind().catch(() => {});
    for (let i = 0; wasConnected && i < 200 && unbinds() === before; i++) await new Promise((r) => setTimeout(r, 5));
  }
}

/** Sends pre-encoded PDUs on a fresh connection. */
function sendRaw(pdus: readonly Buffer[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const s = net.connect(server.port, '127.0.0.1', () => {
      s.end(Buffer.concat(pdus), () => resolve());
    });
    s.on('error', reject);
  });
}

before(async () => {
  url = await server.start();
});
after(async () => {
  await server.close();
});
beforeEach(() => {
  server.responder = defaultResponder;
  server.received.length = 0;
});

describe('ldapts -> our decoder', () => {
  it('simple bind', async () => {
    await withClient((c) => c.bind('cn=alice,ou=users,dc=ldap,dc=goauthentik,dc=io', 's3cret;123456'));
    const b = req(server.received[0]!, 'bind');
    assert.equal(b.version, 3);
    assert.equal(b.name, 'cn=alice,ou=users,dc=ldap,dc=goauthentik,dc=io');
    assert.deepEqual(b.authentication, { method: 'simple', password: Buffer.from('s3cret;123456') });
    assert.ok(server.received[0]!.messageId > 0);
    assert.deepEqual(server.received[0]!.controls, []);
  });

  it('SASL bind is decoded (mechanism + credentials) so it can be refused', async () => {
    server.responder = (m) =>
      m.request.type === 'bind' ? [{ response: { type: 'bind', resultCode: ResultCode.authMethodNotSupported } }] : defaultResponder(m);
    await withClient(async (c) => {
      await assert.rejects(c.bindSASL('PLAIN', '\0alice\0pw'));
    });
    const b = req(server.received[0]!, 'bind');
    assert.equal(b.authentication.method, 'sasl');
    if (b.authentication.method === 'sasl') {
      assert.equal(b.authentication.mechanism, 'PLAIN');
      assert.deepEqual(b.authentication.credentials, Buffer.from('\0alice\0pw'));
    }
  });

  it('unbind', async () => {
    const c = new Client({ url, timeout: 3000 });
    await c.bind('cn=a,dc=x', 'pw');
    await c.unbind();
    const m = await server.waitFor((x) => x.request.type === 'unbind');
    assert.deepEqual(m.request, { type: 'unbind' });
  });

  const filters = [
    '(cn=alice)',
    '(objectClass=*)',
    '(&(objectClass=user)(|(uid=a)(!(mail=*))))',
    '(cn=al*i*ce)',
    '(cn=*lice)',
    '(cn=ali*)',
    '(cn=*l*i*)',
    '(uidNumber>=2000)',
    '(gidNumber<=3000)',
    '(cn~=alise)',
    '(cn:caseExactMatch:=Alice)',
    '(cn:dn:2.5.13.5:=x)',
    '(:dn:caseIgnoreMatch:=users)',
    '(cn=a\\2ab\\28c\\29d\\5ce)',
    '(description=caf\u00e9 \u4e2d)',
  ];
  for (const f of filters) {
    it(`search filter ${f}`, async () => {
      await withClient((c) => c.search('dc=ldap,dc=goauthentik,dc=io', { scope: 'sub', filter: f, attributes: ['cn', 'mail'], sizeLimit: 7, timeLimit: 9 }));
      const s = req(server.received[0]!, 'search');
      assert.deepEqual(s.filter, parseFilter(f), `decoded ${formatFilter(s.filter)}`);
      assert.equal(s.baseObject, 'dc=ldap,dc=goauthentik,dc=io');
      assert.equal(s.scope, 2);
      assert.equal(s.sizeLimit, 7);
      assert.equal(s.timeLimit, 9);
      assert.equal(s.typesOnly, false);
      assert.deepEqual(s.attributes, ['cn', 'mail']);
    });
  }

  it('search with an attribute option (ldapts filter object)', async () => {
    await withClient((c) => c.search('dc=x', { filter: new EqualityFilter({ attribute: 'cn;lang-en', value: 'Alice' }) }));
    assert.deepEqual(req(server.received[0]!, 'search').filter, { type: 'equalityMatch', attribute: 'cn;lang-en', value: 'Alice' });
  });

  it('search scopes (incl. subordinates), derefAliases and typesOnly (raw ldapts SearchRequest)', async () => {
    const mk = (messageId: number, scope: 'base' | 'one' | 'sub' | 'children', derefAliases: 'never' | 'search' | 'find' | 'always', typesOnly: boolean): Buffer =>
      new LdaptsSearchRequest({
        messageId,
        baseDN: 'dc=x',
        scope,
        derefAliases,
        returnAttributeValues: !typesOnly,
        filter: new EqualityFilter({ attribute: 'cn', value: 'x' }),
      }).write();
    await sendRaw([mk(11, 'base', 'always', true), mk(12, 'one', 'find', false), mk(13, 'sub', 'search', false), mk(14, 'children', 'never', false)]);
    const got = await Promise.all([11, 12, 13, 14].map((id) => server.waitFor((m) => m.messageId === id)));
    assert.deepEqual(
      got.map((m) => {
        const s = req(m, 'search');
        return [s.scope, s.derefAliases, s.typesOnly];
      }),
      [
        [0, 3, true],
        [1, 2, false],
        [2, 1, false],
        [3, 0, false],
      ],
    );
  });

  it('compare', async () => {
    const r = await withClient((c) => c.compare('cn=alice,dc=x', 'mail', 'a@example.com'));
    assert.equal(r, true);
    const cmp = req(server.received[0]!, 'compare');
    assert.deepEqual(cmp, { type: 'compare', entry: 'cn=alice,dc=x', attribute: 'mail', value: Buffer.from('a@example.com') });
  });

  it('add', async () => {
    await withClient((c) => c.add('cn=bob,dc=x', { objectClass: ['top', 'person'], cn: 'bob', sn: 'B' }));
    const a = req(server.received[0]!, 'add');
    assert.equal(a.entry, 'cn=bob,dc=x');
    assert.deepEqual(
      a.attributes.map((x) => [x.type, x.values.map(String)]),
      [
        ['objectClass', ['top', 'person']],
        ['cn', ['bob']],
        ['sn', ['B']],
      ],
    );
  });

  it('modify', async () => {
    await withClient((c) =>
      c.modify('cn=bob,dc=x', [
        new Change({ operation: 'replace', modification: new Attribute({ type: 'mail', values: ['b@x'] }) }),
        new Change({ operation: 'delete', modification: new Attribute({ type: 'description', values: [] }) }),
        new Change({ operation: 'add', modification: new Attribute({ type: 'cn', values: ['b1', 'b2'] }) }),
      ]),
    );
    const m = req(server.received[0]!, 'modify');
    assert.equal(m.object, 'cn=bob,dc=x');
    assert.deepEqual(
      m.changes.map((c) => [c.operation, c.modification.type, c.modification.values.map(String)]),
      [
        [2, 'mail', ['b@x']],
        [1, 'description', []],
        [0, 'cn', ['b1', 'b2']],
      ],
    );
  });

  it('delete', async () => {
    await withClient((c) => c.del('cn=bob,dc=x'));
    assert.deepEqual(server.received[0]!.request, { type: 'delete', entry: 'cn=bob,dc=x' });
  });

  it('modifyDN with and without newSuperior', async () => {
    await withClient(async (c) => {
      await c.modifyDN('cn=bob,dc=x', 'cn=robert');
      await c.modifyDN('cn=bob,dc=x', 'cn=robert,ou=people,dc=x');
    });
    assert.deepEqual(server.received[0]!.request, {
      type: 'modifyDN',
      entry: 'cn=bob,dc=x',
      newRdn: 'cn=robert',
      deleteOldRdn: true,
      newSuperior: undefined,
    });
    assert.deepEqual(server.received[1]!.request, {
      type: 'modifyDN',
      entry: 'cn=bob,dc=x',
      newRdn: 'cn=robert',
      deleteOldRdn: true,
      newSuperior: 'ou=people,dc=x',
    });
  });

  it('extended: WhoAmI, StartTLS (name only), Password Modify (with value)', async () => {
    await withClient(async (c) => {
      const who = await c.exop(ExtendedOid.whoAmI);
      assert.equal(who.value, 'dn:cn=alice,ou=users,dc=ldap');
      const tls = await c.exop(ExtendedOid.startTls);
      assert.equal(tls.oid, ExtendedOid.startTls);
      await assert.rejects(c.exop(ExtendedOid.passwordModify, Buffer.from([0x30, 0x00])), ProtocolError);
    });
    assert.deepEqual(server.received[0]!.request, { type: 'extended', name: ExtendedOid.whoAmI, value: undefined });
    assert.deepEqual(server.received[1]!.request, { type: 'extended', name: ExtendedOid.startTls, value: undefined });
    assert.deepEqual(server.received[2]!.request, {
      type: 'extended',
      name: ExtendedOid.passwordModify,
      value: Buffer.from([0x30, 0x00]),
    });
  });

  it('abandon (raw ldapts AbandonRequest) and controls on any message', async () => {
    const bytes = new LdaptsAbandon({ messageId: 5, abandonId: 4 }).write();
    const ctl = new LdaptsControl('1.2.3.4.5', { critical: true });
    const search = new LdaptsSearchRequest({
      messageId: 6,
      baseDN: 'dc=x',
      filter: new EqualityFilter({ attribute: 'cn', value: 'x' }),
      controls: [ctl],
    }).write();
    await sendRaw([bytes, search]);
    const ab = await server.waitFor((m) => m.request.type === 'abandon');
    assert.equal(ab.messageId, 5);
    assert.deepEqual(ab.request, { type: 'abandon', abandonId: 4 });
    const se = await server.waitFor((m) => m.messageId === 6);
    assert.deepEqual(se.controls, [{ oid: '1.2.3.4.5', criticality: true, value: undefined }]);
  });
});

describe('our encoder -> ldapts', () => {
  it('bind: invalidCredentials surfaces as InvalidCredentialsError', async () => {
    await withClient(async (c) => {
      await assert.rejects(c.bind('cn=alice,dc=x', 'wrong'), InvalidCredentialsError);
    });
  });

  it('insufficientAccessRights for add/modify/delete/modifyDN/compare', async () => {
    server.responder = (m) => {
      const t = m.request.type;
      if (t === 'add' || t === 'modify' || t === 'delete' || t === 'modifyDN' || t === 'compare') {
        return [{ response: { type: t, resultCode: ResultCode.insufficientAccessRights, diagnosticMessage: 'Insufficient Access Rights' } }];
      }
      return defaultResponder(m);
    };
    await withClient(async (c) => {
      await assert.rejects(c.add('cn=b,dc=x', { cn: 'b' }), InsufficientAccessError);
      await assert.rejects(c.modify('cn=b,dc=x', new Change({ operation: 'replace', modification: new Attribute({ type: 'cn', values: ['c'] }) })), InsufficientAccessError);
      await assert.rejects(c.del('cn=b,dc=x'), InsufficientAccessError);
      await assert.rejects(c.modifyDN('cn=b,dc=x', 'cn=c'), InsufficientAccessError);
      await assert.rejects(c.compare('cn=b,dc=x', 'cn', 'b'), InsufficientAccessError);
    });
  });

  it('compareFalse', async () => {
    server.responder = (m) => (m.request.type === 'compare' ? [{ response: { type: 'compare', resultCode: ResultCode.compareFalse } }] : defaultResponder(m));
    assert.equal(await withClient((c) => c.compare('cn=b,dc=x', 'cn', 'z')), false);
  });

  it('search entries with attributes, typesOnly, references and done', async () => {
    server.responder = (m) => {
      if (m.request.type !== 'search') return defaultResponder(m);
      return [
        {
          response: {
            type: 'searchEntry',
            objectName: 'cn=alice,ou=users,dc=ldap',
            attributes: [
              { type: 'cn', values: ['alice'] },
              { type: 'objectClass', values: ['user', 'goauthentik.io/ldap/user'] },
              { type: 'description', values: ['caf\u00e9 \u4e2d'] },
              { type: 'mail', values: [''] },
              { type: 'ak-active', values: ['true'] },
            ],
          },
        },
        {
          response: {
            type: 'searchEntry',
            objectName: 'cn=a\\,b,ou=groups,dc=ldap',
            attributes: [{ type: 'cn', values: ['a,b'] }],
            typesOnly: true,
          },
        },
        { response: { type: 'searchReference', uris: ['ldap://other/dc=x'] } },
        { response: { type: 'searchDone', resultCode: ResultCode.success } },
      ];
    };
    const res = await withClient((c) => c.search('dc=ldap', { filter: '(objectClass=*)' }));
    assert.equal(res.searchEntries.length, 2);
    const e0 = res.searchEntries[0]!;
    assert.equal(e0.dn, 'cn=alice,ou=users,dc=ldap');
    assert.equal(e0['cn'], 'alice');
    assert.deepEqual(e0['objectClass'], ['user', 'goauthentik.io/ldap/user']);
    assert.equal(e0['description'], 'caf\u00e9 \u4e2d');
    assert.equal(e0['mail'], '');
    assert.equal(e0['ak-active'], 'true');
    const e1 = res.searchEntries[1]!;
    assert.equal(e1.dn, 'cn=a\\,b,ou=groups,dc=ldap');
    assert.deepEqual(e1['cn'], []);
    assert.deepEqual(res.searchReferences, ['ldap://other/dc=x']);
  });

  it('search done with an error code rejects', async () => {
    server.responder = (m) =>
      m.request.type === 'search'
        ? [{ response: { type: 'searchDone', resultCode: ResultCode.unavailableCriticalExtension, diagnosticMessage: 'critical control' } }]
        : defaultResponder(m);
    await withClient(async (c) => {
      await assert.rejects(c.search('dc=x', {}), UnavailableCriticalExtensionError);
    });
  });

  it('large search answer (10,000 entries) is decoded by ldapts', async () => {
    const n = 10_000;
    server.responder = (m) => {
      if (m.request.type !== 'search') return defaultResponder(m);
      const out: Reply[] = [];
      for (let i = 0; i < n; i++) {
        out.push({
          response: {
            type: 'searchEntry',
            objectName: `cn=user${i},ou=users,dc=ldap`,
            attributes: [
              { type: 'cn', values: [`user${i}`] },
              { type: 'memberOf', values: Array.from({ length: 20 }, (_, g) => `cn=group${g},ou=groups,dc=ldap`) },
            ],
          },
        });
      }
      out.push({ response: { type: 'searchDone', resultCode: 0 } });
      return out;
    };
    const res = await withClient((c) => c.search('dc=ldap', {}));
    assert.equal(res.searchEntries.length, n);
    assert.equal(res.searchEntries[n - 1]!.dn, `cn=user${n - 1},ou=users,dc=ldap`);
    assert.equal((res.searchEntries[5]!['memberOf'] as string[]).length, 20);
  });

  it('paged results: ldapts follows our cookie, we decode its page size and cookie', async () => {
    server.responder = (m) => {
      if (m.request.type !== 'search') return defaultResponder(m);
      const ctl = m.controls.find((c) => c.oid === ControlOid.pagedResults);
      assert.ok(ctl);
      const v = decodePagedResultsValue(ctl.value);
      const page = v.cookie.length === 0 ? 0 : Number(v.cookie.toString());
      const entries: Reply[] = [0, 1].map((i) => ({
        response: { type: 'searchEntry', objectName: `cn=u${page * 2 + i},dc=x`, attributes: [{ type: 'cn', values: [`u${page * 2 + i}`] }] },
      }));
      const next = page < 2 ? Buffer.from(String(page + 1)) : Buffer.alloc(0);
      return [...entries, { response: { type: 'searchDone', resultCode: 0 }, controls: [pagedResultsResponseControl(6, next)] }];
    };
    const res = await withClient((c) => c.search('dc=x', { paged: { pageSize: 2 } }));
    assert.deepEqual(
      res.searchEntries.map((e) => e.dn),
      ['cn=u0,dc=x', 'cn=u1,dc=x', 'cn=u2,dc=x', 'cn=u3,dc=x', 'cn=u4,dc=x', 'cn=u5,dc=x'],
    );
    const searches = server.received.filter((m) => m.request.type === 'search');
    assert.equal(searches.length, 3);
    const cookies = searches.map((m) => decodePagedResultsValue(m.controls[0]!.value));
    assert.deepEqual(
      cookies.map((c) => [c.size, c.cookie.toString()]),
      [
        [2, ''],
        [2, '1'],
        [2, '2'],
      ],
    );
    assert.equal(searches[0]!.controls[0]!.criticality, false);
  });

  it('notice of disconnection is a well-formed unsolicited ExtendedResponse', () => {
    const buf = encodeNoticeOfDisconnection(ResultCode.protocolError, 'bad PDU');
    const split = splitPdus(buf);
    assert.equal(split.pdus.length, 1);
    assert.equal(split.consumed, buf.length);
    // 30 len 02 01 00 (messageID 0) 78 ... 0a 01 02 (protocolError)
    assert.deepEqual([...buf.subarray(2, 5)], [0x02, 0x01, 0x00]);
    assert.equal(buf[5], 0x78);
    assert.ok(buf.includes(Buffer.from('1.3.6.1.4.1.1466.20036')));
    assert.ok(buf.includes(Buffer.from([0x8a, 22])));
  });
});
