/**
 * Duplicate-detection key (RFC 5080 §2.2.2): a retransmission has the same client address,
 * client port, Identifier and Request Authenticator. A new request reusing an Identifier has
 * a fresh Request Authenticator and so a different key. The cache itself is the server's.
 */

import type { RadiusPacket } from './packet.ts';

/** `::ffff:a.b.c.d` → `a.b.c.d`; IPv6 text lower-cased. Other forms are left as given. */
function normaliseAddress(address: string): string {
  const lower = address.toLowerCase();
  const m = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(lower);
  return m !== null ? m[1]! : lower;
}

/** `<address>|<port>|<identifier>|<authenticator hex>`. */
export function duplicateKey(address: string, port: number, identifier: number, requestAuthenticator: Uint8Array): string {
  return `${normaliseAddress(address)}|${port}|${identifier}|${Buffer.from(requestAuthenticator.buffer, requestAuthenticator.byteOffset, requestAuthenticator.byteLength).toString('hex')}`;
}

/** `duplicateKey` for a decoded packet. */
export function packetDuplicateKey(address: string, port: number, packet: RadiusPacket): string {
  return duplicateKey(address, port, packet.identifier, packet.authenticator);
}
