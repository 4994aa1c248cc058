/**
 * Fuzzing: random datagrams and mutated valid packets (bit flips, byte overwrites,
 * truncation, extension, Length and attribute-length corruption) go through decoding and
 * every consumer of a decoded packet. Only typed results are allowed — never an exception —
 * and the whole run is time-bounded. Deterministic (seeded) so a failure is reproducible.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import radius from 'radius';
import {
  AttributeType,
  RadiusEncodeError,
  authenticateRequest,
  concatAttribute,
  decodePacket,
  decodeUserPassword,
  detectAuthMethods,
  encodeReply,
  encodeRequest,
  getIPv4,
  getIPv6,
  getInteger,
  getString,
  getVendorSpecific,
  packetDuplicateKey,
  textAttribute,
  userPasswordAttribute,
  vendorSpecificAttribute,
  verifyResponse,
  type DecodeResult,
} from '../../../src/radius/protocol/index.ts';
import { mutateDatagram, prng, randomBytes } from './helpers.ts';

const SECRET = 'fuzz-secret';
const AUTH = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');

const corpus: Buffer[] = [
  encodeRequest({
    code: 1,
    identifier: 1,
    authenticator: AUTH,
    secret: SECRET,
    messageAuthenticator: true,
    attributes: [
      textAttribute(1, 'akadmin'),
      userPasswordAttribute('pw;123456', SECRET, AUTH),
      { type: 4, value: Buffer.from([10, 0, 0, 1]) },
      { type: 33, value: Buffer.from([1]) },
      { type: 33, value: Buffer.from([2]) },
      vendorSpecificAttribute(311, [
        { type: 11, value: Buffer.alloc(16, 1) },
        { type: 25, value: Buffer.alloc(50, 2) },
      ]),
      { type: 95, value: Buffer.alloc(16, 0xfe) },
    ],
  }),
  encodeRequest({ code: 12, identifier: 2, authenticator: AUTH, secret: SECRET }),
  encodeRequest({ code: 4, identifier: 3, secret: SECRET, messageAuthenticator: true, attributes: [textAttribute(44, 'session'), { type: 40, value: Buffer.from([0, 0, 0, 1]) }] }),
  encodeRequest({ code: 1, identifier: 4, authenticator: AUTH, secret: SECRET, attributes: [{ type: 79, value: Buffer.from([2, 1, 0, 6, 1, 0x41]) }] }),
  radius.encode({ code: 'Access-Request', secret: SECRET, identifier: 5, add_message_authenticator: true, attributes: [['User-Name', 'bob'], ['User-Password', 'x'.repeat(100)], ['CHAP-Challenge', Buffer.alloc(16)]] }),
];

/** Exercises every consumer of a decoded packet; only RadiusEncodeError may escape (an oversize reply). */
function consume(r: DecodeResult, datagram: Buffer): void {
  if (!r.ok) {
    assert.ok(['too_short', 'bad_length', 'bad_attribute'].includes(r.reason));
    return;
  }
  const p = r.packet;
  // Structural invariants.
  assert.equal(p.raw.length, datagram.readUInt16BE(2));
  assert.equal(p.raw.length, 20 + p.attributes.reduce((n, a) => n + 2 + a.value.length, 0));
  assert.equal(p.authenticator.length, 16);
  for (const t of [AttributeType.userName, AttributeType.nasIpAddress, AttributeType.nasIpv6Address, AttributeType.nasPort]) {
    getString(p.attributes, t, { strict: true });
    getInteger(p.attributes, t);
    getIPv4(p.attributes, t);
    getIPv6(p.attributes, t);
  }
  getVendorSpecific(p.attributes);
  detectAuthMethods(p.attributes);
  concatAttribute(p.attributes, AttributeType.eapMessage);
  decodeUserPassword(p, SECRET);
  authenticateRequest(p, SECRET, { limitProxyState: true });
  verifyResponse(p, AUTH, SECRET);
  packetDuplicateKey('192.0.2.1', 1812, p);
  try {
    encodeReply(p, { code: 3, secret: SECRET });
  } catch (e) {
    if (!(e instanceof RadiusEncodeError)) throw e;
  }
}


describe('fuzz', () => {
  it('random datagrams and mutated packets: typed results only, never a throw, bounded time', () => {
    const rand = prng(0x5eed);
    const started = performance.now();
    const stats = { ok: 0, too_short: 0, bad_length: 0, bad_attribute: 0 };
    let n = 0;
    const run = (d: Buffer): void => {
      n++;
      const r = decodePacket(d);
      stats[r.ok ? 'ok' : r.reason]++;
      try {
        consume(r, d);
      } catch (e) {
        assert.fail(`input ${d.toString('hex')} → ${String(e)}`);
      }
    };
    // Pure noise, including plausible headers with random length fields.
    for (let i = 0; i < 15000; i++) {
      const len = Math.floor(rand() * (i % 10 === 0 ? 4200 : 120));
      const d = randomBytes(rand, len);
      if (len >= 4 && rand() < 0.5) d.writeUInt16BE(Math.min(len, 20 + Math.floor(rand() * 100)), 2);
      run(d);
    }
    // Mutations of valid packets, sometimes stacked.
    for (let i = 0; i < 45000; i++) {
      let d = corpus[i % corpus.length]!;
      const depth = 1 + Math.floor(rand() * 3);
      for (let k = 0; k < depth; k++) d = mutateDatagram(rand, d);
      run(d);
    }
    const elapsed = performance.now() - started;
    assert.equal(n, 60000);
    // Each outcome was actually reached (the fuzzer is not stuck in one branch).
    for (const [k, v] of Object.entries(stats)) assert.ok(v > 100, `${k}: ${v}`);
    assert.ok(elapsed < 10_000, `took ${elapsed.toFixed(0)} ms`);
  });

  it('differential: when we accept a packet and node-radius can parse it, both see the same attributes', () => {
    const rand = prng(42);
    let compared = 0;
    for (let i = 0; i < 5000; i++) {
      const d = mutateDatagram(rand, corpus[i % corpus.length]!);
      const r = decodePacket(d);
      if (!r.ok) continue;
      let theirs: [number, Buffer][];
      try {
        theirs = radius.decode_without_secret({ packet: Buffer.from(d) }).raw_attributes as [number, Buffer][];
      } catch {
        continue; // node-radius throws on unknown codes, odd VSAs, ...
      }
      compared++;
      assert.deepEqual(
        r.packet.attributes.map((a) => [a.type, a.value.toString('hex')]),
        theirs.map(([t, v]) => [Number(t), v.toString('hex')]),
        d.toString('hex'),
      );
    }
    assert.ok(compared > 1000, `compared ${compared}`);
  });
});
