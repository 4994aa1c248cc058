// EAP-Failure for the Access-Reject to an EAP request (RFC 3579 §2.6.3): EAP code 4, the
// Identifier of the request's EAP packet, length 4. authentik's outpost (before EAP-TLS in
// 2025.10) rejected EAP requests with no EAP-Message at all, leaving the NAS to guess.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AttributeType, EapCode, RadiusEncodeError, eapFailureAttribute, eapFailureFor, eapIdentifier, type RawAttribute } from '../../../src/radius/protocol/index.ts';

const eap = (...parts: number[][]): RawAttribute[] => parts.map((p) => ({ type: AttributeType.eapMessage, value: Buffer.from(p) }));

describe('EAP-Failure', () => {
  it('is EAP-Message 04 <identifier> 00 04', () => {
    assert.deepEqual(eapFailureAttribute(0x2a), { type: 79, value: Buffer.from([4, 0x2a, 0, 4]) });
    assert.equal(EapCode.failure, 4);
    for (const bad of [-1, 256, 1.5]) assert.throws(() => eapFailureAttribute(bad), RadiusEncodeError);
  });

  it('answers the identifier of the request\'s EAP packet (an EAP-Response/Identity with id 7)', () => {
    const identity = eap([2, 7, 0, 10, 1, 0x61, 0x6c, 0x69, 0x63, 0x65]);
    assert.equal(eapIdentifier(identity), 7);
    assert.deepEqual(eapFailureFor([{ type: 1, value: Buffer.from('alice') }, ...identity]), { type: 79, value: Buffer.from([4, 7, 0, 4]) });
  });

  it('reads the identifier across fragments (EAP-Messages concatenated, RFC 3579 §3.1)', () => {
    assert.equal(eapIdentifier(eap([2], [0xc3, 0, 6], [1, 0x61])), 0xc3);
  });

  it('nothing for a request without EAP, or with fewer bytes than an EAP header', () => {
    assert.equal(eapFailureFor([{ type: 1, value: Buffer.from('alice') }]), undefined);
    assert.equal(eapFailureFor(eap([2, 9, 0])), undefined);
    assert.equal(eapFailureFor(eap([])), undefined);
  });
});
