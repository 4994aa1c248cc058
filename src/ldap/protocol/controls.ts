/**
 * Controls and extended operations this server knows about.
 */

import { BerError, BerReader, BerWriter } from './ber.ts';
import type { Control } from './messages.ts';

/** Control OIDs. */
export const ControlOid = {
  /** RFC 2696 Simple Paged Results. */
  pagedResults: '1.2.840.113556.1.4.319',
  /** RFC 3296 ManageDsaIT (a no-op for a server without referrals/aliases). */
  manageDsaIT: '2.16.840.1.113730.3.4.2',
} as const;

/** Extended operation OIDs. */
export const ExtendedOid = {
  /** RFC 4511 §4.14 StartTLS. */
  startTls: '1.3.6.1.4.1.1466.20037',
  /** RFC 4532 "Who am I?". */
  whoAmI: '1.3.6.1.4.1.4203.1.11.3',
  /** RFC 3062 Password Modify. */
  passwordModify: '1.3.6.1.4.1.4203.1.11.1',
  /** RFC 4511 §4.4.1 Notice of Disconnection (unsolicited notification). */
  noticeOfDisconnection: '1.3.6.1.4.1.1466.20036',
} as const;

export interface PagedResultsValue {
  /** Requested page size (request) or estimated total (response; 0 if unknown). */
  readonly size: number;
  /** Opaque cookie; empty on the first request and in the last response. */
  readonly cookie: Buffer;
}

/**
 * Decodes the value of a paged-results control:
 * realSearchControlValue ::= SEQUENCE { size INTEGER (0..maxInt), cookie OCTET STRING }.
 * Throws `BerError` when the value is missing or malformed.
 */
export function decodePagedResultsValue(value: Buffer | undefined): PagedResultsValue {
  if (value === undefined) throw new BerError('missing-control-value', 0, 'paged results control without a value');
  const r = new BerReader(value, { limits: { maxDepth: 2, maxElements: 8 } });
  const s = r.readConstructed();
  const size = s.readUnsignedInt();
  const cookie = s.readOctetString();
  if (!r.atEnd()) throw new BerError('trailing-data', r.offset);
  return { size, cookie };
}

export function encodePagedResultsValue(v: PagedResultsValue): Buffer {
  const w = new BerWriter(32 + v.cookie.length);
  w.start();
  w.writeInteger(v.size);
  w.writeOctetString(v.cookie);
  w.end();
  return w.toBuffer();
}

/** The paged-results response control to attach to SearchResultDone. */
export function pagedResultsResponseControl(size: number, cookie: Buffer): Control {
  return { oid: ControlOid.pagedResults, criticality: false, value: encodePagedResultsValue({ size, cookie }) };
}

/** Finds the first control with `oid`. */
export function findControl(controls: readonly Control[], oid: string): Control | undefined {
  return controls.find((c) => c.oid === oid);
}

/** Critical controls whose OID is not in `supported` (answer unavailableCriticalExtension). */
export function unsupportedCriticalControls(controls: readonly Control[], supported: ReadonlySet<string>): Control[] {
  return controls.filter((c) => c.criticality && !supported.has(c.oid));
}

/** WhoAmI responseValue (RFC 4532 authzId): `dn:<dn>`, or empty for anonymous. */
export function whoAmIResponseValue(boundDn: string | undefined): Buffer {
  return Buffer.from(boundDn === undefined || boundDn === '' ? '' : `dn:${boundDn}`, 'utf8');
}
