/** Message-Authenticator, Accounting Request Authenticator, Response Authenticator and the request policy. */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  RadiusCode,
  SharedSecret,
  authenticateRequest,
  computeMessageAuthenticator,
  decodePacket,
  encodeRequest,
  encodeResponse,
  messageAuthenticatorIsFirst,
  textAttribute,
  verifyAccountingRequestAuthenticator,
  verifyRequestMessageAuthenticator,
  verifyResponse,
  verifyResponseMessageAuthenticator,
  type RadiusPacket,
  type RawAttribute,
} from '../../../src/radius/protocol/index.ts';
import { reference as ref } from './helpers.ts';

const AUTH = Buffer.from('a1a2a3a4a5a6a7a8a9aaabacadaeafb0', 'hex');
const SECRET = 'testing123';

function ok(b: Buffer): RadiusPacket {
  const r = decodePacket(b);
  assert.ok(r.ok, r.ok ? '' : r.detail);
  return r.packet;
}

/** An Access-Request with MA placed after `before` and followed by `after`, MA computed independently. */
function accessRequestWithMa(before: Buffer, after: Buffer, secret = SECRET, code = 1): Buffer {
  const b = ref.packet(code, 9, AUTH, Buffer.concat([before, ref.attr(80, Buffer.alloc(16)), after]));
  const off = 20 + before.length + 2;
  ref.messageAuthenticator(b, AUTH, off, secret).copy(b, off);
  return b;
}

describe('request Message-Authenticator', () => {
  const before = Buffer.concat([ref.attr(1, 'akadmin'), ref.attr(33, Buffer.from([7]))]);
  const after = ref.attr(31, '00-11-22-33-44-55');

  it('valid wherever it is placed', () => {
    assert.equal(verifyRequestMessageAuthenticator(ok(accessRequestWithMa(Buffer.alloc(0), after)), SECRET), 'valid');
    assert.equal(verifyRequestMessageAuthenticator(ok(accessRequestWithMa(before, after)), SECRET), 'valid');
    assert.equal(verifyRequestMessageAuthenticator(ok(accessRequestWithMa(before, Buffer.alloc(0))), SECRET), 'valid');
  });

  it('covers every byte of the packet: any single-bit change outside the MA value is detected', () => {
    const good = accessRequestWithMa(before, after);
    const maStart = 20 + before.length + 2;
    for (let i = 0; i < good.length; i++) {
      const bad = Buffer.from(good);
      bad[i] = bad[i]! ^ 0x01;
      const r = decodePacket(bad);
      if (!r.ok) continue; // flipped a length byte into something undecodable
      const status = verifyRequestMessageAuthenticator(r.packet, SECRET);
      // A flipped type byte can hide the MA ('absent') or duplicate it ('malformed'); never 'valid'.
      assert.notEqual(status, 'valid', `byte ${i}${i >= maStart && i < maStart + 16 ? ' (MA value)' : ''}`);
    }
  });

  it('wrong secret → invalid', () => {
    assert.equal(verifyRequestMessageAuthenticator(ok(accessRequestWithMa(before, after)), 'testing124'), 'invalid');
  });

  it('absent', () => {
    assert.equal(verifyRequestMessageAuthenticator(ok(ref.packet(1, 1, AUTH, before)), SECRET), 'absent');
  });

  it('an empty value counts as absent (authentik 2026.8, #25097), so it never satisfies a requirement', () => {
    const p = ok(ref.packet(1, 1, AUTH, Buffer.concat([before, ref.attr(80, Buffer.alloc(0)), after])));
    assert.equal(verifyRequestMessageAuthenticator(p, SECRET), 'absent');
    assert.deepEqual(authenticateRequest(p, SECRET), { ok: true, messageAuthenticator: 'absent' });
    assert.deepEqual(authenticateRequest(p, SECRET, { requireMessageAuthenticator: true }), { ok: false, reason: 'missing_message_authenticator' });
    const status = ok(ref.packet(12, 1, AUTH, Buffer.concat([before, ref.attr(80, Buffer.alloc(0))])));
    assert.deepEqual(authenticateRequest(status, SECRET), { ok: false, reason: 'missing_message_authenticator' });
    // An empty one beside a real one: two, malformed.
    const both = ok(ref.packet(1, 1, AUTH, Buffer.concat([ref.attr(80, Buffer.alloc(0)), accessRequestWithMa(before, after).subarray(20)])));
    assert.equal(verifyRequestMessageAuthenticator(both, SECRET), 'malformed');
  });

  it('malformed: wrong length (1, 15, 17 byte values) or more than one', () => {
    for (const n of [1, 15, 17]) {
      const p = ok(ref.packet(1, 1, AUTH, Buffer.concat([before, ref.attr(80, Buffer.alloc(n))])));
      assert.equal(verifyRequestMessageAuthenticator(p, SECRET), 'malformed', `${n}-byte value`);
      assert.deepEqual(authenticateRequest(p, SECRET), { ok: false, reason: 'malformed_message_authenticator' });
    }
    // Two MAs, the first one even correct for a packet with only one: still malformed.
    const one = accessRequestWithMa(before, Buffer.alloc(0));
    const two = ref.packet(1, 9, AUTH, Buffer.concat([one.subarray(20), ref.attr(80, Buffer.alloc(16))]));
    assert.equal(verifyRequestMessageAuthenticator(ok(two), SECRET), 'malformed');
  });

  it('computeMessageAuthenticator recomputes the value in place', () => {
    const good = accessRequestWithMa(before, after);
    const off = 20 + before.length + 2;
    assert.deepEqual(computeMessageAuthenticator(good, AUTH, SECRET), good.subarray(off, off + 16));
    assert.equal(computeMessageAuthenticator(ref.packet(1, 1, AUTH, before), AUTH, SECRET), undefined);
  });
});

