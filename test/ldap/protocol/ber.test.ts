import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BerReader as LdaptsReader, BerWriter as LdaptsWriter } from 'ldapts';
import { BerError, BerReader, BerWriter, UniversalTag } from '../../../src/ldap/protocol/ber.ts';

function hex(b: Buffer): string {
  return b.toString('hex');
}
function enc(fn: (w: BerWriter) => void): Buffer {
  const w = new BerWriter(16);
  fn(w);
  return w.toBuffer();
}
function berError(fn: () => unknown, reason?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BerError, `expected BerError, got ${String(e)}`);
    if (reason !== undefined) assert.equal(e.reason, reason);
    return true;
  });
}

describe('BER writer: known encodings', () => {
  const ints: [number, string][] = [
    [0, '020100'],
    [1, '020101'],
    [127, '02017f'],
    [128, '02020080'],
    [255, '020200ff'],
    [256, '02020100'],
    [-1, '0201ff'],
    [-128, '020180'],
    [-129, '0202ff7f'],
    [2147483647, '02047fffffff'],
    [-2147483648, '020480000000'],
  ];
  for (const [v, h] of ints) {
    it(`INTEGER ${v}`, () => {
      assert.equal(hex(enc((w) => w.writeInteger(v))), h);
      assert.equal(new BerReader(Buffer.from(h, 'hex')).readInteger(), v);
    });
  }

  it('BOOLEAN writes 0xFF for true, reads any non-zero as true', () => {
    assert.equal(hex(enc((w) => w.writeBoolean(true))), '0101ff');
    assert.equal(hex(enc((w) => w.writeBoolean(false))), '010100');
    assert.equal(new BerReader(Buffer.from('010101', 'hex')).readBoolean(), true);
    assert.equal(new BerReader(Buffer.from('01017e', 'hex')).readBoolean(), true);
    assert.equal(new BerReader(Buffer.from('010100', 'hex')).readBoolean(), false);
  });

  it('NULL, ENUMERATED, OCTET STRING (UTF-8)', () => {
    assert.equal(hex(enc((w) => w.writeNull())), '0500');
    assert.equal(hex(enc((w) => w.writeEnumerated(2))), '0a0102');
    assert.equal(hex(enc((w) => w.writeOctetString('é'))), '0402c3a9');
    assert.equal(hex(enc((w) => w.writeOctetString(Buffer.from([0, 1])))), '04020001');
    assert.equal(hex(enc((w) => w.writeOctetString('x', 0x80))), '800178');
  });

  it('length forms: short, 1, 2 and 3 length octets', () => {
    for (const [n, prefix] of [
      [127, '047f'],
      [128, '048180'],
      [255, '0481ff'],
      [256, '04820100'],
      [65535, '0482ffff'],
      [65536, '0483010000'],
    ] as const) {
      const b = enc((w) => w.writeOctetString(Buffer.alloc(n, 0x61)));
      assert.equal(hex(b.subarray(0, prefix.length / 2)), prefix, `length ${n}`);
      assert.equal(b.length, prefix.length / 2 + n);
      assert.equal(new BerReader(b).readOctetString().length, n);
    }
  });

  it('back-patches nested constructed lengths across the 127/255/65535 boundaries', () => {
    for (const n of [0, 1, 120, 125, 126, 127, 128, 250, 253, 300, 65530, 65533, 70000]) {
      const b = enc((w) => {
        w.start();
        w.start(0x63);
        w.writeOctetString(Buffer.alloc(n, 0x62));
        w.end();
        w.writeInteger(7);
        w.end();
      });
      const r = new BerReader(b);
      const s = r.readConstructed();
      assert.ok(r.atEnd());
      const inner = s.readConstructed(0x63);
      assert.equal(inner.readOctetString().length, n);
      assert.equal(s.readInteger(), 7);
      assert.ok(s.atEnd());
      // Independent decoder agrees.
      const lr = new LdaptsReader(b);
      assert.equal(lr.readSequence(), 0x30);
      assert.equal(lr.readSequence(0x63), 0x63);
      assert.equal((lr.readString(0x04, true) as Buffer).length, n);
      assert.equal(lr.readInt(), 7);
    }
  });

  it('reads what an independent writer (ldapts) wrote', () => {
    const lw = new LdaptsWriter();
    lw.startSequence();
    lw.writeInt(300);
    lw.writeString('hello world');
    lw.writeBoolean(true);
    lw.writeEnumeration(3);
    lw.startSequence(0xa0);
    lw.writeString(`${'x'.repeat(200)}`);
    lw.endSequence();
    lw.endSequence();
    const r = new BerReader(lw.buffer).readConstructed();
    assert.equal(r.readInteger(), 300);
    assert.equal(r.readString(), 'hello world');
    assert.equal(r.readBoolean(), true);
    assert.equal(r.readEnumerated(), 3);
    assert.equal(r.readConstructed(0xa0).readString(), 'x'.repeat(200));
    assert.ok(r.atEnd());
  });

  it('accepts non-minimal long-form lengths (BER allows them)', () => {
    assert.equal(new BerReader(Buffer.from('0484000000026869', 'hex')).readString(), 'hi');
  });

  it('writer can be reset and reused; unclosed elements are reported', () => {
    const w = new BerWriter(4);
    w.start().writeInteger(1).end();
    assert.equal(hex(w.toBuffer()), '3003020101');
    w.reset();
    w.writeNull();
    assert.equal(hex(w.toBuffer()), '0500');
    w.start();
    assert.throws(() => w.toBuffer());
    assert.throws(() => new BerWriter().end());
    assert.throws(() => new BerWriter().writeInteger(2 ** 60));
    assert.throws(() => new BerWriter().writeOctetString('', 0x1f));
  });

  it('encodes 10,000 search-entry-sized elements in linear time', () => {
    const w = new BerWriter();
    const t0 = performance.now();
    for (let i = 0; i < 10_000; i++) {
      w.start();
      w.writeInteger(i + 1);
      w.start(0x64);
      w.writeOctetString(`cn=user${i},ou=users,dc=ldap,dc=goauthentik,dc=io`);
      w.start();
      for (let a = 0; a < 12; a++) {
        w.start();
        w.writeOctetString(`attribute${a}`);
        w.start(0x31);
        w.writeOctetString(`value number ${a} of user ${i}`);
        w.end();
        w.end();
      }
      w.end();
      w.end();
      w.end();
    }
    const out = w.toBuffer();
    const ms = performance.now() - t0;
    assert.ok(out.length > 5_000_000);
    assert.ok(ms < 3000, `took ${ms} ms`);
    // Spot-check the last message decodes.
    const r = new BerReader(out);
    let last: BerReader | undefined;
    let count = 0;
    while (!r.atEnd()) {
      last = r.readConstructed();
      count++;
    }
    assert.equal(count, 10_000);
    assert.equal(last?.readInteger(), 10_000);
  });
});

