// Direct-mode pushdown, without a core: the `search` terms sent for a name must be contained in
// every name the LDAP filter matches, under PostgreSQL's UPPER()-based icontains (which, unlike
// JavaScript's toLowerCase, does not map the Kelvin sign to `k` or U+0130 to `i`); and what a
// filter allows pushing for each kind of entry.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileFilter, escapeFilterValue, parseFilter, type Filter } from '../../../src/ldap/protocol/index.ts';
import { prepareFilter } from '../../../src/ldap/directory/analysis.ts';
import { pushdownFor, searchTerms } from '../../../src/ldap/directory/direct.ts';
import { prng } from '../protocol/helpers.ts';
import { B, layout } from './helpers.ts';

/** PostgreSQL's UPPER() as pessimistically as possible: ASCII letters only, every other character unchanged. */
function pgUpper(s: string): string {
  let out = '';
  for (const ch of s) out += ch.charCodeAt(0) < 0x80 ? ch.toUpperCase() : ch;
  return out;
}
const icontains = (hay: string, term: string) => pgUpper(hay).includes(pgUpper(term));

function termsOf(f: Filter): string[] | undefined {
  if (f.type === 'equalityMatch') return searchTerms(f.value, false);
  if (f.type === 'substrings') {
    const out: string[] = [];
    for (const p of [f.initial, ...f.any, f.final]) if (p !== undefined) out.push(...(searchTerms(p, true) ?? []));
    return out;
  }
  throw new Error(f.type);
}

describe('search terms', () => {
  it('split like DRF and around the characters PostgreSQL folds differently', () => {
    assert.deepEqual(searchTerms('alice', false), ['alice']);
    assert.deepEqual(searchTerms('comma,name  x', false), ['comma', 'name', 'x']);
    assert.deepEqual(searchTerms('kevin', false), ['evin']);
    assert.deepEqual(searchTerms('Mike', false), ['Mi', 'e']);
    assert.deepEqual(searchTerms('alice', true), ['al', 'ce']);
    assert.equal(searchTerms('zoë', false), undefined, 'non-ASCII: nothing is pushed');
    assert.equal(searchTerms('k', false), undefined);
    assert.equal(searchTerms(' , ', false), undefined);
  });

  it('never miss a name the LDAP filter matches (property test)', () => {
    const rand = prng(20240403);
    const alphabet = ['a', 'b', 'c', 'i', 'k', 'K', 'I', 's', 'z', ' ', ',', '-', '\u212a', '\u0130', '\u0131', '\u017f', '\u00df', '\u00a0', '\t', 'é', 'É'];
    const pick = () => alphabet[Math.floor(rand() * alphabet.length)]!;
    const flip = (s: string) => [...s].map((c) => (rand() < 0.5 ? c.toUpperCase() : c.toLowerCase())).join('');
    let checked = 0;
    for (let n = 0; n < 20000; n++) {
      const name = Array.from({ length: 1 + Math.floor(rand() * 10) }, pick).join('');
      // An assertion derived from the name (so it often matches): the whole name or a piece, case flipped.
      const start = Math.floor(rand() * name.length);
      const piece = name.slice(start, start + 1 + Math.floor(rand() * 5));
      const candidates = [`(cn=${escapeFilterValue(flip(name))})`, `(cn=${escapeFilterValue(flip(piece))}*)`, `(cn=*${escapeFilterValue(flip(piece))}*)`, `(cn=*${escapeFilterValue(flip(piece))})`];
      for (const text of candidates) {
        let f: Filter;
        try {
          f = parseFilter(text);
        } catch {
          continue;
        }
        if (!compileFilter(f).matches({ get: (a) => (a === 'cn' ? [name] : undefined) })) continue;
        checked++;
        for (const t of termsOf(f) ?? []) assert.ok(icontains(name, t), `${JSON.stringify(name)} matches ${text} but the core would not find term ${JSON.stringify(t)}`);
      }
    }
    assert.ok(checked > 10000, `${checked} matching cases`);
  });
});

describe('pushdown per kind', () => {
  const l = layout();
  const push = (filter: string, kind: 'users' | 'groups' | 'vgroups') => pushdownFor(prepareFilter(parseFilter(filter)), kind, l);

  it('names go to search terms for every kind', () => {
    assert.deepEqual(push('(&(objectClass=user)(cn=alice))', 'users'), { impossible: false, terms: ['alice'], refs: [] });
    assert.deepEqual(push('(cn=staff)', 'groups').terms, ['staff']);
    assert.deepEqual(push('(sAMAccountName=bob)', 'vgroups').terms, ['bob']);
    assert.deepEqual(push('(sAMAccountName=bob)', 'users').terms, [], 'a user\'s sAMAccountName can be a custom value');
    assert.deepEqual(push('(|(cn=a)(cn=b))', 'users').terms, [], 'OR is not pushed');
    assert.deepEqual(push('(!(cn=a))', 'users').terms, []);
  });

  it('memberOf and member become references or prove the kind impossible', () => {
    assert.deepEqual(push(`(memberOf=cn=Staff,ou=groups,${B})`, 'users').refs, ['Staff']);
    assert.equal(push(`(memberOf=cn=alice,ou=virtual-groups,${B})`, 'users').impossible, true);
    assert.equal(push('(memberOf=not a dn)', 'users').impossible, true);
    assert.equal(push(`(memberOf=cn=Staff,ou=groups,${B})`, 'vgroups').impossible, true);
    assert.deepEqual(push(`(member=cn=bob,ou=users,${B})`, 'groups').refs, ['bob']);
    assert.deepEqual(push(`(member=cn=bob,ou=users,${B})`, 'vgroups').terms, ['bob']);
    assert.equal(push(`(member=cn=bob,ou=virtual-groups,${B})`, 'groups').impossible, true);
    assert.deepEqual(push(`(member=cn=bob,ou=users,${B})`, 'users'), { impossible: false, terms: [], refs: [] }, 'users may carry a custom member attribute');
  });
});
