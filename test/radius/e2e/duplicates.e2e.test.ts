// Duplicate detection (RFC 5080 §2.2.2), keyed by client address, port, Identifier and Request
// Authenticator. authentik only drops duplicates while the first is in flight and re-runs the
// flow for a retransmission that arrives after the answer (so a one-time code is consumed and
// the retry is rejected). We answer such retransmissions from a reply cache: deliberate.
// Against a core of each API generation.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { totpCode } from '../../../src/devcore/index.ts';
import { RadiusCode } from '../../../src/radius/protocol/index.ts';
import { waitFor } from '../../support/wait.ts';
import { AUTHENTIK_VERSIONS, BOB_TOTP_SECRET, DROPPED, OUTPOST_NAME, PASSWORDS, SECRET, UdpClient, accessRequest, assertReply, checkReply, flowRuns, radclient, startRadiusOutpost, type AuthentikVersion, type RadiusOutpost } from './support.ts';

const ANSWERED = 'authentik_outpost_radius_duplicates_answered_total';
const EXECUTOR = '/api/v3/flows/executor/';

// Each generation's outpost and core run side by side; the tests against each run in order.
describe('the RADIUS outpost', { concurrency: true }, () => {
  for (const authentikVersion of AUTHENTIK_VERSIONS) describe(`authentik ${authentikVersion}`, { concurrency: 1 }, () => suite(authentikVersion));
});

