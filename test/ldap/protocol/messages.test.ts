import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BerWriter } from '../../../src/ldap/protocol/ber.ts';
import {
  LdapDecodeError,
  OpTag,
  ResultCode,
  decodeMessage,
  encodeMessage,
  encodeNoticeOfDisconnection,
  encodeRequest,
  resultResponseFor,
  responseTagFor,
  tryDecodeMessage,
  writeMessage,
  type Control,
  type LdapRequest,
} from '../../../src/ldap/protocol/messages.ts';
import {
  ControlOid,
  decodePagedResultsValue,
  encodePagedResultsValue,
  findControl,
  pagedResultsResponseControl,
  unsupportedCriticalControls,
  whoAmIResponseValue,
} from '../../../src/ldap/protocol/controls.ts';
import { BerError } from '../../../src/ldap/protocol/ber.ts';
import { splitPdus } from '../../../src/ldap/protocol/framing.ts';
import { parseFilter } from '../../../src/ldap/protocol/filter.ts';
import { PagedResultsControl, BerWriter as LdaptsWriter } from 'ldapts';

function decodeError(buf: Buffer): LdapDecodeError {
  const r = tryDecodeMessage(buf);
  assert.equal(r.ok, false, 'expected a decode error');
  if (r.ok) throw new Error('unreachable');
  assert.ok(r.error instanceof LdapDecodeError);
  return r.error;
}

/** Builds a message from raw protocolOp bytes. */
function rawMessage(messageIdBytes: number[], opBytes: number[], extra: number[] = []): Buffer {
  const body = [0x02, messageIdBytes.length, ...messageIdBytes, ...opBytes, ...extra];
  return Buffer.from([0x30, body.length, ...body]);
}

const requests: LdapRequest[] = [
  { type: 'bind', version: 3, name: 'cn=alice,dc=x', authentication: { method: 'simple', password: Buffer.from('pw') } },
  { type: 'bind', version: 3, name: '', authentication: { method: 'sasl', mechanism: 'EXTERNAL', credentials: undefined } },
  { type: 'bind', version: 2, name: 'cn=a', authentication: { method: 'sasl', mechanism: 'PLAIN', credentials: Buffer.from('\0a\0b') } },
  { type: 'unbind' },
  {
    type: 'search',
    baseObject: 'dc=ldap,dc=goauthentik,dc=io',
    scope: 2,
    derefAliases: 3,
    sizeLimit: 2147483647,
    timeLimit: 30,
    typesOnly: true,
    filter: parseFilter('(&(objectClass=user)(|(cn=a*b*c)(uidNumber>=2000))(!(cn:dn:caseExactMatch:=X)))'),
    attributes: ['cn', '1.1', '*', '+'],
  },
  {
    type: 'modify',
    object: 'cn=a,dc=x',
    changes: [
      { operation: 2, modification: { type: 'mail', values: [Buffer.from('a@x')] } },
      { operation: 3, modification: { type: 'uidNumber', values: [Buffer.from('1')] } },
    ],
  },
  { type: 'add', entry: 'cn=b,dc=x', attributes: [{ type: 'cn', values: [Buffer.from('b')] }] },
  { type: 'delete', entry: 'cn=b,dc=x' },
  { type: 'modifyDN', entry: 'cn=b,dc=x', newRdn: 'cn=c', deleteOldRdn: false, newSuperior: 'ou=y,dc=x' },
  { type: 'compare', entry: 'cn=b,dc=x', attribute: 'cn', value: Buffer.from('b') },
  { type: 'abandon', abandonId: 0 },
  { type: 'extended', name: '1.3.6.1.4.1.4203.1.11.3', value: undefined },
  { type: 'extended', name: '1.3.6.1.4.1.4203.1.11.1', value: Buffer.from([0x30, 0]) },
];

