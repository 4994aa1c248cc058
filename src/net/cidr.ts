// IP addresses and CIDR ranges (IPv4, IPv6, IPv4-mapped IPv6). Pure: no I/O, no DNS.
//
// Every address is handled as a 128-bit number in IPv6 space: an IPv4 address a.b.c.d is
// ::ffff:a.b.c.d, and an IPv4 range a.b.c.d/n is ::ffff:a.b.c.d/(96+n). So `10.0.0.0/8` matches
// both `10.1.2.3` and `::ffff:10.1.2.3` (what a dual-stack socket reports), and `::/0` matches
// every address, IPv4 included. Used by the LDAP server (trusted PROXY-protocol peers) and meant
// for the RADIUS listener (clients by network, most specific first).

export class CidrError extends Error {
  override readonly name = 'CidrError';
}

export interface IpAddress {
  /** 4 for IPv4 and IPv4-mapped IPv6 addresses, 6 otherwise. */
  readonly family: 4 | 6;
  /** The address in IPv6 space (IPv4 mapped into ::ffff:0:0/96). */
  readonly value: bigint;
}

export interface Cidr {
  /** Canonical text: `10.0.0.0/8`, `2001:db8::/32`. */
  readonly text: string;
  readonly family: 4 | 6;
  /** Prefix length as written (0..32 for IPv4, 0..128 for IPv6). */
  readonly prefix: number;
  /** Network address in IPv6 space, host bits cleared. */
  readonly network: bigint;
  /** Prefix length in IPv6 space (IPv4 /n is 96 + n). */
  readonly bits: number;
}

const MAPPED_PREFIX = 0xffffn << 32n;
const ALL_ONES = (1n << 128n) - 1n;

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    // No leading zeros: `010` is octal to some parsers and decimal to others.
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseIpv6(text: string): bigint | undefined {
  if (text.length === 0 || text.length > 45) return undefined;
  let head = text;
  let tail32: bigint | undefined;
  // Embedded IPv4 tail (`::ffff:1.2.3.4`, `64:ff9b::1.2.3.4`).
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    tail32 = parseIpv4(text.slice(lastColon + 1));
    if (tail32 === undefined) return undefined;
    head = text.slice(0, lastColon + 1);
    // `::1.2.3.4` leaves `::`; `1::1.2.3.4` leaves `1::`; `1:2:3:4:5:6:1.2.3.4` leaves `1:2:3:4:5:6:`.
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const groupsWanted = tail32 === undefined ? 8 : 6;
  const dbl = head.indexOf('::');
  if (dbl !== -1 && head.indexOf('::', dbl + 1) !== -1) return undefined;
  const parseGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (dbl === -1) {
    const g = parseGroups(head);
    if (g === undefined || g.length !== groupsWanted) return undefined;
    groups = g;
  } else {
    const left = parseGroups(head.slice(0, dbl));
    const right = parseGroups(head.slice(dbl + 2));
    if (left === undefined || right === undefined) return undefined;
    const missing = groupsWanted - left.length - right.length;
    // `::` stands for at least one group of zeros.
    if (missing < 1) return undefined;
    groups = [...left, ...new Array<number>(missing).fill(0), ...right];
  }
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  if (tail32 !== undefined) v = (v << 32n) | tail32;
  return v;
}

/**
 * Parses an IPv4 or IPv6 address (an IPv6 zone such as `%eth0` is ignored). IPv4-mapped IPv6
 * addresses are reported as family 4. Returns undefined for anything else (host names too).
 */
export function parseIp(text: string): IpAddress | undefined {
  let t = text.trim();
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  const zone = t.indexOf('%');
  if (zone !== -1) t = t.slice(0, zone);
  const v4 = parseIpv4(t);
  if (v4 !== undefined) return { family: 4, value: MAPPED_PREFIX | v4 };
  if (!t.includes(':')) return undefined;
  const v6 = parseIpv6(t);
  if (v6 === undefined) return undefined;
  return { family: v6 >> 32n === 0xffffn ? 4 : 6, value: v6 };
}

