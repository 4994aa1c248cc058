/**
 * Pure proxy-outpost protocol layer: provider config schema, host routing, trusted forwarded
 * headers and original-URL reconstruction, `rd` validation, the OAuth state JWT, the session
 * cookie, token claims, identity and hop-by-hop headers, skip-path matching, the canonical
 * `Authorization` credentials of header auth, and the error table. No I/O, no timers, no
 * logging, no node:http.
 */

export {
  PROXY_ERRORS,
  ProxyError,
  isProxyError,
  noAppBody,
  plainErrorBody,
  proxyErrorStatus,
  type ProxyErrorCode,
  type ProxyErrorSpec,
} from './errors.ts';

export {
  externalUrl,
  hostUnderDomain,
  normalizedCookieDomain,
  oidcConfigurationSchema,
  proxyModeSchema,
  proxyProviderSchema,
  type OidcConfiguration,
  type ProxyMode,
  type ProxyProviderConfig,
  type ProxyProviderInput,
} from './provider.ts';

export {
  compileRoutes,
  parseHost,
  providerProblem,
  type HostParts,
  type RouteMatch,
  type RouteResult,
  type Router,
  type SkippedProvider,
} from './routing.ts';

export {
  DEFAULT_TRUSTED_PROXY_CIDRS,
  ENVOY_PREFIX,
  FORWARDED_HEADERS,
  originalUrl,
  requestHost,
  trustedClient,
  trustedProxies,
  type ForwardKind,
  type ForwardRequest,
  type ForwardedValues,
  type HeaderMap,
  type OriginalUrlResult,
  type TrustedClient,
} from './forwarded.ts';

export { MAX_REDIRECT_LENGTH, checkRedirect } from './redirect.ts';

export {
  MAX_STATE_LENGTH,
  STATE_TTL_SECONDS,
  createState,
  stateIssuer,
  verifyState,
  type CreateStateOptions,
  type OAuthState,
  type StateFailure,
  type StateProvider,
  type StateResult,
} from './state.ts';

export {
  COOKIE_PREFIX,
  CookieError,
  clearSessionCookie,
  isSessionId,
  newSessionId,
  readCookies,
  sessionCookie,
  sessionCookieName,
  sessionCookieNameSha256,
  signSessionId,
  verifySessionId,
  type SessionCookieOptions,
} from './cookie.ts';

export { akProxyClaimsSchema, claimsSchema, parseClaims, type AkProxyClaims, type ClaimsResult, type ProxyClaims } from './claims.ts';

export {
  HOP_BY_HOP,
  IDENTITY_HEADERS,
  IDENTITY_HEADER_NAMES,
  additionalHeaders,
  authHeaders,
  basicAuthorization,
  identityHeaders,
  isSpoofableHeader,
  sanitizeRequestHeaders,
  type AdditionalHeadersResult,
  type IdentityMeta,
} from './headers.ts';

export { compileSkip, isCanonicalPath, type InvalidSkipPattern, type SkipMatcher } from './skip.ts';

export { canonicalAuthorization, parseAuthorization, type Authorization } from './authorization.ts';