describe('request round trips (our encoder -> our decoder)', () => {
  for (const r of requests) {
    it(`${r.type}${r.type === 'bind' ? ` ${r.authentication.method}` : ''}`, () => {
      const controls: Control[] = [
        { oid: '1.2.840.113556.1.4.319', criticality: true, value: encodePagedResultsValue({ size: 50, cookie: Buffer.alloc(0) }) },
        { oid: '2.16.840.1.113730.3.4.2', criticality: false, value: undefined },
      ];
      const m = decodeMessage(encodeRequest(2147483647, r, controls));
      assert.equal(m.messageId, 2147483647);
      assert.deepEqual(m.request, r);
      assert.deepEqual(m.controls, controls);
      assert.deepEqual(decodeMessage(encodeRequest(1, r)).controls, []);
    });
  }
});

describe('decode errors carry what could be read', () => {
  it('unknown protocolOp (a response tag sent by a client) keeps the messageID', () => {
    const e = decodeError(rawMessage([0x07], [0x61, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00]));
    assert.equal(e.kind, 'unknown-operation');
    assert.equal(e.messageId, 7);
    assert.equal(e.opTag, 0x61);
    assert.equal(e.operation, undefined);
  });

  it('unknown application tag (intermediate response / private op)', () => {
    const e = decodeError(rawMessage([0x01, 0x00], [0x79, 0x00]));
    assert.equal(e.kind, 'unknown-operation');
    assert.equal(e.messageId, 256);
  });

  it('malformed known operation keeps messageID and operation', () => {
    // bind with version 0
    const e = decodeError(rawMessage([0x09], [0x60, 0x07, 0x02, 0x01, 0x00, 0x04, 0x00, 0x80, 0x00]));
    assert.equal(e.kind, 'invalid-operation');
    assert.equal(e.messageId, 9);
    assert.equal(e.operation, 'bind');
    assert.ok(e.berError instanceof BerError);
    // bind with an unknown authentication choice
    const e2 = decodeError(rawMessage([0x09], [0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x81, 0x00]));
    assert.equal(e2.operation, 'bind');
    assert.equal(e2.kind, 'invalid-operation');
  });

  it('search with an out-of-range scope or a bad filter is an invalid search', () => {
    const good = encodeRequest(3, requests[4]!);
    const m = decodeMessage(good);
    assert.equal(m.request.type, 'search');
    // scope is the first ENUMERATED (0a 01 02) in the PDU; set it to 9
    const badScope = Buffer.from(good);
    const at = badScope.indexOf(Buffer.from([0x0a, 0x01, 0x02]));
    badScope[at + 2] = 9;
    const e = decodeError(badScope);
    assert.equal(e.kind, 'invalid-operation');
    assert.equal(e.operation, 'search');
    assert.equal(e.messageId, 3);
    // filter with an unknown CHOICE tag 0xaa
    const w = new BerWriter();
    w.start();
    w.writeInteger(4);
    w.start(0x63);
    w.writeOctetString('');
    w.writeEnumerated(0);
    w.writeEnumerated(0);
    w.writeInteger(0);
    w.writeInteger(0);
    w.writeBoolean(false);
    w.start(0xaa);
    w.end();
    w.start();
    w.end();
    w.end();
    w.end();
    const e2 = decodeError(w.toBuffer());
    assert.equal(e2.operation, 'search');
    assert.equal(e2.messageId, 4);
    assert.equal(e2.berError?.reason, 'unknown-filter');
  });

  it('messageID that cannot be read (negative, too long, wrong type)', () => {
    assert.equal(decodeError(rawMessage([0xff], [0x42, 0x00])).messageId, undefined);
    assert.equal(decodeError(rawMessage([0x01, 0, 0, 0, 0], [0x42, 0x00])).kind, 'malformed');
    const wrongType = Buffer.from([0x30, 0x05, 0x04, 0x01, 0x01, 0x42, 0x00]);
    assert.equal(decodeError(wrongType).kind, 'malformed');
  });

  it('trailing bytes after the LDAPMessage are malformed; trailing unknown components are ignored', () => {
    const unbind = encodeRequest(1, { type: 'unbind' });
    assert.equal(decodeError(Buffer.concat([unbind, Buffer.from([0x00])])).kind, 'malformed');
    // RFC 4511 §4: an extra unknown component after controls is ignored
    const withExtra = rawMessage([0x01], [0x42, 0x00], [0xa0, 0x00, 0x8f, 0x01, 0x00]);
    assert.deepEqual(decodeMessage(withExtra).request, { type: 'unbind' });
    // and an extra component inside an operation is ignored too
    const bindExtra = rawMessage([0x02], [0x60, 0x0a, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00, 0x8f, 0x01, 0x00]);
    assert.equal(decodeMessage(bindExtra).request.type, 'bind');
  });

  it('an element that overruns its parent by exactly one byte is refused, even when that byte is there', () => {
    // bind { version 3, name '', simple 'x' }: the bind's length is one short, so the password's
    // one content byte lies just past the bind, inside the message.
    const ok = rawMessage([0x01], [0x60, 0x08, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x01, 0x78]);
    assert.equal(decodeMessage(ok).request.type, 'bind', 'the well-formed twin decodes');
    const e = decodeError(rawMessage([0x01], [0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x01, 0x78]));
    // Refused inside the bind, where the overrun is (not later, at the stray byte after it).
    assert.deepEqual([e.kind, e.operation, e.messageId], ['invalid-operation', 'bind', 1]);
    // the message itself one byte short: its operation ends on the first byte of what follows
    const pdu = rawMessage([0x01], [0x42, 0x00]);
    const shortMessage = Buffer.concat([Buffer.from([0x30, pdu[1]! - 1]), pdu.subarray(2)]);
    decodeError(shortMessage);
  });

  it('malformed controls keep messageID and operation', () => {
    // controls [0] containing a control without controlType
    const e = decodeError(rawMessage([0x05], [0x42, 0x00], [0xa0, 0x02, 0x30, 0x00]));
    assert.equal(e.kind, 'invalid-controls');
    assert.equal(e.messageId, 5);
    assert.equal(e.operation, 'unbind');
  });

  it('decodeMessage throws only LdapDecodeError', () => {
    assert.throws(() => decodeMessage(Buffer.from([0x30])), LdapDecodeError);
    assert.throws(() => decodeMessage(Buffer.alloc(0)), LdapDecodeError);
  });
});

