/**
 * Fuzzing: random datagrams and mutated valid packets (bit flips, byte overwrites,
 * truncation, extension, Length and attribute-length corruption) go through decoding and
 * every consumer of a decoded packet. Only typed results are allowed — never an exception —
 * and what they say is checked against independent reference computations: a
 * Message-Authenticator verifies exactly when a naive HMAC says so (a mutation never forges
 * one), every reply we would send verifies as a client checks it, the credentials and EAP
 * checks agree with plain counts. The whole run is time-bounded. Deterministic (seeded) so a
 * failure is reproducible.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import radius from 'radius';
import {
  AttributeType,
  RadiusEncodeError,
  authenticateRequest,
  checkCredentials,
  concatAttribute,
  countAttribute,
  decodePacket,
  decodeUserPassword,
  detectAuthMethods,
  eapFailureFor,
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
  verifyRequestMessageAuthenticator,
  verifyResponse,
  type DecodeResult,
  type RadiusPacket,
} from '../../../src/radius/protocol/index.ts';
import { mutateDatagram, prng, randomBytes, reference as ref } from './helpers.ts';

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

/** The Message-Authenticator status of a request, computed naively and independently of the codec. */
function referenceMaStatus(p: RadiusPacket): 'absent' | 'valid' | 'invalid' | 'malformed' {
  const mas: number[] = [];
  let off = 20;
  for (const a of p.attributes) {
    if (a.type === AttributeType.messageAuthenticator) mas.push(off);
    off += 2 + a.value.length;
  }
  if (mas.length === 0) return 'absent';
  if (mas.length > 1 || p.raw[mas[0]! + 1] !== 18) return 'malformed';
  const computed = [4, 40, 43].includes(p.code);
  const expected = ref.messageAuthenticator(p.raw, computed ? Buffer.alloc(16) : Buffer.from(p.authenticator), mas[0]! + 2, SECRET);
  return expected.equals(p.raw.subarray(mas[0]! + 2, mas[0]! + 18)) ? 'valid' : 'invalid';
}

const corpusRaw = new Set(corpus.map((c) => c.toString('hex')));
/** Mutated packets whose Message-Authenticator still verified (must be byte-identical to a corpus packet). */
let forgedChecks = 0;

/** Exercises every consumer of a decoded packet and checks what each says; only RadiusEncodeError may escape (an oversize reply). */
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
  assert.ok(p.raw.equals(datagram.subarray(0, p.raw.length)), 'the packet is the datagram up to Length');
  for (const t of [AttributeType.userName, AttributeType.nasIpAddress, AttributeType.nasIpv6Address, AttributeType.nasPort]) {
    getString(p.attributes, t, { strict: true });
    const n = getInteger(p.attributes, t);
    if (n.ok) assert.ok(Number.isInteger(n.value) && n.value >= 0 && n.value <= 0xffffffff);
    const v4 = getIPv4(p.attributes, t);
    if (v4.ok) assert.match(v4.value, /^\d{1,3}(\.\d{1,3}){3}$/);
    getIPv6(p.attributes, t);
  }
  getVendorSpecific(p.attributes);
  const methods = detectAuthMethods(p.attributes);
  assert.equal(methods.pap, countAttribute(p.attributes, AttributeType.userPassword) > 0);
  assert.equal(methods.eap, concatAttribute(p.attributes, AttributeType.eapMessage) !== undefined);

  const pw = decodeUserPassword(p, SECRET);
  if (pw.ok) assert.ok(!pw.password.includes('\0') && pw.password.length <= 128, 'cut at the first NUL, 128 bytes at most');
  else assert.equal(pw.reason === 'absent', !methods.pap);

  // Message-Authenticator: the codec agrees with the naive reference, and a mutation that
  // changed any byte of a signed packet never verifies.
  const ma = verifyRequestMessageAuthenticator(p, SECRET);
  assert.equal(ma, referenceMaStatus(p), `Message-Authenticator status of ${p.raw.toString('hex')}`);
  const auth = authenticateRequest(p, SECRET, { limitProxyState: true });
  if (ma === 'invalid' || ma === 'malformed') assert.equal(auth.ok, false, 'a bad Message-Authenticator never passes');
  if (ma === 'invalid' && (p.code === 1 || p.code === 12)) assert.deepEqual(auth, { ok: false, reason: 'invalid_message_authenticator' });
  if (auth.ok && auth.messageAuthenticator === 'valid') {
    forgedChecks++;
    assert.ok(corpusRaw.has(p.raw.toString('hex')), `a changed packet verified: ${p.raw.toString('hex')}`);
  }

  const credentials = checkCredentials(p.attributes);
  const passwords = [AttributeType.userPassword, AttributeType.chapPassword, AttributeType.arapPassword].reduce((n, t) => n + countAttribute(p.attributes, t), 0);
  if (credentials.ok) assert.ok(countAttribute(p.attributes, AttributeType.userName) <= 1 && passwords <= 1);
  else assert.ok(countAttribute(p.attributes, AttributeType.userName) > 1 || passwords + (methods.eap ? 1 : 0) + (methods.msChap ? 1 : 0) + (methods.msChapV2 ? 1 : 0) > 1);

  const eap = concatAttribute(p.attributes, AttributeType.eapMessage);
  const failure = eapFailureFor(p.attributes);
  if (eap !== undefined && eap.length >= 4) assert.deepEqual(failure, { type: 79, value: Buffer.from([4, eap[1]!, 0, 4]) });
  else assert.equal(failure, undefined);

  const key = packetDuplicateKey('192.0.2.1', 1812, p);
  assert.ok(key.endsWith(`|${p.identifier}|${Buffer.from(p.authenticator).toString('hex')}`));

  // The reply we would send: a client accepts it, and it echoes the Proxy-States in order.
  let reply: Buffer | undefined;
  try {
    reply = encodeReply(p, { code: 3, secret: SECRET });
  } catch (e) {
    if (!(e instanceof RadiusEncodeError)) throw e;
  }
  if (reply !== undefined) {
    const d = decodePacket(reply);
    assert.ok(d.ok);
    assert.equal(d.packet.identifier, p.identifier);
    assert.deepEqual(verifyResponse(d.packet, p.authenticator, SECRET), { authenticator: true, messageAuthenticator: 'valid', messageAuthenticatorFirst: true });
    const echoed = (x: RadiusPacket) => x.attributes.filter((a) => a.type === AttributeType.proxyState).map((a) => a.value.toString('hex'));
    assert.deepEqual(echoed(d.packet), echoed(p));
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
    assert.ok(forgedChecks > 100, `signed packets that verified, all unchanged: ${forgedChecks}`);
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