describe('Accounting-Request authenticator (RFC 2866 §3)', () => {
  const attrs: RawAttribute[] = [textAttribute(1, 'bob'), { type: 40, value: Buffer.from([0, 0, 0, 1]) }, textAttribute(44, 'sess-1')];

  it('computed = MD5(code|id|len|16 zeros|attrs|secret)', () => {
    const b = encodeRequest({ code: RadiusCode.accountingRequest, identifier: 3, attributes: attrs, secret: SECRET });
    const zeroed = Buffer.from(b);
    zeroed.fill(0, 4, 20);
    assert.deepEqual(b.subarray(4, 20), ref.md5(zeroed, Buffer.from(SECRET)));
    const p = ok(b);
    assert.equal(verifyAccountingRequestAuthenticator(p, SECRET), true);
    assert.equal(verifyAccountingRequestAuthenticator(p, 'nope'), false);
    assert.deepEqual(authenticateRequest(p, SECRET), { ok: true, messageAuthenticator: 'absent' });
  });

  it('any modification → bad_request_authenticator', () => {
    const b = encodeRequest({ code: RadiusCode.accountingRequest, identifier: 3, attributes: attrs, secret: SECRET });
    for (const i of [1, 4, 19, 25, b.length - 1]) {
      const bad = Buffer.from(b);
      bad[i] = bad[i]! ^ 0x80;
      assert.deepEqual(authenticateRequest(ok(bad), SECRET), { ok: false, reason: 'bad_request_authenticator' }, `byte ${i}`);
    }
  });

  it('with a Message-Authenticator (computed over a zeroed authenticator field)', () => {
    const b = encodeRequest({ code: RadiusCode.accountingRequest, identifier: 3, attributes: attrs, secret: SECRET, messageAuthenticator: true });
    assert.deepEqual(b.subarray(22, 38), ref.messageAuthenticator(b, Buffer.alloc(16), 22, SECRET));
    assert.deepEqual(authenticateRequest(ok(b), SECRET), { ok: true, messageAuthenticator: 'valid' });
  });

  it('Disconnect-Request and CoA-Request (RFC 5176 §2.3) are checked the same way, so that authentic ones reach the listener', () => {
    for (const code of [RadiusCode.disconnectRequest, RadiusCode.coaRequest]) {
      const b = encodeRequest({ code, identifier: 4, attributes: [textAttribute(1, 'bob'), textAttribute(44, 'sess-1')], secret: SECRET });
      const zeroed = Buffer.from(b);
      zeroed.fill(0, 4, 20);
      assert.deepEqual(b.subarray(4, 20), ref.md5(zeroed, Buffer.from(SECRET)), `code ${code}: the computed authenticator`);
      assert.deepEqual(authenticateRequest(ok(b), SECRET), { ok: true, messageAuthenticator: 'absent' }, `code ${code}`);
      assert.deepEqual(authenticateRequest(ok(b), 'nope'), { ok: false, reason: 'bad_request_authenticator' }, `code ${code}, wrong secret`);
      const bad = Buffer.from(b);
      bad[b.length - 1] = bad[b.length - 1]! ^ 1;
      assert.deepEqual(authenticateRequest(ok(bad), SECRET), { ok: false, reason: 'bad_request_authenticator' }, `code ${code}, one bit changed`);
      // A random authenticator (what an Access-Request carries) is not one of these.
      assert.deepEqual(authenticateRequest(ok(ref.packet(code, 1, AUTH, Buffer.alloc(0))), SECRET), { ok: false, reason: 'bad_request_authenticator' });
    }
  });
});

