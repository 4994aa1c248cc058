// The reply attributes from authentik's property mappings (check_access `attributes`, 2024.8+):
// strict base64 of one whole RADIUS packet, copied in order without Message-Authenticator or
// Proxy-State, failing closed on anything else, and never past a 4096-byte Access-Accept.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_ENCODED_LENGTH, mappedReplyAttributes, strictBase64, type MappedAttributes } from '../../src/radius/mapped-attributes.ts';
import {
  RadiusCode,
  decodePacket,
  encodeReply,
  encodeRequest,
  integerAttribute,
  textAttribute,
  vendorSpecificAttribute,
  type RadiusPacket,
  type RawAttribute,
} from '../../src/radius/protocol/index.ts';
import { mutateDatagram, prng, randomBytes, reference as ref } from './protocol/helpers.ts';

const AUTH = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

/** An Access-Request to answer, with the given Proxy-States. */
function request(proxyStates: readonly Buffer[] = []): RadiusPacket {
  const attrs = Buffer.concat([ref.attr(1, 'alice'), ...proxyStates.map((p) => ref.attr(33, p))]);
  const d = decodePacket(ref.packet(1, 7, AUTH, attrs));
  assert.ok(d.ok);
  return d.packet;
}

/** What authentik's check_access answers: base64 of a whole packet (pyrad builds an Access-Request). */
function mapped(attributes: readonly RawAttribute[], messageAuthenticator = false): string {
  return encodeRequest({ code: RadiusCode.accessRequest, identifier: 200, authenticator: Buffer.alloc(16, 0xab), secret: 'core-side', attributes, messageAuthenticator }).toString('base64');
}

function tagged(type: number, tag: number, value: Buffer): RawAttribute {
  return { type, value: Buffer.concat([Buffer.from([tag]), value]) };
}

/** RFC 2868 integer with a tag: the tag replaces the high byte. */
function taggedInteger(type: number, tag: number, value: number): RawAttribute {
  const v = Buffer.alloc(4);
  v.writeUInt32BE(value);
  v[0] = tag;
  return { type, value: v };
}

const wire = (attributes: readonly RawAttribute[]) => attributes.map((a) => [a.type, a.value.toString('hex')]);

function failure(r: MappedAttributes): { reason: string; detail: string } {
  assert.equal(r.ok, false, `expected a failure, got ${JSON.stringify(r.ok && wire(r.attributes))}`);
  return r.ok ? { reason: '', detail: '' } : r;
}

const VLAN: readonly RawAttribute[] = [
  taggedInteger(64, 1, 13), // Tunnel-Type:1 = VLAN
  taggedInteger(65, 1, 6), // Tunnel-Medium-Type:1 = IEEE-802
  tagged(81, 1, Buffer.from('42')), // Tunnel-Private-Group-Id:1 = "42"
];

describe('mappedReplyAttributes: what a property mapping made', () => {
  it('copies every attribute in order, tags and vendor attributes byte for byte', () => {
    const attributes = [
      ...VLAN,
      vendorSpecificAttribute(9, [{ type: 1, value: Buffer.from('shell:priv-lvl=15') }]),
      { type: 25, value: Buffer.from('class-1') },
      integerAttribute(27, 3600),
      textAttribute(11, 'staff-acl'),
      textAttribute(18, 'Welcome'),
      { type: 8, value: Buffer.from([10, 0, 0, 7]) },
      { type: 25, value: Buffer.alloc(0) },
      { type: 241, value: Buffer.from([1, 2, 3]) },
    ];
    const r = mappedReplyAttributes(mapped(attributes), request());
    assert.ok(r.ok, r.ok ? '' : r.detail);
    assert.deepEqual(wire(r.attributes), wire(attributes));
    assert.deepEqual(r.ignored, []);
  });

  it('a packet with no attributes → nothing to add (still ok)', () => {
    const r = mappedReplyAttributes(mapped([]), request());
    assert.ok(r.ok);
    assert.deepEqual(r.attributes, []);
  });

  it('leaves out Message-Authenticator and Proxy-State wherever they are, and says so', () => {
    const attributes = [{ type: 33, value: Buffer.from('forged') }, ...VLAN, { type: 33, value: Buffer.from([1]) }];
    const r = mappedReplyAttributes(mapped(attributes, true), request());
    assert.ok(r.ok, r.ok ? '' : r.detail);
    assert.deepEqual(wire(r.attributes), wire(VLAN));
    assert.deepEqual(r.ignored, [80, 33, 33]);
  });

  it('in the Access-Accept: our Message-Authenticator first, the mapped attributes, then the request\'s own Proxy-States', () => {
    const req = request([Buffer.from([9])]);
    const r = mappedReplyAttributes(mapped([{ type: 33, value: Buffer.from('forged') }, ...VLAN], true), req);
    assert.ok(r.ok);
    const accept = decodePacket(encodeReply(req, { code: RadiusCode.accessAccept, secret: 's', attributes: r.attributes }));
    assert.ok(accept.ok);
    assert.deepEqual(accept.packet.attributes.map((a) => a.type), [80, 64, 65, 81, 33]);
    assert.deepEqual(accept.packet.attributes.at(-1)?.value, Buffer.from([9]));
    assert.notDeepEqual(accept.packet.authenticator, Buffer.alloc(16, 0xab), 'the mapped packet\'s authenticator is not used');
  });
});