/** Text form of an address value: dotted IPv4 for mapped addresses, RFC 5952 IPv6 otherwise. */
export function formatIp(value: bigint): string {
  if (value >> 32n === 0xffffn) {
    const v = Number(value & 0xffffffffn);
    return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  return formatIpv6Groups(groups);
}

/** RFC 5952 text of eight 16-bit groups: lower-case hex, the longest run (2+) of zeros as `::`. */
export function formatIpv6Groups(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: readonly number[]) => gs.map((g) => g.toString(16)).join(':');
  if (bestStart === -1) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** Canonical text of an address (`::ffff:10.0.0.1` → `10.0.0.1`), or undefined if not an IP. */
export function normalizeIp(text: string): string | undefined {
  const ip = parseIp(text);
  return ip === undefined ? undefined : formatIp(ip.value);
}

function maskOf(bits: number): bigint {
  return bits === 0 ? 0n : (ALL_ONES << BigInt(128 - bits)) & ALL_ONES;
}

/**
 * Parses `a.b.c.d/n`, `x:y::/n`, or a bare address (a host: /32 or /128). Host bits set in
 * the address are cleared (`10.1.2.3/8` is `10.0.0.0/8`). Throws `CidrError`.
 */
export function parseCidr(text: string): Cidr {
  const t = text.trim();
  const slash = t.indexOf('/');
  const addrText = slash === -1 ? t : t.slice(0, slash);
  const ip = parseIp(addrText);
  if (ip === undefined || addrText.includes('%')) throw new CidrError(`"${text}" is not an IP address or CIDR range`);
  // A range written in IPv6 notation stays IPv6 even when it lies inside ::ffff:0:0/96.
  const writtenV4 = parseIpv4(addrText) !== undefined;
  const max = writtenV4 ? 32 : 128;
  let prefix = max;
  if (slash !== -1) {
    const p = t.slice(slash + 1);
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > max) throw new CidrError(`"${text}": prefix length must be 0..${max}`);
    prefix = Number(p);
  }
  const bits = writtenV4 ? 96 + prefix : prefix;
  const network = ip.value & maskOf(bits);
  const family: 4 | 6 = writtenV4 ? 4 : 6;
  const text2 = family === 4 ? `${formatIp(network)}/${prefix}` : `${formatIp(network).replace(/^(\d+\.\d+\.\d+\.\d+)$/, '::ffff:$1')}/${prefix}`;
  return { text: text2, family, prefix, network, bits };
}

/**
 * Parses a list of ranges. Each item may itself hold several ranges separated by commas or
 * white space (`"10.0.0.0/8, 192.168.0.0/16"`); empty items are skipped. Throws `CidrError`
 * naming the first bad item.
 */
export function parseCidrList(items: readonly string[]): Cidr[] {
  const out: Cidr[] = [];
  for (const item of items) {
    for (const part of item.split(/[\s,]+/)) {
      if (part !== '') out.push(parseCidr(part));
    }
  }
  return out;
}

function toValue(address: string | IpAddress | bigint): bigint | undefined {
  if (typeof address === 'bigint') return address;
  if (typeof address === 'string') return parseIp(address)?.value;
  return address.value;
}

export function cidrContains(cidr: Cidr, address: string | IpAddress | bigint): boolean {
  const v = toValue(address);
  return v !== undefined && (v & maskOf(cidr.bits)) === cidr.network;
}

export interface CidrMatch<T> {
  readonly cidr: Cidr;
  readonly value: T;
}

/**
 * Ranges with an associated value; `match` returns the most specific range containing an
 * address (longest prefix; on equal prefixes the first added wins).
 */
export class CidrMatcher<T = true> {
  private readonly entries: CidrMatch<T>[] = [];

  constructor(entries: Iterable<readonly [Cidr | string, T]> = []) {
    for (const [c, v] of entries) this.add(c, v);
  }

  /** A matcher whose value is `true` for every range of `list` (see `parseCidrList`). */
  static of(list: readonly string[]): CidrMatcher<true> {
    return new CidrMatcher<true>(parseCidrList(list).map((c) => [c, true] as const));
  }

  add(cidr: Cidr | string, value: T): this {
    const c = typeof cidr === 'string' ? parseCidr(cidr) : cidr;
    // Keep entries sorted by decreasing specificity (stable for equal prefixes).
    let i = this.entries.length;
    while (i > 0 && this.entries[i - 1]!.cidr.bits < c.bits) i--;
    this.entries.splice(i, 0, { cidr: c, value });
    return this;
  }

  get size(): number {
    return this.entries.length;
  }

  match(address: string | IpAddress | bigint): CidrMatch<T> | undefined {
    const v = toValue(address);
    if (v === undefined) return undefined;
    for (const e of this.entries) if ((v & maskOf(e.cidr.bits)) === e.cidr.network) return e;
    return undefined;
  }

  has(address: string | IpAddress | bigint): boolean {
    return this.match(address) !== undefined;
  }
}