function suite(authentikVersion: AuthentikVersion): void {
  let o: RadiusOutpost;
  let udp: UdpClient;

  before(async () => {
    o = await startRadiusOutpost({ authentikVersion, beforeStart: (core) => core.admin.addMember('vpn', 'bob') });
    udp = await UdpClient.open();
  });
  after(async () => {
    await udp?.close();
    await o?.stop();
  });
  afterEach(() => o.core.admin.clearFaults());

  describe('duplicates', () => {
    it('the same datagram sent again while the first is authenticating → one flow run, one reply', async () => {
      // Every executor call (GET, POST, redirect GETs) takes 250 ms: the first run lasts about 1 s.
      o.core.admin.setFaults({ pathPrefix: EXECUTOR, latencyMs: 250 });
      const since = o.core.admin.requests().length;
      const dropped0 = await o.metric(DROPPED, { reason: 'duplicate_in_flight' });
      const req = accessRequest({ user: 'alice', password: PASSWORDS.alice });
      await udp.send(req.packet, o.port);
      await new Promise((r) => setTimeout(r, 50));
      await udp.send(req.packet, o.port);
      await new Promise((r) => setTimeout(r, 200));
      await udp.send(req.packet, o.port);
      const first = await udp.next(5000);
      assert.equal(checkReply(first, req).code, RadiusCode.accessAccept);
      const more = await udp.collect(300);
      assert.equal(more.length, 0, 'exactly one reply');
      assert.equal(flowRuns(o.core, since), 1, 'the flow ran once');
      assert.equal(await o.metric(DROPPED, { reason: 'duplicate_in_flight' }), dropped0 + 2);
    });

    it('a real NAS retransmitting (radclient -t 0.2, core slower than its retry timer) → one flow run, Accept', async () => {
      // radclient 3.2 first retransmits after ~0.55 s whatever -t says; the flow takes ~1 s.
      o.core.admin.setFaults({ pathPrefix: EXECUTOR, latencyMs: 250 });
      const since = o.core.admin.requests().length;
      const r = await radclient(`127.0.0.1:${o.port}`, 'auth', SECRET, `User-Name=alice,User-Password=${PASSWORDS.alice}`, { args: ['-r', '5', '-t', '0.2'] });
      assertReply(r, 'Access-Accept');
      assert.ok((r.stdout.match(/^Sent Access-Request/gm) ?? []).length >= 2, `radclient retransmitted: ${r.stdout}`);
      assert.equal(flowRuns(o.core, since), 1, 'the retransmissions did not start new flows');
    });

    it('re-sent after the answer → the byte-identical cached reply, and no new flow run', async () => {
      const req = accessRequest({ user: 'alice', password: PASSWORDS.alice, identifier: 42 });
      const first = await udp.exchange(req.packet, o.port);
      assert.equal(checkReply(first, req).code, RadiusCode.accessAccept);
      const since = o.core.admin.requests().length;
      const answered0 = await o.metric(ANSWERED, { outpost_name: OUTPOST_NAME });
      for (let i = 0; i < 3; i++) {
        const again = await udp.exchange(req.packet, o.port);
        assert.ok(again && first && again.equals(first), 'the same bytes');
      }
      assert.equal(o.core.admin.requests().length - since, 0, 'the core was not asked again');
      assert.equal(await o.metric(ANSWERED, { outpost_name: OUTPOST_NAME }), answered0 + 3);
    });

    it('a TOTP code is not used twice: the retransmission of an accepted request is still an Accept', async () => {
      const code = totpCode(BOB_TOTP_SECRET);
      const req = accessRequest({ user: 'bob', password: `${PASSWORDS.bob};${code}` });
      const first = await udp.exchange(req.packet, o.port);
      assert.equal(checkReply(first, req).code, RadiusCode.accessAccept);
      const again = await udp.exchange(req.packet, o.port);
      assert.ok(again && first && again.equals(first));
      assert.equal(checkReply(again, req).code, RadiusCode.accessAccept, 'authentik would re-run the flow and reject the used code');
      // The same code in a new request (new authenticator) is a new authentication: refused.
      const fresh = accessRequest({ user: 'bob', password: `${PASSWORDS.bob};${code}` });
      assert.equal(checkReply(await udp.exchange(fresh.packet, o.port), fresh).code, RadiusCode.accessReject, 'the code was consumed once');
    });

    it('a rejected request re-sent after the answer gets the same Reject, without a new attempt', async () => {
      const req = accessRequest({ user: 'alice', password: 'wrong-password-dup' });
      const first = await udp.exchange(req.packet, o.port);
      assert.equal(checkReply(first, req).code, RadiusCode.accessReject);
      const since = o.core.admin.requests().length;
      const again = await udp.exchange(req.packet, o.port);
      assert.ok(again && first && again.equals(first));
      assert.equal(o.core.admin.requests().length - since, 0);
    });

    it('same port and Identifier but another Request Authenticator → a new request', async () => {
      const a = accessRequest({ user: 'alice', password: 'wrong-for-a', identifier: 77 });
      assert.equal(checkReply(await udp.exchange(a.packet, o.port), a).code, RadiusCode.accessReject);
      const since = o.core.admin.requests().length;
      const b = accessRequest({ user: 'alice', password: PASSWORDS.alice, identifier: 77 });
      assert.notDeepEqual(a.authenticator, b.authenticator);
      assert.equal(checkReply(await udp.exchange(b.packet, o.port), b).code, RadiusCode.accessAccept, 'not the cached Reject');
      assert.equal(flowRuns(o.core, since), 1);
    });

    it('same ID and authenticator from another port is another client conversation → a new request', async () => {
      const req = accessRequest({ user: 'alice', password: PASSWORDS.alice, identifier: 9 });
      assert.equal(checkReply(await udp.exchange(req.packet, o.port), req).code, RadiusCode.accessAccept);
      const other = await UdpClient.open();
      try {
        const since = o.core.admin.requests().length;
        assert.equal(checkReply(await other.exchange(req.packet, o.port), req).code, RadiusCode.accessAccept);
        assert.equal(flowRuns(o.core, since), 1);
      } finally {
        await other.close();
      }
    });

    it('a retransmission of a request that got no answer (core failing) is tried again', async () => {
      o.core.admin.setFaults({ pathPrefix: EXECUTOR, failStatus: 503, failCount: 1 });
      const dropped0 = await o.metric(DROPPED, { reason: 'core_unavailable' });
      const req = accessRequest({ user: 'alice', password: PASSWORDS.alice });
      await udp.send(req.packet, o.port);
      await waitFor('the drop', async () => (await o.metric(DROPPED, { reason: 'core_unavailable' })) === dropped0 + 1);
      assert.equal(await udp.next(200), undefined, 'no reply while the core fails');
      assert.equal(checkReply(await udp.exchange(req.packet, o.port), req).code, RadiusCode.accessAccept, 'the same datagram later succeeds');
    });
  });
}
