/**
 * Pure RADIUS protocol layer: packet codec, attribute dictionary and typed getters,
 * User-Password hiding, authenticators (Message-Authenticator, Accounting, Response), the
 * duplicate-detection key, the once-only credentials check and EAP-Failure. No I/O, no
 * timers, no logging.
 */

export { RadiusEncodeError, type EncodeErrorKind } from './errors.ts';

export { SharedSecret, type Secret } from './crypto.ts';

export {
  AUTHENTICATOR_LENGTH,
  HEADER_LENGTH,
  MAX_PACKET_LENGTH,
  MESSAGE_AUTHENTICATOR_LENGTH,
  MIN_PACKET_LENGTH,
  RadiusCode,
  codeName,
  decodePacket,
  encodeReply,
  encodeRequest,
  encodeResponse,
  hasComputedRequestAuthenticator,
  replyLength,
  tryEncodeResponse,
  type DecodeFailureReason,
  type DecodeResult,
  type EncodeResult,
  type RadiusCodeValue,
  type RadiusPacket,
  type RawAttribute,
  type ReplyOptions,
  type RequestOptions,
  type ResponseOptions,
} from './packet.ts';

export {
  ATTRIBUTES,
  AttributeType,
  MAX_ATTRIBUTE_VALUE_LENGTH,
  MicrosoftAttribute,
  VendorId,
  attributeName,
  concatAttribute,
  countAttribute,
  decodeIPv4,
  decodeIPv6,
  decodeInteger,
  decodeText,
  detectAuthMethods,
  getAttribute,
  getAttributes,
  getIPv4,
  getIPv6,
  getInteger,
  getString,
  getVendorAttributes,
  getVendorSpecific,
  hasAttribute,
  integerAttribute,
  ipv4Attribute,
  ipv6Attribute,
  octetsAttribute,
  parseVendorSpecific,
  textAttribute,
  vendorSpecificAttribute,
  type AttributeDef,
  type AttributeKind,
  type AuthMethods,
  type ValueFailure,
  type ValueResult,
  type VendorSpecific,
  type VendorSubAttribute,
} from './attributes.ts';

export {
  MAX_PASSWORD_LENGTH,
  decodeUserPassword,
  hidePassword,
  unhidePassword,
  userPasswordAttribute,
  type UnhideResult,
  type UserPasswordResult,
} from './password.ts';

export {
  authenticateRequest,
  computeAccountingRequestAuthenticator,
  computeMessageAuthenticator,
  computeResponseAuthenticator,
  messageAuthenticatorIsFirst,
  verifyAccountingRequestAuthenticator,
  verifyRequestMessageAuthenticator,
  verifyResponse,
  verifyResponseAuthenticator,
  verifyResponseMessageAuthenticator,
  type MessageAuthenticatorStatus,
  type RequestAuthFailure,
  type RequestAuthOptions,
  type RequestAuthResult,
  type ResponseVerification,
} from './authenticator.ts';

export { duplicateKey, packetDuplicateKey } from './duplicate.ts';

export { checkCredentials, type CredentialCheck, type CredentialFailure } from './credentials.ts';

export { EAP_HEADER_LENGTH, EapCode, eapFailureAttribute, eapFailureFor, eapIdentifier } from './eap.ts';
