// RADIUS reply attributes of the fake core's property mappings, encoded by hand: authentik 2024.8+
// answers the RADIUS outpost's `check_access` with a whole packet (pyrad's `AuthPacket`, base64)
// holding what the provider's mappings set. The core stays independent of the outpost's codec
// (src/radius), so a codec bug cannot hide behind the same code on both ends.
import { randomBytes } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { z } from 'zod';

type Kind = 'string' | 'octets' | 'integer' | 'ipaddr' | 'tagged-integer' | 'tagged-string';

interface AttributeDef {
  type: number;
  kind: Kind;
  /** Named values of an integer attribute (`VALUE` lines of a FreeRADIUS dictionary). */
  values?: Readonly<Record<string, number>>;
}

/** A small dictionary: RFC 2865/2866/2868/2869 reply attributes that VLAN and session setups use. */
const DICTIONARY: Readonly<Record<string, AttributeDef>> = {
  'User-Name': { type: 1, kind: 'string' },
  'Service-Type': {
    type: 6,
    kind: 'integer',
    values: { 'Login-User': 1, 'Framed-User': 2, 'Callback-Login-User': 3, 'Callback-Framed-User': 4, 'Outbound-User': 5, 'Administrative-User': 6, 'NAS-Prompt-User': 7 },
  },
  'Framed-Protocol': { type: 7, kind: 'integer', values: { PPP: 1, SLIP: 2 } },
  'Framed-IP-Address': { type: 8, kind: 'ipaddr' },
  'Framed-IP-Netmask': { type: 9, kind: 'ipaddr' },
  'Filter-Id': { type: 11, kind: 'string' },
  'Framed-MTU': { type: 12, kind: 'integer' },
  'Reply-Message': { type: 18, kind: 'string' },
  Class: { type: 25, kind: 'octets' },
  'Session-Timeout': { type: 27, kind: 'integer' },
  'Idle-Timeout': { type: 28, kind: 'integer' },
  'Termination-Action': { type: 29, kind: 'integer', values: { Default: 0, 'RADIUS-Request': 1 } },
  'Tunnel-Type': {
    type: 64,
    kind: 'tagged-integer',
    values: { PPTP: 1, L2F: 2, L2TP: 3, ATMP: 4, VTP: 5, AH: 6, 'IP-IP': 7, 'MIN-IP-IP': 8, ESP: 9, GRE: 10, DVS: 11, 'IP-in-IP': 12, VLAN: 13 },
  },
  'Tunnel-Medium-Type': {
    type: 65,
    kind: 'tagged-integer',
    values: { IPv4: 1, IPv6: 2, NSAP: 3, HDLC: 4, 'BBN-1822': 5, 'IEEE-802': 6, 'E.163': 7, 'E.164': 8, 'F.69': 9, 'X.121': 10, IPX: 11, Appletalk: 12, 'DecNet-IV': 13, 'Banyan-Vines': 14, 'E.164-NSAP': 15 },
  },
  'Tunnel-Private-Group-Id': { type: 81, kind: 'tagged-string' },
  'Acct-Interim-Interval': { type: 85, kind: 'integer' },
  'Framed-Pool': { type: 88, kind: 'string' },
};

const VENDOR_SPECIFIC = 26;
/** RFC 2865: an attribute's value is at most 253 octets (its length octet counts type and length). */
const MAX_VALUE = 253;

const value = z.union([z.string(), z.number()]);
const namedSchema = z.strictObject({ name: z.string(), value, tag: z.number().int().min(0).max(31).optional() });
const vendorSchema = z.strictObject({ vendor: z.number().int().min(0).max(0xffffffff), vendor_type: z.number().int().min(0).max(255), value });
const rawSchema = z.strictObject({ type: z.number().int().min(1).max(255), hex: z.string().regex(/^(?:[0-9a-fA-F]{2})*$/, 'must be an even number of hex digits') });

export class AttributeEncodeError extends Error {
  override readonly name = 'AttributeEncodeError';
}

export type RadiusAttributeSpec = z.output<typeof namedSchema> | z.output<typeof vendorSchema> | z.output<typeof rawSchema>;

/** One attribute of a mapping; it must encode (known name, value in range, fits in 253 octets). */
export const radiusAttributeSchema = z
  .union([namedSchema, vendorSchema, rawSchema], { error: () => 'must be {name, value, tag?}, {vendor, vendor_type, value} or {type, hex}' })
  .superRefine((a, ctx) => {
    try {
      encodeAttribute(a);
    } catch (err) {
      if (!(err instanceof AttributeEncodeError)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message });
    }
  });

