/**
 * RADIUS packet codec (RFC 2865 §3, RFC 2866 §3, RFC 5997).
 *
 * Wire format: Code (1) | Identifier (1) | Length (2, big-endian) | Authenticator (16) |
 * Attributes (Type (1) | Length (1, includes these two bytes) | Value)*.
 *
 * Decoding is strict and never throws: a datagram shorter than 20 bytes, a Length field
 * outside 20..4096 or larger than the datagram, or an attribute whose length is below 2 or
 * runs past Length is rejected with a reason code. Bytes after Length are padding and are
 * ignored (RFC 2865 §3). The code is not judged here: the server decides what to do with
 * codes it does not serve.
 *
 * Response encoding always places Message-Authenticator FIRST when it is requested (the
 * default), as the BlastRADIUS mitigation (CVE-2024-3596, draft-ietf-radext-deprecating-
 * radius) requires. Its value is HMAC-MD5(secret, response) computed with the *Request*
 * Authenticator in the header and the MA value zeroed (RFC 3579 §3.2), before the Response
 * Authenticator MD5(Code|ID|Length|RequestAuth|Attributes|Secret) is written.
 */

import { AttributeType, MAX_ATTRIBUTE_VALUE_LENGTH, attributeName } from './attributes.ts';
import { type Secret, hmacMd5, md5, sharedSecret } from './crypto.ts';
import { RadiusEncodeError } from './errors.ts';

export const HEADER_LENGTH = 20;
export const AUTHENTICATOR_LENGTH = 16;
export const MIN_PACKET_LENGTH = HEADER_LENGTH;
export const MAX_PACKET_LENGTH = 4096;
/** Type + Length + 16-byte HMAC-MD5. */
export const MESSAGE_AUTHENTICATOR_LENGTH = 18;

/** Packet codes served or recognised by this outpost. */
export const RadiusCode = {
  accessRequest: 1,
  accessAccept: 2,
  accessReject: 3,
  accountingRequest: 4,
  accountingResponse: 5,
  accessChallenge: 11,
  statusServer: 12,
  statusClient: 13,
  // RFC 5176 Dynamic Authorization: a server sends these to a NAS. Recognised so that one sent
  // here is authenticated and logged; never served.
  disconnectRequest: 40,
  disconnectAck: 41,
  disconnectNak: 42,
  coaRequest: 43,
  coaAck: 44,
  coaNak: 45,
} as const;

export type RadiusCodeValue = (typeof RadiusCode)[keyof typeof RadiusCode];

const CODE_NAMES: ReadonlyMap<number, string> = new Map([
  [1, 'Access-Request'],
  [2, 'Access-Accept'],
  [3, 'Access-Reject'],
  [4, 'Accounting-Request'],
  [5, 'Accounting-Response'],
  [11, 'Access-Challenge'],
  [12, 'Status-Server'],
  [13, 'Status-Client'],
  [40, 'Disconnect-Request'],
  [41, 'Disconnect-ACK'],
  [42, 'Disconnect-NAK'],
  [43, 'CoA-Request'],
  [44, 'CoA-ACK'],
  [45, 'CoA-NAK'],
]);

/** "Access-Request" etc. (the `code` field authentik logs); "Code(<n>)" when unknown. */
export function codeName(code: number): string {
  return CODE_NAMES.get(code) ?? `Code(${code})`;
}

/** One attribute as it appears on the wire. */
export interface RawAttribute {
  readonly type: number;
  readonly value: Buffer;
}

export interface RadiusPacket {
  readonly code: number;
  readonly identifier: number;
  /** The 16-byte authenticator field (a view into `raw`). */
  readonly authenticator: Buffer;
  /** Attributes in wire order; values are views into `raw`. */
  readonly attributes: readonly RawAttribute[];
  /**
   * The packet bytes, exactly Length long (padding dropped). A private copy of the
   * datagram: later changes to the input buffer do not affect it. Do not mutate.
   */
  readonly raw: Buffer;
}

