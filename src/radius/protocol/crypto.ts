/**
 * The cryptographic primitives RADIUS uses (MD5, HMAC-MD5, constant-time comparison) and
 * shared-secret handling.
 */

import { createHash, createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

const REDACTED = '[redacted]';

/**
 * A shared secret prepared once (bytes + HMAC key object), e.g. per provider on refresh.
 * Passing one instead of a string saves the per-call conversion. It never prints its value:
 * `JSON.stringify` and `util.inspect` show "[redacted]".
 */
export class SharedSecret {
  readonly bytes: Buffer;
  readonly hmacKey: KeyObject;
  constructor(secret: string | Uint8Array) {
    // A buffer of its own, not a slice of Node's shared pool.
    const bytes = Buffer.alloc(typeof secret === 'string' ? Buffer.byteLength(secret, 'utf8') : secret.byteLength);
    if (typeof secret === 'string') bytes.write(secret, 'utf8');
    else bytes.set(secret);
    this.bytes = bytes;
    // On Node 24 an HMAC keyed with a KeyObject costs ~2 µs; keyed with a Buffer ~10 µs.
    this.hmacKey = createSecretKey(bytes);
  }
  toJSON(): string {
    return REDACTED;
  }
  toString(): string {
    return REDACTED;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `SharedSecret(${REDACTED})`;
  }
}

/** A shared secret: a string is used as its UTF-8 bytes (what every NAS config means). */
export type Secret = string | Uint8Array | SharedSecret;

export function sharedSecret(secret: Secret): SharedSecret {
  return secret instanceof SharedSecret ? secret : new SharedSecret(secret);
}

/** The secret's bytes, for hashing (no copy when already bytes). */
export function secretBytes(secret: Secret): Uint8Array {
  if (secret instanceof SharedSecret) return secret.bytes;
  return typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
}

/** MD5 over the concatenation of `parts`. */
export function md5(...parts: readonly Uint8Array[]): Buffer {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** HMAC-MD5 keyed with `secret` over the concatenation of `parts`. */
export function hmacMd5(secret: SharedSecret, ...parts: readonly Uint8Array[]): Buffer {
  const h = createHmac('md5', secret.hmacKey);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Constant-time equality; unequal lengths compare unequal (length is not secret here). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

/** Sixteen zero bytes: a zeroed authenticator or Message-Authenticator value. Never written to. */
export const ZERO16: Buffer = Buffer.alloc(16);
