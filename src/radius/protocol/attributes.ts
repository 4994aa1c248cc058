/**
 * RADIUS attribute dictionary (the RFC 2865/2866/2869/3162/3579 attributes this server
 * deals with), typed value decoders/encoders, lookup helpers and Vendor-Specific
 * (RFC 2865 §5.26) parsing.
 *
 * Attribute values are kept as raw bytes in the packet (`RawAttribute`); the getters here
 * interpret them on demand and validate their lengths. Getters never throw; encoders throw
 * `RadiusEncodeError`.
 */

import { isUtf8 } from 'node:buffer';
import { RadiusEncodeError } from './errors.ts';
import type { RawAttribute } from './packet.ts';
import { formatIpv6Groups } from '../../net/cidr.ts';

/** Attribute types (RFC 2865, 2866, 2869, 3162, 3579, 2868/3580 for VLAN assignment). */
export const AttributeType = {
  userName: 1,
  userPassword: 2,
  chapPassword: 3,
  nasIpAddress: 4,
  nasPort: 5,
  serviceType: 6,
  framedProtocol: 7,
  framedIpAddress: 8,
  framedIpNetmask: 9,
  filterId: 11,
  framedMtu: 12,
  replyMessage: 18,
  state: 24,
  class: 25,
  vendorSpecific: 26,
  sessionTimeout: 27,
  idleTimeout: 28,
  terminationAction: 29,
  calledStationId: 30,
  callingStationId: 31,
  nasIdentifier: 32,
  proxyState: 33,
  acctStatusType: 40,
  acctSessionId: 44,
  chapChallenge: 60,
  nasPortType: 61,
  tunnelType: 64,
  tunnelMediumType: 65,
  arapPassword: 70,
  connectInfo: 77,
  eapMessage: 79,
  messageAuthenticator: 80,
  tunnelPrivateGroupId: 81,
  acctInterimInterval: 85,
  nasPortId: 87,
  nasIpv6Address: 95,
  framedInterfaceId: 96,
  framedIpv6Prefix: 97,
} as const;

/** Value syntax of a dictionary attribute (RFC 8044 names). */
export type AttributeKind = 'text' | 'string' | 'integer' | 'ipv4addr' | 'ipv6addr' | 'ipv6prefix' | 'ifid' | 'vsa' | 'concat';

export interface AttributeDef {
  readonly type: number;
  readonly name: string;
  readonly kind: AttributeKind;
}

const DEFS: readonly AttributeDef[] = [
  { type: 1, name: 'User-Name', kind: 'text' },
  { type: 2, name: 'User-Password', kind: 'string' },
  { type: 3, name: 'CHAP-Password', kind: 'string' },
  { type: 4, name: 'NAS-IP-Address', kind: 'ipv4addr' },
  { type: 5, name: 'NAS-Port', kind: 'integer' },
  { type: 6, name: 'Service-Type', kind: 'integer' },
  { type: 7, name: 'Framed-Protocol', kind: 'integer' },
  { type: 8, name: 'Framed-IP-Address', kind: 'ipv4addr' },
  { type: 9, name: 'Framed-IP-Netmask', kind: 'ipv4addr' },
  { type: 11, name: 'Filter-Id', kind: 'text' },
  { type: 12, name: 'Framed-MTU', kind: 'integer' },
  { type: 18, name: 'Reply-Message', kind: 'text' },
  { type: 24, name: 'State', kind: 'string' },
  { type: 25, name: 'Class', kind: 'string' },
  { type: 26, name: 'Vendor-Specific', kind: 'vsa' },
  { type: 27, name: 'Session-Timeout', kind: 'integer' },
  { type: 28, name: 'Idle-Timeout', kind: 'integer' },
  { type: 29, name: 'Termination-Action', kind: 'integer' },
  { type: 30, name: 'Called-Station-Id', kind: 'text' },
  { type: 31, name: 'Calling-Station-Id', kind: 'text' },
  { type: 32, name: 'NAS-Identifier', kind: 'text' },
  { type: 33, name: 'Proxy-State', kind: 'string' },
  { type: 40, name: 'Acct-Status-Type', kind: 'integer' },
  { type: 44, name: 'Acct-Session-Id', kind: 'text' },
  { type: 60, name: 'CHAP-Challenge', kind: 'string' },
  { type: 61, name: 'NAS-Port-Type', kind: 'integer' },
  { type: 64, name: 'Tunnel-Type', kind: 'integer' },
  { type: 65, name: 'Tunnel-Medium-Type', kind: 'integer' },
  { type: 70, name: 'ARAP-Password', kind: 'string' },
  { type: 77, name: 'Connect-Info', kind: 'text' },
  { type: 79, name: 'EAP-Message', kind: 'concat' },
  { type: 80, name: 'Message-Authenticator', kind: 'string' },
  { type: 81, name: 'Tunnel-Private-Group-Id', kind: 'string' },
  { type: 85, name: 'Acct-Interim-Interval', kind: 'integer' },
  { type: 87, name: 'NAS-Port-Id', kind: 'text' },
  { type: 95, name: 'NAS-IPv6-Address', kind: 'ipv6addr' },
  { type: 96, name: 'Framed-Interface-Id', kind: 'ifid' },
  { type: 97, name: 'Framed-IPv6-Prefix', kind: 'ipv6prefix' },
];

