/**
 * Interoperability with an independent implementation: the npm `radius` package
 * (retailnext/node-radius 1.1.4). Packets it encodes are decoded, verified and unhidden by
 * us; packets we encode are decoded and verified by it (its `decode` verifies request
 * Message-Authenticators and Accounting Request Authenticators, `verify_response` checks
 * Response Authenticators and response MAs).
 */

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import radius from 'radius';
import {
  AttributeType,
  MicrosoftAttribute,
  RadiusCode,
  VendorId,
  authenticateRequest,
  decodePacket,
  decodeUserPassword,
  encodeReply,
  encodeRequest,
  encodeResponse,
  getAttributes,
  getIPv4,
  getInteger,
  getString,
  getVendorAttributes,
  textAttribute,
  userPasswordAttribute,
  vendorSpecificAttribute,
  verifyAccountingRequestAuthenticator,
  verifyRequestMessageAuthenticator,
  verifyResponse,
  type RadiusPacket,
} from '../../../src/radius/protocol/index.ts';

const SECRET = 'sA-shared-secret';
const AUTH = Buffer.from('5e0b0cf5c2d1e3f4a5b6c7d8e9f00112', 'hex');

let dictDir = '';
before(() => {
  // node-radius ships no Microsoft dictionary; give it the two MS-CHAPv2 attributes we use.
  dictDir = mkdtempSync(join(tmpdir(), 'radius-dict-'));
  const file = join(dictDir, 'dictionary.microsoft');
  writeFileSync(
    file,
    ['VENDOR Microsoft 311', 'BEGIN-VENDOR Microsoft', 'ATTRIBUTE MS-CHAP-Challenge 11 octets', 'ATTRIBUTE MS-CHAP2-Response 25 octets', 'END-VENDOR Microsoft', ''].join('\n'),
  );
  radius.add_dictionary(file);
});
after(() => rmSync(dictDir, { recursive: true, force: true }));

function ok(b: Buffer): RadiusPacket {
  const r = decodePacket(b);
  assert.ok(r.ok, r.ok ? '' : r.detail);
  return r.packet;
}

function theirAccessRequest(password: string, addMa: boolean, secret = SECRET): Buffer {
  return radius.encode({
    code: 'Access-Request',
    secret,
    identifier: 17,
    add_message_authenticator: addMa,
    attributes: [
      ['User-Name', 'akadmin'],
      ['User-Password', password],
      ['NAS-IP-Address', '10.1.2.3'],
      ['NAS-Port', 4242],
      ['Proxy-State', Buffer.from('first')],
      ['Calling-Station-Id', 'aa-bb-cc-dd-ee-ff'],
      ['Proxy-State', Buffer.from([0, 1, 2])],
      ['Vendor-Specific', 311, [['MS-CHAP-Challenge', Buffer.alloc(16, 7)], ['MS-CHAP2-Response', Buffer.alloc(50, 9)]]],
    ],
  });
}

