// PROXY protocol v1 (text) and v2 (binary) header parsing, per
// https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt. Pure: bytes in, result out.
//
// Whether a header is acceptable at all (only from trusted proxies) is the caller's decision;
// this module only reads it.
import { formatIp, parseIp } from './cidr.ts';

/** `\r\n\r\n\0\r\nQUIT\n`. */
export const PROXY_V2_SIGNATURE: Buffer = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** The longest v1 line, CRLF included (the specification's bound). */
export const PROXY_V1_MAX_LENGTH = 107;
/** Default bound for a v2 header (16 fixed bytes + addresses + TLVs). */
export const DEFAULT_PROXY_V2_MAX_LENGTH = 4096;

export interface ProxyEndpoint {
  readonly address: string;
  readonly port: number;
}

export type ProxyParseResult =
  /** The bytes do not start with a PROXY header (they are the application's). */
  | { readonly kind: 'none' }
  /** A header has started but is incomplete. */
  | { readonly kind: 'need-more' }
  | { readonly kind: 'error'; readonly reason: string }
  | {
      readonly kind: 'header';
      readonly version: 1 | 2;
      /** Bytes taken by the header; the application's data starts after them. */
      readonly consumed: number;
      /** `local` (v2 LOCAL, e.g. a proxy's health check): use the real connection's addresses. */
      readonly command: 'proxy' | 'local';
      /** The original client; undefined for LOCAL, UNKNOWN, UNSPEC and UNIX. */
      readonly source: ProxyEndpoint | undefined;
      readonly destination: ProxyEndpoint | undefined;
    };

/**
 * Which signature the bytes start with: `v1`/`v2` when complete, `partial` when they are a
 * proper prefix of one, `none` otherwise. LDAP (0x30) and TLS (0x16) never look like either.
 */
export function proxySignature(buf: Uint8Array): 'v1' | 'v2' | 'partial' | 'none' {
  const isPrefix = (sig: Buffer): boolean => {
    const n = Math.min(buf.length, sig.length);
    for (let i = 0; i < n; i++) if (buf[i] !== sig[i]) return false;
    return true;
  };
  if (buf.length === 0) return 'none';
  if (isPrefix(V1_PREFIX)) return buf.length >= V1_PREFIX.length ? 'v1' : 'partial';
  if (isPrefix(PROXY_V2_SIGNATURE)) return buf.length >= PROXY_V2_SIGNATURE.length ? 'v2' : 'partial';
  return 'none';
}

/** Parses the PROXY header at the start of `buf`. Never throws. */
export function parseProxyHeader(buf: Uint8Array, maxV2Length: number = DEFAULT_PROXY_V2_MAX_LENGTH): ProxyParseResult {
  const sig = proxySignature(buf);
  if (sig === 'none') return { kind: 'none' };
  if (sig === 'partial') return { kind: 'need-more' };
  return sig === 'v1' ? parseV1(buf) : parseV2(buf, maxV2Length);
}

function parsePort(s: string): number | undefined {
  if (!/^(0|[1-9]\d{0,4})$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 65535 ? n : undefined;
}

function parseV1(buf: Uint8Array): ProxyParseResult {
  const limit = Math.min(buf.length, PROXY_V1_MAX_LENGTH);
  let cr = -1;
  for (let i = V1_PREFIX.length; i < limit; i++) {
    if (buf[i] === 0x0d) {
      cr = i;
      break;
    }
    // Only printable US-ASCII is allowed on the line.
    if (buf[i]! < 0x20 || buf[i]! > 0x7e) return { kind: 'error', reason: 'PROXY v1: invalid character in header' };
  }
  if (cr === -1) {
    return buf.length >= PROXY_V1_MAX_LENGTH ? { kind: 'error', reason: `PROXY v1: no CRLF within ${PROXY_V1_MAX_LENGTH} bytes` } : { kind: 'need-more' };
  }
  if (cr + 1 >= buf.length) return cr + 1 >= PROXY_V1_MAX_LENGTH ? { kind: 'error', reason: 'PROXY v1: header too long' } : { kind: 'need-more' };
  if (buf[cr + 1] !== 0x0a) return { kind: 'error', reason: 'PROXY v1: CR not followed by LF' };
  const consumed = cr + 2;
  const line = Buffer.from(buf.subarray(V1_PREFIX.length, cr)).toString('latin1');
  const parts = line.split(' ');
  const proto = parts[0];
  if (proto === 'UNKNOWN') return { kind: 'header', version: 1, consumed, command: 'proxy', source: undefined, destination: undefined };
  if ((proto !== 'TCP4' && proto !== 'TCP6') || parts.length !== 5) return { kind: 'error', reason: 'PROXY v1: malformed header' };
  const want = proto === 'TCP4' ? 4 : 6;
  const [, srcText, dstText, sportText, dportText] = parts as [string, string, string, string, string];
  const src = parseIp(srcText);
  const dst = parseIp(dstText);
  const sport = parsePort(sportText);
  const dport = parsePort(dportText);
  // TCP4 needs dotted quads; TCP6 needs IPv6 notation (an IPv4-mapped IPv6 address is fine).
  const okFamily = (t: string) => (want === 4 ? !t.includes(':') : t.includes(':')) && !t.includes('%');
  if (src === undefined || dst === undefined || !okFamily(srcText) || !okFamily(dstText)) {
    return { kind: 'error', reason: `PROXY v1: invalid ${proto} address` };
  }
  if (sport === undefined || dport === undefined) return { kind: 'error', reason: 'PROXY v1: invalid port' };
  return {
    kind: 'header',
    version: 1,
    consumed,
    command: 'proxy',
    source: { address: formatIp(src.value), port: sport },
    destination: { address: formatIp(dst.value), port: dport },
  };
}

function readV6(buf: Uint8Array, at: number): bigint {
  let v = 0n;
  for (let i = 0; i < 16; i++) v = (v << 8n) | BigInt(buf[at + i]!);
  return v;
}

function parseV2(buf: Uint8Array, maxLength: number): ProxyParseResult {
  if (buf.length < 16) return { kind: 'need-more' };
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) return { kind: 'error', reason: `PROXY v2: unsupported version ${verCmd >> 4}` };
  const cmd = verCmd & 0x0f;
  if (cmd > 1) return { kind: 'error', reason: `PROXY v2: unknown command ${cmd}` };
  const famProto = buf[13]!;
  const len = (buf[14]! << 8) | buf[15]!;
  const total = 16 + len;
  if (total > maxLength) return { kind: 'error', reason: `PROXY v2: header of ${total} bytes exceeds ${maxLength}` };
  if (buf.length < total) return { kind: 'need-more' };
  if (cmd === 0) return { kind: 'header', version: 2, consumed: total, command: 'local', source: undefined, destination: undefined };
  const family = famProto >> 4;
  const transport = famProto & 0x0f;
  if (family > 3 || transport > 2) return { kind: 'error', reason: `PROXY v2: unknown address family 0x${famProto.toString(16)}` };
  const none = { kind: 'header', version: 2, consumed: total, command: 'proxy', source: undefined, destination: undefined } as const;
  if (family === 0 || family === 3) return none;
  if (family === 1) {
    if (len < 12) return { kind: 'error', reason: 'PROXY v2: address block too short for IPv4' };
    const ip = (at: number) => `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
    return {
      ...none,
      source: { address: ip(16), port: (buf[24]! << 8) | buf[25]! },
      destination: { address: ip(20), port: (buf[26]! << 8) | buf[27]! },
    };
  }
  if (len < 36) return { kind: 'error', reason: 'PROXY v2: address block too short for IPv6' };
  return {
    ...none,
    source: { address: formatIp(readV6(buf, 16)), port: (buf[48]! << 8) | buf[49]! },
    destination: { address: formatIp(readV6(buf, 32)), port: (buf[50]! << 8) | buf[51]! },
  };
}

/** Encodes a header (for tests and tools). */
export function encodeProxyHeader(version: 1 | 2, source: ProxyEndpoint, destination: ProxyEndpoint): Buffer {
  const s = parseIp(source.address);
  const d = parseIp(destination.address);
  if (s === undefined || d === undefined) throw new RangeError('encodeProxyHeader: addresses must be IPs');
  const v4 = s.family === 4 && d.family === 4;
  if (version === 1) {
    const txt = (v: bigint) => (v4 ? formatIp(v) : formatIp(v).includes(':') ? formatIp(v) : `::ffff:${formatIp(v)}`);
    return Buffer.from(`PROXY ${v4 ? 'TCP4' : 'TCP6'} ${txt(s.value)} ${txt(d.value)} ${source.port} ${destination.port}\r\n`, 'latin1');
  }
  const addrLen = v4 ? 12 : 36;
  const out = Buffer.alloc(16 + addrLen);
  PROXY_V2_SIGNATURE.copy(out, 0);
  out[12] = 0x21;
  out[13] = v4 ? 0x11 : 0x21;
  out.writeUInt16BE(addrLen, 14);
  if (v4) {
    out.writeUInt32BE(Number(s.value & 0xffffffffn), 16);
    out.writeUInt32BE(Number(d.value & 0xffffffffn), 20);
    out.writeUInt16BE(source.port, 24);
    out.writeUInt16BE(destination.port, 26);
  } else {
    for (let i = 0; i < 16; i++) {
      out[16 + i] = Number((s.value >> BigInt(8 * (15 - i))) & 0xffn);
      out[32 + i] = Number((d.value >> BigInt(8 * (15 - i))) & 0xffn);
    }
    out.writeUInt16BE(source.port, 48);
    out.writeUInt16BE(destination.port, 50);
  }
  return out;
}
