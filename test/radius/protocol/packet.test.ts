/** Packet decoding (strict, typed failures) and encoding (layout, limits, MA placement). */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AttributeType,
  MAX_PACKET_LENGTH,
  RadiusCode,
  RadiusEncodeError,
  codeName,
  decodePacket,
  duplicateKey,
  encodeReply,
  encodeRequest,
  encodeResponse,
  getAttributes,
  octetsAttribute,
  packetDuplicateKey,
  replyLength,
  textAttribute,
  tryEncodeResponse,
  type DecodeFailureReason,
  type RadiusPacket,
  type RawAttribute,
} from '../../../src/radius/protocol/index.ts';
import { reference as ref } from './helpers.ts';

const AUTH = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

function ok(b: Uint8Array): RadiusPacket {
  const r = decodePacket(b);
  assert.ok(r.ok, r.ok ? '' : `${r.reason}: ${r.detail}`);
  return r.packet;
}

function rejected(b: Uint8Array, reason: DecodeFailureReason): void {
  const r = decodePacket(b);
  assert.equal(r.ok, false, 'expected a rejection');
  if (!r.ok) assert.equal(r.reason, reason, r.detail);
}

function encodeError(fn: () => unknown, kind: string): void {
  assert.throws(fn, (e: unknown) => e instanceof RadiusEncodeError && e.kind === kind);
}

describe('decodePacket: well-formed input', () => {
  it('a bare 20-byte header', () => {
    const p = ok(ref.packet(2, 7, AUTH, Buffer.alloc(0)));
    assert.equal(p.code, 2);
    assert.equal(p.identifier, 7);
    assert.deepEqual(p.authenticator, AUTH);
    assert.deepEqual(p.attributes, []);
    assert.equal(p.raw.length, 20);
  });

  it('keeps attributes in order, including repeats, and an empty (length 2) value', () => {
    const attrs = Buffer.concat([ref.attr(33, Buffer.from([1])), ref.attr(1, 'bob'), ref.attr(33, Buffer.from([2])), ref.attr(18, Buffer.alloc(0))]);
    const p = ok(ref.packet(1, 1, AUTH, attrs));
    assert.deepEqual(
      p.attributes.map((a) => [a.type, a.value.toString('hex')]),
      [
        [33, '01'],
        [1, '626f62'],
        [33, '02'],
        [18, ''],
      ],
    );
    assert.deepEqual(getAttributes(p.attributes, AttributeType.proxyState), [Buffer.from([1]), Buffer.from([2])]);
  });

  it('ignores bytes after the Length field (RFC 2865 §3 padding)', () => {
    const pkt = ref.packet(1, 1, AUTH, ref.attr(1, 'bob'));
    const p = ok(Buffer.concat([pkt, Buffer.from([0xff, 0x00, 0x01])]));
    assert.equal(p.raw.length, pkt.length);
    assert.equal(p.attributes.length, 1);
  });

  it('owns its bytes: mutating the datagram afterwards changes nothing', () => {
    const dgram = ref.packet(1, 1, AUTH, ref.attr(1, 'bob'));
    const p = ok(dgram);
    dgram.fill(0);
    assert.equal(p.attributes[0]!.value.toString(), 'bob');
    assert.deepEqual(p.authenticator, AUTH);
  });

  it('accepts exactly 4096 bytes', () => {
    const parts: Buffer[] = [];
    let left = MAX_PACKET_LENGTH - 20;
    while (left > 0) {
      const n = Math.min(255, left);
      parts.push(ref.attr(26, Buffer.alloc(n - 2, 0x41)));
      left -= n;
    }
    const p = ok(ref.packet(1, 1, AUTH, Buffer.concat(parts)));
    assert.equal(p.raw.length, 4096);
  });
});

