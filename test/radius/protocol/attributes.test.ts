/** Attribute dictionary, typed getters (length validation), encoders and Vendor-Specific parsing. */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AttributeType,
  MicrosoftAttribute,
  RadiusEncodeError,
  VendorId,
  attributeName,
  concatAttribute,
  countAttribute,
  decodeIPv6,
  detectAuthMethods,
  getAttribute,
  getIPv4,
  getIPv6,
  getInteger,
  getString,
  getVendorAttributes,
  getVendorSpecific,
  integerAttribute,
  ipv4Attribute,
  ipv6Attribute,
  parseVendorSpecific,
  textAttribute,
  vendorSpecificAttribute,
  type RawAttribute,
} from '../../../src/radius/protocol/index.ts';

const a = (type: number, value: Buffer | string | number[]): RawAttribute => ({
  type,
  value: typeof value === 'string' ? Buffer.from(value) : Buffer.from(value),
});

describe('dictionary', () => {
  it('names known and unknown types', () => {
    assert.equal(attributeName(AttributeType.messageAuthenticator), 'Message-Authenticator');
    assert.equal(attributeName(AttributeType.nasIpv6Address), 'NAS-IPv6-Address');
    assert.equal(attributeName(AttributeType.chapChallenge), 'CHAP-Challenge');
    assert.equal(attributeName(200), 'Attr-200');
  });
});

describe('lookup helpers', () => {
  const attrs = [a(33, [1]), a(1, 'first'), a(33, [2]), a(1, 'second'), a(79, [1, 2]), a(79, [3])];
  it('first / all / count / concat', () => {
    assert.equal(getAttribute(attrs, 1)?.toString(), 'first');
    assert.equal(getAttribute(attrs, 2), undefined);
    assert.equal(countAttribute(attrs, 33), 2);
    assert.deepEqual(concatAttribute(attrs, AttributeType.eapMessage), Buffer.from([1, 2, 3]));
    assert.equal(concatAttribute(attrs, 2), undefined);
  });
});

describe('typed getters validate lengths', () => {
  it('string: UTF-8, lenient by default, strict on request', () => {
    assert.deepEqual(getString([a(1, 'jürgen')], 1), { ok: true, value: 'jürgen' });
    assert.deepEqual(getString([], 1), { ok: false, reason: 'absent' });
    assert.deepEqual(getString([a(1, [])], 1), { ok: true, value: '' });
    assert.deepEqual(getString([a(1, [0x61, 0xff])], 1), { ok: true, value: 'a\ufffd' });
    assert.deepEqual(getString([a(1, [0x61, 0xff])], 1, { strict: true }), { ok: false, reason: 'bad_value' });
  });

  it('integer: exactly 4 bytes, full unsigned range', () => {
    assert.deepEqual(getInteger([a(27, [0, 0, 0x0e, 0x10])], 27), { ok: true, value: 3600 });
    assert.deepEqual(getInteger([a(27, [0xff, 0xff, 0xff, 0xff])], 27), { ok: true, value: 4294967295 });
    assert.deepEqual(getInteger([a(27, [0x80, 0, 0, 0])], 27), { ok: true, value: 2147483648 });
    for (const n of [0, 1, 3, 5, 8]) assert.deepEqual(getInteger([a(27, new Array<number>(n).fill(1))], 27), { ok: false, reason: 'bad_length' });
  });

  it('IPv4: exactly 4 bytes', () => {
    assert.deepEqual(getIPv4([a(4, [10, 0, 0, 254])], 4), { ok: true, value: '10.0.0.254' });
    assert.deepEqual(getIPv4([a(4, [10, 0, 0])], 4), { ok: false, reason: 'bad_length' });
    assert.deepEqual(getIPv4([a(4, [10, 0, 0, 1, 1])], 4), { ok: false, reason: 'bad_length' });
  });

  it('IPv6: exactly 16 bytes, RFC 5952 text', () => {
    const cases: [string, string][] = [
      ['00000000000000000000000000000001', '::1'],
      ['00000000000000000000000000000000', '::'],
      ['20010db8000000000000000000000001', '2001:db8::1'],
      ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
      ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
      ['20010db8000100000000000100000000', '2001:db8:1::1:0:0'],
      ['fe800000000000000000000000000000', 'fe80::'],
      ['00010002000300040005000600070008', '1:2:3:4:5:6:7:8'],
    ];
    for (const [h, text] of cases) {
      assert.equal(decodeIPv6(Buffer.from(h, 'hex')), text, h);
      assert.deepEqual(getIPv6([a(95, Buffer.from(h, 'hex'))], 95), { ok: true, value: text });
      assert.equal(ipv6Attribute(95, text).value.toString('hex'), h, text);
    }
    assert.deepEqual(getIPv6([a(95, new Array<number>(15).fill(0))], 95), { ok: false, reason: 'bad_length' });
  });
});