function uint(v: string | number, what: string, max: number, names?: Readonly<Record<string, number>>): number {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (names && names[v] !== undefined) n = names[v];
  else if (/^\d+$/.test(v)) n = Number(v);
  else {
    const known = names ? ` (known: ${Object.keys(names).join(', ')})` : '';
    throw new AttributeEncodeError(`${what}: "${v}" is not a number${names ? ' nor a known value' : ''}${known}`);
  }
  if (!Number.isInteger(n) || n < 0 || n > max) throw new AttributeEncodeError(`${what}: ${n} is not a whole number from 0 to ${max}`);
  return n;
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function tlv(type: number, data: Buffer, what: string): Buffer {
  if (data.length === 0 || data.length > MAX_VALUE) throw new AttributeEncodeError(`${what}: the value is ${data.length} octets, RADIUS allows 1 to ${MAX_VALUE}`);
  return Buffer.concat([Buffer.from([type, data.length + 2]), data]);
}

function encodeNamed(a: z.output<typeof namedSchema>): Buffer {
  const def = DICTIONARY[a.name];
  if (!def) throw new AttributeEncodeError(`unknown attribute "${a.name}" (known: ${Object.keys(DICTIONARY).join(', ')}; other types as {type, hex})`);
  const tagged = def.kind === 'tagged-integer' || def.kind === 'tagged-string';
  if (a.tag !== undefined && !tagged) throw new AttributeEncodeError(`${a.name} takes no tag`);
  switch (def.kind) {
    case 'string':
    case 'octets':
      return tlv(def.type, Buffer.from(String(a.value), 'utf8'), a.name);
    case 'integer':
      return tlv(def.type, uint32(uint(a.value, a.name, 0xffffffff, def.values)), a.name);
    case 'ipaddr': {
      const ip = String(a.value);
      if (!isIPv4(ip)) throw new AttributeEncodeError(`${a.name}: "${ip}" is not an IPv4 address`);
      return tlv(def.type, Buffer.from(ip.split('.').map(Number)), a.name);
    }
    case 'tagged-integer': {
      // RFC 2868 §3.1: one tag octet (0 when none is given), then the value in three octets.
      const n = uint(a.value, a.name, 0xffffff, def.values);
      return tlv(def.type, Buffer.from([a.tag ?? 0, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]), a.name);
    }
    case 'tagged-string': {
      // RFC 2868 §3.6: the tag octet is optional for strings; it is written only when given.
      const data = Buffer.from(String(a.value), 'utf8');
      return tlv(def.type, a.tag === undefined ? data : Buffer.concat([Buffer.from([a.tag]), data]), a.name);
    }
  }
}

/** One attribute as it goes on the wire: type, length, value. Throws AttributeEncodeError. */
export function encodeAttribute(a: RadiusAttributeSpec): Buffer {
  if ('name' in a) return encodeNamed(a);
  if ('vendor' in a) {
    // RFC 2865 §5.26: Vendor-Id (4 octets), then one sub-attribute: vendor type, length, data.
    const what = `vendor ${a.vendor} type ${a.vendor_type}`;
    const data = typeof a.value === 'number' ? uint32(uint(a.value, what, 0xffffffff)) : Buffer.from(a.value, 'utf8');
    if (data.length === 0 || data.length > MAX_VALUE - 6) throw new AttributeEncodeError(`${what}: the value is ${data.length} octets, a vendor attribute allows 1 to ${MAX_VALUE - 6}`);
    return tlv(VENDOR_SPECIFIC, Buffer.concat([uint32(a.vendor), Buffer.from([a.vendor_type, data.length + 2]), data]), what);
  }
  return tlv(a.type, Buffer.from(a.hex, 'hex'), `attribute type ${a.type}`);
}

/**
 * A whole packet as pyrad's `AuthPacket().RequestPacket()` lays it out: code 1 (Access-Request),
 * identifier 0, length, 16 random authenticator octets, then the attributes. (pyrad takes the
 * identifier from a process-wide counter; nobody reads it, so the core writes 0.)
 */
export function radiusPacket(attributes: readonly Buffer[], authenticator: Buffer = randomBytes(16)): Buffer {
  const body = Buffer.concat(attributes);
  const header = Buffer.alloc(20);
  header[0] = 1;
  header[1] = 0;
  header.writeUInt16BE(20 + body.length, 2);
  authenticator.copy(header, 4, 0, 16);
  return Buffer.concat([header, body]);
}