export type DecodeFailureReason =
  /** Datagram shorter than the 20-byte header. */
  | 'too_short'
  /** Length field < 20, > 4096, or larger than the datagram. */
  | 'bad_length'
  /** An attribute with Length < 2, or one running past the packet Length. */
  | 'bad_attribute';

export type DecodeResult =
  | { readonly ok: true; readonly packet: RadiusPacket }
  | { readonly ok: false; readonly reason: DecodeFailureReason; readonly detail: string };

function fail(reason: DecodeFailureReason, detail: string): DecodeResult {
  return { ok: false, reason, detail };
}

/** Decodes one UDP datagram. Never throws. */
export function decodePacket(datagram: Uint8Array): DecodeResult {
  if (datagram.length < HEADER_LENGTH) return fail('too_short', `datagram of ${datagram.length} bytes < ${HEADER_LENGTH}`);
  const length = (datagram[2]! << 8) | datagram[3]!;
  if (length < MIN_PACKET_LENGTH || length > MAX_PACKET_LENGTH) {
    return fail('bad_length', `length field ${length} outside ${MIN_PACKET_LENGTH}..${MAX_PACKET_LENGTH}`);
  }
  if (length > datagram.length) return fail('bad_length', `length field ${length} > datagram of ${datagram.length} bytes`);

  const raw = Buffer.from(datagram.subarray(0, length));
  const attributes: RawAttribute[] = [];
  let off = HEADER_LENGTH;
  while (off < length) {
    if (length - off < 2) return fail('bad_attribute', `truncated attribute header at offset ${off}`);
    const alen = raw[off + 1]!;
    if (alen < 2) return fail('bad_attribute', `attribute ${raw[off]} at offset ${off} has length ${alen} < 2`);
    if (off + alen > length) return fail('bad_attribute', `attribute ${raw[off]} at offset ${off} (length ${alen}) overruns packet length ${length}`);
    attributes.push({ type: raw[off]!, value: raw.subarray(off + 2, off + alen) });
    off += alen;
  }
  return {
    ok: true,
    packet: { code: raw[0]!, identifier: raw[1]!, authenticator: raw.subarray(4, HEADER_LENGTH), attributes, raw },
  };
}

// ---------------------------------------------------------------------------------------
// Encoding

function checkHeader(code: number, identifier: number): void {
  if (!Number.isInteger(code) || code < 1 || code > 255) throw new RadiusEncodeError('invalid_header', `code ${code} outside 1..255`);
  if (!Number.isInteger(identifier) || identifier < 0 || identifier > 255) {
    throw new RadiusEncodeError('invalid_header', `identifier ${identifier} outside 0..255`);
  }
}

function checkAuthenticator(a: Uint8Array, what: string): void {
  if (a.length !== AUTHENTICATOR_LENGTH) throw new RadiusEncodeError('invalid_header', `${what} must be ${AUTHENTICATOR_LENGTH} bytes, got ${a.length}`);
}

/** Computes the encoded size and validates every attribute. */
function attributesLength(attributes: readonly RawAttribute[]): number {
  let n = 0;
  for (const a of attributes) {
    if (!Number.isInteger(a.type) || a.type < 1 || a.type > 255) {
      throw new RadiusEncodeError('invalid_attribute', `attribute type ${a.type} outside 1..255`);
    }
    if (a.type === AttributeType.messageAuthenticator) {
      throw new RadiusEncodeError('invalid_attribute', 'Message-Authenticator is added by the encoder; do not pass it as an attribute');
    }
    if (a.value.length > MAX_ATTRIBUTE_VALUE_LENGTH) {
      throw new RadiusEncodeError('attribute_too_long', `${attributeName(a.type)}: ${a.value.length} bytes > ${MAX_ATTRIBUTE_VALUE_LENGTH}`);
    }
    n += 2 + a.value.length;
  }
  return n;
}

