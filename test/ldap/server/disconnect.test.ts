// LdapServer.disconnectSessions: the connections whose bound session the owner picks get a
// Notice of Disconnection and are closed at once (running operations abandoned); the others,
// bound or not, are untouched.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ResultCode } from '../../../src/ldap/protocol/index.ts';
import { ALICE_DN, ALICE_PW, BASE, RawClient, TestHandler, isNotice, searchRequest, startFixture, testCertificate, waitUntil, within } from './support.ts';

describe('disconnecting bound sessions', () => {
  it('picked connections get the notice and close; busy ones are abandoned; the rest carry on', async () => {
    const handler = new TestHandler((await testCertificate()).secureContext);
    handler.slowMs = 10_000;
    const fx = await startFixture({ handler, limits: { closeGraceMs: 300 } });
    try {
      // The TestHandler's session is the bind DN as sent: two spellings tell the connections apart.
      const picked = await RawClient.connect(fx.ldapPort);
      assert.equal((await picked.bind(1, ALICE_DN, ALICE_PW)).resultCode, ResultCode.success);
      const busy = await RawClient.connect(fx.ldapsPort, { tls: true });
      assert.equal((await busy.bind(1, ALICE_DN, ALICE_PW)).resultCode, ResultCode.success);
      busy.send(2, searchRequest('cn=slow'));
      const other = await RawClient.connect(fx.ldapPort);
      assert.equal((await other.bind(1, ALICE_DN.toUpperCase(), ALICE_PW)).resultCode, ResultCode.success);
      const anonymous = await RawClient.connect(fx.ldapPort);
      await waitUntil(() => handler.searches.some((s) => s.request.baseObject === 'cn=slow'));

      const seen: string[] = [];
      const n = fx.server.disconnectSessions(
        (s) => {
          seen.push(s.dn);
          return s.dn === ALICE_DN;
        },
        { code: ResultCode.unavailable, message: 'the session ended' },
      );
      assert.equal(n, 2);
      assert.equal(seen.length, 3, 'asked once per bound connection, never for anonymous ones');

      await within(Promise.all([picked.closed, busy.closed]), 1000, 'closing the picked connections');
      for (const c of [picked, busy]) {
        const notice = c.responses.find(isNotice);
        assert.equal(notice?.resultCode, ResultCode.unavailable);
        assert.equal(notice?.diagnosticMessage, 'the session ended');
      }
      assert.equal(busy.responses.filter((r) => r.messageId === 2).length, 0, 'the running search got no answer');
      await waitUntil(() => handler.abortedSearches === 1, 1000, 'the handler saw the abort');
      await waitUntil(() => handler.ended.length === 2, 1000, 'sessionEnded for both');

      // Untouched: still bound, still answered.
      other.send(2, searchRequest(BASE, { scope: 0 }));
      assert.equal((await other.result(2)).resultCode, ResultCode.success);
      anonymous.send(1, searchRequest('', { scope: 0 }));
      assert.equal((await anonymous.result(1)).resultCode, ResultCode.success);
      assert.equal(fx.server.disconnectSessions(() => false, { code: ResultCode.unavailable, message: '' }), 0);
      other.close();
      anonymous.close();
    } finally {
      await fx.stop();
    }
  });
});