describe('mappedReplyAttributes: fails closed on what is not a packet', () => {
  const good = mapped(VLAN);

  for (const [what, text] of [
    ['not base64 at all', 'this is not base64!'],
    ['a length that is not a multiple of 4', good.slice(0, -1)],
    ['padding left out', good.replace(/=+$/, '')],
    ['the URL-safe alphabet', Buffer.from([0xfb, 0xff, 0xbf]).toString('base64url')],
    ['a line break inside', `${good.slice(0, 8)}\n${good.slice(8)}`],
    ['spaces around', ` ${good} `],
    ['non-zero trailing bits (QR== is not canonical; QQ== is)', 'QR=='],
    ['longer than any packet could be', 'A'.repeat(MAX_ENCODED_LENGTH + 4)],
  ] as const) {
    it(`attribute_decode_failed: ${what}`, () => {
      assert.equal(failure(mappedReplyAttributes(text, request())).reason, 'attribute_decode_failed');
    });
  }

  for (const [what, bytes] of [
    ['nothing (an empty string)', Buffer.alloc(0)],
    ['plain text', Buffer.from('vlan=42, please')],
    ['a header whose Length is past the data', ref.packet(1, 1, AUTH, ref.attr(18, 'x'), 40)],
    ['a Length field below 20', ref.packet(1, 1, AUTH, Buffer.alloc(0), 19)],
    ['an attribute running past the packet', ref.packet(1, 1, AUTH, Buffer.from([18, 10, 0x41]))],
    ['an attribute of length 1', ref.packet(1, 1, AUTH, Buffer.from([18, 1]))],
    ['bytes after the packet\'s Length', Buffer.concat([ref.packet(1, 1, AUTH, ref.attr(18, 'x')), Buffer.from([0])])],
    ['an attribute of type 0', ref.packet(1, 1, AUTH, Buffer.concat([ref.attr(64, Buffer.from([1, 0, 0, 13])), ref.attr(0, 'x')]))],
  ] as const) {
    it(`attribute_parse_failed: base64 of ${what}`, () => {
      assert.equal(strictBase64(bytes.toString('base64'))?.length, bytes.length, 'the base64 itself is fine');
      assert.equal(failure(mappedReplyAttributes(bytes.toString('base64'), request())).reason, 'attribute_parse_failed');
    });
  }

  it('attributes_too_large: an Access-Accept of 4097 bytes; 4096 fits (MA and the request\'s Proxy-States counted)', () => {
    const proxy = [Buffer.alloc(10), Buffer.alloc(30)];
    // 20 + 18 + (12 + 32) Proxy-States + 15 × 255 = 3907; the 16th attribute takes the rest.
    const fill = (n: number) => [...Array.from({ length: 15 }, () => ({ type: 26, value: Buffer.alloc(253, 1) })), { type: 25, value: Buffer.alloc(n - 2, 2) }];
    const fits = mappedReplyAttributes(mapped(fill(4096 - 3907)), request(proxy));
    assert.ok(fits.ok, fits.ok ? '' : fits.detail);
    assert.equal(encodeReply(request(proxy), { code: RadiusCode.accessAccept, secret: 's', attributes: fits.attributes }).length, 4096);
    assert.equal(failure(mappedReplyAttributes(mapped(fill(4097 - 3907)), request(proxy))).reason, 'attributes_too_large');
    // Without the Proxy-States the same set fits: the request is part of the sum.
    assert.ok(mappedReplyAttributes(mapped(fill(4097 - 3907)), request()).ok);
  });

  it('the detail names the cause, never an attribute value', () => {
    const secretish = 'vlan-for-the-ceo-0xDEADBEEF';
    const cases = [
      Buffer.concat([ref.packet(1, 1, AUTH, ref.attr(18, secretish)), Buffer.from(secretish)]).toString('base64'),
      ref.packet(1, 1, AUTH, Buffer.concat([ref.attr(18, secretish), ref.attr(0, secretish)])).toString('base64'),
      // 15 × 255 + 240 bytes of attributes: a 4085-byte packet, a 4103-byte Access-Accept.
      mapped([...Array.from({ length: 15 }, () => textAttribute(18, secretish.padEnd(253, '!'))), textAttribute(18, secretish.padEnd(238, '!'))]),
      `${mapped([textAttribute(18, secretish)])}!`,
    ];
    for (const text of cases) {
      const { detail } = failure(mappedReplyAttributes(text, request()));
      assert.ok(detail.length > 0);
      assert.ok(!detail.includes(secretish) && !detail.includes(Buffer.from(secretish).toString('hex')), detail);
    }
  });
});

