/** Test support for the RADIUS protocol tests. */

import { createHash, createHmac } from 'node:crypto';

/** Bytes from spaced/multiline hex. */
export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

export { prng } from '../../support/random.ts';

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

/** A datagram mutated the ways a fuzzer should: bit flips, truncation, corrupted lengths, random attributes. */
export function mutateDatagram(rand: () => number, src: Buffer): Buffer {
  const b = Buffer.from(src);
  const pick = (n: number): number => Math.floor(rand() * n);
  switch (pick(7)) {
    case 0: {
      const flips = 1 + pick(4);
      for (let i = 0; i < flips && b.length > 0; i++) {
        const at = pick(b.length);
        b[at] = b[at]! ^ (1 << pick(8));
      }
      return b;
    }
    case 1:
      b[pick(b.length)] = pick(256);
      return b;
    case 2:
      return b.subarray(0, pick(b.length + 1));
    case 3:
      return Buffer.concat([b, randomBytes(rand, 1 + pick(64))]);
    case 4: // Length field corruption
      if (b.length < 4) return b;
      b.writeUInt16BE(rand() < 0.5 ? pick(0x10000) : Math.max(0, b.length + pick(9) - 4), 2);
      return b;
    case 5: {
      // Attribute length corruption: walk to a random attribute and rewrite its length.
      let off = 20;
      const target = pick(8);
      for (let i = 0; i < target && off + 1 < b.length && b[off + 1]! >= 2; i++) off += b[off + 1]!;
      if (off + 1 < b.length) b[off + 1] = [0, 1, 2, 3, 18, 255][pick(6)]!;
      return b;
    }
    default: {
      // Header kept, attribute area random, Length field matching the new size.
      if (b.length < 20) return b;
      const out = Buffer.concat([b.subarray(0, 20), randomBytes(rand, pick(120))]);
      out.writeUInt16BE(out.length, 2);
      return out;
    }
  }
}
