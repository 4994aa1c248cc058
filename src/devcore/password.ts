// Password hashes in Django's format (`pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`), the
// format authentik stores. The dev core never keeps a plaintext password.
import { pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/** A stored hash. Generated bench users share one instance of this object (see model.ts). */
export interface PasswordHash {
  readonly encoded: string;
}

/**
 * authentik's real default is hundreds of thousands of iterations. The dev core defaults to a
 * low count so that benchmarks measure the outpost, not the fake server's hashing.
 */
export const DEFAULT_ITERATIONS = 1000;

const SALT_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function randomSalt(length = 22): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += SALT_CHARS[b % SALT_CHARS.length];
  return out;
}

export function hashPassword(password: string, iterations: number = DEFAULT_ITERATIONS): PasswordHash {
  if (!Number.isInteger(iterations) || iterations < 1) throw new RangeError('iterations must be a positive integer');
  const salt = randomSalt();
  const digest = pbkdf2Sync(password, salt, iterations, 32, 'sha256').toString('base64');
  return { encoded: `pbkdf2_sha256$${iterations}$${salt}$${digest}` };
}

/** Accepts a Django `pbkdf2_sha256$...` string given in a seed; throws if it is not one. */
export function parseEncodedHash(encoded: string): PasswordHash {
  const parts = encoded.split('$');
  if (parts.length !== 4 || parts[0] !== 'pbkdf2_sha256' || !/^\d+$/.test(parts[1] ?? '') || !parts[2] || !parts[3]) {
    throw new Error('password_hash must look like pbkdf2_sha256$<iterations>$<salt>$<base64>');
  }
  return { encoded };
}

/** Constant-time check of `password` against a stored hash. A null hash (unusable password) never matches. */
export function verifyPassword(hash: PasswordHash | null, password: string): boolean {
  if (!hash) return false;
  const [algorithm, iterText, salt, expectedB64] = hash.encoded.split('$');
  if (algorithm !== 'pbkdf2_sha256' || !iterText || salt === undefined || !expectedB64) return false;
  const expected = Buffer.from(expectedB64, 'base64');
  const iterations = Number(iterText);
  if (!Number.isSafeInteger(iterations) || iterations < 1 || expected.length === 0) return false;
  const actual = pbkdf2Sync(password, salt, iterations, expected.length, 'sha256');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
