// The reply attributes authentik's RADIUS property mappings make (authentik 2024.8+). The outpost
// check_access answers them as the base64 of a whole RADIUS packet (pyrad builds an
// Access-Request: a 20-byte header, then the attributes), whose attributes go into the
// Access-Accept in order. That string is untrusted input to a signed reply: it is decoded
// strictly, and what a server must set itself (Message-Authenticator, which we compute;
// Proxy-State, which only the request's own may fill) is left out. The header, authenticator
// included, is never used. Pure: no I/O, no logging.
import { AttributeType, MAX_PACKET_LENGTH, decodePacket, replyLength, type RadiusPacket, type RawAttribute } from './protocol/index.ts';

export type MappedAttributesFailure =
  /** Not strict base64 (RFC 4648 §4: standard alphabet, padded, canonical). authentik's label. */
  | 'attribute_decode_failed'
  /** Base64 of something other than one whole RADIUS packet, or with an attribute no reply can carry. authentik's label. */
  | 'attribute_parse_failed'
  /** The Access-Accept carrying them (with the request's Proxy-States) would pass 4096 bytes. */
  | 'attributes_too_large';

export type MappedAttributes =
  /** `ignored`: the types left out (Message-Authenticator, Proxy-State), in packet order. */
  | { readonly ok: true; readonly attributes: readonly RawAttribute[]; readonly ignored: readonly number[] }
  /** `detail` names offsets, lengths and types, never a value. */
  | { readonly ok: false; readonly reason: MappedAttributesFailure; readonly detail: string };

/** Set by the server, never by a mapping. */
const NOT_COPIED: ReadonlySet<number> = new Set([AttributeType.messageAuthenticator, AttributeType.proxyState]);

/** The base64 of the largest packet (4096 bytes): anything longer cannot be one. */
export const MAX_ENCODED_LENGTH = Math.ceil(MAX_PACKET_LENGTH / 3) * 4;

function fail(reason: MappedAttributesFailure, detail: string): MappedAttributes {
  return { ok: false, reason, detail };
}

/** The bytes of canonical, padded, standard-alphabet base64; undefined for anything else. */
export function strictBase64(text: string): Buffer | undefined {
  if (text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(text, 'base64');
  // Node decodes leniently (skips junk and whitespace, takes the URL-safe alphabet, no padding,
  // non-zero trailing bits); only canonical input survives the round trip.
  return bytes.toString('base64') === text ? bytes : undefined;
}

/**
 * The attributes of `encoded` to add to the Access-Accept answering `request`, in order, or
 * why there are none to use: the caller must then reject, never accept without them.
 */
export function mappedReplyAttributes(encoded: string, request: RadiusPacket): MappedAttributes {
  if (encoded.length > MAX_ENCODED_LENGTH) return fail('attribute_decode_failed', `${encoded.length} characters, longer than any packet's base64 (${MAX_ENCODED_LENGTH})`);
  const bytes = strictBase64(encoded);
  if (bytes === undefined) return fail('attribute_decode_failed', `not strict base64 (${encoded.length} characters)`);
  const decoded = decodePacket(bytes);
  if (!decoded.ok) return fail('attribute_parse_failed', `not a RADIUS packet: ${decoded.detail}`);
  // authentik's Go library demands the exact length too: trailing bytes are not padding here.
  if (decoded.packet.raw.length !== bytes.length) {
    return fail('attribute_parse_failed', `${bytes.length - decoded.packet.raw.length} bytes after the packet's length of ${decoded.packet.raw.length}`);
  }
  const attributes: RawAttribute[] = [];
  const ignored: number[] = [];
  for (const [i, a] of decoded.packet.attributes.entries()) {
    if (a.type === 0) return fail('attribute_parse_failed', `attribute ${i} has type 0, which no packet may carry`);
    if (NOT_COPIED.has(a.type)) ignored.push(a.type);
    else attributes.push(a);
  }
  const length = replyLength(request, { attributes });
  if (length > MAX_PACKET_LENGTH) {
    return fail('attributes_too_large', `an Access-Accept with ${attributes.length} mapped attributes would be ${length} bytes > ${MAX_PACKET_LENGTH}`);
  }
  return { ok: true, attributes, ignored };
}