/** The dictionary, by attribute type. */
export const ATTRIBUTES: ReadonlyMap<number, AttributeDef> = new Map(DEFS.map((d) => [d.type, d]));

/** "User-Name" for 1, "Attr-<n>" (FreeRADIUS convention) for types not in the dictionary. */
export function attributeName(type: number): string {
  return ATTRIBUTES.get(type)?.name ?? `Attr-${type}`;
}

/** Vendor ids (SMI Network Management Private Enterprise Codes). */
export const VendorId = {
  microsoft: 311,
} as const;

/** Microsoft vendor attributes (RFC 2548) relevant to detecting MS-CHAP. */
export const MicrosoftAttribute = {
  msChapResponse: 1,
  msChapError: 2,
  msChapNtEncPw: 6,
  msChapChallenge: 11,
  msMppeSendKey: 16,
  msMppeRecvKey: 17,
  msChap2Response: 25,
  msChap2Success: 26,
} as const;

// ---------------------------------------------------------------------------------------
// Lookup

/** The value of the first attribute of `type`, or undefined. */
export function getAttribute(attributes: readonly RawAttribute[], type: number): Buffer | undefined {
  for (const a of attributes) if (a.type === type) return a.value;
  return undefined;
}

/** The values of every attribute of `type`, in packet order. */
export function getAttributes(attributes: readonly RawAttribute[], type: number): Buffer[] {
  const out: Buffer[] = [];
  for (const a of attributes) if (a.type === type) out.push(a.value);
  return out;
}

export function hasAttribute(attributes: readonly RawAttribute[], type: number): boolean {
  for (const a of attributes) if (a.type === type) return true;
  return false;
}

export function countAttribute(attributes: readonly RawAttribute[], type: number): number {
  let n = 0;
  for (const a of attributes) if (a.type === type) n++;
  return n;
}

/** The concatenation of every `type` value in order (RFC 3579 EAP-Message), or undefined if absent. */
export function concatAttribute(attributes: readonly RawAttribute[], type: number): Buffer | undefined {
  const parts = getAttributes(attributes, type);
  return parts.length === 0 ? undefined : Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------
// Typed getters

export type ValueFailure = 'absent' | 'bad_length' | 'bad_value';
export type ValueResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: ValueFailure };

function typed<T>(value: Buffer | undefined, decode: (v: Buffer) => T | undefined, bad: ValueFailure = 'bad_length'): ValueResult<T> {
  if (value === undefined) return { ok: false, reason: 'absent' };
  const v = decode(value);
  return v === undefined ? { ok: false, reason: bad } : { ok: true, value: v };
}

/**
 * A text value as a string. Lenient by default: invalid UTF-8 becomes U+FFFD, which is what
 * authentik ends up sending (Go keeps the bytes; JSON encoding then substitutes U+FFFD).
 * With `strict`, invalid UTF-8 is `undefined`.
 */
export function decodeText(value: Uint8Array, strict = false): string | undefined {
  const b = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (strict && !isUtf8(b)) return undefined;
  return b.toString('utf8');
}

/** A 32-bit unsigned integer; undefined unless exactly 4 bytes. */
export function decodeInteger(value: Uint8Array): number | undefined {
  if (value.length !== 4) return undefined;
  return ((value[0]! << 24) >>> 0) + (value[1]! << 16) + (value[2]! << 8) + value[3]!;
}

/** Dotted-quad IPv4; undefined unless exactly 4 bytes. */
export function decodeIPv4(value: Uint8Array): string | undefined {
  if (value.length !== 4) return undefined;
  return `${value[0]}.${value[1]}.${value[2]}.${value[3]}`;
}

