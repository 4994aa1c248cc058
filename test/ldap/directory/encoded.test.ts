// A cached directory's entries keep their encoding: what they send from it is byte for byte what
// encoding them per request sends, for every kind of entry and attribute selection; views that
// are not a snapshot's keep nothing; a refreshed snapshot's view sends its own data.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BerWriter, writeMessage } from '../../../src/ldap/protocol/index.ts';
import type { LdapEntry } from '../../../src/ldap/entry.ts';
import { isSelected, parseAttributeSelection, selectAttributes } from '../../../src/ldap/server/select.ts';
import { LEAF_KINDS } from '../../../src/ldap/directory/analysis.ts';
import { apiGroup, apiUser, data, fullView, selfView } from './helpers.ts';

const SELECTIONS = [[], ['*', '+'], ['+'], ['cn', 'memberOf'], ['member', 'uidNumber'], ['1.1'], ['entryDN', 'objectClass', 'favourite']];

function perRequest(e: LdapEntry, messageId: number, requested: string[]): Buffer {
  const w = new BerWriter();
  writeMessage(w, messageId, { type: 'searchEntry', objectName: e.dn, attributes: selectAttributes(e.attributes, parseAttributeSelection(requested)) });
  return w.toBuffer();
}

function kept(e: LdapEntry, messageId: number, requested: string[]): Buffer | undefined {
  const w = new BerWriter();
  const selection = parseAttributeSelection(requested);
  return e.writeEncoded?.(w, messageId, (a) => isSelected(a, selection)) === true ? w.toBuffer() : undefined;
}

const staff = apiGroup('staff', { attributes: { favourite: ['blue', 'green'] } });
const admins = apiGroup('admins, the', { parent: staff.pk });
const users = [
  apiUser(1, 'alice', [staff, admins], { attributes: { favourite: 'tea', 'org.unit': 'R&D' } }),
  apiUser(2, 'bob', [staff]),
  apiUser(3, 'ünïcode user', []),
];

describe('kept encodings of a cached directory', () => {
  it('send the bytes a per-request encoding sends, the first time and from the store', () => {
    for (const nested of [false, true]) {
      const view = fullView(data([staff, admins], users), { nested });
      for (const kind of LEAF_KINDS) {
        for (let pos = 0; pos < view.count(kind); pos++) {
          for (const round of [1, 2]) {
            for (const sel of SELECTIONS) {
              const e = view.entry(kind, pos);
              assert.deepEqual(kept(e, 7 * round, sel), perRequest(e, 7 * round, sel), `${kind} ${pos} ${JSON.stringify(sel)} (round ${round}, nested ${nested})`);
            }
          }
        }
      }
      assert.ok(view.encodedBytes > 0);
    }
  });

  it('are kept only in a snapshot view: a self view and an unindexed view encode per request', () => {
    const d = data([staff, admins], users);
    assert.equal(kept(selfView(d, 1).entry('users', 0), 1, []), undefined);
    assert.equal(kept(fullView(d, { indexed: false }).entry('users', 0), 1, []), undefined);
    assert.equal(kept(fullView(d).baseEntry, 1, []), undefined, 'the base entry and containers are few and encoded per request');
  });

  it('belong to their snapshot: a refreshed snapshot sends its own values', () => {
    const before = fullView(data([staff, admins], users));
    const sent = kept(before.entry('users', 1), 1, ['mail'])!;
    assert.ok(sent.includes('bob@example.com'));
    const renamed = [users[0]!, apiUser(2, 'bob', [staff], { email: 'robert@example.com' }), users[2]!];
    const after = fullView(data([staff, admins], renamed));
    const now = kept(after.entry('users', 1), 1, ['mail'])!;
    assert.ok(now.includes('robert@example.com') && !now.includes('bob@example.com'));
    assert.deepEqual(kept(before.entry('users', 1), 1, ['mail']), sent, 'the old snapshot keeps answering with its data until it is dropped');
  });
});
