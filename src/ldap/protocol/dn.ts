/**
 * Distinguished names: RFC 4514 string form <-> RDN/AVA structure, escaping, and
 * normalised comparison.
 *
 * Parsing follows RFC 4514 §3 with two common leniencies that RFC 4514 allows
 * ("implementations MAY recognize other DN string representations"): unescaped spaces
 * around attribute types, around '=', and around the ',' / '+' separators are ignored
 * (e.g. `cn=alice, ou=users`), as OpenLDAP does. Everything else that RFC 4514 forbids
 * unescaped in a value (`"`, `;`, `<`, `>`, NUL, a bare `\`) is an error.
 *
 * Comparison: attribute types are compared case-insensitively (and the numeric OIDs of
 * the common naming attributes are mapped to their names); values are compared
 * case-insensitively with insignificant spaces removed (caseIgnoreMatch), which is what
 * the directory's naming attributes (cn, ou, dc, uid, o, c, l ...) use.
 */

import { BerReader } from './ber.ts';

export interface Ava {
  /** Attribute type as written (descr or numeric OID). */
  readonly type: string;
  /** Attribute value, unescaped. For `#hex` values, the decoded string when the BER holds a string type. */
  readonly value: string;
  /** The BER encoding when the value was written in `#hex` form. */
  readonly raw?: Buffer;
}
export type Rdn = readonly Ava[];
/** RDNs in string order: the first RDN is the entry's own, the last is closest to the root. */
export type Dn = readonly Rdn[];

export class DnError extends Error {
  readonly reason: string;
  readonly position: number | undefined;
  constructor(reason: string, position?: number) {
    super(position === undefined ? `DN: ${reason}` : `DN: ${reason} at position ${position}`);
    this.name = 'DnError';
    this.reason = reason;
    this.position = position;
  }
}

export interface DnLimits {
  readonly maxLength: number;
  readonly maxRdns: number;
  readonly maxAvasPerRdn: number;
}

export const DEFAULT_DN_LIMITS: DnLimits = { maxLength: 16384, maxRdns: 128, maxAvasPerRdn: 32 };

const DESCR = /^[A-Za-z][A-Za-z0-9-]*$/;
const NUMERICOID = /^(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))+$/;
const HEX = /^[0-9A-Fa-f]{2}$/;
const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Characters that may follow a backslash literally (RFC 4514 `special` plus `\`). */
const ESCAPABLE = new Set([...'"+,;<>\\ #=']);
/** String-valued universal tags accepted in `#hex` values. */
const BER_STRING_TAGS = new Set([0x04, 0x0c, 0x12, 0x13, 0x14, 0x16, 0x1a, 0x1b]);

function isSpace(c: string | undefined): boolean {
  return c === ' ';
}

/** A character of an attribute type (descr or numeric OID): `A-Z a-z 0-9 . -`. */
function isTypeChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d;
}

