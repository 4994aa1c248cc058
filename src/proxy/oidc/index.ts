// The proxy's OAuth2/OIDC client: authorize URL, code exchange, token verification, header auth.
export { OidcClient, redirectUriFor, headerCacheKey, CALLBACK_PATH, CALLBACK_SIGNATURE, type OidcClientInput, type OidcConfiguration, type OidcDeps, type VerifiedToken } from './client.ts';
export { OidcError, type OidcErrorCode } from './errors.ts';
export { HeaderAuthCache, TOKEN_USERNAME, HEADER_AUTH_TTL_MS, HEADER_AUTH_MAX_ENTRIES } from './header-auth.ts';
