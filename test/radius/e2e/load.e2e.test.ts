// Bounded work: a per-request deadline (AUTHENTIK_RADIUS__REQUEST_TIMEOUT) and no answer at
// all while the core is unreachable. authentik has no deadline, and (with the core down)
// rejects: a Reject there would lock users out on a core hiccup, so we answer nothing and let
// the NAS retry or fail over. Deliberate. Against a core of each API generation. The
// concurrency limit and the queue behind it are in burst.e2e.test.ts.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodePacket, RadiusCode } from '../../../src/radius/protocol/index.ts';
import { waitFor } from '../../support/wait.ts';
import { AUTHENTIK_VERSIONS, DROPPED, PASSWORDS, SECRET, UdpClient, accessRequest, assertNoReply, assertReply, checkReply, radclient, startRadiusOutpost, type RadiusOutpost } from './support.ts';

const EXECUTOR = '/api/v3/flows/executor/';
const ALICE = `User-Name=alice,User-Password=${PASSWORDS.alice}`;

describe('load and failures', { concurrency: true }, () => {
  // The access check differs per generation (the application's, or the provider's with attributes).
  for (const authentikVersion of AUTHENTIK_VERSIONS) {
    describe(`REQUEST_TIMEOUT=500ms, and the core failing (authentik ${authentikVersion})`, { concurrency: 1 }, () => {
      let o: RadiusOutpost;
      let udp: UdpClient;
      before(async () => {
        o = await startRadiusOutpost({ authentikVersion, env: { AUTHENTIK_RADIUS__REQUEST_TIMEOUT: '500ms' } });
        udp = await UdpClient.open('127.0.0.2');
      });
      after(async () => {
        await udp?.close();
        await o?.stop();
      });
      afterEach(() => o.core.admin.clearFaults());

      it('a core slower than the deadline → no reply (reason deadline); a later retransmission succeeds', async () => {
        o.core.admin.setFaults({ pathPrefix: EXECUTOR, latencyMs: 2000 });
        const deadline0 = await o.metric(DROPPED, { reason: 'deadline' });
        const req = accessRequest({ user: 'alice', password: PASSWORDS.alice });
        const [viaRadclient] = await Promise.all([
          radclient(o.target, 'auth', SECRET, ALICE, { noReply: true }),
          (async () => {
            await udp.send(req.packet, o.port);
            await waitFor('two deadline drops', async () => (await o.metric(DROPPED, { reason: 'deadline' })) >= deadline0 + 2, 3000);
            assert.equal(udp.take(), undefined, 'no reply to our request');
            o.core.admin.clearFaults();
            // The NAS retransmits the same datagram: it is not answered from any cache, it runs again.
            const reply = checkReply(await udp.exchange(req.packet, o.port), req);
            assert.equal(reply.code, RadiusCode.accessAccept);
          })(),
        ]);
        assertNoReply(viaRadclient);
        assert.equal(await o.metric(DROPPED, { reason: 'deadline' }), deadline0 + 2);
      });

      it('the deadline covers the access check too', async () => {
        // The flow takes ~400 ms (4 calls of 100 ms); check_access would take 3 s.
        o.core.admin.setFaults({ pathPrefix: EXECUTOR, latencyMs: 100 });
        const deadline0 = await o.metric(DROPPED, { reason: 'deadline' });
        const unavailable0 = await o.metric(DROPPED, { reason: 'core_unavailable' });
        const req = accessRequest({ user: 'alice', password: PASSWORDS.alice });
        const t0 = performance.now();
        await udp.send(req.packet, o.port);
        await new Promise((r) => setTimeout(r, 200));
        o.core.admin.setFaults({ pathPrefix: o.checkAccessPath, latencyMs: 3000 });
        await waitFor('the deadline drop', async () => (await o.metric(DROPPED, { reason: 'deadline' })) === deadline0 + 1, 3000, 10);
        const elapsed = performance.now() - t0;
        assert.ok(elapsed < 850, `dropped at the 500 ms deadline, not after a full check_access timeout: ${Math.round(elapsed)} ms`);
        assert.equal(await o.metric(DROPPED, { reason: 'core_unavailable' }), unavailable0, 'a deadline, not a core failure');
        assert.equal(udp.take(), undefined);
      });

      it('core down → no reply (reason core_unavailable), never an Accept or a Reject; back up → served', async () => {
        const unavailable0 = await o.metric(DROPPED, { reason: 'core_unavailable' });
        await o.core.admin.stopListening();
        try {
          const [good, bad] = await Promise.all([
            radclient(o.target, 'auth', SECRET, ALICE, { noReply: true }),
            radclient(o.target, 'auth', SECRET, `User-Name=alice,User-Password=wrong`, { noReply: true }),
          ]);
          assertNoReply(good);
          assertNoReply(bad);
          assert.equal(await o.metric(DROPPED, { reason: 'core_unavailable' }), unavailable0 + 2);
        } finally {
          await o.core.admin.startListening();
        }
        assertReply(await radclient(o.target, 'auth', SECRET, ALICE), 'Access-Accept');
      });

      it('core errors (503) on the flow or on the access check → no reply (reason core_unavailable)', async () => {
        for (const pathPrefix of [EXECUTOR, o.checkAccessPath]) {
          const unavailable0 = await o.metric(DROPPED, { reason: 'core_unavailable' });
          o.core.admin.setFaults({ pathPrefix, failStatus: 503 });
          const req = accessRequest({ user: 'alice', password: PASSWORDS.alice });
          await udp.send(req.packet, o.port);
          await waitFor(`the drop (${pathPrefix})`, async () => (await o.metric(DROPPED, { reason: 'core_unavailable' })) === unavailable0 + 1);
          assert.equal(await udp.next(100), undefined);
          o.core.admin.clearFaults();
        }
        const req = accessRequest({ user: 'alice', password: PASSWORDS.alice });
        const reply = await udp.exchange(req.packet, o.port);
        const d = reply && decodePacket(reply);
        assert.ok(d && d.ok && d.packet.code === RadiusCode.accessAccept);
      });
    });
  }
});