/**
 * Lays out header + [zeroed MA] + attributes with `authenticator` in the header.
 * Returns the buffer; the MA value (if any) sits at bytes 22..38.
 */
function layout(code: number, identifier: number, authenticator: Uint8Array, attributes: readonly RawAttribute[], withMa: boolean): Buffer {
  checkHeader(code, identifier);
  const length = HEADER_LENGTH + (withMa ? MESSAGE_AUTHENTICATOR_LENGTH : 0) + attributesLength(attributes);
  if (length > MAX_PACKET_LENGTH) throw new RadiusEncodeError('packet_too_long', `encoded packet of ${length} bytes > ${MAX_PACKET_LENGTH}`);
  const buf = Buffer.alloc(length);
  buf[0] = code;
  buf[1] = identifier;
  buf.writeUInt16BE(length, 2);
  buf.set(authenticator, 4);
  let off = HEADER_LENGTH;
  if (withMa) {
    buf[off] = AttributeType.messageAuthenticator;
    buf[off + 1] = MESSAGE_AUTHENTICATOR_LENGTH;
    off += MESSAGE_AUTHENTICATOR_LENGTH; // value left zero
  }
  for (const a of attributes) {
    buf[off] = a.type;
    buf[off + 1] = a.value.length + 2;
    buf.set(a.value, off + 2);
    off += 2 + a.value.length;
  }
  return buf;
}

const MA_VALUE_OFFSET = HEADER_LENGTH + 2;

export interface ResponseOptions {
  /** Access-Accept/Reject/Challenge, Accounting-Response, ... */
  readonly code: number;
  /** Copied from the request. */
  readonly identifier: number;
  /** The Request Authenticator of the request being answered. */
  readonly requestAuthenticator: Uint8Array;
  /** In order; must not contain Message-Authenticator (see `messageAuthenticator`). */
  readonly attributes?: readonly RawAttribute[];
  readonly secret: Secret;
  /** Add Message-Authenticator as the first attribute. Default true. */
  readonly messageAuthenticator?: boolean;
}

/**
 * Encodes a response. Throws `RadiusEncodeError` on invalid input (see `tryEncodeResponse`
 * for a non-throwing variant).
 */
export function encodeResponse(options: ResponseOptions): Buffer {
  checkAuthenticator(options.requestAuthenticator, 'request authenticator');
  const withMa = options.messageAuthenticator ?? true;
  const buf = layout(options.code, options.identifier, options.requestAuthenticator, options.attributes ?? [], withMa);
  const secret = sharedSecret(options.secret);
  if (withMa) hmacMd5(secret, buf).copy(buf, MA_VALUE_OFFSET);
  md5(buf, secret.bytes).copy(buf, 4);
  return buf;
}

export type EncodeResult = { readonly ok: true; readonly packet: Buffer } | { readonly ok: false; readonly error: RadiusEncodeError };

/** `encodeResponse` that returns encoder errors instead of throwing them. */
export function tryEncodeResponse(options: ResponseOptions): EncodeResult {
  try {
    return { ok: true, packet: encodeResponse(options) };
  } catch (e) {
    if (e instanceof RadiusEncodeError) return { ok: false, error: e };
    throw e;
  }
}

export interface ReplyOptions {
  readonly code: number;
  readonly attributes?: readonly RawAttribute[];
  readonly secret: Secret;
  /** Default true. */
  readonly messageAuthenticator?: boolean;
  /** Append the request's Proxy-State attributes, unmodified and in order (RFC 2865 §5.33). Default true. */
  readonly echoProxyState?: boolean;
}