describe('controls', () => {
  it('unknown controls are returned; critical unknown ones are found for unavailableCriticalExtension', () => {
    const controls: Control[] = [
      { oid: ControlOid.pagedResults, criticality: true, value: encodePagedResultsValue({ size: 10, cookie: Buffer.from('c') }) },
      { oid: '1.2.840.113556.1.4.473', criticality: true, value: Buffer.from([0x30, 0x00]) }, // server-side sort
      { oid: '1.3.6.1.4.1.42.2.27.8.5.1', criticality: false, value: undefined }, // ppolicy
    ];
    const m = decodeMessage(encodeRequest(1, { type: 'unbind' }, controls));
    const supported = new Set<string>([ControlOid.pagedResults]);
    assert.deepEqual(
      unsupportedCriticalControls(m.controls, supported).map((c) => c.oid),
      ['1.2.840.113556.1.4.473'],
    );
    assert.deepEqual(decodePagedResultsValue(findControl(m.controls, ControlOid.pagedResults)?.value), { size: 10, cookie: Buffer.from('c') });
  });

  it('criticality defaults to false; a value without criticality decodes', () => {
    const body = [0x30, 0x0a, 0x04, 0x03, 0x31, 0x2e, 0x32, 0x04, 0x03, 0x61, 0x62, 0x63];
    const m = decodeMessage(rawMessage([0x01], [0x42, 0x00], [0xa0, body.length, ...body]));
    assert.deepEqual(m.controls, [{ oid: '1.2', criticality: false, value: Buffer.from('abc') }]);
  });

  it('paged results value: ldapts-written request value decodes; ours round-trips', () => {
    const lw = new LdaptsWriter();
    new PagedResultsControl({ value: { size: 250, cookie: Buffer.from('next') } }).write(lw);
    const m = decodeMessage(rawMessage([0x01], [0x42, 0x00], [0xa0, lw.buffer.length, ...lw.buffer]));
    assert.deepEqual(decodePagedResultsValue(m.controls[0]!.value), { size: 250, cookie: Buffer.from('next') });
    const c = pagedResultsResponseControl(0, Buffer.alloc(0));
    assert.deepEqual(c, { oid: ControlOid.pagedResults, criticality: false, value: Buffer.from([0x30, 0x05, 0x02, 0x01, 0x00, 0x04, 0x00]) });
  });

  it('malformed paged results values are BerErrors', () => {
    for (const v of [undefined, Buffer.alloc(0), Buffer.from([0x30, 0x03, 0x02, 0x01, 0x05]), Buffer.from([0x30, 0x05, 0x02, 0x01, 0xff, 0x04, 0x00]), Buffer.from([0x04, 0x00])]) {
      assert.throws(() => decodePagedResultsValue(v), BerError);
    }
  });

  it('WhoAmI response value', () => {
    assert.equal(whoAmIResponseValue('cn=a,dc=x').toString(), 'dn:cn=a,dc=x');
    assert.equal(whoAmIResponseValue(undefined).length, 0);
  });
});