describe('decodePacket: hostile input gives typed failures', () => {
  it('too_short: 0..19 bytes', () => {
    for (let n = 0; n < 20; n++) rejected(Buffer.alloc(n, 1), 'too_short');
  });

  it('bad_length: Length field below 20', () => {
    for (const len of [0, 1, 4, 19]) rejected(ref.packet(1, 1, AUTH, Buffer.alloc(0), len), 'bad_length');
  });

  it('bad_length: Length field above 4096 (even with a datagram that large)', () => {
    rejected(ref.packet(1, 1, AUTH, Buffer.alloc(4097 - 20), 4097), 'bad_length');
    rejected(ref.packet(1, 1, AUTH, Buffer.alloc(5000 - 20), 5000), 'bad_length');
    rejected(ref.packet(1, 1, AUTH, Buffer.alloc(0), 0xffff), 'bad_length');
  });

  it('bad_length: Length field larger than the datagram (truncated datagram)', () => {
    const pkt = ref.packet(1, 1, AUTH, ref.attr(1, 'alice'));
    rejected(pkt.subarray(0, pkt.length - 1), 'bad_length');
    rejected(ref.packet(1, 1, AUTH, Buffer.alloc(0), 21), 'bad_length');
  });

  it('bad_attribute: attribute length 0 (would never advance) and 1', () => {
    rejected(ref.packet(1, 1, AUTH, Buffer.from([1, 0, 0x41, 0x41])), 'bad_attribute');
    rejected(ref.packet(1, 1, AUTH, Buffer.from([1, 1, 0x41, 0x41])), 'bad_attribute');
  });

  it('bad_attribute: attribute overruns the packet', () => {
    rejected(ref.packet(1, 1, AUTH, Buffer.from([1, 10, 0x41, 0x41])), 'bad_attribute');
  });

  it('bad_attribute: attribute overruns Length even when padding bytes follow in the datagram', () => {
    const attrs = Buffer.from([1, 6, 0x41, 0x41, 0x41, 0x41]);
    const pkt = ref.packet(1, 1, AUTH, attrs, 20 + 4); // Length cuts the attribute short
    rejected(pkt, 'bad_attribute');
  });

  it('bad_attribute: a lone trailing byte (truncated attribute header)', () => {
    rejected(ref.packet(1, 1, AUTH, Buffer.concat([ref.attr(1, 'bob'), Buffer.from([80])])), 'bad_attribute');
  });

  it('never throws on a non-Buffer Uint8Array', () => {
    const u = new Uint8Array(ref.packet(1, 1, AUTH, ref.attr(1, 'x')));
    assert.equal(ok(u).attributes[0]!.value.toString(), 'x');
  });
});

describe('codes', () => {
  it('names codes like authentik logs them', () => {
    assert.equal(codeName(RadiusCode.accessRequest), 'Access-Request');
    assert.equal(codeName(RadiusCode.statusServer), 'Status-Server');
    assert.equal(codeName(RadiusCode.accountingResponse), 'Accounting-Response');
    assert.equal(codeName(40), 'Disconnect-Request');
    assert.equal(codeName(99), 'Code(99)');
  });
});