describe('authenticateRequest policy', () => {
  const pap = (extra: RawAttribute[] = [], ma = false) =>
    ok(encodeRequest({ code: 1, identifier: 1, authenticator: AUTH, secret: SECRET, attributes: [textAttribute(1, 'u'), ...extra], messageAuthenticator: ma }));

  it('Access-Request: MA optional by default, required on demand', () => {
    assert.deepEqual(authenticateRequest(pap(), SECRET), { ok: true, messageAuthenticator: 'absent' });
    assert.deepEqual(authenticateRequest(pap([], true), SECRET), { ok: true, messageAuthenticator: 'valid' });
    assert.deepEqual(authenticateRequest(pap(), SECRET, { requireMessageAuthenticator: true }), { ok: false, reason: 'missing_message_authenticator' });
    assert.deepEqual(authenticateRequest(pap([], true), 'other', {}), { ok: false, reason: 'invalid_message_authenticator' });
  });

  it('Access-Request with EAP-Message must carry MA (RFC 3579 §3.2)', () => {
    const eap = { type: 79, value: Buffer.from([2, 1, 0, 6, 1, 0x41]) };
    assert.deepEqual(authenticateRequest(pap([eap], false), SECRET), { ok: false, reason: 'missing_message_authenticator' });
    assert.deepEqual(authenticateRequest(pap([eap], true), SECRET), { ok: true, messageAuthenticator: 'valid' });
  });

  it('limitProxyState: Proxy-State without MA is refused only when enabled', () => {
    const ps = { type: 33, value: Buffer.from([1]) };
    assert.deepEqual(authenticateRequest(pap([ps]), SECRET), { ok: true, messageAuthenticator: 'absent' });
    assert.deepEqual(authenticateRequest(pap([ps]), SECRET, { limitProxyState: true }), { ok: false, reason: 'missing_message_authenticator' });
    assert.deepEqual(authenticateRequest(pap([ps], true), SECRET, { limitProxyState: true }), { ok: true, messageAuthenticator: 'valid' });
    assert.deepEqual(authenticateRequest(pap(), SECRET, { limitProxyState: true }), { ok: true, messageAuthenticator: 'absent' });
  });

  it('Status-Server must carry a valid MA (RFC 5997)', () => {
    const without = ok(encodeRequest({ code: 12, identifier: 1, authenticator: AUTH, secret: SECRET, messageAuthenticator: false }));
    assert.deepEqual(authenticateRequest(without, SECRET), { ok: false, reason: 'missing_message_authenticator' });
    const withMa = ok(encodeRequest({ code: 12, identifier: 1, authenticator: AUTH, secret: SECRET }));
    assert.deepEqual(authenticateRequest(withMa, SECRET), { ok: true, messageAuthenticator: 'valid' });
    assert.deepEqual(authenticateRequest(withMa, 'x'), { ok: false, reason: 'invalid_message_authenticator' });
  });

  it('responses, Status-Client, CoA/Disconnect replies and unknown codes are unsupported', () => {
    for (const code of [2, 3, 5, 11, 13, 41, 42, 44, 45, 0, 255]) {
      assert.deepEqual(authenticateRequest(ok(ref.packet(code, 1, AUTH, Buffer.alloc(0))), SECRET), { ok: false, reason: 'unsupported_code' }, `code ${code}`);
    }
  });
});

