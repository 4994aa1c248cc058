import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_MAX_PDU_SIZE, nextPdu, splitPdus } from '../../../src/ldap/protocol/framing.ts';
import { encodeRequest } from '../../../src/ldap/protocol/messages.ts';
import { parseFilter } from '../../../src/ldap/protocol/filter.ts';

const bind = encodeRequest(1, { type: 'bind', version: 3, name: 'cn=a,dc=x', authentication: { method: 'simple', password: Buffer.from('pw') } });
const bigSearch = encodeRequest(2, {
  type: 'search',
  baseObject: 'dc=x',
  scope: 2,
  derefAliases: 0,
  sizeLimit: 0,
  timeLimit: 0,
  typesOnly: false,
  filter: parseFilter(`(|${Array.from({ length: 400 }, (_, i) => `(cn=user${i})`).join('')})`),
  attributes: [],
});

describe('framing', () => {
  it('reports need-more until the header is complete, then the total size', () => {
    assert.deepEqual(nextPdu(Buffer.alloc(0)), { kind: 'need-more', length: undefined });
    assert.deepEqual(nextPdu(bigSearch.subarray(0, 1)), { kind: 'need-more', length: undefined });
    assert.ok(bigSearch[1]! > 0x80, 'test PDU uses a long-form length');
    assert.deepEqual(nextPdu(bigSearch.subarray(0, 2)), { kind: 'need-more', length: undefined });
    assert.deepEqual(nextPdu(bigSearch.subarray(0, 4)), { kind: 'need-more', length: bigSearch.length });
    assert.deepEqual(nextPdu(bigSearch.subarray(0, bigSearch.length - 1)), { kind: 'need-more', length: bigSearch.length });
    assert.deepEqual(nextPdu(bigSearch), { kind: 'pdu', length: bigSearch.length });
  });

  it('handles an offset and several PDUs in one buffer', () => {
    const stream = Buffer.concat([bind, bigSearch, bind.subarray(0, 3)]);
    assert.deepEqual(nextPdu(stream, bind.length), { kind: 'pdu', length: bigSearch.length });
    const r = splitPdus(stream);
    assert.equal(r.pdus.length, 2);
    assert.ok(r.pdus[0]!.equals(bind));
    assert.ok(r.pdus[1]!.equals(bigSearch));
    assert.equal(r.consumed, bind.length + bigSearch.length);
    assert.equal(r.error, undefined);
  });

  it('byte-by-byte delivery reassembles exactly the PDUs that were sent', () => {
    const stream = Buffer.concat([bind, bigSearch, bind]);
    let pending = Buffer.alloc(0);
    const got: Buffer[] = [];
    for (const byte of stream) {
      pending = Buffer.concat([pending, Buffer.from([byte])]);
      const r = splitPdus(pending);
      assert.equal(r.error, undefined);
      got.push(...r.pdus.map((p) => Buffer.from(p)));
      pending = pending.subarray(r.consumed);
    }
    assert.equal(pending.length, 0);
    assert.deepEqual(got, [bind, bigSearch, bind]);
  });

  it('rejects a stream that does not start with a SEQUENCE', () => {
    const r = nextPdu(Buffer.from('GET / HTTP/1.1\r\n'));
    assert.equal(r.kind, 'error');
    if (r.kind === 'error') assert.equal(r.error.reason, 'not-ldap-message');
  });

  it('rejects indefinite and over-long length forms', () => {
    const a = nextPdu(Buffer.from([0x30, 0x80, 0x02, 0x01, 0x01]));
    assert.equal(a.kind === 'error' && a.error.reason, 'indefinite-length');
    const b = nextPdu(Buffer.from([0x30, 0x85, 0, 0, 0, 0, 1]));
    assert.equal(b.kind === 'error' && b.error.reason, 'length-too-long');
  });

  it('rejects an over-sized PDU from its header alone (no buffering needed)', () => {
    const header = Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff]);
    const r = nextPdu(header);
    assert.equal(r.kind, 'error');
    if (r.kind === 'error') assert.equal(r.error.reason, 'pdu-too-large');
    // exactly at the limit is fine
    const len = DEFAULT_MAX_PDU_SIZE - 6;
    const atLimit = Buffer.from([0x30, 0x84, (len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff]);
    assert.deepEqual(nextPdu(atLimit), { kind: 'need-more', length: DEFAULT_MAX_PDU_SIZE });
    // a custom limit
    const small = nextPdu(bigSearch, 0, 100);
    assert.equal(small.kind === 'error' && small.error.reason, 'pdu-too-large');
    const split = splitPdus(Buffer.concat([bind, bigSearch]), 100);
    assert.equal(split.pdus.length, 1);
    assert.equal(split.consumed, bind.length);
    assert.equal(split.error?.reason, 'pdu-too-large');
  });

  it('an empty SEQUENCE is a (tiny) PDU and framing always advances', () => {
    const r = splitPdus(Buffer.from([0x30, 0x00, 0x30, 0x00]));
    assert.equal(r.pdus.length, 2);
    assert.equal(r.consumed, 4);
  });
});