describe('encodeResponse', () => {
  const secret = 'sA';

  it('puts Message-Authenticator first and computes it before the Response Authenticator', () => {
    const attrs = [textAttribute(AttributeType.replyMessage, 'hi'), octetsAttribute(AttributeType.class, Buffer.from([9]))];
    const b = encodeResponse({ code: RadiusCode.accessAccept, identifier: 42, requestAuthenticator: AUTH, attributes: attrs, secret });
    const p = ok(b);
    assert.deepEqual(
      p.attributes.map((a) => a.type),
      [80, 18, 25],
    );
    assert.equal(b.readUInt16BE(2), b.length);
    assert.equal(b.length, 20 + 18 + 4 + 3);
    // Independent computation over a copy holding the *request* authenticator.
    assert.deepEqual(b.subarray(22, 38), ref.messageAuthenticator(b, AUTH, 22, secret));
    const copy = Buffer.from(b);
    AUTH.copy(copy, 4);
    assert.deepEqual(b.subarray(4, 20), ref.md5(copy, Buffer.from(secret)));
  });

  it('without MA (authentik 2024.4 mode): a 20-byte Access-Reject', () => {
    const b = encodeResponse({ code: RadiusCode.accessReject, identifier: 1, requestAuthenticator: AUTH, secret, messageAuthenticator: false });
    assert.equal(b.length, 20);
    const copy = Buffer.from(b);
    AUTH.copy(copy, 4);
    assert.deepEqual(b.subarray(4, 20), ref.md5(copy, Buffer.from(secret)));
  });

  it('rejects invalid input with typed errors', () => {
    const base = { code: 2, identifier: 1, requestAuthenticator: AUTH, secret };
    encodeError(() => encodeResponse({ ...base, identifier: 256 }), 'invalid_header');
    encodeError(() => encodeResponse({ ...base, identifier: -1 }), 'invalid_header');
    encodeError(() => encodeResponse({ ...base, code: 0 }), 'invalid_header');
    encodeError(() => encodeResponse({ ...base, requestAuthenticator: AUTH.subarray(1) }), 'invalid_header');
    encodeError(() => encodeResponse({ ...base, attributes: [{ type: 0, value: Buffer.alloc(1) }] }), 'invalid_attribute');
    encodeError(() => encodeResponse({ ...base, attributes: [{ type: 80, value: Buffer.alloc(16) }] }), 'invalid_attribute');
    encodeError(() => encodeResponse({ ...base, attributes: [{ type: 18, value: Buffer.alloc(254) }] }), 'attribute_too_long');
    const big: RawAttribute[] = Array.from({ length: 17 }, () => ({ type: 26, value: Buffer.alloc(253) }));
    encodeError(() => encodeResponse({ ...base, attributes: big }), 'packet_too_long');
    const r = tryEncodeResponse({ ...base, attributes: big });
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error.kind, 'packet_too_long');
  });

  it('accepts a response of exactly 4096 bytes (MA counted)', () => {
    // 20 + 18 + 15 * 255 + 233 = 4096
    const attrs: RawAttribute[] = [...Array.from({ length: 15 }, () => ({ type: 26, value: Buffer.alloc(253) })), { type: 26, value: Buffer.alloc(231) }];
    assert.equal(encodeResponse({ code: 2, identifier: 1, requestAuthenticator: AUTH, attributes: attrs, secret }).length, 4096);
    const one = [...attrs.slice(0, -1), { type: 26, value: Buffer.alloc(232) }];
    encodeError(() => encodeResponse({ code: 2, identifier: 1, requestAuthenticator: AUTH, attributes: one, secret }), 'packet_too_long');
  });
});

describe('encodeReply', () => {
  it('copies identifier and authenticator, echoes every Proxy-State unmodified and in order after the reply attributes', () => {
    const attrs = Buffer.concat([ref.attr(33, Buffer.from([1])), ref.attr(1, 'bob'), ref.attr(33, Buffer.from('ab\x00'))]);
    const req = ok(ref.packet(1, 77, AUTH, attrs));
    const b = encodeReply(req, { code: RadiusCode.accessReject, secret: 's', attributes: [textAttribute(18, 'no')] });
    const p = ok(b);
    assert.equal(p.identifier, 77);
    assert.deepEqual(
      p.attributes.map((a) => [a.type, a.value.toString('hex')]),
      [
        [80, p.attributes[0]!.value.toString('hex')],
        [18, '6e6f'],
        [33, '01'],
        [33, '616200'],
      ],
    );
    const noEcho = ok(encodeReply(req, { code: 3, secret: 's', echoProxyState: false, messageAuthenticator: false }));
    assert.deepEqual(noEcho.attributes, []);
  });
});

