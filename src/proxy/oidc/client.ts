// One provider's OAuth2/OIDC client, compiled once per `apply()`: the authorize URL prefix, the
// back-channel endpoints with their Host rewriting, the pinned verification key, and the
// header-auth calls (introspection for Bearer, client_credentials for Basic). Every call to the
// core goes through `exchange` (net/http.ts): a total deadline, the request's signal, typed errors.
import { createHash } from 'node:crypto';
import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { HttpPool } from '../../net/pool.ts';
import { exchange, HttpError } from '../../net/http.ts';
import { OidcError } from './errors.ts';

/** `oidc_configuration` as the core sends it (only what the outpost uses). */
export interface OidcConfiguration {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  end_session_endpoint: string;
  introspection_endpoint: string;
  jwks_uri: string;
  id_token_signing_alg_values_supported: readonly string[];
}

export interface OidcClientInput {
  clientId: string;
  clientSecret: string;
  /** The provider's `external_host` (for forward_domain: the auth host). */
  externalHost: string;
  scopes: readonly string[];
  oidc: OidcConfiguration;
}

export interface OidcDeps {
  dispatcher: HttpPool;
  /** Deadline of one back-channel call. */
  timeoutMs: number;
  userAgent: string;
  /**
   * The browser-facing authentik origin (`AUTHENTIK_HOST_BROWSER`, or an embedded outpost's
   * `authentik_host`): authorize and end-session URLs point there, and so does the issuer the
   * tokens carry, because back-channel calls present that host to the core (spec §4.1).
   */
  browserOrigin?: URL | undefined;
}

/** A verified token: its claims and the raw string (`X-authentik-jwt`, `id_token_hint`). */
export interface VerifiedToken {
  payload: JWTPayload & Record<string, unknown>;
  raw: string;
}

export const CALLBACK_PATH = '/outpost.goauthentik.io/callback';
export const CALLBACK_SIGNATURE = 'X-authentik-auth-callback';

/** The redirect URI the provider registered: `<ext>/outpost.goauthentik.io/callback?X-authentik-auth-callback=true`. */
export function redirectUriFor(externalHost: string): string {
  const ext = new URL(externalHost);
  const base = ext.pathname.replace(/\/+$/, '');
  return `${ext.origin}${base}${CALLBACK_PATH}?${CALLBACK_SIGNATURE}=true`;
}

/** Rewrite `url`'s scheme and host to `origin`'s, keeping its path and query. */
function rehost(url: string, origin: URL | undefined): string {
  if (!origin) return url;
  try {
    const u = new URL(url);
    // Rebuilt from the origin: the `host` setter would keep the old port when the new host has none.
    return new URL(`${u.pathname}${u.search}`, origin.origin).toString();
  } catch {
    return url;
  }
}

/** How long a JWKS refetch waits after the last attempt (an unknown `kid` must not hammer the core). */
const JWKS_REFETCH_COOLDOWN_MS = 30_000;
/** With no key set yet, how long a failed fetch stands for the tokens after it (the core is not asked again meanwhile). */
const JWKS_FAILURE_HOLD_MS = 5_000;

export class OidcClient {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly issuer: string;
  readonly endSessionEndpoint: string;
  readonly jwksUri: string;
  /**
   * The algorithm tokens must carry: HS256 when advertised (keyed by the client secret), else the
   * advertised asymmetric one (RS256, or ES256 for an ECDSA signing key) through the JWKS, else RS256.
   */
  readonly algorithm: 'HS256' | 'RS256' | 'ES256';
  private readonly clientSecret: string;
  private readonly scope: string;
  private readonly authorizeBase: string;
  private readonly tokenEndpoint: URL;
  private readonly introspectionEndpoint: URL;
  private readonly deps: OidcDeps;
  /** Headers every back-channel call carries (Host rewriting, User-Agent). */
  private readonly backChannelHeaders: Record<string, string>;
  private readonly hmacKey: Uint8Array;
  private jwks: JWTVerifyGetKey | undefined;
  private jwksFetch: Promise<JWTVerifyGetKey> | undefined;
  /** When the last fetch started, successful or not: the cooldowns count from it. */
  private jwksAttemptAt = Number.NEGATIVE_INFINITY;
  /** The last fetch's failure, until a fetch succeeds. */
  private jwksFailure: OidcError | undefined;

