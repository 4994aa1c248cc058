// Fuzzing the running listener: thousands of random datagrams and mutations of valid packets
// (every code we see, with and without Message-Authenticator) from two clients. Every reply
// that comes back must be a well-formed, signed answer to one of the requests sent, of the
// right kind: an Access-Accept only ever answers a Status-Server (the fuzzer's user does not
// exist, so no Access-Request may be accepted) and an Access-Reject only an Access-Request.
// Afterwards a good request is still answered, and drops were counted and their logs
// rate-limited. Deterministic (seeded), bounded in time.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import radius from 'radius';
import { AttributeType, RadiusCode, decodePacket, encodeRequest, textAttribute, userPasswordAttribute, verifyResponse } from '../../../src/radius/protocol/index.ts';
import { mutateDatagram, prng, randomBytes } from '../protocol/helpers.ts';
import { DROPPED, PASSWORDS, SECRET, UdpClient, accessRequest, checkReply, metricsText, startRadiusOutpost, type RadiusOutpost } from './support.ts';

const AUTH = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

const corpus: Buffer[] = [
  accessRequest({ user: 'fuzz-user', password: 'pw;123456', identifier: 1, authenticator: AUTH, messageAuthenticator: true, attributes: [{ type: AttributeType.proxyState, value: Buffer.from([1]) }] }).packet,
  accessRequest({ user: 'fuzz-user', password: 'x'.repeat(40), identifier: 2, authenticator: AUTH }).packet,
  accessRequest({ user: 'fuzz-user', identifier: 3, authenticator: AUTH, attributes: [{ type: AttributeType.chapPassword, value: Buffer.alloc(17, 7) }] }).packet,
  accessRequest({ user: 'fuzz-user', identifier: 4, authenticator: AUTH, messageAuthenticator: true, attributes: [{ type: AttributeType.eapMessage, value: Buffer.from([2, 1, 0, 6, 1, 0x41]) }] }).packet,
  encodeRequest({ code: RadiusCode.statusServer, identifier: 5, authenticator: AUTH, secret: SECRET }),
  encodeRequest({ code: RadiusCode.accountingRequest, identifier: 6, secret: SECRET, attributes: [textAttribute(AttributeType.userName, 'fuzz-user'), { type: 40, value: Buffer.from([0, 0, 0, 1]) }] }),
  encodeRequest({ code: 40, identifier: 7, secret: SECRET, attributes: [textAttribute(AttributeType.userName, 'fuzz-user')] }),
  encodeRequest({ code: RadiusCode.accessAccept, identifier: 8, authenticator: AUTH, secret: SECRET, attributes: [userPasswordAttribute('p', SECRET, AUTH)] }),
  radius.encode({ code: 'Access-Request', secret: SECRET, identifier: 9, add_message_authenticator: true, attributes: [['User-Name', 'fuzz-user'], ['User-Password', 'y'.repeat(100)], ['NAS-Port', 5]] }),
  accessRequest({ user: 'fuzz-user', password: 'pw', identifier: 10, authenticator: AUTH, attributes: [textAttribute(AttributeType.userName, 'alice')] }).packet,
];


let o: RadiusOutpost;
before(async () => {
  o = await startRadiusOutpost();
});
after(() => o?.stop());

