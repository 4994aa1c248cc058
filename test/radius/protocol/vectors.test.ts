/**
 * Published test vectors: RFC 2865 §7.1 (PAP Access-Request / Access-Accept) and
 * RFC 5997 §6 (Status-Server with Message-Authenticator, and its Access-Accept).
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AttributeType,
  RadiusCode,
  authenticateRequest,
  decodePacket,
  decodeUserPassword,
  encodeRequest,
  encodeResponse,
  getIPv4,
  getInteger,
  getString,
  hidePassword,
  integerAttribute,
  ipv4Attribute,
  textAttribute,
  userPasswordAttribute,
  verifyRequestMessageAuthenticator,
  verifyResponseAuthenticator,
  type RadiusPacket,
} from '../../../src/radius/protocol/index.ts';
import { hex } from './helpers.ts';

const SECRET = 'xyzzy5461';

function decoded(b: Buffer): RadiusPacket {
  const r = decodePacket(b);
  assert.ok(r.ok, r.ok ? '' : r.detail);
  return r.packet;
}

describe('RFC 2865 §7.1: user nemo, PAP, secret xyzzy5461', () => {
  const request = hex(`01 00 00 38 0f 40 3f 94 73 97 80 57 bd 83 d5 cb
                       98 f4 22 7a 01 06 6e 65 6d 6f 02 12 0d be 70 8d
                       93 d4 13 ce 31 96 e4 3f 78 2a 0a ee 04 06 c0 a8
                       01 10 05 06 00 00 00 03`);
  const accept = hex(`02 00 00 26 86 fe 22 0e 76 24 ba 2a 10 05 f6 bf
                      9b 55 e0 b2 06 06 00 00 00 01 0f 06 00 00 00 00
                      0e 06 c0 a8 01 03`);
  const requestAuth = request.subarray(4, 20);

  it('decodes the Access-Request and its attributes', () => {
    const p = decoded(request);
    assert.equal(p.code, RadiusCode.accessRequest);
    assert.equal(p.identifier, 0);
    assert.deepEqual(p.authenticator, requestAuth);
    assert.deepEqual(
      p.attributes.map((a) => a.type),
      [1, 2, 4, 5],
    );
    assert.deepEqual(getString(p.attributes, AttributeType.userName), { ok: true, value: 'nemo' });
    assert.deepEqual(getIPv4(p.attributes, AttributeType.nasIpAddress), { ok: true, value: '192.168.1.16' });
    assert.deepEqual(getInteger(p.attributes, AttributeType.nasPort), { ok: true, value: 3 });
  });

  it('unhides User-Password "arctangent"', () => {
    assert.deepEqual(decodeUserPassword(decoded(request), SECRET), { ok: true, password: 'arctangent' });
  });

  it('hides "arctangent" to the published bytes', () => {
    assert.equal(hidePassword('arctangent', SECRET, requestAuth).toString('hex'), request.subarray(28, 44).toString('hex'));
  });

  it('re-encodes the request byte-for-byte', () => {
    const built = encodeRequest({
      code: RadiusCode.accessRequest,
      identifier: 0,
      authenticator: requestAuth,
      secret: SECRET,
      attributes: [
        textAttribute(AttributeType.userName, 'nemo'),
        userPasswordAttribute('arctangent', SECRET, requestAuth),
        ipv4Attribute(AttributeType.nasIpAddress, '192.168.1.16'),
        integerAttribute(AttributeType.nasPort, 3),
      ],
    });
    assert.equal(built.toString('hex'), request.toString('hex'));
  });

  it('encodes the Access-Accept byte-for-byte (Response Authenticator, no MA)', () => {
    const built = encodeResponse({
      code: RadiusCode.accessAccept,
      identifier: 0,
      requestAuthenticator: requestAuth,
      secret: SECRET,
      messageAuthenticator: false,
      attributes: [integerAttribute(AttributeType.serviceType, 1), integerAttribute(15, 0), ipv4Attribute(14, '192.168.1.3')],
    });
    assert.equal(built.toString('hex'), accept.toString('hex'));
    assert.equal(verifyResponseAuthenticator(accept, requestAuth, SECRET), true);
    assert.equal(verifyResponseAuthenticator(accept, requestAuth, 'xyzzy5462'), false);
  });

  it('the request has no Message-Authenticator and passes the default policy only', () => {
    const p = decoded(request);
    assert.equal(verifyRequestMessageAuthenticator(p, SECRET), 'absent');
    assert.deepEqual(authenticateRequest(p, SECRET), { ok: true, messageAuthenticator: 'absent' });
    assert.deepEqual(authenticateRequest(p, SECRET, { requireMessageAuthenticator: true }), { ok: false, reason: 'missing_message_authenticator' });
  });
});

describe('RFC 5997 §6: Status-Server, secret xyzzy5461', () => {
  const statusServer = hex(`0c da 00 26 8a 54 f4 68 6f b3 94 c5 28 66 e3 02
                            18 5d 06 23 50 12 5a 66 5e 2e 1e 84 11 f3 e2 43
                            82 20 97 c8 4f a3`);
  const accept = hex(`02 da 00 14 ef 0d 55 2a 4b f2 d6 93 ec 2b 6f e8 b5 41 1d 66`);
  const auth = statusServer.subarray(4, 20);

  it('verifies the Message-Authenticator', () => {
    const p = decoded(statusServer);
    assert.equal(p.code, RadiusCode.statusServer);
    assert.equal(verifyRequestMessageAuthenticator(p, SECRET), 'valid');
    assert.deepEqual(authenticateRequest(p, SECRET), { ok: true, messageAuthenticator: 'valid' });
    assert.equal(verifyRequestMessageAuthenticator(p, 'xyzzy546'), 'invalid');
  });

  it('encodes the same Status-Server (MA added automatically)', () => {
    const built = encodeRequest({ code: RadiusCode.statusServer, identifier: 0xda, authenticator: auth, secret: SECRET });
    assert.equal(built.toString('hex'), statusServer.toString('hex'));
  });

  it('encodes the published 20-byte Access-Accept', () => {
    const built = encodeResponse({ code: RadiusCode.accessAccept, identifier: 0xda, requestAuthenticator: auth, secret: SECRET, messageAuthenticator: false });
    assert.equal(built.toString('hex'), accept.toString('hex'));
  });
});
