/**
 * Packet authenticity: Message-Authenticator (RFC 3579 §3.2, RFC 5997, BlastRADIUS /
 * CVE-2024-3596), the Accounting-Request Request Authenticator (RFC 2866 §3) and the
 * Response Authenticator (RFC 2865 §3).
 *
 * Every comparison is constant-time. Nothing here throws on packet content; the HMAC/MD5
 * inputs are fed piecewise so no copy of the packet is made.
 */

import { AttributeType, hasAttribute } from './attributes.ts';
import { type Secret, type SharedSecret, ZERO16, constantTimeEqual, hmacMd5, md5, secretBytes, sharedSecret } from './crypto.ts';
import { AUTHENTICATOR_LENGTH, HEADER_LENGTH, RadiusCode, hasComputedRequestAuthenticator, type RadiusPacket } from './packet.ts';

export type MessageAuthenticatorStatus =
  /** No Message-Authenticator attribute, or one with an empty value (authentik 2026.8, #25097: some clients, pfSense CE 2.8 among them, send one). */
  | 'absent'
  | 'valid'
  | 'invalid'
  /** A Message-Authenticator whose length is not 18, or more than one of them. */
  | 'malformed';

type Located = { readonly kind: 'absent' } | { readonly kind: 'malformed' } | { readonly kind: 'found'; readonly valueOffset: number };

/**
 * Finds the single Message-Authenticator value in `raw` (walked bounds-safely). An empty one
 * counts as none, as authentik 2026.8 takes it: it proves nothing, so a request that must carry
 * a Message-Authenticator is still refused without a real one.
 */
function locate(raw: Buffer): Located {
  let found = -1;
  let seen = false;
  let off = HEADER_LENGTH;
  while (off + 2 <= raw.length) {
    const type = raw[off]!;
    const len = raw[off + 1]!;
    if (len < 2 || off + len > raw.length) return { kind: 'malformed' };
    if (type === AttributeType.messageAuthenticator) {
      if (seen || (len !== 18 && len !== 2)) return { kind: 'malformed' };
      seen = true;
      if (len === 18) found = off + 2;
    }
    off += len;
  }
  if (off !== raw.length) return { kind: 'malformed' };
  return found === -1 ? { kind: 'absent' } : { kind: 'found', valueOffset: found };
}

/** HMAC-MD5 over `raw` with the authenticator field replaced by `authenticator` and the MA value zeroed. */
function macWith(raw: Buffer, authenticator: Uint8Array, valueOffset: number, secret: SharedSecret): Buffer {
  return hmacMd5(secret, raw.subarray(0, 4), authenticator, raw.subarray(HEADER_LENGTH, valueOffset), ZERO16, raw.subarray(valueOffset + 16));
}

function check(raw: Buffer, authenticator: Uint8Array, secret: Secret): MessageAuthenticatorStatus {
  if (raw.length < HEADER_LENGTH || authenticator.length !== AUTHENTICATOR_LENGTH) return 'malformed';
  const loc = locate(raw);
  if (loc.kind !== 'found') return loc.kind;
  const expected = macWith(raw, authenticator, loc.valueOffset, sharedSecret(secret));
  return constantTimeEqual(expected, raw.subarray(loc.valueOffset, loc.valueOffset + 16)) ? 'valid' : 'invalid';
}

/**
 * Verifies the Message-Authenticator of a request. For Access-Request and Status-Server it
 * is keyed over the packet as received (random Request Authenticator); for Accounting,
 * CoA and Disconnect requests over the packet with a zeroed authenticator field
 * (FreeRADIUS behaviour).
 */
export function verifyRequestMessageAuthenticator(packet: RadiusPacket, secret: Secret): MessageAuthenticatorStatus {
  const auth = hasComputedRequestAuthenticator(packet.code) ? ZERO16 : packet.authenticator;
  return check(packet.raw, auth, secret);
}

/** Verifies a response's Message-Authenticator, computed with the request's authenticator. */
export function verifyResponseMessageAuthenticator(response: RadiusPacket, requestAuthenticator: Uint8Array, secret: Secret): MessageAuthenticatorStatus {
  return check(response.raw, requestAuthenticator, secret);
}

/** Whether the first attribute of `packet` is a Message-Authenticator (BlastRADIUS placement). */
export function messageAuthenticatorIsFirst(packet: RadiusPacket): boolean {
  return packet.attributes[0]?.type === AttributeType.messageAuthenticator;
}

/** The Message-Authenticator value a packet should carry, given its bytes (MA located in `raw`). Undefined when there is no single well-formed MA. */
export function computeMessageAuthenticator(raw: Buffer, authenticator: Uint8Array, secret: Secret): Buffer | undefined {
  if (raw.length < HEADER_LENGTH || authenticator.length !== AUTHENTICATOR_LENGTH) return undefined;
  const loc = locate(raw);
  return loc.kind === 'found' ? macWith(raw, authenticator, loc.valueOffset, sharedSecret(secret)) : undefined;
}

/**
 * The Request Authenticator of an Accounting-Request (also CoA/Disconnect-Request):
 * MD5(Code | ID | Length | 16 zero bytes | Attributes | Secret).
 */