  constructor(input: OidcClientInput, deps: OidcDeps) {
    this.deps = deps;
    this.clientId = input.clientId;
    this.clientSecret = input.clientSecret;
    this.scope = input.scopes.join(' ');
    this.redirectUri = redirectUriFor(input.externalHost);
    const browser = deps.browserOrigin;
    this.issuer = rehost(input.oidc.issuer, browser);
    this.endSessionEndpoint = rehost(input.oidc.end_session_endpoint, browser);
    this.jwksUri = input.oidc.jwks_uri;
    this.tokenEndpoint = new URL(input.oidc.token_endpoint);
    this.introspectionEndpoint = new URL(input.oidc.introspection_endpoint);
    const advertised = input.oidc.id_token_signing_alg_values_supported;
    this.algorithm = advertised.includes('HS256') ? 'HS256' : advertised.includes('RS256') ? 'RS256' : advertised.includes('ES256') ? 'ES256' : 'RS256';
    this.hmacKey = new TextEncoder().encode(input.clientSecret);
    // golang.org/x/oauth2 sorts the keys: client_id, redirect_uri, response_type, scope, state.
    const authorize = new URL(rehost(input.oidc.authorization_endpoint, browser));
    authorize.searchParams.set('client_id', this.clientId);
    authorize.searchParams.set('redirect_uri', this.redirectUri);
    authorize.searchParams.set('response_type', 'code');
    authorize.searchParams.set('scope', this.scope);
    this.authorizeBase = authorize.toString();
    this.backChannelHeaders = { 'user-agent': deps.userAgent, accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' };
    if (browser && browser.host !== this.tokenEndpoint.host) {
      // authentik computes the issuer from the Host it is asked on: present the browser host.
      this.backChannelHeaders['host'] = browser.host;
      this.backChannelHeaders['x-forwarded-proto'] = browser.protocol.replace(/:$/, '');
    }
  }

  /** The authorize URL for one login attempt. */
  authorizeUrl(state: string): string {
    return `${this.authorizeBase}&state=${encodeURIComponent(state)}`;
  }

  /** `<end_session_endpoint>?id_token_hint=<token>`. */
  endSessionUrl(rawToken?: string): string {
    const u = new URL(this.endSessionEndpoint);
    // Without the token (a sign-out while the session store is down) the core asks the user.
    if (rawToken !== undefined) u.searchParams.set('id_token_hint', rawToken);
    return u.toString();
  }

  /**
   * The authorization code for a verified access token (the 2024-era outpost keeps the access
   * token: authentik's carry the same claims). Credentials in the body (client_secret_post).
   */
  async exchangeCode(code: string, signal: AbortSignal): Promise<VerifiedToken> {
    const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: this.redirectUri, client_id: this.clientId, client_secret: this.clientSecret });
    const json = await this.post(this.tokenEndpoint, body, signal, 'code_exchange');
    const accessToken = typeof json['access_token'] === 'string' ? json['access_token'] : undefined;
    if (!accessToken) throw new OidcError('code_exchange', 'the token endpoint answered without an access_token');
    return this.verify(accessToken);
  }

  /** `Authorization: Bearer <token>`: the core's introspection, authenticated as this client. */
  async introspect(token: string, signal: AbortSignal): Promise<VerifiedToken> {
    const body = new URLSearchParams({ client_id: this.clientId, client_secret: this.clientSecret, token });
    const json = await this.post(this.introspectionEndpoint, body, signal, 'introspection');
    if (json['active'] !== true) throw new OidcError('token_inactive', 'introspection: the token is not active');
    return { payload: json as JWTPayload & Record<string, unknown>, raw: token };
  }

  /**
   * `Authorization: Basic user:app-password`: a client_credentials grant with the user's app
   * password (no client secret), then the id_token verified like any token.
   */
  async clientCredentials(username: string, password: string, signal: AbortSignal): Promise<VerifiedToken> {
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: this.clientId, username, password, scope: this.scope });
    const json = await this.post(this.tokenEndpoint, body, signal, 'client_credentials');
    const idToken = typeof json['id_token'] === 'string' ? json['id_token'] : undefined;
    if (!idToken) throw new OidcError('client_credentials', 'the token endpoint answered without an id_token');
    return this.verify(idToken);
  }

  /** Verify a JWT: pinned algorithm and key, `iss`, `aud` = client_id, `exp` without leeway. */
  async verify(token: string): Promise<VerifiedToken> {
    const options = { issuer: this.issuer, audience: this.clientId, algorithms: [this.algorithm], requiredClaims: ['exp'] };
    try {
      if (this.algorithm === 'HS256') {
        const { payload } = await jwtVerify(token, this.hmacKey, options);
        return { payload: payload as VerifiedToken['payload'], raw: token };
      }
      let getKey = await this.jwksKeys(false);
      try {
        const { payload } = await jwtVerify(token, getKey, options);
        return { payload: payload as VerifiedToken['payload'], raw: token };
      } catch (err) {
        // A key rotated at the core: fetch the set again (at most once per cooldown) and retry.
        if (!(err instanceof joseErrors.JWKSNoMatchingKey)) throw err;
        getKey = await this.jwksKeys(true);
        const { payload } = await jwtVerify(token, getKey, options);
        return { payload: payload as VerifiedToken['payload'], raw: token };
      }
    } catch (err) {
      if (err instanceof OidcError) throw err;
      if (err instanceof HttpError) throw new OidcError('jwks', `cannot fetch the JWKS: ${err.message}`, { cause: err });
      const code = (err as { code?: string }).code ?? 'ERR_JWT_INVALID';
      throw new OidcError('token_invalid', `token rejected (${code})`, { cause: err });
    }
  }

  private async jwksKeys(refetch: boolean): Promise<JWTVerifyGetKey> {
    if (this.jwks && !refetch) return this.jwks;
    if (this.jwksFetch) return this.jwksFetch;
    // Within the hold of the last attempt its answer stands, a failure included: neither tokens
    // with ever new `kid`s nor a failing endpoint make the outpost ask the core on every token.
    if (Date.now() - this.jwksAttemptAt < (this.jwks ? JWKS_REFETCH_COOLDOWN_MS : JWKS_FAILURE_HOLD_MS)) {
      if (this.jwksFailure) throw this.jwksFailure;
      if (this.jwks) return this.jwks;
    }
    this.jwksAttemptAt = Date.now();
    this.jwksFetch = (async () => {
      try {
        const res = await exchange({ url: new URL(this.jwksUri), method: 'GET', headers: { 'user-agent': this.deps.userAgent, accept: 'application/json' }, dispatcher: this.deps.dispatcher, timeoutMs: this.deps.timeoutMs, maxBodyBytes: 1024 * 1024 });
        const set = res.json() as JSONWebKeySet;
        if (!set || !Array.isArray(set.keys)) throw new OidcError('jwks', 'the JWKS has no keys array');
        let getKey: JWTVerifyGetKey;
        try {
          getKey = createLocalJWKSet(set);
        } catch (err) {
          // A key set jose cannot read is the core's failure (503), not a verdict on the token.
          throw new OidcError('jwks', `the JWKS cannot be read (${(err as { code?: string }).code ?? 'invalid'})`, { cause: err });
        }
        this.jwks = getKey;
        this.jwksFailure = undefined;
        return getKey;
      } catch (err) {
        // Whatever went wrong (transport, status, not JSON, a jwks_uri that is no URL), the core failed.
        throw (this.jwksFailure = err instanceof OidcError ? err : new OidcError('jwks', `cannot fetch the JWKS: ${(err as Error)?.message ?? String(err)}`, { cause: err }));
      } finally {
        this.jwksFetch = undefined;
      }
    })();
    return this.jwksFetch;
  }

  private async post(url: URL, body: URLSearchParams, signal: AbortSignal, what: 'code_exchange' | 'introspection' | 'client_credentials'): Promise<Record<string, unknown>> {
    let res;
    try {
      res = await exchange({ url, method: 'POST', headers: this.backChannelHeaders, body: body.toString(), dispatcher: this.deps.dispatcher, timeoutMs: this.deps.timeoutMs, signal, maxBodyBytes: 1024 * 1024 });
    } catch (err) {
      if (err instanceof HttpError && err.code === 'aborted') throw new OidcError('aborted', `${what}: the client went away`, { cause: err });
      throw new OidcError('core_unavailable', `${what}: ${(err as Error).message}`, { cause: err });
    }
    // authentik answers a refused grant with 400 {"error": "invalid_grant"}: a verdict, not an outage.
    if (res.status >= 500) throw new OidcError('core_unavailable', `${what}: the core answered ${res.status}`);
    if (res.status !== 200) throw new OidcError(what, `${what}: the core answered ${res.status}${oauthError(res.text)}`);
    let json: unknown;
    try {
      json = JSON.parse(res.text);
    } catch {
      throw new OidcError('core_unavailable', `${what}: the answer is not JSON`);
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new OidcError('core_unavailable', `${what}: the answer is not a JSON object`);
    return json as Record<string, unknown>;
  }
}

/** The `error` of an OAuth error body (never its description: it may echo input). */
function oauthError(text: string): string {
  try {
    const e = (JSON.parse(text) as { error?: unknown }).error;
    return typeof e === 'string' ? ` (${e.slice(0, 64)})` : '';
  } catch {
    return '';
  }
}

/** The key a header-auth result is cached under: a hash, so no credential sits in memory as a key. */
export function headerCacheKey(providerKey: string, authorization: string): string {
  return createHash('sha256').update(providerKey).update('\0').update(authorization).digest('base64url');
}
