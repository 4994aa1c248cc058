/**
 * What one connection can make the server hold in memory: a request's decoded size is bounded
 * (BER elements per request), and requests waiting behind a running one are bounded in bytes
 * (the connection stops reading, as it does for a client that does not read its answers).
 * Before these limits, 100 queued requests of 2 MiB each (a filter of 260,000 terms decodes to
 * some 16 MB) could be pinned by one unauthenticated connection behind a slow operation.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ResultCode, SearchScope, encodeRequest, type Filter } from '../../../src/ldap/protocol/index.ts';
import { RawClient, isNotice, searchRequest, startFixture, waitUntil, type Fixture } from './support.ts';

/** `(|(<attribute>=<value>)…)` with `terms` terms: 3 BER elements per term, plus the OR. */
function orFilter(terms: number, value = 'x', attribute = 'description'): Filter {
  return { type: 'or', filters: Array.from({ length: terms }, () => ({ type: 'equalityMatch' as const, attribute, value })) };
}

describe('a request with too many BER elements', () => {
  let fx: Fixture;
  before(async () => {
    fx = await startFixture({ limits: { maxRequestElements: 1000 } });
  });
  after(() => fx.stop());

  it('is refused before it is queued: Notice of Disconnection (protocolError), counted as too_large', async () => {
    const raw = await RawClient.connect(fx.ldapPort);
    // The envelope, the search's fields and the OR take 11 elements; 329 terms make 987 more.
    raw.send(1, searchRequest('', { scope: SearchScope.baseObject, filter: orFilter(329) }));
    assert.equal((await raw.result(1)).resultCode, ResultCode.success);
    raw.send(2, searchRequest('', { scope: SearchScope.baseObject, filter: orFilter(400) }));
    await raw.closedWithin();
    const notice = raw.responses.find(isNotice);
    assert.ok(notice, 'a Notice of Disconnection');
    assert.equal(notice.resultCode, ResultCode.protocolError);
    assert.equal(raw.responses.filter((r) => r.messageId === 2).length, 0, 'the request was not served');
    assert.equal(fx.metrics.get('pdu:too_large'), 1);
  });

  it('the default limit refuses a 1.6 MB filter of 200,000 terms (it decodes to some 12 MB)', async () => {
    const def = await startFixture();
    try {
      const raw = await RawClient.connect(def.ldapPort);
      const pdu = encodeRequest(1, searchRequest('', { scope: SearchScope.baseObject, filter: orFilter(200_000, 'x', 'a') }));
      assert.ok(pdu.length < 2 * 1024 * 1024);
      raw.write(pdu);
      await raw.closedWithin();
      assert.equal(raw.responses.find(isNotice)?.resultCode, ResultCode.protocolError);
      assert.equal(def.metrics.get('pdu:too_large'), 1);
    } finally {
      await def.stop();
    }
  });
});

describe('requests waiting behind a running one', () => {
  let fx: Fixture;
  before(async () => {
    fx = await startFixture();
    fx.handler.slowMs = 3000;
  });
  after(() => fx.stop());

  it('past the queue budget the connection stops reading; every request is still answered, in order', async () => {
    const raw = await RawClient.connect(fx.ldapPort);
    // A search the handler takes 3 s over, then 40 searches of ~2 MB each (78 MB: far more than
    // the kernel's socket buffers hold; 40 is far below the 100 outstanding requests allowed).
    raw.send(1, searchRequest('cn=slow', { scope: SearchScope.baseObject }));
    const big = orFilter(18_000, 'v'.repeat(90));
    const count = 40;
    for (let i = 0; i < count; i++) raw.send(2 + i, searchRequest('', { scope: SearchScope.baseObject, filter: big }));
    const sent = raw.socket.bytesWritten + raw.socket.writableLength;
    assert.ok(sent > 70_000_000, `sent ${sent} bytes`);
    await sleep(2000);
    // The slow search is still running: the server has read the budget and a request or two,
    // the kernel buffers a few MB more; the rest waits in the client.
    assert.ok(raw.socket.writableLength > 40_000_000, `the server read on: only ${raw.socket.writableLength} bytes still unsent`);
    for (let i = 0; i < count; i++) assert.equal((await raw.result(2 + i, 20_000)).resultCode, ResultCode.success);
    assert.equal((await raw.result(1)).resultCode, ResultCode.success);
    const order = raw.responses.filter((r) => r.tag === 0x65).map((r) => r.messageId);
    assert.deepEqual(order, Array.from({ length: count + 1 }, (_, i) => i + 1));
    raw.close();
  });

  it('abandon still reaches a running search while the queue is within its budget', async () => {
    const raw = await RawClient.connect(fx.ldapPort);
    raw.send(1, searchRequest('cn=slow', { scope: SearchScope.baseObject }));
    raw.send(2, searchRequest('', { scope: SearchScope.baseObject }));
    raw.send(3, { type: 'abandon', abandonId: 1 });
    await waitUntil(() => fx.handler.abortedSearches > 0, 1000, 'the slow search to see its abort');
    assert.equal((await raw.result(2)).resultCode, ResultCode.success);
    raw.close();
  });
});
