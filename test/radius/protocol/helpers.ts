/** Test support for the RADIUS protocol tests. */

import { createHash, createHmac } from 'node:crypto';

/** Bytes from spaced/multiline hex. */
export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

/** Deterministic PRNG (mulberry32) returning [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(rand: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

/** Independent (naive, copying) reference implementations used to cross-check the codec. */
export const reference = {
  md5(...parts: Buffer[]): Buffer {
    return createHash('md5').update(Buffer.concat(parts)).digest();
  },
  /** HMAC-MD5 over a copy of `packet` with `authenticator` at 4..20 and the 16 bytes at `maOffset` zeroed. */
  messageAuthenticator(packet: Buffer, authenticator: Buffer, maOffset: number, secret: string): Buffer {
    const copy = Buffer.from(packet);
    authenticator.copy(copy, 4);
    copy.fill(0, maOffset, maOffset + 16);
    return createHmac('md5', secret).update(copy).digest();
  },
  /** Builds a packet from parts without any validation (for hostile inputs). */
  packet(code: number, id: number, auth: Buffer, attrs: Buffer, lengthOverride?: number): Buffer {
    const b = Buffer.concat([Buffer.from([code, id, 0, 0]), auth, attrs]);
    b.writeUInt16BE(lengthOverride ?? b.length, 2);
    return b;
  },
  /** One TLV attribute. */
  attr(type: number, value: Buffer | string): Buffer {
    const v = typeof value === 'string' ? Buffer.from(value) : value;
    return Buffer.concat([Buffer.from([type, v.length + 2]), v]);
  },
};