describe('response encoding', () => {
  it('BindResponse success has the canonical bytes', () => {
    assert.equal(encodeMessage(1, { type: 'bind', resultCode: 0 }).toString('hex'), '300c02010161070a010004000400');
  });

  it('SearchResultDone with referral and a response control', () => {
    const buf = encodeMessage(3, { type: 'searchDone', resultCode: ResultCode.referral, referral: ['ldap://a/'] }, [pagedResultsResponseControl(0, Buffer.alloc(0))]);
    assert.equal(buf[5], OpTag.searchResultDone);
    assert.ok(buf.includes(Buffer.from('a30b04096c6461703a2f2f612f', 'hex')));
    assert.ok(buf.includes(Buffer.from('1.2.840.113556.1.4.319')));
  });

  it('SearchResultEntry typesOnly sends empty value sets', () => {
    const w = encodeMessage(2, { type: 'searchEntry', objectName: 'cn=a', attributes: [{ type: 'cn', values: ['a', 'b'] }], typesOnly: true });
    assert.equal(w.toString('hex'), '301502010264' + '10' + '0404636e3d61' + '3008' + '3006' + '0402636e' + '3100');
  });

  it('ExtendedResponse name/value tags [10]/[11]', () => {
    const b = encodeMessage(4, { type: 'extended', resultCode: 0, responseName: '1.2', responseValue: Buffer.from('v') });
    assert.ok(b.includes(Buffer.from('8a03312e32', 'hex')));
    assert.ok(b.includes(Buffer.from('8b0176', 'hex')));
  });

  it('Notice of Disconnection uses messageID 0 and the 1.3.6.1.4.1.1466.20036 name', () => {
    const b = encodeNoticeOfDisconnection(ResultCode.protocolError);
    assert.equal(b.toString('hex'), '302402010078' + '1f' + '0a0102' + '0400' + '0400' + '8a16' + Buffer.from('1.3.6.1.4.1.1466.20036').toString('hex'));
  });

  it('resultResponseFor / responseTagFor map every request type', () => {
    const types = ['bind', 'unbind', 'search', 'modify', 'add', 'delete', 'modifyDN', 'compare', 'abandon', 'extended'] as const;
    for (const t of types) {
      const resp = resultResponseFor(t, { resultCode: ResultCode.insufficientAccessRights });
      const tag = responseTagFor(t);
      if (t === 'unbind' || t === 'abandon') {
        assert.equal(resp, undefined);
        assert.equal(tag, undefined);
        continue;
      }
      assert.ok(resp);
      const b = encodeMessage(1, resp);
      assert.equal(b[5], tag, t);
    }
  });

  it('writeMessage batches several messages into one buffer', () => {
    const w = new BerWriter();
    for (let i = 1; i <= 3; i++) writeMessage(w, 9, { type: 'searchEntry', objectName: `cn=${i}`, attributes: [] });
    writeMessage(w, 9, { type: 'searchDone', resultCode: 0 });
    const r = splitPdus(w.toBuffer());
    assert.equal(r.pdus.length, 4);
    assert.throws(() => encodeMessage(-1, { type: 'searchDone', resultCode: 0 }), RangeError);
  });
});