describe('node-radius → us: requests', () => {
  const passwords = ['p', 'arctangent', 'exactly16bytes!!', 'seventeen bytes!!', 'pässwörd;123456', 'x'.repeat(128)];

  for (const pw of passwords) {
    it(`Access-Request with MA, password of ${Buffer.byteLength(pw)} bytes`, () => {
      const p = ok(theirAccessRequest(pw, true));
      assert.equal(p.code, RadiusCode.accessRequest);
      assert.equal(p.identifier, 17);
      assert.equal(verifyRequestMessageAuthenticator(p, SECRET), 'valid');
      assert.deepEqual(authenticateRequest(p, SECRET, { requireMessageAuthenticator: true, limitProxyState: true }), { ok: true, messageAuthenticator: 'valid' });
      assert.deepEqual(decodeUserPassword(p, SECRET), { ok: true, password: pw });
    });
  }

  it('attributes in order, typed values, Proxy-State order, vendor sub-attributes', () => {
    const raw = theirAccessRequest('pw', true);
    const p = ok(raw);
    const theirs = radius.decode_without_secret({ packet: raw }).raw_attributes as [number, Buffer][];
    assert.deepEqual(
      p.attributes.map((a) => [a.type, a.value.toString('hex')]),
      theirs.map(([t, v]) => [Number(t), v.toString('hex')]),
    );
    assert.deepEqual(getString(p.attributes, AttributeType.userName), { ok: true, value: 'akadmin' });
    assert.deepEqual(getIPv4(p.attributes, AttributeType.nasIpAddress), { ok: true, value: '10.1.2.3' });
    assert.deepEqual(getInteger(p.attributes, AttributeType.nasPort), { ok: true, value: 4242 });
    assert.deepEqual(getAttributes(p.attributes, AttributeType.proxyState), [Buffer.from('first'), Buffer.from([0, 1, 2])]);
    assert.deepEqual(getVendorAttributes(p.attributes, VendorId.microsoft, MicrosoftAttribute.msChap2Response), [Buffer.alloc(50, 9)]);
    assert.equal(p.attributes.at(-1)?.type, AttributeType.messageAuthenticator, 'node-radius appends MA last');
  });

  it('wrong secret: MA invalid, password garbage', () => {
    const p = ok(theirAccessRequest('secret', true));
    assert.equal(verifyRequestMessageAuthenticator(p, 'sB'), 'invalid');
    assert.deepEqual(authenticateRequest(p, 'sB'), { ok: false, reason: 'invalid_message_authenticator' });
    assert.notDeepEqual(decodeUserPassword(p, 'sB'), { ok: true, password: 'secret' });
  });

  it('without MA: absent, allowed by default only', () => {
    const p = ok(theirAccessRequest('secret', false));
    assert.equal(verifyRequestMessageAuthenticator(p, SECRET), 'absent');
    assert.deepEqual(authenticateRequest(p, SECRET), { ok: true, messageAuthenticator: 'absent' });
    assert.deepEqual(authenticateRequest(p, SECRET, { limitProxyState: true }), { ok: false, reason: 'missing_message_authenticator' });
    assert.deepEqual(decodeUserPassword(p, SECRET), { ok: true, password: 'secret' });
  });

  it('Status-Server (node-radius adds MA automatically)', () => {
    const p = ok(radius.encode({ code: 'Status-Server', secret: SECRET, identifier: 1, attributes: [['NAS-Identifier', 'nas1']] }));
    assert.deepEqual(authenticateRequest(p, SECRET), { ok: true, messageAuthenticator: 'valid' });
    assert.deepEqual(authenticateRequest(p, 'wrong'), { ok: false, reason: 'invalid_message_authenticator' });
  });

  it('Accounting-Request Request Authenticator', () => {
    const raw = radius.encode({
      code: 'Accounting-Request',
      secret: SECRET,
      identifier: 2,
      attributes: [
        ['User-Name', 'bob'],
        ['Acct-Status-Type', 'Start'],
        ['Acct-Session-Id', 's1'],
      ],
    });
    const p = ok(raw);
    assert.equal(verifyAccountingRequestAuthenticator(p, SECRET), true);
    assert.deepEqual(authenticateRequest(p, SECRET), { ok: true, messageAuthenticator: 'absent' });
    assert.deepEqual(authenticateRequest(p, 'x'), { ok: false, reason: 'bad_request_authenticator' });
  });
});

describe('us → node-radius: responses', () => {
  it('reply to an MA-carrying request: verify_response accepts it (Response Authenticator and MA); MA is first', () => {
    const reqRaw = theirAccessRequest('pw', true);
    const req = ok(reqRaw);
    for (const code of [RadiusCode.accessAccept, RadiusCode.accessReject, RadiusCode.accessChallenge]) {
      const resp = encodeReply(req, { code, secret: SECRET, attributes: [textAttribute(AttributeType.replyMessage, 'hello'), textAttribute(AttributeType.state, 'st')] });
      assert.equal(radius.verify_response({ request: reqRaw, response: resp, secret: SECRET }), true, `code ${code}`);
      assert.equal(radius.verify_response({ request: reqRaw, response: resp, secret: 'wrong' }), false);
      const tampered = Buffer.from(resp);
      tampered[resp.length - 1] = resp[resp.length - 1]! ^ 1;
      assert.equal(radius.verify_response({ request: reqRaw, response: tampered, secret: SECRET }), false);
      const theirs = radius.decode({ packet: resp, secret: SECRET });
      assert.equal(theirs.raw_attributes[0]?.[0], 80);
      assert.deepEqual(
        (theirs.raw_attributes as [number, Buffer][]).filter(([t]) => t === 33).map(([, v]) => v),
        [Buffer.from('first'), Buffer.from([0, 1, 2])],
      );
      assert.equal((theirs.attributes as Record<string, unknown>)['Reply-Message'], 'hello');
    }
  });

  it('node-radius notices a missing response MA when the request had one (so the check above is real)', () => {
    const reqRaw = theirAccessRequest('pw', true);
    const resp = encodeReply(ok(reqRaw), { code: 2, secret: SECRET, messageAuthenticator: false });
    assert.equal(radius.verify_response({ request: reqRaw, response: resp, secret: SECRET }), false);
  });

  it('without MA our reply is byte-identical to node-radius encode_response (Proxy-State echoed after the attributes)', () => {
    const reqRaw = theirAccessRequest('pw', false);
    const theirReq = radius.decode({ packet: reqRaw, secret: SECRET });
    const theirs = radius.encode_response({ packet: theirReq, code: 'Access-Accept', secret: SECRET, attributes: [['Reply-Message', 'welcome'], ['Session-Timeout', 3600]] });
    const ours = encodeReply(ok(reqRaw), {
      code: RadiusCode.accessAccept,
      secret: SECRET,
      messageAuthenticator: false,
      attributes: [textAttribute(18, 'welcome'), { type: 27, value: Buffer.from([0, 0, 0x0e, 0x10]) }],
    });
    assert.equal(ours.toString('hex'), theirs.toString('hex'));
  });

  it('node-radius responses with MA appended last verify with our helpers', () => {
    const reqRaw = theirAccessRequest('pw', true);
    const theirReq = radius.decode({ packet: reqRaw, secret: SECRET });
    const theirs = radius.encode_response({ packet: theirReq, code: 'Access-Reject', secret: SECRET, attributes: [['Reply-Message', 'no']] });
    assert.deepEqual(verifyResponse(ok(theirs), reqRaw.subarray(4, 20), SECRET), { authenticator: true, messageAuthenticator: 'valid', messageAuthenticatorFirst: false });
  });

  it('Access-Accept to a Status-Server verifies', () => {
    const reqRaw = radius.encode({ code: 'Status-Server', secret: SECRET, identifier: 200, attributes: [] });
    const resp = encodeReply(ok(reqRaw), { code: RadiusCode.accessAccept, secret: SECRET });
    assert.equal(radius.verify_response({ request: reqRaw, response: resp, secret: SECRET }), true);
  });
});

