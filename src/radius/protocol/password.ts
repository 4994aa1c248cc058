/**
 * User-Password hiding (RFC 2865 §5.2).
 *
 *   b1 = MD5(S + RA)        c(1) = p1 xor b1
 *   bi = MD5(S + c(i-1))    c(i) = pi xor bi
 *
 * The plaintext is NUL-padded to a multiple of 16 bytes, at most 128. On decode the hidden
 * value must be 16..128 bytes in 16-byte multiples; the plaintext is cut at the first NUL,
 * which is what authentik (layeh/radius), FreeRADIUS and node-radius all do (for passwords
 * without an embedded NUL this is the same as stripping the trailing padding).
 *
 * Every chunk costs one MD5 and 16 XORs whatever its content: there is no early exit.
 */

import { AttributeType, getAttribute } from './attributes.ts';
import { type Secret, md5, secretBytes } from './crypto.ts';
import { RadiusEncodeError } from './errors.ts';
import type { RadiusPacket, RawAttribute } from './packet.ts';

export const MAX_PASSWORD_LENGTH = 128;
const CHUNK = 16;

function check(authenticator: Uint8Array): void {
  if (authenticator.length !== CHUNK) throw new RadiusEncodeError('invalid_header', `request authenticator must be 16 bytes, got ${authenticator.length}`);
}

/**
 * Hides `password` (UTF-8 if a string). An empty password becomes one chunk of padding.
 * Throws `RadiusEncodeError` when longer than 128 bytes.
 */
export function hidePassword(password: string | Uint8Array, secret: Secret, requestAuthenticator: Uint8Array): Buffer {
  check(requestAuthenticator);
  const plain = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  if (plain.length > MAX_PASSWORD_LENGTH) {
    throw new RadiusEncodeError('invalid_value', `User-Password of ${plain.length} bytes > ${MAX_PASSWORD_LENGTH}`);
  }
  const padded = Buffer.alloc(Math.max(CHUNK, Math.ceil(plain.length / CHUNK) * CHUNK));
  padded.set(plain);
  const s = secretBytes(secret);
  const out = Buffer.alloc(padded.length);
  let prev: Uint8Array = requestAuthenticator;
  for (let i = 0; i < padded.length; i += CHUNK) {
    const b = md5(s, prev);
    for (let j = 0; j < CHUNK; j++) out[i + j] = padded[i + j]! ^ b[j]!;
    prev = out.subarray(i, i + CHUNK);
  }
  return out;
}

export type UnhideResult = { readonly ok: true; readonly password: Buffer } | { readonly ok: false; readonly reason: 'bad_length' };

/** Recovers the plaintext bytes (cut at the first NUL). Never throws. */
export function unhidePassword(hidden: Uint8Array, secret: Secret, requestAuthenticator: Uint8Array): UnhideResult {
  if (hidden.length < CHUNK || hidden.length > MAX_PASSWORD_LENGTH || hidden.length % CHUNK !== 0 || requestAuthenticator.length !== CHUNK) {
    return { ok: false, reason: 'bad_length' };
  }
  const s = secretBytes(secret);
  const out = Buffer.alloc(hidden.length);
  let prev: Uint8Array = requestAuthenticator;
  for (let i = 0; i < hidden.length; i += CHUNK) {
    const b = md5(s, prev);
    for (let j = 0; j < CHUNK; j++) out[i + j] = hidden[i + j]! ^ b[j]!;
    prev = hidden.subarray(i, i + CHUNK);
  }
  const nul = out.indexOf(0);
  return { ok: true, password: nul === -1 ? out : out.subarray(0, nul) };
}

export type UserPasswordResult =
  | { readonly ok: true; readonly password: string }
  | { readonly ok: false; readonly reason: 'absent' | 'bad_length' };

/**
 * The first User-Password of an Access-Request, unhidden with `secret` and the packet's
 * Request Authenticator, as a string (invalid UTF-8 becomes U+FFFD). authentik treats both
 * failures as the empty password. Never throws.
 */
export function decodeUserPassword(packet: RadiusPacket, secret: Secret): UserPasswordResult {
  const hidden = getAttribute(packet.attributes, AttributeType.userPassword);
  if (hidden === undefined) return { ok: false, reason: 'absent' };
  const r = unhidePassword(hidden, secret, packet.authenticator);
  if (!r.ok) return r;
  return { ok: true, password: r.password.toString('utf8') };
}

/** Builds a User-Password attribute. Throws `RadiusEncodeError`. */
export function userPasswordAttribute(password: string | Uint8Array, secret: Secret, requestAuthenticator: Uint8Array): RawAttribute {
  return { type: AttributeType.userPassword, value: hidePassword(password, secret, requestAuthenticator) };
}
