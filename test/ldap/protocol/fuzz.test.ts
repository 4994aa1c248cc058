/**
 * Fuzzing: random buffers and mutated valid PDUs through framing + decoding must give
 * valid results or typed errors, never any other exception, and always terminate.
 * Deterministic (seeded) so a failure is reproducible.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AddRequest as LAdd,
  Attribute as LAttribute,
  BindRequest as LBind,
  Change as LChange,
  CompareRequest as LCompare,
  DeleteRequest as LDelete,
  ExtendedRequest as LExtended,
  FilterParser as LFilterParser,
  ModifyDNRequest as LModifyDN,
  ModifyRequest as LModify,
  PagedResultsControl as LPaged,
  SearchRequest as LSearch,
  UnbindRequest as LUnbind,
  AbandonRequest as LAbandon,
} from 'ldapts';
import { BerError } from '../../../src/ldap/protocol/ber.ts';
import { nextPdu, splitPdus } from '../../../src/ldap/protocol/framing.ts';
import { LdapDecodeError, decodeMessage, encodeRequest, tryDecodeMessage } from '../../../src/ldap/protocol/messages.ts';
import { decodePagedResultsValue } from '../../../src/ldap/protocol/controls.ts';
import { DnError, parseDn } from '../../../src/ldap/protocol/dn.ts';
import { FilterError, compileFilter, decodeFilter, parseFilter, toFilterEntry } from '../../../src/ldap/protocol/filter.ts';
import { prng } from './helpers.ts';

const corpus: Buffer[] = [
  new LBind({ messageId: 1, dn: 'cn=alice,ou=users,dc=ldap,dc=goauthentik,dc=io', password: 'pw;123456' }).write(),
  new LSearch({
    messageId: 2,
    baseDN: 'dc=ldap,dc=goauthentik,dc=io',
    scope: 'sub',
    filter: LFilterParser.parseString('(&(objectClass=user)(|(cn=a*b*c)(uidNumber>=2000)(mail~=x))(!(memberOf=cn=x,ou=groups,dc=ldap)))'),
    attributes: ['cn', 'memberOf', '+'],
    sizeLimit: 10,
    controls: [new LPaged({ value: { size: 100, cookie: Buffer.from('abc') } })],
  }).write(),
  new LModify({
    messageId: 3,
    dn: 'cn=a,dc=x',
    changes: [new LChange({ operation: 'replace', modification: new LAttribute({ type: 'mail', values: ['a@b', 'c@d'] }) })],
  }).write(),
  new LAdd({ messageId: 4, dn: 'cn=b,dc=x', attributes: [new LAttribute({ type: 'cn', values: ['b'] })] }).write(),
  new LDelete({ messageId: 5, dn: 'cn=b,dc=x' }).write(),
  new LModifyDN({ messageId: 6, dn: 'cn=b,dc=x', newRdn: 'cn=c', newSuperior: 'ou=y,dc=x' }).write(),
  new LCompare({ messageId: 7, dn: 'cn=b,dc=x', attribute: 'cn', value: 'b' }).write(),
  new LExtended({ messageId: 8, oid: '1.3.6.1.4.1.4203.1.11.1', value: Buffer.from([0x30, 0x03, 0x80, 0x01, 0x61]) }).write(),
  new LUnbind({ messageId: 9 }).write(),
  new LAbandon({ messageId: 10, abandonId: 9 }).write(),
  encodeRequest(11, { type: 'bind', version: 3, name: '', authentication: { method: 'sasl', mechanism: 'EXTERNAL', credentials: undefined } }),
  encodeRequest(
    12,
    {
      type: 'search',
      baseObject: '',
      scope: 0,
      derefAliases: 0,
      sizeLimit: 0,
      timeLimit: 0,
      typesOnly: false,
      filter: parseFilter('(|(cn:dn:caseExactMatch:=x)(:2.5.13.2:=y)(cn<=z)(!(&(a=*)(b=\\2a))))'),
      attributes: [],
    },
    [{ oid: '1.2.3', criticality: true, value: Buffer.from('v') }],
  ),
];

/** Runs everything a server would do with untrusted bytes; returns how many PDUs decoded. */
function exercise(buf: Buffer): number {
  let ok = 0;
  // direct decode of the whole buffer
  const direct = tryDecodeMessage(buf);
  if (direct.ok) ok++;
  else assert.ok(direct.error instanceof LdapDecodeError);
  // framing + decode, as the connection layer does
  const split = splitPdus(buf, 64 * 1024);
  assert.ok(split.consumed <= buf.length);
  if (split.error !== undefined) assert.ok(split.error instanceof BerError);
  for (const pdu of split.pdus) {
    try {
      const m = decodeMessage(pdu);
      ok++;
      // decoded search filters must also be evaluable
      if (m.request.type === 'search') compileFilter(m.request.filter).evaluate(toFilterEntry({ cn: ['x'], uidNumber: ['1'] }, 'cn=x,dc=y'));
      for (const c of m.controls) {
        try {
          decodePagedResultsValue(c.value);
        } catch (e) {
          assert.ok(e instanceof BerError, String(e));
        }
      }
    } catch (e) {
      assert.ok(e instanceof LdapDecodeError, `unexpected ${String(e)}`);
    }
  }
  // nextPdu never throws, whatever the offset
  nextPdu(buf, Math.floor(buf.length / 2));
  return ok;
}

