// Failures of the OIDC client, each with a stable code. The handlers map codes to HTTP answers;
// nothing branches on message text. `core_unavailable` is the core failing (transport, timeout,
// 5xx, garbage): 503 for a login, never "wrong credentials".
export type OidcErrorCode =
  /** The request that needed the call went away. */
  | 'aborted'
  /** The core could not be asked or answered garbage. */
  | 'core_unavailable'
  /** The core refused the authorization code. */
  | 'code_exchange'
  /** The core refused the Basic credentials. */
  | 'client_credentials'
  /** The core refused to introspect (bad client credentials). */
  | 'introspection'
  /** Introspection says the token is not active. */
  | 'token_inactive'
  /** Signature, algorithm, issuer, audience or expiry wrong. */
  | 'token_invalid'
  /** The JWKS could not be fetched or read. */
  | 'jwks';

export class OidcError extends Error {
  override readonly name = 'OidcError';
  readonly code: OidcErrorCode;

  constructor(code: OidcErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.code = code;
  }

  /** The core failed (or the caller left): not a verdict on the user's credentials. */
  get isCoreFailure(): boolean {
    return this.code === 'core_unavailable' || this.code === 'jwks';
  }
}
