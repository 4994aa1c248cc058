/**
 * stop(deadline): in-flight requests finish before the deadline, idle connections get a
 * Notice of Disconnection (unavailable) at once, stragglers get it at the deadline.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { ResultCode } from '../../../src/ldap/protocol/index.ts';
import { ALICE_DN, ALICE_PW, RawClient, TestHandler, isNotice, searchRequest, startFixture, testCertificate, waitUntil } from './support.ts';

describe('graceful shutdown', () => {
  it('lets an in-flight slow search finish, notifies idle connections at once', async () => {
    const cert = await testCertificate();
    const handler = new TestHandler(cert.secureContext);
    handler.slowMs = 500;
    const fx = await startFixture({ handler });
    const idle = await RawClient.connect(fx.ldapPort);
    await idle.bind(1, ALICE_DN, ALICE_PW);
    const idleTls = await RawClient.connect(fx.ldapsPort, { tls: true });
    idleTls.send(1, searchRequest('', { scope: 0 }));
    await idleTls.result(1);
    const busy = await RawClient.connect(fx.ldapPort);
    busy.send(1, searchRequest('cn=slow'));
    await waitUntil(() => handler.searches.some((s) => s.request.baseObject === 'cn=slow'));

    const t0 = Date.now();
    const stopped = fx.server.stop(AbortSignal.timeout(5000));
    await idle.closedWithin();
    await idleTls.closedWithin();
    assert.ok(Date.now() - t0 < 400, 'idle connections are closed before the search ends');
    for (const c of [idle, idleTls]) {
      const n = c.responses.find(isNotice);
      assert.equal(n?.resultCode, ResultCode.unavailable);
    }
    await waitUntil(() => handler.ended.length === 1, 1000, 'session of the idle connection ended');

    // The listener no longer accepts.
    await assert.rejects(
      new Promise<void>((resolve, reject) => {
        const s = net.connect({ port: fx.ldapPort, host: '127.0.0.1' }, () => {
          s.destroy();
          resolve();
        });
        s.once('error', reject);
      }),
    );

    const done = await busy.result(1, 3000);
    assert.equal(done.resultCode, 0);
    assert.equal(busy.responses.filter((r) => r.tag === 0x64).length, 1, 'the entry was sent');
    await busy.closedWithin();
    assert.ok(busy.responses.at(-1) !== undefined && isNotice(busy.responses.at(-1)!), 'notice after the result');
    await stopped;
    const took = Date.now() - t0;
    assert.ok(took >= 400 && took < 2000, `stop took ${took} ms`);
    assert.equal(fx.server.connectionCount, 0);
    assert.equal(handler.abortedSearches, 0);
  });

  it('at the deadline, running requests are aborted and their connections notified', async () => {
    const cert = await testCertificate();
    const handler = new TestHandler(cert.secureContext);
    handler.slowMs = 10_000;
    const fx = await startFixture({ handler, limits: { closeGraceMs: 200 } });
    const busy = await RawClient.connect(fx.ldapPort);
    busy.send(1, searchRequest('cn=slow'));
    await waitUntil(() => handler.searches.some((s) => s.request.baseObject === 'cn=slow'));
    const t0 = Date.now();
    await fx.server.stop(AbortSignal.timeout(300));
    const took = Date.now() - t0;
    assert.ok(took >= 250 && took < 1500, `stop took ${took} ms`);
    await busy.closedWithin();
    assert.ok(isNotice(busy.responses[0]!));
    assert.equal(busy.responses[0]!.resultCode, ResultCode.unavailable);
    assert.equal(busy.responses.filter((r) => r.messageId === 1).length, 0);
    await waitUntil(() => handler.abortedSearches === 1, 1000, 'the handler saw the abort');
  });

  it('stop() with an already aborted signal closes everything promptly; an empty server stops at once', async () => {
    const fx = await startFixture({ limits: { closeGraceMs: 100 } });
    const c = await RawClient.connect(fx.ldapPort);
    await waitUntil(() => fx.server.connectionCount === 1);
    await fx.server.stop(AbortSignal.abort());
    await c.closedWithin();
    assert.ok(isNotice(c.responses[0]!));
    const fx2 = await startFixture();
    const t0 = Date.now();
    await fx2.stop();
    assert.ok(Date.now() - t0 < 100);
  });
});