/** RFC 5952 text form of a 16-byte IPv6 address; undefined unless exactly 16 bytes. */
export function decodeIPv6(value: Uint8Array): string | undefined {
  if (value.length !== 16) return undefined;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((value[i]! << 8) | value[i + 1]!);
  // Plain RFC 5952 hex even for IPv4-mapped values (`::ffff:a00:1`), unlike formatIp.
  return formatIpv6Groups(groups);
}

export function getString(attributes: readonly RawAttribute[], type: number, options: { strict?: boolean } = {}): ValueResult<string> {
  return typed(getAttribute(attributes, type), (v) => decodeText(v, options.strict ?? false), 'bad_value');
}

export function getInteger(attributes: readonly RawAttribute[], type: number): ValueResult<number> {
  return typed(getAttribute(attributes, type), decodeInteger);
}

export function getIPv4(attributes: readonly RawAttribute[], type: number): ValueResult<string> {
  return typed(getAttribute(attributes, type), decodeIPv4);
}

export function getIPv6(attributes: readonly RawAttribute[], type: number): ValueResult<string> {
  return typed(getAttribute(attributes, type), decodeIPv6);
}

// ---------------------------------------------------------------------------------------
// Encoders (for building responses)

export const MAX_ATTRIBUTE_VALUE_LENGTH = 253;

function checkType(type: number): void {
  if (!Number.isInteger(type) || type < 1 || type > 255) {
    throw new RadiusEncodeError('invalid_attribute', `attribute type ${type} outside 1..255`);
  }
}

/** An attribute with raw bytes (copied). */
export function octetsAttribute(type: number, value: Uint8Array): RawAttribute {
  checkType(type);
  if (value.length > MAX_ATTRIBUTE_VALUE_LENGTH) {
    throw new RadiusEncodeError('attribute_too_long', `${attributeName(type)}: ${value.length} bytes > ${MAX_ATTRIBUTE_VALUE_LENGTH}`);
  }
  return { type, value: Buffer.from(value) };
}

/** A text attribute (UTF-8). */
export function textAttribute(type: number, value: string): RawAttribute {
  return octetsAttribute(type, Buffer.from(value, 'utf8'));
}

/** A 32-bit unsigned integer attribute. */
export function integerAttribute(type: number, value: number): RawAttribute {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RadiusEncodeError('invalid_value', `${attributeName(type)}: ${value} is not a 32-bit unsigned integer`);
  }
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value, 0);
  return octetsAttribute(type, b);
}

const IPV4_PART = /^(0|[1-9][0-9]{0,2})$/;