describe('us → node-radius: requests', () => {
  it('Access-Request with hidden password and MA: decode verifies the MA and unhides the password', () => {
    for (const pw of ['pw', 'exactly16bytes!!', 'ü'.repeat(40)]) {
      const raw = encodeRequest({
        code: RadiusCode.accessRequest,
        identifier: 9,
        authenticator: AUTH,
        secret: SECRET,
        messageAuthenticator: true,
        attributes: [
          textAttribute(AttributeType.userName, 'akadmin'),
          userPasswordAttribute(pw, SECRET, AUTH),
          vendorSpecificAttribute(VendorId.microsoft, [{ type: MicrosoftAttribute.msChapChallenge, value: Buffer.alloc(16, 3) }]),
        ],
      });
      const theirs = radius.decode({ packet: raw, secret: SECRET });
      const attrs = theirs.attributes as Record<string, unknown>;
      assert.equal(attrs['User-Password'], pw);
      assert.equal(attrs['User-Name'], 'akadmin');
      assert.deepEqual((attrs['Vendor-Specific'] as Record<string, unknown>)['MS-CHAP-Challenge'], Buffer.alloc(16, 3));
      assert.throws(() => radius.decode({ packet: Buffer.from(raw), secret: 'wrong' }), /Message-Authenticator mismatch/);
    }
  });

  it('Accounting-Request: decode verifies our computed Request Authenticator', () => {
    const raw = encodeRequest({ code: RadiusCode.accountingRequest, identifier: 4, secret: SECRET, attributes: [textAttribute(1, 'bob'), textAttribute(44, 'sess')] });
    assert.equal((radius.decode({ packet: raw, secret: SECRET }).attributes as Record<string, unknown>)['Acct-Session-Id'], 'sess');
    assert.throws(() => radius.decode({ packet: raw, secret: 'wrong' }), /authenticator mismatch/);
  });

  it('Status-Server: decode verifies our MA', () => {
    const raw = encodeRequest({ code: RadiusCode.statusServer, identifier: 4, authenticator: AUTH, secret: SECRET });
    assert.equal(radius.decode({ packet: raw, secret: SECRET }).code, 'Status-Server');
    assert.throws(() => radius.decode({ packet: raw, secret: 'wrong' }), /Message-Authenticator mismatch/);
  });

  it('a raw response built by us for an MA-less request equals encodeResponse with the same inputs', () => {
    // Sanity that encodeReply is a thin wrapper (identifier/authenticator from the request).
    const req = ok(theirAccessRequest('pw', false));
    assert.deepEqual(
      encodeReply(req, { code: 3, secret: SECRET, echoProxyState: false }),
      encodeResponse({ code: 3, identifier: req.identifier, requestAuthenticator: req.authenticator, secret: SECRET }),
    );
  });
});
