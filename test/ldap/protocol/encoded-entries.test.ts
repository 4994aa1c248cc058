// Entries encoded once and framed per request give the bytes the per-request encoder gives,
// for any attribute selection, message id and entry shape.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BerWriter, EncodedEntries, writeMessage, type EncodableAttribute } from '../../../src/ldap/protocol/index.ts';
import { isSelected, parseAttributeSelection, selectAttributes } from '../../../src/ldap/server/select.ts';

function perRequest(messageId: number, dn: string, attributes: readonly EncodableAttribute[], requested: string[]): Buffer {
  const w = new BerWriter(64);
  const selection = parseAttributeSelection(requested);
  writeMessage(w, messageId, { type: 'searchEntry', objectName: dn, attributes: selectAttributes(attributes, selection) });
  return w.toBuffer();
}

function framed(store: EncodedEntries, slot: number, messageId: number, requested: string[]): Buffer {
  const w = new BerWriter(64);
  const selection = parseAttributeSelection(requested);
  store.write(w, messageId, slot, (a) => isSelected(a, selection));
  return w.toBuffer();
}

const SELECTIONS = [[], ['*'], ['+'], ['*', '+'], ['1.1'], ['cn'], ['CN', 'mail'], ['commonName'], ['memberOf', 'entryDN'], ['cn,uid'], ['nosuch'], ['description;lang-en']];

describe('encoded entries', () => {
  it('frame the same bytes as encoding per request, for every selection and message id', () => {
    const long = 'x'.repeat(300);
    const entries: [string, EncodableAttribute[]][] = [
      ['cn=alice,ou=users,dc=example,dc=com', [
        { type: 'cn', values: ['alice'] },
        { type: 'mail', values: ['alice@example.com'] },
        { type: 'memberOf', values: ['cn=a,ou=groups,dc=example,dc=com', 'cn=b,ou=groups,dc=example,dc=com'] },
        { type: 'entryDN', values: ['cn=alice,ou=users,dc=example,dc=com'], operational: true },
        { type: 'description', values: ['ünïcödé ✓', long] },
      ]],
      ['cn=empty', []],
      ['cn=nothing,dc=x', [{ type: 'cn', values: [] }, { type: 'uid', values: [''] }]],
      [`cn=${long}`, Array.from({ length: 40 }, (_, i) => ({ type: `attr${i}`, values: [long.slice(i)], operational: i % 3 === 0 }))],
    ];
    const store = new EncodedEntries(entries.length);
    entries.forEach(([dn, attrs], slot) => assert.equal(store.store(slot, dn, attrs), true));
    for (const messageId of [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 31 - 1]) {
      entries.forEach(([dn, attrs], slot) => {
        for (const sel of SELECTIONS) assert.deepEqual(framed(store, slot, messageId, sel), perRequest(messageId, dn, attrs, sel), `slot ${slot}, id ${messageId}, ${JSON.stringify(sel)}`);
      });
    }
  });

  it('keeps nothing past its byte budget (shared between stores), and refuses an entry it cannot hold', () => {
    const budget = { remaining: 100 };
    const store = new EncodedEntries(3, budget);
    const other = new EncodedEntries(1, budget);
    assert.equal(store.store(0, 'cn=a', [{ type: 'cn', values: ['a'.repeat(80)] }]), true, 'the entry that spends the budget is kept');
    assert.equal(store.has(0), true);
    assert.equal(store.store(1, 'cn=b', [{ type: 'cn', values: ['b'] }]), false);
    assert.equal(other.store(0, 'cn=b', [{ type: 'cn', values: ['b'] }]), false, 'the budget is spent for both');
    assert.equal(store.has(1), false);
    const huge = new EncodedEntries(1);
    assert.equal(huge.store(0, 'cn=h', [{ type: 'photo', values: ['p'.repeat(2 ** 20)] }]), false, 'an attribute over 1 MiB is encoded per request');
    assert.equal(huge.has(0), false);
  });
});
