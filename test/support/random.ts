// Deterministic randomness for fuzz tests, so a failure can be replayed from its seed.

/** mulberry32: a small PRNG returning [0, 1). */
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

/** Bytes that framing and field syntax turn on: CR, LF, SP, HTAB, `:`, NUL, DEL, obs-text, `,`, `;`, `0`, `F`. */
export const FRAMING_BYTES: readonly number[] = [0x0d, 0x0a, 0x20, 0x09, 0x3a, 0x00, 0x7f, 0xe9, 0x2c, 0x3b, 0x30, 0x46];

/**
 * 1 to `maxEdits` random edits of `src` (replace, insert or delete a byte), the new byte drawn
 * from `special` 70% of the time, else any byte.
 */
export function mutateBytes(src: Buffer, rnd: () => number, special: readonly number[] = FRAMING_BYTES, maxEdits = 3): Buffer {
  const out = [...src];
  const n = 1 + Math.floor(rnd() * maxEdits);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(rnd() * out.length);
    const byte = rnd() < 0.7 ? special[Math.floor(rnd() * special.length)]! : Math.floor(rnd() * 256);
    const op = rnd();
    if (op < 0.5) out[at] = byte;
    else if (op < 0.8) out.splice(at, 0, byte);
    else out.splice(at, 1);
  }
  return Buffer.from(out);
}
