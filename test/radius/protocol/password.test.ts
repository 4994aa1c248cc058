/** User-Password hiding (RFC 2865 §5.2). */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  RadiusEncodeError,
  decodePacket,
  decodeUserPassword,
  encodeRequest,
  hidePassword,
  textAttribute,
  unhidePassword,
  userPasswordAttribute,
} from '../../../src/radius/protocol/index.ts';
import { prng, randomBytes } from './helpers.ts';

const AUTH = Buffer.from('0f403f9473978057bd83d5cb98f4227a', 'hex');

/** Straightforward reference: pad, then c_i = p_i xor MD5(S + c_{i-1}), c_0 = RA. */
function referenceHide(p: Buffer, secret: Buffer, ra: Buffer): Buffer {
  const padLength = p.length === 0 ? 16 : (16 - (p.length % 16)) % 16;
  const padded = Buffer.concat([p, Buffer.alloc(padLength)]);
  const out: Buffer[] = [];
  let prev = ra;
  for (let i = 0; i < padded.length; i += 16) {
    const b = createHash('md5').update(Buffer.concat([secret, prev])).digest();
    const c = Buffer.from(padded.subarray(i, i + 16).map((x, j) => x ^ b[j]!));
    out.push(c);
    prev = c;
  }
  return Buffer.concat(out);
}

describe('hidePassword / unhidePassword', () => {
  it('matches an independent implementation and round-trips for 0..128 bytes', () => {
    const rand = prng(7);
    for (let n = 0; n <= 128; n++) {
      const pw = Buffer.from(randomBytes(rand, n).map((x) => x | 1)); // no NULs
      const secret = randomBytes(rand, 1 + (n % 40));
      const hidden = hidePassword(pw, secret, AUTH);
      assert.equal(hidden.length, Math.max(16, Math.ceil(n / 16) * 16), `length for ${n}`);
      assert.deepEqual(hidden, referenceHide(pw, secret, AUTH), `bytes for ${n}`);
      assert.deepEqual(unhidePassword(hidden, secret, AUTH), { ok: true, password: pw });
    }
  });

  it('chains blocks: changing ciphertext block 1 garbles plaintext block 2 only (and block 1)', () => {
    const pw = Buffer.from('a'.repeat(40));
    const hidden = hidePassword(pw, 's', AUTH);
    hidden[0] = hidden[0]! ^ 1;
    const r = unhidePassword(hidden, 's', AUTH);
    assert.ok(r.ok);
    if (r.ok) {
      assert.notDeepEqual(r.password.subarray(16, 32), pw.subarray(16, 32));
      assert.deepEqual(r.password.subarray(32), pw.subarray(32));
    }
  });

  it('cuts the plaintext at the first NUL (authentik, FreeRADIUS and node-radius behaviour)', () => {
    const hidden = hidePassword(Buffer.from('abc\0def'), 's', AUTH);
    assert.deepEqual(unhidePassword(hidden, 's', AUTH), { ok: true, password: Buffer.from('abc') });
  });

  it('a string secret equals its UTF-8 bytes', () => {
    assert.deepEqual(hidePassword('pw', 'sëcret', AUTH), hidePassword('pw', Buffer.from('sëcret', 'utf8'), AUTH));
  });

  it('refuses more than 128 bytes and a bad authenticator when hiding', () => {
    assert.throws(() => hidePassword('x'.repeat(129), 's', AUTH), (e: unknown) => e instanceof RadiusEncodeError && e.kind === 'invalid_value');
    assert.throws(() => hidePassword('x', 's', AUTH.subarray(1)), RadiusEncodeError);
  });

  it('rejects hidden lengths that are 0, not a multiple of 16, or above 128', () => {
    for (const n of [0, 1, 15, 17, 31, 33, 127, 129, 144, 253]) {
      assert.deepEqual(unhidePassword(Buffer.alloc(n), 's', AUTH), { ok: false, reason: 'bad_length' }, `length ${n}`);
    }
    assert.deepEqual(unhidePassword(Buffer.alloc(16), 's', AUTH.subarray(0, 15)), { ok: false, reason: 'bad_length' });
  });
});

describe('decodeUserPassword', () => {
  const enc = (attrs: Parameters<typeof encodeRequest>[0]['attributes']) => {
    const r = decodePacket(encodeRequest({ code: 1, identifier: 1, authenticator: AUTH, secret: 'sA', attributes: attrs }));
    assert.ok(r.ok);
    return r.packet;
  };

  it('uses the first User-Password, the packet authenticator and the given secret', () => {
    const p = enc([textAttribute(1, 'akadmin'), userPasswordAttribute('pw;123456', 'sA', AUTH), userPasswordAttribute('other', 'sA', AUTH)]);
    assert.deepEqual(decodeUserPassword(p, 'sA'), { ok: true, password: 'pw;123456' });
    const wrong = decodeUserPassword(p, 'sB');
    assert.ok(wrong.ok && wrong.password !== 'pw;123456', 'a wrong secret yields garbage, not an error (authentik rejects via the flow)');
  });

  it('absent and odd-length values are typed failures', () => {
    assert.deepEqual(decodeUserPassword(enc([textAttribute(1, 'x')]), 'sA'), { ok: false, reason: 'absent' });
    assert.deepEqual(decodeUserPassword(enc([{ type: 2, value: Buffer.alloc(17) }]), 'sA'), { ok: false, reason: 'bad_length' });
    assert.deepEqual(decodeUserPassword(enc([{ type: 2, value: Buffer.alloc(0) }]), 'sA'), { ok: false, reason: 'bad_length' });
  });
});
