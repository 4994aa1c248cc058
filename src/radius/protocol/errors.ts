/**
 * Errors raised by the RADIUS encoders.
 *
 * Decoding never throws: it returns discriminated unions (see `packet.ts`,
 * `authenticator.ts`, `password.ts`, `attributes.ts`). Encoding is driven by the server
 * (and by attributes that come from authentik property mappings), so an impossible
 * request — an attribute over 253 bytes, a packet over 4096 bytes — is a typed
 * `RadiusEncodeError` the caller can turn into an Access-Reject.
 */

export type EncodeErrorKind =
  /** Code, identifier or authenticator out of range / wrong size. */
  | 'invalid_header'
  /** Attribute type outside 1..255, or Message-Authenticator passed as a plain attribute. */
  | 'invalid_attribute'
  /** An attribute value longer than 253 bytes. */
  | 'attribute_too_long'
  /** The encoded packet would exceed 4096 bytes. */
  | 'packet_too_long'
  /** A value that cannot be represented (integer range, IP syntax, password > 128 bytes, ...). */
  | 'invalid_value';

export class RadiusEncodeError extends Error {
  readonly kind: EncodeErrorKind;
  constructor(kind: EncodeErrorKind, message: string) {
    super(message);
    this.name = 'RadiusEncodeError';
    this.kind = kind;
  }
}