describe('BER reader: hostile input gives BerError only', () => {
  const valid = enc((w) => {
    w.start();
    w.writeInteger(5);
    w.start(0x63);
    w.writeOctetString('dc=example');
    w.writeBoolean(true);
    w.end();
    w.end();
  });

  function readAll(b: Buffer): void {
    const s = new BerReader(b).readConstructed();
    s.readInteger();
    const i = s.readConstructed(0x63);
    i.readString();
    i.readBoolean();
  }

  it('every truncation of a valid encoding', () => {
    readAll(valid);
    for (let n = 0; n < valid.length; n++) berError(() => readAll(valid.subarray(0, n)));
  });

  it('indefinite length', () => berError(() => new BerReader(Buffer.from('3080020101 0000'.replace(/ /g, ''), 'hex')).readConstructed(), 'indefinite-length'));

  it('more than 4 length octets', () => berError(() => new BerReader(Buffer.from('04850000000001', 'hex')).readString(), 'length-too-long'));

  it('length beyond the buffer / enclosing element', () => {
    berError(() => new BerReader(Buffer.from('0405616263', 'hex')).readString(), 'truncated');
    // inner element claims more than the outer one holds
    berError(() => new BerReader(Buffer.from('30030405616263', 'hex')).readConstructed().readString(), 'truncated');
    berError(() => new BerReader(Buffer.from('04847ffffff0', 'hex')).readString(), 'truncated');
  });

  it('an element that overruns its parent by exactly one byte, the byte being in the buffer', () => {
    // SEQUENCE of 4 content bytes holding an OCTET STRING of 3: its last byte (63) is past the SEQUENCE.
    assert.equal(new BerReader(Buffer.from('30050403616263', 'hex')).readConstructed().readString(), 'abc', 'the well-formed twin reads');
    berError(() => new BerReader(Buffer.from('30040403616263', 'hex')).readConstructed().readString(), 'truncated');
    // the header's length octet itself one past the parent
    berError(() => new BerReader(Buffer.from('3001040161', 'hex')).readConstructed().readString(), 'truncated');
    // and at the top level: a view that ends one byte before the element does
    const buf = Buffer.from('0403616263', 'hex');
    berError(() => new BerReader(buf.subarray(0, 4)).readString(), 'truncated');
    berError(() => new BerReader(buf, { end: 4 }).readString(), 'truncated');
  });

  it('length above the configured maximum', () => {
    berError(() => new BerReader(Buffer.from('04820400' + '61'.repeat(1024), 'hex'), { limits: { maxLength: 1000 } }).readString(), 'length-exceeds-max');
  });

  it('multi-byte tag numbers are rejected cleanly', () => {
    berError(() => new BerReader(Buffer.from('1f8101020000', 'hex')).readHeader(), 'multi-byte-tag');
    berError(() => new BerReader(Buffer.from('bf2000', 'hex')).readHeader(), 'multi-byte-tag');
  });

  it('deep nesting is bounded', () => {
    let b = Buffer.from('0500', 'hex');
    for (let i = 0; i < 100; i++) b = Buffer.concat([Buffer.from([0x30, ...(b.length < 128 ? [b.length] : [0x81, b.length])]), b]);
    let r = new BerReader(b);
    berError(() => {
      for (;;) r = r.readConstructed();
    }, 'too-deep');
    // and a custom lower limit
    let r2 = new BerReader(b, { limits: { maxDepth: 3 } });
    berError(() => {
      for (;;) r2 = r2.readConstructed();
    }, 'too-deep');
  });

  it('element count is bounded', () => {
    const many = Buffer.from('0500'.repeat(50), 'hex');
    const r = new BerReader(many, { limits: { maxElements: 10 } });
    berError(() => {
      while (!r.atEnd()) r.readNull();
    }, 'too-many-elements');
  });

  it('integers: too big, empty, negative where unsigned is required', () => {
    berError(() => new BerReader(Buffer.from('02050100000000', 'hex')).readInteger(), 'integer-too-large');
    berError(() => new BerReader(Buffer.from('0200', 'hex')).readInteger(), 'empty-integer');
    berError(() => new BerReader(Buffer.from('0201ff', 'hex')).readUnsignedInt(), 'integer-out-of-range');
    assert.equal(new BerReader(Buffer.from('02050100000000', 'hex')).readInteger(UniversalTag.integer, 6), 2 ** 32);
  });

  it('wrong tag, bad boolean, bad null, constructed where primitive expected', () => {
    berError(() => new BerReader(Buffer.from('0401ff', 'hex')).readInteger(), 'unexpected-tag');
    berError(() => new BerReader(Buffer.from('0102ffff', 'hex')).readBoolean(), 'bad-boolean');
    berError(() => new BerReader(Buffer.from('050100', 'hex')).readNull(), 'bad-null');
    berError(() => new BerReader(Buffer.from('2400', 'hex')).readString(0x24), 'constructed-not-allowed');
    berError(() => new BerReader(Buffer.alloc(0)).readHeader(), 'truncated');
  });

  it('a reader never looks outside its range', () => {
    const buf = Buffer.from('0401610401620401 63'.replace(/ /g, ''), 'hex');
    const r = new BerReader(buf, { start: 3, end: 6 });
    assert.equal(r.readString(), 'b');
    assert.ok(r.atEnd());
    berError(() => r.readString(), 'truncated');
  });
});
