// RFC 4226 HOTP / RFC 6238 TOTP (HMAC-SHA1) and base32, as django-otp's TOTPDevice uses them.
// Tests import `totpCode` to compute the code a user's authenticator app would show.
import { createHmac } from 'node:crypto';

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32Decode(input: string): Buffer {
  const clean = input.replace(/[\s=-]/g, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of clean) {
    const idx = B32.indexOf(ch);
    if (idx < 0) throw new Error(`invalid base32 character '${ch}'`);
    value = (value << 5) | idx;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

export function base32Encode(buf: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

export function hotp(key: Uint8Array, counter: number, digits: number): number {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(counter))));
  const mac = createHmac('sha1', key).update(msg).digest();
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f;
  const bin = (((mac[offset] ?? 0) & 0x7f) << 24) | ((mac[offset + 1] ?? 0) << 16) | ((mac[offset + 2] ?? 0) << 8) | (mac[offset + 3] ?? 0);
  return bin % 10 ** digits;
}

export interface TotpOptions {
  /** Unix time in milliseconds; defaults to now. */
  time?: number;
  digits?: number;
  /** Seconds per step; authentik uses 30. */
  step?: number;
  /** Whole steps added to the time step (django-otp's drift). */
  drift?: number;
}

/** The time step number `t` for a moment. */
export function timeStep(timeMs: number, step = 30): number {
  return Math.floor(timeMs / 1000 / step);
}

/** The code an authenticator app shows for a base32 secret, zero-padded. */
export function totpCode(secretBase32: string, opts: TotpOptions = {}): string {
  const digits = opts.digits ?? 6;
  const t = timeStep(opts.time ?? Date.now(), opts.step ?? 30) + (opts.drift ?? 0);
  return String(hotp(base32Decode(secretBase32), t, digits)).padStart(digits, '0');
}

export interface TotpState {
  key: Uint8Array;
  digits: number;
  step: number;
  /** Last accepted time step; django-otp refuses a code for a step <= this (replay protection). */
  lastT: number;
  drift: number;
}

/**
 * django-otp's `TOTPDevice.verify_token`: the token is parsed as an integer (so leading zeros
 * are optional), checked within ±`tolerance` steps of now + drift, and only for steps after
 * `lastT` when replay protection is on. On success `lastT` and `drift` move.
 */
export function verifyTotp(state: TotpState, token: string, opts: { time?: number; tolerance?: number; replayProtection?: boolean } = {}): boolean {
  const trimmed = token.trim();
  if (!/^[+-]?\d+$/.test(trimmed)) return false;
  const value = Number(trimmed);
  if (!Number.isSafeInteger(value)) return false;
  const tolerance = opts.tolerance ?? 1;
  const now = timeStep(opts.time ?? Date.now(), state.step);
  const minT = opts.replayProtection === false ? -Infinity : state.lastT + 1;
  for (let offset = -tolerance; offset <= tolerance; offset++) {
    const t = now + state.drift + offset;
    if (t >= minT && hotp(state.key, t, state.digits) === value) {
      state.lastT = t;
      state.drift += offset;
      return true;
    }
  }
  return false;
}
