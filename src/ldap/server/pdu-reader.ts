// Incremental PDU framing over a byte stream. Pure (no I/O): the connection pushes chunks as
// they arrive and pulls complete PDUs.
//
// Memory is bounded: a PDU's size is known from its first 2..6 bytes, anything above the
// limit is an error before its content is buffered, so at most `maxPduSize` plus one chunk is
// held. Chunks are kept as a list and joined once per PDU (no quadratic re-concatenation when a
// large PDU arrives in many small pieces). PDUs that fit in one chunk are zero-copy views.
import { nextPdu, type BerError } from '../protocol/index.ts';

export type PduReadResult =
  | { readonly kind: 'pdu'; readonly pdu: Buffer }
  | { readonly kind: 'need-more' }
  | { readonly kind: 'error'; readonly error: BerError };

/** The longest BER header of an LDAPMessage: tag, 0x84 and four length octets. */
const MAX_HEADER = 6;

export class PduReader {
  private chunks: Buffer[] = [];
  private total = 0;
  private readonly maxPduSize: number;

  constructor(maxPduSize: number) {
    this.maxPduSize = maxPduSize;
  }

  /** Bytes received and not yet returned as PDUs. */
  get buffered(): number {
    return this.total;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** The next complete PDU, if any. Never throws. */
  next(): PduReadResult {
    if (this.total === 0) return { kind: 'need-more' };
    let first = this.chunks[0]!;
    if (first.length < MAX_HEADER && this.chunks.length > 1) {
      // Make the header contiguous: join just enough leading chunks.
      let n = 0;
      let len = 0;
      while (n < this.chunks.length && len < MAX_HEADER) len += this.chunks[n++]!.length;
      first = Buffer.concat(this.chunks.slice(0, n), len);
      this.chunks.splice(0, n, first);
    }
    const r = nextPdu(first, 0, this.maxPduSize);
    if (r.kind === 'error') return r;
    if (r.kind === 'need-more') {
      if (r.length === undefined || this.total < r.length) return { kind: 'need-more' };
      return { kind: 'pdu', pdu: this.take(r.length) };
    }
    return { kind: 'pdu', pdu: this.take(r.length) };
  }

  /** Removes and returns everything buffered (e.g. bytes that followed a StartTLS request). */
  takeAll(): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.total);
    this.chunks = [];
    this.total = 0;
    return all;
  }

  private take(length: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= length) {
      out = first.subarray(0, length);
      if (first.length === length) this.chunks.shift();
      else this.chunks[0] = first.subarray(length);
    } else {
      out = Buffer.allocUnsafe(length);
      let off = 0;
      while (off < length) {
        const c = this.chunks[0]!;
        const n = Math.min(c.length, length - off);
        c.copy(out, off, 0, n);
        off += n;
        if (n === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(n);
      }
    }
    this.total -= length;
    return out;
  }
}