/** Parses an RFC 4514 DN string. The empty string is the root DN (no RDNs). */
export function parseDn(input: string, limits?: Partial<DnLimits>): Dn {
  const lim = limits === undefined ? DEFAULT_DN_LIMITS : { ...DEFAULT_DN_LIMITS, ...limits };
  if (input.length > lim.maxLength) throw new DnError(`longer than ${lim.maxLength} characters`);
  const src = input;
  let pos = 0;
  while (isSpace(src[pos])) pos++;
  if (pos === src.length) return [];

  const rdns: Rdn[] = [];
  let rdn: Ava[] = [];
  for (;;) {
    // attributeType
    while (isSpace(src[pos])) pos++;
    const typeStart = pos;
    while (pos < src.length && isTypeChar(src.charCodeAt(pos))) pos++;
    const type = src.slice(typeStart, pos);
    if (type === '') throw new DnError('expected an attribute type', typeStart);
    if (!DESCR.test(type) && !NUMERICOID.test(type)) throw new DnError(`invalid attribute type '${type}'`, typeStart);
    while (isSpace(src[pos])) pos++;
    if (src[pos] !== '=') throw new DnError("expected '='", pos);
    pos++;
    while (isSpace(src[pos])) pos++;

    // attributeValue
    let ava: Ava | undefined;
    if (src[pos] === '#') {
      const hexStart = pos;
      pos++;
      const bytes: number[] = [];
      while (pos < src.length && HEX.test(src.slice(pos, pos + 2))) {
        bytes.push(Number.parseInt(src.slice(pos, pos + 2), 16));
        pos += 2;
      }
      if (bytes.length === 0) throw new DnError('empty or odd hex string', hexStart);
      while (isSpace(src[pos])) pos++;
      const raw = Buffer.from(bytes);
      ava = { type, value: decodeBerValue(raw, hexStart), raw };
    } else if ((ava = plainValue(src, pos, type)) !== undefined) {
      // The common case (no escapes, ASCII only): the value is the text itself.
      pos += ava.value.length;
      while (isSpace(src[pos])) pos++;
    } else {
      const bytes: number[] = [];
      let significant = 0;
      while (pos < src.length) {
        const c = src[pos]!;
        if (c === ',' || c === '+') break;
        if (c === '\\') {
          const pair = src.slice(pos + 1, pos + 3);
          if (HEX.test(pair)) {
            bytes.push(Number.parseInt(pair, 16));
            pos += 3;
          } else if (pos + 1 < src.length && ESCAPABLE.has(src[pos + 1]!)) {
            bytes.push(src.charCodeAt(pos + 1));
            pos += 2;
          } else {
            throw new DnError('invalid escape', pos);
          }
          significant = bytes.length;
          continue;
        }
        if (c === '"' || c === ';' || c === '<' || c === '>' || c === '\0') {
          throw new DnError(`unescaped '${c === '\0' ? '\\0' : c}' in value`, pos);
        }
        const cp = src.codePointAt(pos)!;
        if (cp < 0x80) {
          bytes.push(cp);
          pos++;
        } else {
          const ch = String.fromCodePoint(cp);
          for (const b of Buffer.from(ch, 'utf8')) bytes.push(b);
          pos += ch.length;
        }
        if (c !== ' ') significant = bytes.length;
      }
      let value: string;
      try {
        value = fatalUtf8.decode(Uint8Array.from(bytes.slice(0, significant)));
      } catch {
        throw new DnError('value is not valid UTF-8', pos);
      }
      ava = { type, value };
    }
    rdn.push(ava);
    if (rdn.length > lim.maxAvasPerRdn) throw new DnError(`more than ${lim.maxAvasPerRdn} values in one RDN`, pos);

    if (pos >= src.length) {
      rdns.push(rdn);
      break;
    }
    const sep = src[pos];
    pos++;
    if (sep === ',') {
      rdns.push(rdn);
      if (rdns.length >= lim.maxRdns) throw new DnError(`more than ${lim.maxRdns} RDNs`, pos);
      rdn = [];
    } else if (sep !== '+') {
      throw new DnError(`unexpected '${sep}'`, pos - 1);
    }
    if (pos >= src.length) throw new DnError('DN ends with a separator', pos);
  }
  return rdns;
}

/**
 * The AVA whose value starts at `start`, when that value is plain: ASCII, no escapes, up to the
 * next `,` or `+` or the end. Its value is the text without trailing spaces, exactly what the
 * general path decodes it to. Undefined when the value needs the general path (which also
 * reports the errors).
 */
function plainValue(src: string, start: number, type: string): Ava | undefined {
  let end = start;
  let pos = start;
  for (; pos < src.length; pos++) {
    const c = src.charCodeAt(pos);
    if (c === 0x2c || c === 0x2b) break; // , +
    // \ and non-ASCII need decoding; " ; < > NUL are errors the general path reports.
    if (c === 0x5c || c >= 0x80 || c === 0x22 || c === 0x3b || c === 0x3c || c === 0x3e || c === 0) return undefined;
    if (c !== 0x20) end = pos + 1;
  }
  return { type, value: src.slice(start, end) };
}

function decodeBerValue(raw: Buffer, position: number): string {
  try {
    const r = new BerReader(raw, { limits: { maxDepth: 8, maxElements: 64 } });
    const h = r.readHeader();
    if (!r.atEnd()) throw new DnError('trailing bytes after the BER value', position);
    if (!h.constructed && BER_STRING_TAGS.has(h.tag)) {
      return fatalUtf8.decode(raw.subarray(h.contentStart, h.end));
    }
  } catch (e) {
    if (e instanceof DnError) throw e;
    throw new DnError('#hex value is not a valid BER element', position);
  }
  // Not a string type: keep the hex form as the value.
  return `#${raw.toString('hex')}`;
}

/** Escapes an attribute value for use in a DN string (RFC 4514 §2.4). */
export function escapeDnValue(value: string): string {
  let out = '';
  const last = value.length - 1;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    switch (c) {
      case '"':
      case '+':
      case ',':
      case ';':
      case '<':
      case '>':
      case '\\':
        out += `\\${c}`;
        break;
      case '\0':
        out += '\\00';
        break;
      case ' ':
        out += i === 0 || i === last ? '\\ ' : ' ';
        break;
      case '#':
        out += i === 0 ? '\\#' : '#';
        break;
      default:
        out += c;
    }
  }
  return out;
}

function formatAva(a: Ava): string {
  return a.raw !== undefined ? `${a.type}=#${a.raw.toString('hex')}` : `${a.type}=${escapeDnValue(a.value)}`;
}

export function formatRdn(rdn: Rdn): string {
  return rdn.map(formatAva).join('+');
}

/** Formats a DN as an RFC 4514 string (types and values as given, values escaped). */
export function formatDn(dn: Dn): string {
  return dn.map(formatRdn).join(',');
}

/** Builds `type=value,<parent>` with `value` escaped. */
export function childDn(type: string, value: string, parent: string): string {
  const rdn = `${type}=${escapeDnValue(value)}`;
  return parent === '' ? rdn : `${rdn},${parent}`;
}