describe('encoders', () => {
  const bad = (fn: () => unknown, kind: string): void => assert.throws(fn, (e: unknown) => e instanceof RadiusEncodeError && e.kind === kind);

  it('integer range', () => {
    assert.equal(integerAttribute(27, 4294967295).value.toString('hex'), 'ffffffff');
    bad(() => integerAttribute(27, -1), 'invalid_value');
    bad(() => integerAttribute(27, 2 ** 32), 'invalid_value');
    bad(() => integerAttribute(27, 1.5), 'invalid_value');
  });

  it('text length and attribute type', () => {
    assert.equal(textAttribute(18, 'x'.repeat(253)).value.length, 253);
    bad(() => textAttribute(18, 'x'.repeat(254)), 'attribute_too_long');
    bad(() => textAttribute(18, 'é'.repeat(127)), 'attribute_too_long'); // 254 bytes
    bad(() => textAttribute(0, 'x'), 'invalid_attribute');
    bad(() => textAttribute(256, 'x'), 'invalid_attribute');
  });

  it('IPv4 / IPv6 syntax', () => {
    assert.equal(ipv4Attribute(8, '192.0.2.255').value.toString('hex'), 'c00002ff');
    for (const s of ['256.1.1.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', '', 'a.b.c.d', '1.2.3.-4']) bad(() => ipv4Attribute(8, s), 'invalid_value');
    assert.equal(ipv6Attribute(95, '::ffff:192.0.2.1').value.toString('hex'), '00000000000000000000ffffc0000201');
    for (const s of ['1::2::3', '1.2.3.4::1', 'g::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::8', '1:2:3', '', '12345::']) bad(() => ipv6Attribute(95, s), 'invalid_value');
  });
});

describe('Vendor-Specific (RFC 2865 §5.26)', () => {
  it('parses the RFC-suggested format, several sub-attributes', () => {
    const vsa = vendorSpecificAttribute(9, [
      { type: 1, value: Buffer.from('shell:priv-lvl=15') },
      { type: 1, value: Buffer.from('x=y') },
    ]);
    assert.equal(vsa.type, 26);
    assert.equal(vsa.value.subarray(0, 4).toString('hex'), '00000009');
    const v = parseVendorSpecific(vsa.value);
    assert.equal(v?.vendorId, 9);
    assert.deepEqual(
      v?.subAttributes?.map((s) => [s.type, s.value.toString()]),
      [
        [1, 'shell:priv-lvl=15'],
        [1, 'x=y'],
      ],
    );
    assert.deepEqual(
      getVendorAttributes([vsa, a(1, 'u'), vendorSpecificAttribute(9, [{ type: 1, value: Buffer.from('z') }])], 9, 1).map(String),
      ['shell:priv-lvl=15', 'x=y', 'z'],
    );
  });

  it('keeps the raw data of non-conforming vendors instead of failing', () => {
    // Sub-attribute length runs past the data.
    const odd = Buffer.from([0, 0, 0x01, 0x37, 5, 9, 0x41]);
    const v = parseVendorSpecific(odd);
    assert.equal(v?.vendorId, 311);
    assert.equal(v?.subAttributes, undefined);
    assert.deepEqual(v?.data, Buffer.from([5, 9, 0x41]));
    // Sub-attribute length below 2.
    assert.equal(parseVendorSpecific(Buffer.from([0, 0, 0, 9, 1, 1]))?.subAttributes, undefined);
    // High vendor-id byte set (RFC violation): kept, not thrown on (node-radius throws here).
    assert.equal(parseVendorSpecific(Buffer.from([1, 0, 0, 9, 1, 3, 0x41]))?.vendorId, 0x01000009);
  });

  it('rejects values too short to hold a vendor id and one byte', () => {
    for (const n of [0, 3, 4]) assert.equal(parseVendorSpecific(Buffer.alloc(n)), undefined);
    assert.deepEqual(getVendorSpecific([a(26, [0, 0, 0, 9])]), []);
  });

  it('validates encoder input', () => {
    assert.throws(() => vendorSpecificAttribute(2 ** 24, []), RadiusEncodeError);
    assert.throws(() => vendorSpecificAttribute(9, [{ type: 1, value: Buffer.alloc(250) }]), RadiusEncodeError); // 4 + 252 > 253
  });
});

describe('authentication method detection', () => {
  it('PAP, CHAP, MS-CHAPv1/v2 (vendor 311) and EAP', () => {
    assert.deepEqual(detectAuthMethods([a(2, new Array<number>(16).fill(0))]), { pap: true, chap: false, msChap: false, msChapV2: false, eap: false });
    assert.deepEqual(detectAuthMethods([a(3, new Array<number>(17).fill(0)), a(60, [1])]), { pap: false, chap: true, msChap: false, msChapV2: false, eap: false });
    const ms2 = vendorSpecificAttribute(VendorId.microsoft, [
      { type: MicrosoftAttribute.msChapChallenge, value: Buffer.alloc(16) },
      { type: MicrosoftAttribute.msChap2Response, value: Buffer.alloc(50) },
    ]);
    assert.deepEqual(detectAuthMethods([ms2]), { pap: false, chap: false, msChap: false, msChapV2: true, eap: false });
    const ms1 = vendorSpecificAttribute(VendorId.microsoft, [{ type: MicrosoftAttribute.msChapResponse, value: Buffer.alloc(50) }]);
    assert.equal(detectAuthMethods([ms1]).msChap, true);
    // Same sub-type under a different vendor is not MS-CHAP.
    assert.equal(detectAuthMethods([vendorSpecificAttribute(9, [{ type: 25, value: Buffer.alloc(4) }])]).msChapV2, false);
    assert.equal(detectAuthMethods([a(79, [2, 1, 0, 5, 1])]).eap, true);
  });
});