describe('replyLength', () => {
  const attrs = Buffer.concat([ref.attr(33, Buffer.alloc(7)), ref.attr(1, 'bob'), ref.attr(33, Buffer.alloc(200))]);
  const req = ok(ref.packet(1, 9, AUTH, attrs));

  it('is the length encodeReply produces, with and without MA and Proxy-State echo', () => {
    const sets: RawAttribute[][] = [[], [textAttribute(18, 'x')], Array.from({ length: 14 }, (_, i) => ({ type: 26, value: Buffer.alloc(250 - i) }))];
    for (const attributes of sets) {
      for (const messageAuthenticator of [true, false]) {
        for (const echoProxyState of [true, false]) {
          const options = { attributes, messageAuthenticator, echoProxyState };
          assert.equal(replyLength(req, options), encodeReply(req, { code: 2, secret: 's', ...options }).length, JSON.stringify({ n: attributes.length, messageAuthenticator, echoProxyState }));
        }
      }
    }
  });

  it('goes past 4096 where encodeReply refuses (that is what it is for)', () => {
    // 20 + 18 + 9 + 202 (Proxy-States) + 15 * 255 = 4074; one more 24-byte attribute → 4098.
    const attributes: RawAttribute[] = [...Array.from({ length: 15 }, () => ({ type: 26, value: Buffer.alloc(253) })), { type: 25, value: Buffer.alloc(22) }];
    assert.equal(replyLength(req, { attributes }), 4098);
    encodeError(() => encodeReply(req, { code: 2, secret: 's', attributes }), 'packet_too_long');
    assert.equal(replyLength(req, { attributes, echoProxyState: false }), 4098 - 211);
  });

  it('refuses what encodeReply refuses (a Message-Authenticator among the attributes, a type out of range)', () => {
    encodeError(() => replyLength(req, { attributes: [{ type: 80, value: Buffer.alloc(16) }] }), 'invalid_attribute');
    encodeError(() => replyLength(req, { attributes: [{ type: 0, value: Buffer.alloc(1) }] }), 'invalid_attribute');
  });
});

describe('encodeRequest', () => {
  it('requires an authenticator for Access-Request and refuses one for Accounting-Request', () => {
    encodeError(() => encodeRequest({ code: 1, identifier: 1, secret: 's' }), 'invalid_header');
    encodeError(() => encodeRequest({ code: 4, identifier: 1, secret: 's', authenticator: AUTH }), 'invalid_header');
  });

  it('adds MA by default for EAP-Message, not for plain Access-Request', () => {
    const eap = ok(encodeRequest({ code: 1, identifier: 1, secret: 's', authenticator: AUTH, attributes: [{ type: 79, value: Buffer.from([2, 0, 0, 5, 1]) }] }));
    assert.equal(eap.attributes[0]!.type, 80);
    const pap = ok(encodeRequest({ code: 1, identifier: 1, secret: 's', authenticator: AUTH, attributes: [textAttribute(1, 'x')] }));
    assert.deepEqual(
      pap.attributes.map((a) => a.type),
      [1],
    );
  });
});

describe('duplicate-detection key (RFC 5080)', () => {
  it('differs by address, port, identifier and authenticator; normalises IPv4-mapped IPv6', () => {
    const k = duplicateKey('10.0.0.1', 1000, 5, AUTH);
    assert.equal(k, duplicateKey('::ffff:10.0.0.1', 1000, 5, AUTH));
    assert.equal(duplicateKey('2001:DB8::1', 1, 1, AUTH), duplicateKey('2001:db8::1', 1, 1, AUTH));
    const other = Buffer.from(AUTH);
    other[15] = other[15]! ^ 1;
    const keys = new Set([k, duplicateKey('10.0.0.2', 1000, 5, AUTH), duplicateKey('10.0.0.1', 1001, 5, AUTH), duplicateKey('10.0.0.1', 1000, 6, AUTH), duplicateKey('10.0.0.1', 1000, 5, other)]);
    assert.equal(keys.size, 5);
    const p = ok(ref.packet(1, 5, AUTH, Buffer.alloc(0)));
    assert.equal(packetDuplicateKey('10.0.0.1', 1000, p), k);
  });
});
