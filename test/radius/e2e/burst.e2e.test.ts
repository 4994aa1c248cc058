// Bursts: at most AUTHENTIK_RADIUS__MAX_CONCURRENT authentications at once and, behind them,
// a short queue (four places per slot) shared fairly between client addresses: a burst (a
// controller rebooting, every access point at once) is answered in one go instead of being
// dropped and retransmitted one NAS timer later; a NAS flooding does not starve the others;
// a request that waited until too little of its deadline (AUTHENTIK_RADIUS__REQUEST_TIMEOUT,
// counted from arrival) was left is dropped, not authenticated. authentik has no limit and no
// queue (one goroutine per packet); this outpost used to drop everything above the cap. The
// outposts here run one after the other: a burst of 200 takes both cores for a moment.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RadiusCode } from '../../../src/radius/protocol/index.ts';
import { waitFor } from '../../support/wait.ts';
import { DROPPED, PASSWORDS, SECRET, UdpClient, accessRequest, assertReply, checkReply, flowRuns, radclient, startRadiusOutpost, type BuiltRequest, type RadiusOutpost } from './support.ts';

const EXECUTOR = '/api/v3/flows/executor/';
const ALICE = `User-Name=alice,User-Password=${PASSWORDS.alice}`;
const QUEUED = 'authentik_outpost_radius_requests_queued';
const IN_FLIGHT = 'authentik_outpost_radius_requests_in_flight';

/** Replies collected until `count` arrived or `timeoutMs` passed, with the time each arrived (ms after `t0`). */
async function collectReplies(udp: UdpClient, count: number, timeoutMs: number, t0: number): Promise<{ reply: Buffer; at: number }[]> {
  const out: { reply: Buffer; at: number }[] = [];
  const until = performance.now() + timeoutMs;
  while (out.length < count && performance.now() < until) {
    const reply = await udp.next(Math.max(1, until - performance.now()));
    if (reply) out.push({ reply, at: performance.now() - t0 });
  }
  return out;
}

/** Until nothing runs or waits any more. */
async function settle(o: RadiusOutpost): Promise<void> {
  await waitFor('the outpost idle', async () => (await o.metric(IN_FLIGHT)) === 0 && (await o.metric(QUEUED)) === 0, 30_000, 20);
}

/** The drop counters a burst must leave alone when everything is answered. */
async function dropCounts(o: RadiusOutpost): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const reason of ['queue_full', 'queued', 'deadline', 'core_unavailable', 'duplicate_in_flight']) out[reason] = await o.metric(DROPPED, { reason });
  return out;
}

