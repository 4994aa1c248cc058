/**
 * The little of EAP (RFC 3748 §4) a server that does not run EAP needs: the Access-Reject to
 * an EAP request carries an EAP-Failure (RFC 3579 §2.6.3), so that the NAS can end the
 * conversation with the peer instead of waiting for an EAP packet that never comes.
 *
 * EAP packet: Code (1) | Identifier (1) | Length (2, big-endian, includes these 4 bytes) | Data.
 */

import { AttributeType, concatAttribute } from './attributes.ts';
import { RadiusEncodeError } from './errors.ts';
import type { RawAttribute } from './packet.ts';

export const EapCode = {
  request: 1,
  response: 2,
  success: 3,
  failure: 4,
} as const;

export const EAP_HEADER_LENGTH = 4;

/**
 * The Identifier of the EAP packet an Access-Request carries (its EAP-Message attributes
 * concatenated, RFC 3579 §3.1); undefined when it carries none, or fewer bytes than an EAP
 * header (no EAP peer sent that: there is nothing to answer).
 */
export function eapIdentifier(attributes: readonly RawAttribute[]): number | undefined {
  const eap = concatAttribute(attributes, AttributeType.eapMessage);
  return eap !== undefined && eap.length >= EAP_HEADER_LENGTH ? eap[1] : undefined;
}

/** An EAP-Message attribute holding EAP-Failure: code 4, `identifier`, length 4. Throws `RadiusEncodeError`. */
export function eapFailureAttribute(identifier: number): RawAttribute {
  if (!Number.isInteger(identifier) || identifier < 0 || identifier > 255) {
    throw new RadiusEncodeError('invalid_value', `EAP identifier ${identifier} outside 0..255`);
  }
  return { type: AttributeType.eapMessage, value: Buffer.from([EapCode.failure, identifier, 0, EAP_HEADER_LENGTH]) };
}

/** The EAP-Failure answering the EAP packet of `request` (see `eapIdentifier`), or undefined. */
export function eapFailureFor(request: readonly RawAttribute[]): RawAttribute | undefined {
  const identifier = eapIdentifier(request);
  return identifier === undefined ? undefined : eapFailureAttribute(identifier);
}