describe('fuzzing the listener', () => {
  it('survives 4000 hostile datagrams, answers only what it should, then serves a good request', async () => {
    const rand = prng(0xf022);
    const clients = [await UdpClient.open('127.0.0.1'), await UdpClient.open('127.0.0.3')];
    /** Per Identifier: the Request Authenticator and code of each datagram sent. */
    const sentById = new Map<number, { auth: Buffer; code: number }[]>();
    const started = performance.now();
    try {
      for (let i = 0; i < 4000; i++) {
        let d: Buffer;
        if (i % 4 === 0) {
          d = randomBytes(rand, Math.floor(rand() * (i % 40 === 0 ? 4200 : 120)));
          if (d.length >= 4 && rand() < 0.5) d.writeUInt16BE(Math.min(d.length, 20 + Math.floor(rand() * 100)), 2);
        } else {
          d = corpus[i % corpus.length]!;
          for (let k = 0, depth = 1 + Math.floor(rand() * 3); k < depth; k++) d = mutateDatagram(rand, d);
        }
        if (d.length >= 20) {
          const list = sentById.get(d[1]!) ?? [];
          list.push({ auth: Buffer.from(d.subarray(4, 20)), code: d[0]! });
          sentById.set(d[1]!, list);
        }
        await clients[i % 2]!.send(d, o.port);
        if (i % 200 === 199) await new Promise((r) => setImmediate(r));
      }
      // Let what was admitted finish.
      await new Promise((r) => setTimeout(r, 1000));
      const replies = [...(await clients[0]!.collect(0)), ...(await clients[1]!.collect(0))];
      let accepts = 0;
      for (const reply of replies) {
        const d = decodePacket(reply);
        assert.ok(d.ok, `a well-formed reply: ${reply.toString('hex')}`);
        assert.ok(d.packet.code === RadiusCode.accessAccept || d.packet.code === RadiusCode.accessReject, `code ${d.packet.code}`);
        const answered = (sentById.get(d.packet.identifier) ?? []).filter(({ auth }) => {
          const v = verifyResponse(d.packet, auth, SECRET);
          return v.authenticator && v.messageAuthenticator === 'valid' && v.messageAuthenticatorFirst;
        });
        assert.ok(answered.length > 0, `the reply answers one of our requests with ID ${d.packet.identifier}, signed, MA first`);
        // Same Identifier and authenticator may have gone out under several codes (a mutated code byte).
        const asked = answered.map((a) => a.code);
        if (d.packet.code === RadiusCode.accessAccept) accepts++;
        if (d.packet.code === RadiusCode.accessAccept) assert.ok(asked.includes(RadiusCode.statusServer), `an Access-Accept answers a Status-Server, never an Access-Request (asked: ${asked.join(',')})`);
        else assert.ok(asked.includes(RadiusCode.accessRequest), `an Access-Reject answers an Access-Request (asked: ${asked.join(',')})`);
      }
      assert.ok(replies.length > 0, 'some mutated requests were still valid and answered');
      assert.ok(accepts > 0 && accepts < replies.length, `both kinds of answer seen (${accepts} accepts of ${replies.length})`);
    } finally {
      for (const c of clients) await c.close();
    }
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 15_000, `bounded: ${Math.round(elapsed)} ms`);

    // Still serving, from a client that took part and from a new one.
    const fresh = await UdpClient.open('127.0.0.4');
    try {
      const req = accessRequest({ user: 'alice', password: PASSWORDS.alice, messageAuthenticator: true });
      assert.equal(checkReply(await fresh.exchange(req.packet, o.port), req).code, RadiusCode.accessAccept);
    } finally {
      await fresh.close();
    }
    for (const reason of ['malformed', 'bad_message_authenticator']) assert.ok((await o.metric(DROPPED, { reason })) > 50, `${reason} drops counted`);
    assert.ok((await o.metric(DROPPED, { reason: 'multiple_credentials' })) > 0, 'mutations that duplicate a credential are dropped');
    assert.ok((await o.metric('authentik_outpost_radius_packets_ignored_total')) > 0, 'ignored codes counted');
    // Junk codes share one label, so a fuzzer cannot mint a series per code.
    const series = (await metricsText(o.metricsUrl)).split('\n').filter((l) => l.startsWith('authentik_outpost_radius_packets_ignored_total{'));
    assert.ok(series.every((l) => /code="(Accounting-Request|Access-Accept|Access-Reject|Accounting-Response|Access-Challenge|Status-Client|Disconnect-Request|Disconnect-ACK|Disconnect-NAK|CoA-Request|CoA-ACK|CoA-NAK|other)"/.test(l)), series.join('\n'));
    // Drop warnings are rate-limited per reason and client: a flood does not flood the logs.
    const dropWarnings = o.outpost.logs.lines.filter((l) => l['level'] === 'warning' && typeof l['reason'] === 'string' && l['ip'] !== undefined);
    assert.ok(dropWarnings.length <= 30, `${dropWarnings.length} drop warnings`);
    assert.ok(!o.outpost.logs.lines.some((l) => l['event'] === 'RADIUS request failed'), 'no request crashed its handler');
  });
});