const TYPE_ALIASES = new Map<string, string>([
  ['2.5.4.3', 'cn'],
  ['commonname', 'cn'],
  ['2.5.4.11', 'ou'],
  ['organizationalunitname', 'ou'],
  ['2.5.4.10', 'o'],
  ['organizationname', 'o'],
  ['2.5.4.6', 'c'],
  ['countryname', 'c'],
  ['2.5.4.7', 'l'],
  ['localityname', 'l'],
  ['2.5.4.8', 'st'],
  ['stateorprovincename', 'st'],
  ['2.5.4.9', 'street'],
  ['streetaddress', 'street'],
  ['0.9.2342.19200300.100.1.25', 'dc'],
  ['domaincomponent', 'dc'],
  ['0.9.2342.19200300.100.1.1', 'uid'],
  ['userid', 'uid'],
]);

/** Lower-cased attribute type, with well-known OIDs and long names mapped to the short name. */
export function normalizeAttributeType(type: string): string {
  const t = type.toLowerCase();
  return TYPE_ALIASES.get(t) ?? t;
}

const SPACE_RUN = / +/g;

/** caseIgnoreMatch-style value normalisation: lower case, trimmed, runs of spaces collapsed. */
export function normalizeDnValue(value: string): string {
  return value.toLowerCase().replace(SPACE_RUN, ' ').trim();
}

function normalizeAvaString(a: Ava): string {
  return `${normalizeAttributeType(a.type)}=${escapeDnValue(normalizeDnValue(a.value))}`;
}

/** Canonical string of one RDN (AVAs sorted, so `a=1+b=2` equals `b=2+a=1`). */
export function normalizeRdn(rdn: Rdn): string {
  if (rdn.length === 1) return normalizeAvaString(rdn[0]!);
  return rdn
    .map(normalizeAvaString)
    .sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))
    .join('+');
}

function toDn(dn: Dn | string): Dn {
  return typeof dn === 'string' ? parseDn(dn) : dn;
}

/**
 * Canonical strings of a parsed DN's RDNs, computed once per Dn object: parsed DNs are never
 * changed, and the long-lived ones (provider bases, layouts) are compared on every request.
 */
const normalizedRdnsOf = new WeakMap<Dn, readonly string[]>();

export function normalizedRdns(dn: Dn): readonly string[] {
  let n = normalizedRdnsOf.get(dn);
  if (n === undefined) {
    n = dn.map(normalizeRdn);
    normalizedRdnsOf.set(dn, n);
  }
  return n;
}

/** Canonical string form: equal DNs have equal normalised strings. */
export function normalizeDn(dn: Dn | string): string {
  return normalizedRdns(toDn(dn)).join(',');
}

export function dnEquals(a: Dn | string, b: Dn | string): boolean {
  const x = toDn(a);
  const y = toDn(b);
  if (x.length !== y.length) return false;
  const nx = normalizedRdns(x);
  const ny = normalizedRdns(y);
  for (let i = 0; i < nx.length; i++) if (nx[i] !== ny[i]) return false;
  return true;
}

/** True when `dn` is strictly below `base` (the root DN is an ancestor of every non-root DN). */
export function isDescendantOf(dn: Dn | string, base: Dn | string): boolean {
  const d = toDn(dn);
  const b = toDn(base);
  if (d.length <= b.length) return false;
  return suffixMatches(d, b);
}

/** True when `dn` equals `base` or is below it (subtree scope). */
export function isWithin(dn: Dn | string, base: Dn | string): boolean {
  const d = toDn(dn);
  const b = toDn(base);
  if (d.length < b.length) return false;
  return suffixMatches(d, b);
}

function suffixMatches(d: Dn, b: Dn): boolean {
  if (b.length === 0) return true;
  const nd = normalizedRdns(d);
  const nb = normalizedRdns(b);
  const off = d.length - b.length;
  for (let i = 0; i < b.length; i++) if (nd[off + i] !== nb[i]) return false;
  return true;
}

/** The parent DN (without the first RDN); undefined for the root DN. */
export function parentDn(dn: string): string | undefined;
export function parentDn(dn: Dn): Dn | undefined;
export function parentDn(dn: Dn | string): Dn | string | undefined {
  const d = toDn(dn);
  if (d.length === 0) return undefined;
  const p = d.slice(1);
  return typeof dn === 'string' ? formatDn(p) : p;
}

/** Value of the first AVA of RDN `index` (0 = the entry's own RDN). */
export function rdnValue(dn: Dn | string, index: number): string | undefined {
  return toDn(dn)[index]?.[0]?.value;
}

/** Value of the first AVA of the given type, scanning RDNs left to right. */
export function firstValueOfType(dn: Dn | string, type: string): string | undefined {
  const want = normalizeAttributeType(type);
  for (const rdn of toDn(dn)) for (const a of rdn) if (normalizeAttributeType(a.type) === want) return a.value;
  return undefined;
}