describe('response verification', () => {
  it('our responses verify; tampering, wrong request authenticator or wrong secret do not', () => {
    const b = encodeResponse({ code: 2, identifier: 5, requestAuthenticator: AUTH, secret: SECRET, attributes: [textAttribute(18, 'ok')] });
    assert.deepEqual(verifyResponse(ok(b), AUTH, SECRET), { authenticator: true, messageAuthenticator: 'valid', messageAuthenticatorFirst: true });
    const other = Buffer.from(AUTH);
    other[0] = other[0]! ^ 1;
    assert.deepEqual(verifyResponse(ok(b), other, SECRET), { authenticator: false, messageAuthenticator: 'invalid', messageAuthenticatorFirst: true });
    assert.deepEqual(verifyResponse(ok(b), AUTH, 'x'), { authenticator: false, messageAuthenticator: 'invalid', messageAuthenticatorFirst: true });
    const tampered = Buffer.from(b);
    tampered[b.length - 1] = b[b.length - 1]! ^ 1;
    assert.deepEqual(verifyResponse(ok(tampered), AUTH, SECRET), { authenticator: false, messageAuthenticator: 'invalid', messageAuthenticatorFirst: true });
    const plain = ok(encodeResponse({ code: 3, identifier: 5, requestAuthenticator: AUTH, secret: SECRET, messageAuthenticator: false }));
    assert.equal(verifyResponseMessageAuthenticator(plain, AUTH, SECRET), 'absent');
    assert.equal(messageAuthenticatorIsFirst(plain), false);
  });
});

describe('SharedSecret', () => {
  it('gives the same results as the string it was made from, and never prints the secret', async () => {
    const { inspect } = await import('node:util');
    const prepared = new SharedSecret(SECRET);
    const b = encodeResponse({ code: 2, identifier: 5, requestAuthenticator: AUTH, secret: prepared });
    assert.deepEqual(b, encodeResponse({ code: 2, identifier: 5, requestAuthenticator: AUTH, secret: SECRET }));
    assert.deepEqual(b, encodeResponse({ code: 2, identifier: 5, requestAuthenticator: AUTH, secret: Buffer.from(SECRET) }));
    assert.equal(verifyResponse(ok(b), AUTH, prepared).messageAuthenticator, 'valid');
    const shown = `${JSON.stringify({ prepared })} ${inspect(prepared)} ${String(prepared)}`;
    assert.ok(!shown.includes(SECRET), shown);
    assert.ok(shown.includes('[redacted]'));
  });

  it('an empty secret still works (the server, not the codec, refuses empty secrets)', () => {
    const b = encodeResponse({ code: 2, identifier: 5, requestAuthenticator: AUTH, secret: '' });
    assert.deepEqual(verifyResponse(ok(b), AUTH, ''), { authenticator: true, messageAuthenticator: 'valid', messageAuthenticatorFirst: true });
  });
});
