/**
 * PDU framing for an LDAP TCP byte stream.
 *
 * Every LDAPMessage is a BER SEQUENCE (identifier 0x30) with a definite length, so the
 * size of the next PDU is known as soon as its 2..6 header bytes have arrived. The
 * connection layer calls `nextPdu` on its receive buffer and either gets a complete PDU
 * length, a "need more" answer (with the total size when it is already known, so it can
 * reserve exactly that much), or an error.
 *
 * Default maximum PDU size: 2 MiB. This outpost is read-only; the requests it serves are
 * binds, searches and extended operations whose encodings are tiny (a search with a
 * 1,000-term filter is still well under 100 KiB). Writes that could legitimately be
 * large (Add/Modify carrying photos) are refused anyway. 2 MiB leaves two orders of
 * magnitude of headroom for any real client, sits between OpenLDAP's defaults for
 * anonymous (256 KiB) and authenticated (4 MiB) sessions, and caps the memory one
 * connection can pin before the connection layer can reject it — it is known from the
 * header alone, before any content is buffered.
 */

import { BerError, UniversalTag, peekHeader } from './ber.ts';

export const DEFAULT_MAX_PDU_SIZE = 2 * 1024 * 1024;

export type FrameResult =
  /** A complete PDU occupies `buffer[offset .. offset + length)`. */
  | { readonly kind: 'pdu'; readonly length: number }
  /** More bytes are needed. `length` is the total PDU size once the header is complete. */
  | { readonly kind: 'need-more'; readonly length: number | undefined }
  /** The stream cannot be an LDAP message stream (or exceeds the limit): close it. */
  | { readonly kind: 'error'; readonly error: BerError };

/**
 * Examines the bytes at `offset` of `buffer` and reports the size of the next PDU.
 * Never throws.
 */
export function nextPdu(buffer: Uint8Array, offset = 0, maxPduSize: number = DEFAULT_MAX_PDU_SIZE): FrameResult {
  if (offset >= buffer.length) return { kind: 'need-more', length: undefined };
  if (buffer[offset] !== UniversalTag.sequence) {
    return {
      kind: 'error',
      error: new BerError('not-ldap-message', offset, `expected SEQUENCE (0x30), got 0x${buffer[offset]!.toString(16).padStart(2, '0')}`),
    };
  }
  let header;
  try {
    header = peekHeader(buffer, offset, buffer.length, Number.MAX_SAFE_INTEGER);
  } catch (e) {
    if (e instanceof BerError) return { kind: 'error', error: e };
    throw e;
  }
  if (header === undefined) return { kind: 'need-more', length: undefined };
  const total = header.headerLength + header.contentLength;
  if (total > maxPduSize) {
    return { kind: 'error', error: new BerError('pdu-too-large', offset, `${total} bytes > ${maxPduSize}`) };
  }
  if (buffer.length - offset < total) return { kind: 'need-more', length: total };
  return { kind: 'pdu', length: total };
}

export interface SplitResult {
  /** Complete PDUs found, as views into the input buffer. */
  readonly pdus: readonly Buffer[];
  /** Number of bytes consumed by those PDUs; keep `buffer.subarray(consumed)`. */
  readonly consumed: number;
  /** Set when the stream is unusable after `consumed` bytes. */
  readonly error: BerError | undefined;
}

/** Splits as many complete PDUs as possible off the front of `buffer`. Never throws. */
export function splitPdus(buffer: Buffer, maxPduSize: number = DEFAULT_MAX_PDU_SIZE): SplitResult {
  const pdus: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const r = nextPdu(buffer, offset, maxPduSize);
    if (r.kind === 'pdu') {
      pdus.push(buffer.subarray(offset, offset + r.length));
      offset += r.length;
      continue;
    }
    return { pdus, consumed: offset, error: r.kind === 'error' ? r.error : undefined };
  }
}