function parseIPv4(text: string): Buffer | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = Buffer.alloc(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!IPV4_PART.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseIPv6(text: string): Buffer | undefined {
  let head = text;
  let tail = '';
  const dbl = text.indexOf('::');
  if (dbl !== -1) {
    if (text.indexOf('::', dbl + 1) !== -1) return undefined;
    head = text.slice(0, dbl);
    tail = text.slice(dbl + 2);
  }
  // An embedded IPv4 dotted quad may only end the whole address.
  const groups = (s: string, allowV4: boolean): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (allowV4 && i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIPv4(p);
        if (v4 === undefined) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
      out.push(parseInt(p, 16));
    }
    return out;
  };
  const h = groups(head, dbl === -1);
  const t = groups(tail, true);
  if (h === undefined || t === undefined) return undefined;
  const missing = 8 - h.length - t.length;
  if (dbl === -1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...h, ...new Array<number>(dbl === -1 ? 0 : missing).fill(0), ...t];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** An IPv4 address attribute from dotted-quad text. */
export function ipv4Attribute(type: number, address: string): RawAttribute {
  const b = parseIPv4(address);
  if (b === undefined) throw new RadiusEncodeError('invalid_value', `${attributeName(type)}: invalid IPv4 address`);
  return octetsAttribute(type, b);
}

/** An IPv6 address attribute from RFC 4291 text. */
export function ipv6Attribute(type: number, address: string): RawAttribute {
  const b = parseIPv6(address);
  if (b === undefined) throw new RadiusEncodeError('invalid_value', `${attributeName(type)}: invalid IPv6 address`);
  return octetsAttribute(type, b);
}

// ---------------------------------------------------------------------------------------
// Vendor-Specific (RFC 2865 §5.26)

export interface VendorSubAttribute {
  readonly type: number;
  readonly value: Buffer;
}

export interface VendorSpecific {
  readonly vendorId: number;
  /** Everything after the vendor id, always kept. */
  readonly data: Buffer;
  /**
   * The sub-attributes when `data` follows the RFC-suggested format (1-byte type, 1-byte
   * length >= 2, exactly filling `data`); undefined for vendors that do not.
   */
  readonly subAttributes: readonly VendorSubAttribute[] | undefined;
}

/**
 * Parses a Vendor-Specific value. Undefined when shorter than the 4-byte vendor id plus one
 * byte (RFC 2865 §5.26: Length >= 7). A vendor id whose high byte is non-zero violates the
 * RFC but is kept as-is rather than rejected.
 */
export function parseVendorSpecific(value: Uint8Array): VendorSpecific | undefined {
  if (value.length < 5) return undefined;
  const b = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  const vendorId = b.readUInt32BE(0);
  const data = b.subarray(4);
  const subs: VendorSubAttribute[] = [];
  let off = 0;
  while (off < data.length) {
    if (data.length - off < 2) return { vendorId, data, subAttributes: undefined };
    const len = data[off + 1]!;
    if (len < 2 || off + len > data.length) return { vendorId, data, subAttributes: undefined };
    subs.push({ type: data[off]!, value: data.subarray(off + 2, off + len) });
    off += len;
  }
  return { vendorId, data, subAttributes: subs };
}

/** Every parseable Vendor-Specific attribute, in order (unparseable ones are skipped). */
export function getVendorSpecific(attributes: readonly RawAttribute[]): VendorSpecific[] {
  const out: VendorSpecific[] = [];
  for (const a of attributes) {
    if (a.type !== AttributeType.vendorSpecific) continue;
    const v = parseVendorSpecific(a.value);
    if (v !== undefined) out.push(v);
  }
  return out;
}

/** Values of the vendor sub-attributes `vendorId`/`vendorType`, in order, across all VSAs. */
export function getVendorAttributes(attributes: readonly RawAttribute[], vendorId: number, vendorType: number): Buffer[] {
  const out: Buffer[] = [];
  for (const v of getVendorSpecific(attributes)) {
    if (v.vendorId !== vendorId || v.subAttributes === undefined) continue;
    for (const s of v.subAttributes) if (s.type === vendorType) out.push(s.value);
  }
  return out;
}

/** A Vendor-Specific attribute in the RFC-suggested format (sub-attributes copied). */
export function vendorSpecificAttribute(vendorId: number, subAttributes: readonly VendorSubAttribute[]): RawAttribute {
  if (!Number.isInteger(vendorId) || vendorId < 0 || vendorId > 0xffffff) {
    throw new RadiusEncodeError('invalid_value', `vendor id ${vendorId} outside 0..2^24-1`);
  }
  const parts: Buffer[] = [Buffer.alloc(4)];
  parts[0]!.writeUInt32BE(vendorId, 0);
  for (const s of subAttributes) {
    if (!Number.isInteger(s.type) || s.type < 0 || s.type > 255) {
      throw new RadiusEncodeError('invalid_attribute', `vendor ${vendorId} sub-attribute type ${s.type} outside 0..255`);
    }
    if (s.value.length > 255 - 2) {
      throw new RadiusEncodeError('attribute_too_long', `vendor ${vendorId} sub-attribute ${s.type} too long`);
    }
    parts.push(Buffer.from([s.type, s.value.length + 2]), s.value);
  }
  return octetsAttribute(AttributeType.vendorSpecific, Buffer.concat(parts));
}

// ---------------------------------------------------------------------------------------
// Authentication method detection

export interface AuthMethods {
  /** User-Password present. */
  readonly pap: boolean;
  /** CHAP-Password present. */
  readonly chap: boolean;
  /** Microsoft MS-CHAP-Response (vendor 311, type 1) present. */
  readonly msChap: boolean;
  /** Microsoft MS-CHAP2-Response (vendor 311, type 25) present. */
  readonly msChapV2: boolean;
  /** EAP-Message present (any length). */
  readonly eap: boolean;
}

/** Which authentication mechanisms an Access-Request carries. The server decides what to do. */
export function detectAuthMethods(attributes: readonly RawAttribute[]): AuthMethods {
  const ms = (t: number): boolean => getVendorAttributes(attributes, VendorId.microsoft, t).length > 0;
  return {
    pap: hasAttribute(attributes, AttributeType.userPassword),
    chap: hasAttribute(attributes, AttributeType.chapPassword),
    msChap: ms(MicrosoftAttribute.msChapResponse),
    msChapV2: ms(MicrosoftAttribute.msChap2Response),
    eap: hasAttribute(attributes, AttributeType.eapMessage),
  };
}