function mutate(src: Buffer, rnd: () => number): Buffer {
  const b = Buffer.from(src);
  const pick = (n: number): number => Math.floor(rnd() * n);
  switch (pick(7)) {
    case 0: {
      // bit flips
      const n = 1 + pick(4);
      for (let i = 0; i < n; i++) {
        const at = pick(b.length);
        b[at] = b[at]! ^ (1 << pick(8));
      }
      return b;
    }
    case 1: // truncation
      return b.subarray(0, pick(b.length));
    case 2: {
      // length-field corruption: find a plausible length byte and replace it
      const at = 1 + pick(Math.max(1, b.length - 1));
      const choices = [0x00, 0x7f, 0x80, 0x81, 0x82, 0x84, 0x85, 0xff, b[at]! + 1, b[at]! - 1];
      b[at] = choices[pick(choices.length)]! & 0xff;
      return b;
    }
    case 3: {
      // random byte values
      const n = 1 + pick(3);
      for (let i = 0; i < n; i++) b[pick(b.length)] = pick(256);
      return b;
    }
    case 4: {
      // insertion
      const at = pick(b.length + 1);
      const ins = Buffer.from(Array.from({ length: 1 + pick(4) }, () => pick(256)));
      return Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
    }
    case 5: {
      // deletion
      const at = pick(b.length);
      return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + pick(3))]);
    }
    default: {
      // splice two corpus entries at random points
      const other = corpus[pick(corpus.length)]!;
      return Buffer.concat([b.subarray(0, pick(b.length)), other.subarray(pick(other.length))]);
    }
  }
}

describe('fuzz', { timeout: 60_000 }, () => {
  it('the corpus itself decodes', () => {
    for (const pdu of corpus) assert.equal(exercise(pdu), 2);
  });

  it('random buffers: only typed errors', () => {
    const rnd = prng(0xdecaf);
    let decoded = 0;
    for (let i = 0; i < 20_000; i++) {
      const len = Math.floor(rnd() * 48);
      const b = Buffer.from(Array.from({ length: len }, () => Math.floor(rnd() * 256)));
      if (len > 0 && rnd() < 0.5) b[0] = 0x30;
      if (len > 1 && rnd() < 0.5) b[1] = len - 2;
      decoded += exercise(b);
    }
    assert.ok(decoded >= 0);
  });

  it('mutated valid PDUs: only typed errors (and some still decode)', () => {
    const rnd = prng(20037);
    let decoded = 0;
    const t0 = performance.now();
    for (let i = 0; i < 40_000; i++) {
      let b = corpus[Math.floor(rnd() * corpus.length)]!;
      const rounds = 1 + Math.floor(rnd() * 3);
      for (let r = 0; r < rounds; r++) b = mutate(b, rnd);
      decoded += exercise(b);
    }
    const ms = performance.now() - t0;
    assert.ok(decoded > 100, `only ${decoded} mutated PDUs decoded`);
    assert.ok(ms < 10_000, `took ${ms} ms`);
  });

  it('stream of concatenated PDUs with one corrupted in the middle', () => {
    const rnd = prng(7);
    for (let i = 0; i < 2000; i++) {
      const parts = Array.from({ length: 4 }, () => corpus[Math.floor(rnd() * corpus.length)]!);
      parts[1] = mutate(parts[1]!, rnd);
      exercise(Buffer.concat(parts));
    }
  });

  it('filters, DNs and paged values from random input: only typed errors', () => {
    const rnd = prng(4515);
    const alphabet = '()&|!=*~<>:\\abcAZ09 ,+"#;.-é\0';
    for (let i = 0; i < 20_000; i++) {
      let s = '';
      const len = Math.floor(rnd() * 24);
      for (let k = 0; k < len; k++) s += alphabet[Math.floor(rnd() * alphabet.length)]!;
      try {
        const f = parseFilter(s);
        compileFilter(f).evaluate(toFilterEntry({ a: ['b'] }, 'cn=a'));
      } catch (e) {
        assert.ok(e instanceof FilterError, `parseFilter(${JSON.stringify(s)}) threw ${String(e)}`);
      }
      try {
        parseDn(s);
      } catch (e) {
        assert.ok(e instanceof DnError, `parseDn(${JSON.stringify(s)}) threw ${String(e)}`);
      }
      const b = Buffer.from(Array.from({ length: Math.floor(rnd() * 16) }, () => Math.floor(rnd() * 256)));
      if (b.length > 0 && rnd() < 0.7) b[0] = [0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0x87, 0xa9, 0x30][Math.floor(rnd() * 8)]!;
      for (const fn of [() => decodeFilter(b), () => decodePagedResultsValue(b)]) {
        try {
          fn();
        } catch (e) {
          assert.ok(e instanceof BerError, String(e));
        }
      }
    }
  });
});