describe('mappedReplyAttributes: fuzz (seeded)', () => {
  /** An independent reading of the rules: strict base64, one exact packet, no type 0, fits. */
  function expected(text: string, req: RadiusPacket): 'ok' | 'attribute_decode_failed' | 'attribute_parse_failed' | 'attributes_too_large' {
    if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$/.test(text) || text.length > MAX_ENCODED_LENGTH) {
      return 'attribute_decode_failed';
    }
    const b = Buffer.from(text, 'base64');
    if (b.length < 20 || b.readUInt16BE(2) !== b.length || b.length > 4096) return 'attribute_parse_failed';
    let size = 20 + 18 + req.attributes.filter((a) => a.type === 33).reduce((n, a) => n + 2 + a.value.length, 0);
    for (let off = 20; off < b.length; ) {
      if (b.length - off < 2 || b[off + 1]! < 2 || off + b[off + 1]! > b.length || b[off] === 0) return 'attribute_parse_failed';
      if (b[off] !== 33 && b[off] !== 80) size += b[off + 1]!;
      off += b[off + 1]!;
    }
    return size > 4096 ? 'attributes_too_large' : 'ok';
  }

  it('mutated packets and random text: typed results only, agreeing with the rules, and every Accept encodes', () => {
    const rand = prng(0x5eed_a77);
    const corpus = [
      mapped(VLAN),
      mapped([...VLAN, vendorSpecificAttribute(9, [{ type: 1, value: Buffer.from('shell:priv-lvl=15') }]), integerAttribute(27, 60)], true),
      mapped(Array.from({ length: 16 }, (_, i) => ({ type: 26, value: Buffer.alloc(235 + (i % 8), i) }))),
      mapped([{ type: 33, value: Buffer.from('x') }, textAttribute(18, 'hi')]),
    ].map((t) => Buffer.from(t, 'base64'));
    const requests = [request(), request([Buffer.alloc(100), Buffer.alloc(200)])];
    const seen = new Map<string, number>();
    const started = performance.now();
    for (let i = 0; i < 20_000; i++) {
      const src = corpus[Math.floor(rand() * corpus.length)]!;
      const req = requests[Math.floor(rand() * requests.length)]!;
      let text: string;
      const kind = rand();
      if (kind < 0.7) text = mutateDatagram(rand, src).toString('base64');
      else if (kind < 0.85) {
        // Mangle the text itself: a character replaced, dropped or inserted.
        const t = src.toString('base64').split('');
        const at = Math.floor(rand() * t.length);
        const ch = 'A+/=-_ \n.Zz9'[Math.floor(rand() * 12)]!;
        if (rand() < 0.4) t[at] = ch;
        else if (rand() < 0.5) t.splice(at, 1);
        else t.splice(at, 0, ch);
        text = t.join('');
      } else text = randomBytes(rand, Math.floor(rand() * 64)).toString('latin1');
      const r = mappedReplyAttributes(text, req);
      const outcome = r.ok ? 'ok' : r.reason;
      seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
      assert.equal(outcome, expected(text, req), `case ${i} (${r.ok ? 'ok' : r.detail}): ${JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}…` : text)}`);
      if (r.ok) {
        for (const a of r.attributes) assert.ok(a.type !== 0 && a.type !== 33 && a.type !== 80, `type ${a.type} copied`);
        const accept = encodeReply(req, { code: RadiusCode.accessAccept, secret: 's', attributes: r.attributes });
        assert.ok(accept.length <= 4096);
      }
    }
    for (const outcome of ['ok', 'attribute_decode_failed', 'attribute_parse_failed', 'attributes_too_large']) {
      assert.ok((seen.get(outcome) ?? 0) > 0, `the fuzz reached ${outcome}: ${JSON.stringify([...seen])}`);
    }
    assert.ok(performance.now() - started < 30_000);
  });
});