/** The reply's attributes after the Message-Authenticator: the caller's, then the echoed Proxy-States. */
function replyAttributes(request: RadiusPacket, options: Pick<ReplyOptions, 'attributes' | 'echoProxyState'>): readonly RawAttribute[] {
  const attributes = options.attributes ?? [];
  if (!(options.echoProxyState ?? true)) return attributes;
  const proxy = request.attributes.filter((a) => a.type === AttributeType.proxyState);
  return proxy.length > 0 ? [...attributes, ...proxy] : attributes;
}

/** Encodes a response to `request` (identifier and Request Authenticator taken from it). Throws `RadiusEncodeError`. */
export function encodeReply(request: RadiusPacket, options: ReplyOptions): Buffer {
  return encodeResponse({
    code: options.code,
    identifier: request.identifier,
    requestAuthenticator: request.authenticator,
    attributes: replyAttributes(request, options),
    secret: options.secret,
    messageAuthenticator: options.messageAuthenticator ?? true,
  });
}

/**
 * The length `encodeReply(request, options)` would have, without encoding or hashing: lets a
 * caller see that attributes it did not choose (authentik's property mappings) would not fit
 * before it commits to an answer. May exceed 4096 (that is the point). Throws
 * `RadiusEncodeError` for an attribute `encodeReply` would refuse.
 */
export function replyLength(request: RadiusPacket, options: Pick<ReplyOptions, 'attributes' | 'echoProxyState' | 'messageAuthenticator'>): number {
  const withMa = options.messageAuthenticator ?? true;
  return HEADER_LENGTH + (withMa ? MESSAGE_AUTHENTICATOR_LENGTH : 0) + attributesLength(replyAttributes(request, options));
}

/** Codes whose Request Authenticator is computed (RFC 2866 §3, RFC 5176 §2.3) rather than random. */
export function hasComputedRequestAuthenticator(code: number): boolean {
  return code === RadiusCode.accountingRequest || code === RadiusCode.disconnectRequest || code === RadiusCode.coaRequest;
}

export interface RequestOptions {
  readonly code: number;
  readonly identifier: number;
  /**
   * The Request Authenticator for codes that use a random one (Access-Request,
   * Status-Server; the caller supplies the randomness). Must be omitted for
   * Accounting-Request, whose authenticator is computed.
   */
  readonly authenticator?: Uint8Array;
  /** In order; a User-Password must already be hidden with this authenticator (`hidePassword`). */
  readonly attributes?: readonly RawAttribute[];
  readonly secret: Secret;
  /** Add Message-Authenticator first. Default: true for Status-Server or when EAP-Message is present. */
  readonly messageAuthenticator?: boolean;
}

/**
 * Encodes a request (used by tests and health probes; the outpost itself only answers).
 * For computed-authenticator codes the Message-Authenticator is taken over the packet with
 * a zeroed authenticator field and the Request Authenticator is computed afterwards, over
 * the packet including the MA (FreeRADIUS order). Throws `RadiusEncodeError`.
 */
export function encodeRequest(options: RequestOptions): Buffer {
  const attributes = options.attributes ?? [];
  const computed = hasComputedRequestAuthenticator(options.code);
  if (computed && options.authenticator !== undefined) {
    throw new RadiusEncodeError('invalid_header', `${codeName(options.code)} has a computed authenticator; do not pass one`);
  }
  if (!computed) {
    if (options.authenticator === undefined) throw new RadiusEncodeError('invalid_header', `${codeName(options.code)} needs a request authenticator`);
    checkAuthenticator(options.authenticator, 'request authenticator');
  }
  const withMa =
    options.messageAuthenticator ?? (options.code === RadiusCode.statusServer || attributes.some((a) => a.type === AttributeType.eapMessage));
  const buf = layout(options.code, options.identifier, options.authenticator ?? new Uint8Array(AUTHENTICATOR_LENGTH), attributes, withMa);
  const secret = sharedSecret(options.secret);
  if (withMa) hmacMd5(secret, buf).copy(buf, MA_VALUE_OFFSET);
  if (computed) md5(buf, secret.bytes).copy(buf, 4);
  return buf;
}