describe('bursts', { concurrency: 1 }, () => {
  describe('a burst of 200 at the default limits (64 at once, 256 queued)', () => {
    let o: RadiusOutpost;
    let udp: UdpClient;
    before(async () => {
      o = await startRadiusOutpost();
      udp = await UdpClient.open('127.0.0.5');
    });
    after(async () => {
      await udp?.close();
      await o?.stop();
    });

    it('200 simultaneous Access-Requests (a controller rebooting) are all answered, correctly, none dropped, without a retransmission', async () => {
      const drops0 = await dropCounts(o);
      const since = o.core.admin.requests().length;
      // Half of them with the right password, half with a wrong one: each answer must be its own.
      const burst: BuiltRequest[] = Array.from({ length: 200 }, (_, i) => accessRequest({ user: 'alice', password: i % 2 === 0 ? PASSWORDS.alice : 'wrong-password', identifier: i }));
      const t0 = performance.now();
      for (const r of burst) void udp.send(r.packet, o.port);
      // A NAS retransmits after 3 to 5 s; the bound is generous for shared CI machines.
      const replies = await collectReplies(udp, 200, 20_000, t0);
      const last = replies.at(-1)?.at ?? Number.NaN;
      assert.equal(replies.length, 200, `every request answered (${replies.length} in ${Math.round(last)} ms)`);
      const seen = new Set<number>();
      for (const { reply } of replies) {
        const id = reply[1]!;
        assert.ok(!seen.has(id), `one answer per request (id ${id})`);
        seen.add(id);
        assert.equal(checkReply(reply, burst[id]!).code, id % 2 === 0 ? RadiusCode.accessAccept : RadiusCode.accessReject, `the answer to request ${id} is its own`);
      }
      assert.deepEqual(await dropCounts(o), drops0, 'nothing dropped: the queue took what the 64 slots could not');
      assert.equal(flowRuns(o.core, since), 200, 'each authenticated once');
      assert.equal(await o.metric(QUEUED), 0);
      assert.equal(await o.metric(IN_FLIGHT), 0);
    });
  });

  describe('MAX_CONCURRENT=2 (8 queued)', { concurrency: 1 }, () => {
    let o: RadiusOutpost;
    let udp: UdpClient;
    before(async () => {
      o = await startRadiusOutpost({ env: { AUTHENTIK_RADIUS__MAX_CONCURRENT: '2' } });
      udp = await UdpClient.open();
    });
    after(async () => {
      await udp?.close();
      await o?.stop();
    });
    afterEach(() => o.core.admin.clearFaults());

    it('a burst of 10 → 2 run, 8 wait in the queue; all 10 are answered correctly, never more than 2 at once', async () => {
      // Each executor call takes 100 ms: one authentication lasts ~400 ms.
      o.core.admin.setFaults({ pathPrefix: EXECUTOR, latencyMs: 100 });
      const since = o.core.admin.requests().length;
      const drops0 = await dropCounts(o);
      const burst: BuiltRequest[] = Array.from({ length: 10 }, (_, i) => accessRequest({ user: 'alice', password: PASSWORDS.alice, identifier: i }));
      const t0 = performance.now();
      for (const r of burst) await udp.send(r.packet, o.port);
      let maxInFlight = 0;
      let maxQueued = 0;
      const sampling = (async () => {
        while (performance.now() - t0 < 20_000) {
          const [running, queued] = [await o.metric(IN_FLIGHT), await o.metric(QUEUED)];
          maxInFlight = Math.max(maxInFlight, running);
          maxQueued = Math.max(maxQueued, queued);
          if (running === 0 && queued === 0) return;
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const replies = await collectReplies(udp, 10, 20_000, t0);
      await sampling;
      assert.equal(replies.length, 10, 'all answered');
      for (const { reply } of replies) assert.equal(checkReply(reply, burst[reply[1]!]!).code, RadiusCode.accessAccept, 'a correct answer to its own request');
      assert.equal(flowRuns(o.core, since), 10);
      assert.equal(maxInFlight, 2, 'at most 2 at once');
      assert.ok(maxQueued >= 1, `the rest waited in the queue (saw ${maxQueued})`);
      assert.deepEqual(await dropCounts(o), drops0, 'none dropped');
      assertReply(await radclient(o.target, 'auth', SECRET, ALICE), 'Access-Accept');
    });

    it('a burst of 12 → 10 answered, the overflow refused (queue_full, never answered wrongly); a retransmission of a refused one is served', async () => {
      // ~600 ms per authentication: the burst is all in before a slot frees.
      o.core.admin.setFaults({ pathPrefix: EXECUTOR, latencyMs: 150 });
      await udp.collect(0);
      const full0 = await o.metric(DROPPED, { reason: 'queue_full' });
      const burst: BuiltRequest[] = Array.from({ length: 12 }, (_, i) => accessRequest({ user: 'alice', password: PASSWORDS.alice, identifier: 20 + i }));
      for (const r of burst) await udp.send(r.packet, o.port);
      await settle(o);
      const replies = await udp.collect(100);
      const refused = (await o.metric(DROPPED, { reason: 'queue_full' })) - full0;
      assert.ok(replies.length >= 10 && refused >= 1, `10 answered and the rest refused (${replies.length} answered, ${refused} refused)`);
      assert.equal(replies.length + refused, 12, 'each request either answered or refused');
      for (const reply of replies) assert.equal(checkReply(reply, burst[reply[1]! - 20]!).code, RadiusCode.accessAccept);
      // The NAS retransmits a dropped request: it is served now.
      o.core.admin.clearFaults();
      const answered = new Set(replies.map((reply) => reply[1]));
      const again = burst.find((r) => !answered.has(r.identifier))!;
      assert.equal(checkReply(await udp.exchange(again.packet, o.port, '127.0.0.1', 10_000), again).code, RadiusCode.accessAccept);
    });

    it('fairness: a NAS flooding does not starve another; the other is never refused and is served before the flood\'s backlog', async () => {
      // ~800 ms per authentication.
      o.core.admin.setFaults({ pathPrefix: EXECUTOR, latencyMs: 200 });
      await udp.collect(0);
      const full0 = await o.metric(DROPPED, { reason: 'queue_full' });
      const other = await UdpClient.open('127.0.0.2');
      try {
        const flood: BuiltRequest[] = Array.from({ length: 60 }, (_, i) => accessRequest({ user: 'alice', password: PASSWORDS.alice, identifier: 100 + i }));
        const t0 = performance.now();
        for (const r of flood) await udp.send(r.packet, o.port);
        // 2 running, 8 queued, 50 refused: the queue is all the flood's.
        await waitFor('the flood refused beyond the queue', async () => (await o.metric(DROPPED, { reason: 'queue_full' })) === full0 + 50, 5000, 5);
        const mine: BuiltRequest[] = Array.from({ length: 3 }, (_, i) => accessRequest({ user: 'alice', password: PASSWORDS.alice, identifier: 200 + i }));
        for (const r of mine) await other.send(r.packet, o.port);
        const myReplies = await collectReplies(other, 3, 20_000, t0);
        assert.equal(myReplies.length, 3, 'the other NAS got all its answers');
        for (const { reply } of myReplies) assert.equal(checkReply(reply, mine[reply[1]! - 200]!).code, RadiusCode.accessAccept);
        await settle(o);
        const floodReplies = await collectReplies(udp, 60, 200, t0);
        const floodRefused = (await o.metric(DROPPED, { reason: 'queue_full' })) - full0;
        assert.equal(floodReplies.length + floodRefused, 60, 'every flood request answered or refused; the other NAS was never refused');
        assert.ok(floodRefused > 50, `the other's requests pushed out some of the flood's queued ones (${floodRefused - 50})`);
        for (const { reply } of floodReplies) assert.equal(checkReply(reply, flood[reply[1]! - 100]!).code, RadiusCode.accessAccept);
        const lastOther = Math.max(...myReplies.map((r) => r.at));
        const lastFlood = Math.max(...floodReplies.map((r) => r.at));
        assert.ok(lastOther < lastFlood, `served in turn with the flood's backlog, not after it (other done at ${Math.round(lastOther)} ms, flood at ${Math.round(lastFlood)} ms)`);
      } finally {
        await other.close();
      }
    });
  });

  describe('MAX_CONCURRENT=1, REQUEST_TIMEOUT=2s', { concurrency: 1 }, () => {
    let o: RadiusOutpost;
    let udp: UdpClient;
    before(async () => {
      o = await startRadiusOutpost({ env: { AUTHENTIK_RADIUS__MAX_CONCURRENT: '1', AUTHENTIK_RADIUS__REQUEST_TIMEOUT: '2s' } });
      udp = await UdpClient.open('127.0.0.6');
    });
    after(async () => {
      await udp?.close();
      await o?.stop();
    });
    afterEach(() => o.core.admin.clearFaults());

    it('a request that waited until too little of its deadline was left is dropped (reason queued), never authenticated', async () => {
      // One authentication of ~200 ms teaches the listener how long one takes.
      o.core.admin.setFaults({ pathPrefix: EXECUTOR, latencyMs: 50 });
      const warm = accessRequest({ user: 'alice', password: PASSWORDS.alice });
      assert.equal(checkReply(await udp.exchange(warm.packet, o.port, '127.0.0.1', 10_000), warm).code, RadiusCode.accessAccept);
      // Now the core hangs: the first request runs into its deadline; the second waited all of it.
      o.core.admin.setFaults({ pathPrefix: EXECUTOR, latencyMs: 10_000 });
      const deadline0 = await o.metric(DROPPED, { reason: 'deadline' });
      const queued0 = await o.metric(DROPPED, { reason: 'queued' });
      const since = o.core.admin.requests().length;
      const [first, second] = [accessRequest({ user: 'alice', password: PASSWORDS.alice }), accessRequest({ user: 'alice', password: PASSWORDS.alice })];
      await udp.send(first.packet, o.port);
      await udp.send(second.packet, o.port);
      await waitFor('both dropped', async () => (await o.metric(DROPPED, { reason: 'deadline' })) === deadline0 + 1 && (await o.metric(DROPPED, { reason: 'queued' })) === queued0 + 1, 8000);
      assert.equal(flowRuns(o.core, since), 1, 'the queued one was never authenticated');
      assert.equal(udp.take(), undefined, 'no answer to either');
      const line = o.outpost.logs.lines.find((l) => l['reason'] === 'queued' && l['ip'] === '127.0.0.6');
      assert.match(String(line?.['event']), /^waited \d+ ms for a free authentication slot, too near its deadline to start; dropped unanswered$/);
      // The NAS retransmits it; with the core back it is served.
      o.core.admin.clearFaults();
      assert.equal(checkReply(await udp.exchange(second.packet, o.port, '127.0.0.1', 10_000), second).code, RadiusCode.accessAccept);
    });
  });

});