export function computeAccountingRequestAuthenticator(raw: Buffer, secret: Secret): Buffer {
  return md5(raw.subarray(0, 4), ZERO16, raw.subarray(HEADER_LENGTH), secretBytes(secret));
}

/** Checks the computed Request Authenticator of an Accounting-, Disconnect- or CoA-Request. */
export function verifyAccountingRequestAuthenticator(packet: RadiusPacket, secret: Secret): boolean {
  if (packet.raw.length < HEADER_LENGTH) return false;
  return constantTimeEqual(computeAccountingRequestAuthenticator(packet.raw, secret), packet.authenticator);
}

/** Response Authenticator = MD5(Code | ID | Length | RequestAuth | Attributes | Secret), over a response's bytes. */
export function computeResponseAuthenticator(response: Buffer, requestAuthenticator: Uint8Array, secret: Secret): Buffer {
  return md5(response.subarray(0, 4), requestAuthenticator, response.subarray(HEADER_LENGTH), secretBytes(secret));
}

/** Checks a response's Response Authenticator against the request's authenticator. */
export function verifyResponseAuthenticator(response: Buffer, requestAuthenticator: Uint8Array, secret: Secret): boolean {
  if (response.length < HEADER_LENGTH || requestAuthenticator.length !== AUTHENTICATOR_LENGTH) return false;
  return constantTimeEqual(computeResponseAuthenticator(response, requestAuthenticator, secret), response.subarray(4, HEADER_LENGTH));
}

export interface ResponseVerification {
  readonly authenticator: boolean;
  readonly messageAuthenticator: MessageAuthenticatorStatus;
  readonly messageAuthenticatorFirst: boolean;
}

/** Everything a client would check on a response (what the tests assert). */
export function verifyResponse(response: RadiusPacket, requestAuthenticator: Uint8Array, secret: Secret): ResponseVerification {
  return {
    authenticator: verifyResponseAuthenticator(response.raw, requestAuthenticator, secret),
    messageAuthenticator: verifyResponseMessageAuthenticator(response, requestAuthenticator, secret),
    messageAuthenticatorFirst: messageAuthenticatorIsFirst(response),
  };
}

// ---------------------------------------------------------------------------------------
// Request authenticity policy

export interface RequestAuthOptions {
  /** Drop Access-Requests without Message-Authenticator (FreeRADIUS require_message_authenticator). Default false. */
  readonly requireMessageAuthenticator?: boolean;
  /** Drop Access-Requests that carry Proxy-State but no Message-Authenticator (FreeRADIUS limit_proxy_state). Default false. */
  readonly limitProxyState?: boolean;
}

export type RequestAuthFailure =
  /** Accounting-, Disconnect- or CoA-Request whose computed Request Authenticator does not match. */
  | 'bad_request_authenticator'
  /** MA required (Status-Server, EAP-Message, or by policy) but absent. */
  | 'missing_message_authenticator'
  | 'invalid_message_authenticator'
  | 'malformed_message_authenticator'
  /** A code that is not a request this server accepts (responses, Status-Client, unknown). */
  | 'unsupported_code';

export type RequestAuthResult =
  | { readonly ok: true; readonly messageAuthenticator: 'absent' | 'valid' }
  | { readonly ok: false; readonly reason: RequestAuthFailure };

/**
 * Decides whether a request is authentic under `secret`:
 * - any request carrying a Message-Authenticator must carry exactly one, 18 bytes long, and valid;
 * - Status-Server must carry one (RFC 5997 §3);
 * - an Access-Request with EAP-Message must carry one (RFC 3579 §3.2);
 * - Access-Request without one passes unless `requireMessageAuthenticator`, or
 *   `limitProxyState` and it carries Proxy-State;
 * - Accounting-Request, Disconnect-Request and CoA-Request must have a correct Request
 *   Authenticator (RFC 2866 §3, RFC 5176 §2.3), as authentik's library demands before its
 *   handler sees (and logs) them;
 * - every other code is `unsupported_code`.
 * Never throws.
 */
export function authenticateRequest(packet: RadiusPacket, secret: Secret, options: RequestAuthOptions = {}): RequestAuthResult {
  const { code } = packet;
  const computed = hasComputedRequestAuthenticator(code);
  if (code !== RadiusCode.accessRequest && code !== RadiusCode.statusServer && !computed) {
    return { ok: false, reason: 'unsupported_code' };
  }
  if (computed && !verifyAccountingRequestAuthenticator(packet, secret)) {
    return { ok: false, reason: 'bad_request_authenticator' };
  }
  const ma = verifyRequestMessageAuthenticator(packet, secret);
  if (ma === 'invalid') return { ok: false, reason: 'invalid_message_authenticator' };
  if (ma === 'malformed') return { ok: false, reason: 'malformed_message_authenticator' };
  if (ma === 'absent') {
    const required =
      code === RadiusCode.statusServer ||
      (code === RadiusCode.accessRequest &&
        (options.requireMessageAuthenticator === true ||
          hasAttribute(packet.attributes, AttributeType.eapMessage) ||
          (options.limitProxyState === true && hasAttribute(packet.attributes, AttributeType.proxyState))));
    if (required) return { ok: false, reason: 'missing_message_authenticator' };
  }
  return { ok: true, messageAuthenticator: ma };
}
