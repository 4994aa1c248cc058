/**
 * Credentials an Access-Request may carry once only. RFC 2865 §5.44 allows at most one
 * User-Name, User-Password and CHAP-Password, and §4.1 never both a User-Password and a
 * CHAP-Password; RFC 3579 §3.3 (note 1) extends that to one kind among User-Password,
 * CHAP-Password, ARAP-Password and EAP-Message; RFC 2548 allows at most one MS-CHAP-Response
 * or MS-CHAP2-Response. A request with more is ambiguous: the server could authenticate one
 * name (or password) while the NAS applies the answer to another (the first versus the last),
 * so it is malformed and dropped, never answered. EAP-Message counts once however many
 * attributes carry it: an EAP packet is split over several by design (RFC 3579 §3.1).
 */

import { AttributeType, MicrosoftAttribute, VendorId, attributeName, countAttribute, getVendorAttributes, hasAttribute } from './attributes.ts';
import type { RawAttribute } from './packet.ts';

export type CredentialFailure =
  /** More than one User-Name. */
  | 'multiple_user_names'
  /** More than one password attribute, of one kind or of several. */
  | 'multiple_passwords';

export type CredentialCheck =
  | { readonly ok: true }
  /** `detail` names attribute types and counts, never a value. */
  | { readonly ok: false; readonly reason: CredentialFailure; readonly detail: string };

const PASSWORD_TYPES: readonly number[] = [AttributeType.userPassword, AttributeType.chapPassword, AttributeType.arapPassword];
const MS_CHAP_RESPONSES: readonly (readonly [number, string])[] = [
  [MicrosoftAttribute.msChapResponse, 'MS-CHAP-Response'],
  [MicrosoftAttribute.msChap2Response, 'MS-CHAP2-Response'],
];

/** Whether the credentials of an Access-Request are unambiguous. Never throws. */
export function checkCredentials(attributes: readonly RawAttribute[]): CredentialCheck {
  const names = countAttribute(attributes, AttributeType.userName);
  if (names > 1) return { ok: false, reason: 'multiple_user_names', detail: `${names} User-Name attributes (RFC 2865 allows one)` };
  const passwords: (readonly [string, number])[] = [
    ...PASSWORD_TYPES.map((type) => [attributeName(type), countAttribute(attributes, type)] as const),
    ...MS_CHAP_RESPONSES.map(([type, name]) => [name, getVendorAttributes(attributes, VendorId.microsoft, type).length] as const),
    [attributeName(AttributeType.eapMessage), hasAttribute(attributes, AttributeType.eapMessage) ? 1 : 0] as const,
  ].filter(([, n]) => n > 0);
  const total = passwords.reduce((sum, [, n]) => sum + n, 0);
  if (total > 1) {
    const found = passwords.map(([name, n]) => `${n} ${name}`).join(', ');
    return { ok: false, reason: 'multiple_passwords', detail: `${found} (one password attribute at most: RFC 2865, RFC 3579)` };
  }
  return { ok: true };
}
