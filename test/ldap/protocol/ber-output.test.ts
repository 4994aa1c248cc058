// The writer's output buffers: take() hands the bytes over without a copy and goes on in a
// fresh buffer; release() drops a grown buffer; writeHeader() frames like start()/end().
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BerWriter, headerSize } from '../../../src/ldap/protocol/index.ts';

describe('BerWriter output buffers', () => {
  it('take() returns the bytes written and leaves the writer empty and usable', () => {
    const w = new BerWriter(16);
    w.writeOctetString('first');
    const a = w.take();
    assert.deepEqual(a, Buffer.from([0x04, 5, ...Buffer.from('first')]));
    assert.equal(w.length, 0);
    w.writeOctetString('second');
    const b = w.take();
    assert.deepEqual(b, Buffer.from([0x04, 6, ...Buffer.from('second')]));
    assert.deepEqual(a, Buffer.from([0x04, 5, ...Buffer.from('first')]), 'taken bytes are not overwritten');
    w.start();
    assert.throws(() => w.take(), /unclosed/);
  });

  it('release() keeps a small buffer and drops a grown one; the writer still works', () => {
    const w = new BerWriter(16);
    w.writeOctetString('x'.repeat(1000));
    w.release();
    assert.equal(w.length, 0);
    w.writeOctetString('y');
    assert.deepEqual(w.toBuffer(), Buffer.from([0x04, 1, 0x79]));
  });

  it('giveBack() lets the next large batch reuse a taken buffer; small and foreign buffers are never reused', () => {
    const w = new BerWriter(4096);
    w.writeRaw(Buffer.alloc(100_000, 1));
    const first = w.take();
    w.giveBack(first);
    w.writeRaw(Buffer.alloc(100_000, 2));
    const second = w.take();
    assert.equal(second.buffer, first.buffer, 'the same memory, refilled');
    assert.equal(second[0], 2);
    w.giveBack(Buffer.alloc(200_000));
    w.writeRaw(Buffer.alloc(100_000, 3));
    assert.notEqual(w.take().buffer, second.buffer, 'a buffer it did not hand out is ignored');
    const small = new BerWriter(16);
    small.writeOctetString('x');
    const s1 = small.take();
    small.giveBack(s1);
    small.writeOctetString('y');
    assert.deepEqual(small.take(), Buffer.from([0x04, 1, 0x79]));
    assert.equal(s1[2], 0x78, 'a small (possibly pooled) buffer is never written again');
  });

  it('writeHeader() and headerSize() match the lengths start()/end() write', () => {
    for (const n of [0, 1, 127, 128, 255, 256, 65535, 65536, 70000]) {
      const content = Buffer.alloc(n, 7);
      const a = new BerWriter();
      a.start();
      a.writeRaw(content);
      a.end();
      const b = new BerWriter();
      b.writeHeader(0x30, n).writeRaw(content);
      assert.deepEqual(b.toBuffer(), a.toBuffer(), `length ${n}`);
      assert.equal(headerSize(n), a.length - n);
      const c = Buffer.alloc(a.length + 3);
      assert.equal(a.copyTo(c, 3), a.length);
      assert.deepEqual(c.subarray(3), a.toBuffer());
    }
  });
});
