// Credentials an Access-Request may carry once only (RFC 2865 §4.1 and §5.44, RFC 3579 §3.3
// note 1, RFC 2548). authentik's outpost takes the first User-Name and the first
// User-Password of whatever arrives; a NAS may read the last. Such a request is ambiguous and
// dropped as malformed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AttributeType, MicrosoftAttribute, VendorId, checkCredentials, textAttribute, userPasswordAttribute, vendorSpecificAttribute, type RawAttribute } from '../../../src/radius/protocol/index.ts';

const AUTH = Buffer.alloc(16, 3);
const name = (n: string): RawAttribute => textAttribute(AttributeType.userName, n);
const pap = (p: string): RawAttribute => userPasswordAttribute(p, 's', AUTH);
const chap: RawAttribute = { type: AttributeType.chapPassword, value: Buffer.alloc(17, 1) };
const arap: RawAttribute = { type: AttributeType.arapPassword, value: Buffer.alloc(16, 2) };
const eap = (v: number[]): RawAttribute => ({ type: AttributeType.eapMessage, value: Buffer.from(v) });
const msChap2 = vendorSpecificAttribute(VendorId.microsoft, [{ type: MicrosoftAttribute.msChap2Response, value: Buffer.alloc(50, 4) }]);
const msChap1 = vendorSpecificAttribute(VendorId.microsoft, [{ type: MicrosoftAttribute.msChapResponse, value: Buffer.alloc(50, 5) }]);

describe('checkCredentials', () => {
  it('one name and one password of any kind are fine, as are none', () => {
    for (const attrs of [[name('alice'), pap('x')], [name('alice'), chap], [name('alice'), arap], [name('alice'), msChap2], [name('alice'), eap([2, 1, 0, 4])], [], [pap('x')]]) {
      assert.deepEqual(checkCredentials(attrs), { ok: true });
    }
  });

  it('an EAP packet split over several EAP-Messages counts once', () => {
    assert.deepEqual(checkCredentials([name('alice'), eap([2, 1]), eap([0, 6, 1, 0x61])]), { ok: true });
  });

  it('two User-Names → multiple_user_names', () => {
    assert.deepEqual(checkCredentials([name('alice'), pap('x'), name('bob')]), { ok: false, reason: 'multiple_user_names', detail: '2 User-Name attributes (RFC 2865 allows one)' });
  });

  it('two passwords of one kind, or of two kinds → multiple_passwords, naming the kinds and never a value', () => {
    const cases: [RawAttribute[], string][] = [
      [[name('alice'), pap('first'), pap('second')], '2 User-Password'],
      [[name('alice'), pap('secret-pw'), chap], '1 User-Password, 1 CHAP-Password'],
      [[name('alice'), chap, chap], '2 CHAP-Password'],
      [[name('alice'), pap('x'), eap([2, 1, 0, 4])], '1 User-Password, 1 EAP-Message'],
      [[name('alice'), arap, msChap2], '1 ARAP-Password, 1 MS-CHAP2-Response'],
      [[name('alice'), msChap1, msChap2], '1 MS-CHAP-Response, 1 MS-CHAP2-Response'],
    ];
    for (const [attrs, found] of cases) {
      const r = checkCredentials(attrs);
      assert.equal(r.ok, false, found);
      assert.ok(!r.ok && r.reason === 'multiple_passwords', found);
      assert.ok(!r.ok && r.detail.startsWith(`${found} (`), `${found}: ${!r.ok ? r.detail : ''}`);
      assert.ok(!r.ok && !/first|second|secret-pw/.test(r.detail));
    }
  });
});
