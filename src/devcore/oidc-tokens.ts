// Tokens as authentik's OAuth2 provider issues them for proxy providers: the claims of the scope
// mappings a proxy provider gets (openid, email, profile, ak_proxy; entitlements from 2024.12),
// signed HS256 with the client secret, or with the seed's `signing_key` (RS256/ES256, served by
// the jwks endpoint). Codes and access tokens live in memory, like the rows authentik keeps.
import { createHash, createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { SignJWT, exportJWK, type JWK } from 'jose';
import type { ApplicationRec, CertRec, ProxyProviderRec, Store, UserRec } from './model.ts';
import { signingAlgOf, timedeltaSeconds } from './serialize.ts';
export { providerScopes } from './serialize.ts';

/** authentik's `ACR_AUTHENTIK_DEFAULT`. */
const ACR_DEFAULT = 'goauthentik.io/providers/oauth2/default';
/** authentik's default `access_code_validity` (minutes=1). */
const CODE_VALIDITY_MS = 60_000;
/** Issued tokens and codes kept at most (the oldest go first), so a load test cannot grow the core without bound. */
const MAX_KEPT = 100_000;


export type Claims = Record<string, unknown>;

/** deepmerge's `always_merger` as `User.group_attributes` uses it: dicts merge, lists append, the rest is replaced. */
function mergeInto(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(source)) {
    const cur = target[k];
    if (isRecord(cur) && isRecord(v)) mergeInto(cur, v);
    else if (Array.isArray(cur) && Array.isArray(v)) target[k] = [...cur, ...v];
    else target[k] = isRecord(v) ? structuredClone(v) : v;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** authentik's `User.group_attributes()`: every group's attributes by group name, then the user's. */
function groupAttributes(store: Store, u: UserRec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const groups = [...store.allGroupPks(u)].flatMap((pk) => store.groups.get(pk) ?? []).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const g of groups) mergeInto(out, g.attributes);
  mergeInto(out, u.attributes);
  return out;
}

/**
 * The claims of the scope mappings the token's scopes select (UserInfoView.get_claims), merged
 * in scope-name order. `sid` is what 2024.6+'s ak_proxy mapping returns at the top level.
 */
export function scopeClaims(store: Store, app: ApplicationRec, u: UserRec, scopes: readonly string[], sid: string | undefined): Claims {
  const out: Claims = {};
  for (const scope of [...scopes].sort()) {
    if (scope === 'email') Object.assign(out, { email: u.email, email_verified: store.mode === '2024.4' });
    else if (scope === 'profile') {
      const groups = u.groups.flatMap((pk) => store.groups.get(pk)?.name ?? []);
      Object.assign(out, { name: u.name, given_name: u.name, preferred_username: u.username, nickname: u.username, groups });
    } else if (scope === 'ak_proxy') {
      if (store.mode !== '2024.4' && sid !== undefined) out['sid'] = sid;
      out['ak_proxy'] = { user_attributes: groupAttributes(store, u), is_superuser: store.isSuperuser(u) };
    } else if (scope === 'entitlements') {
      const names = store.entitlementsOf(app, u);
      Object.assign(out, { entitlements: names, roles: names });
    }
  }
  return out;
}

/** What a token was issued for: enough to answer introspection and userinfo. */
export interface IssuedToken {
  provider: string;
  userPk: number;
  scopes: string[];
  /** Epoch seconds. */
  exp: number;
  /** The ID token's claims (what introspection returns beside `active`). */
  claims: Claims;
}

export interface CodeGrant {
  provider: string;
  clientId: string;
  redirectUri: string;
  userPk: number;
  scopes: string[];
  /** The core session the user authorized from (its key when the code was issued). */
  sessionKey: string;
  /** Epoch milliseconds. */
  authTime: number;
  expires: number;
}

interface SigningKey {
  alg: 'HS256' | 'RS256' | 'ES256';
  key: KeyObject | Uint8Array;
  kid?: string;
}

/** Bounded insertion-ordered map: the oldest entry goes when full. */
class Kept<V> extends Map<string, V> {
  override set(k: string, v: V): this {
    super.set(k, v);
    if (this.size > MAX_KEPT) this.delete(this.keys().next().value as string);
    return this;
  }
}

export class TokenIssuer {
  private readonly store: Store;
  readonly codes = new Kept<CodeGrant>();
  readonly accessTokens = new Kept<IssuedToken>();
  /** Private keys parsed once per PEM (a rotation brings a new PEM). */
  private readonly keyCache = new Map<string, KeyObject>();

  constructor(store: Store) {
    this.store = store;
  }

  /** The provider's signing certificate, if the seed gives one. */
  signingCert(p: ProxyProviderRec): CertRec | undefined {
    return p.signing_key !== null ? this.store.certs.get(p.signing_key) : undefined;
  }

  /** `id_token_signing_alg_values_supported` for the provider. */
  algorithm(p: ProxyProviderRec): SigningKey['alg'] {
    return signingAlgOf(this.store, p);
  }

  private privateKey(cert: CertRec): KeyObject {
    let k = this.keyCache.get(cert.kp.keyPem);
    if (!k) {
      k = createPrivateKey(cert.kp.keyPem);
      this.keyCache.clear();
      this.keyCache.set(cert.kp.keyPem, k);
    }
    return k;
  }

  /** authentik's `CertificateKeyPair.kid`: md5 hex of the private key PEM. */
  static kidOf(cert: CertRec): string {
    return createHash('md5').update(cert.kp.keyPem).digest('hex');
  }

  private signingKey(p: ProxyProviderRec): SigningKey {
    const cert = this.signingCert(p);
    if (!cert) return { alg: 'HS256', key: new TextEncoder().encode(p.client_secret) };
    return { alg: this.algorithm(p), key: this.privateKey(cert), kid: TokenIssuer.kidOf(cert) };
  }

  /** The jwks endpoint's body: the signing key's public half, or `{}` without one (as authentik). */
  async jwks(p: ProxyProviderRec): Promise<{ keys?: JWK[] }> {
    const cert = this.signingCert(p);
    if (!cert) return {};
    const jwk = await exportJWK(createPublicKey(this.privateKey(cert)));
    const der = Buffer.from(cert.kp.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    return {
      keys: [
        {
          ...jwk,
          kid: TokenIssuer.kidOf(cert),
          alg: this.algorithm(p),
          use: 'sig',
          x5c: [der.toString('base64')],
          x5t: createHash('sha1').update(der).digest('base64url'),
          'x5t#S256': createHash('sha256').update(der).digest('base64url'),
        },
      ],
    };
  }

  async sign(p: ProxyProviderRec, claims: Claims): Promise<string> {
    const k = this.signingKey(p);
    return new SignJWT(claims).setProtectedHeader({ alg: k.alg, typ: 'JWT', ...(k.kid ? { kid: k.kid } : {}) }).sign(k.key);
  }

  newCode(grant: Omit<CodeGrant, 'expires'>): string {
    const code = randomBytes(24).toString('hex');
    this.codes.set(code, { ...grant, expires: Date.now() + CODE_VALIDITY_MS });
    return code;
  }

  /**
   * Issue an access token and an ID token (IDToken.new and to_access_token): the same claims,
   * the access token with `azp` and a random `uid` beside them.
   */
  async issue(input: {
    provider: ProxyProviderRec;
    app: ApplicationRec;
    user: UserRec;
    scopes: string[];
    issuer: string;
    authTime: number;
    sessionKeyHash: string | undefined;
  }): Promise<{ accessToken: string; idToken: string; expiresIn: number }> {
    const { provider: p, user: u } = input;
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = Math.floor(timedeltaSeconds(p.access_token_validity));
    const claims: Claims = {
      iss: input.issuer,
      sub: this.store.userUid(u),
      aud: p.client_id,
      exp: now + expiresIn,
      iat: now,
      auth_time: Math.floor(input.authTime / 1000),
      acr: ACR_DEFAULT,
      ...(input.sessionKeyHash !== undefined ? { sid: input.sessionKeyHash } : {}),
      ...scopeClaims(this.store, input.app, u, input.scopes, input.sessionKeyHash),
    };
    const idToken = await this.sign(p, claims);
    const accessToken = await this.sign(p, { ...claims, azp: p.client_id, uid: randomBytes(20).toString('hex') });
    this.accessTokens.set(accessToken, { provider: p.name, userPk: u.pk, scopes: input.scopes, exp: now + expiresIn, claims });
    return { accessToken, idToken, expiresIn };
  }

  /** A token this core issued that has not expired; expired ones are forgotten. */
  activeToken(token: string): IssuedToken | undefined {
    const t = this.accessTokens.get(token);
    if (!t) return undefined;
    if (t.exp * 1000 <= Date.now()) {
      this.accessTokens.delete(token);
      return undefined;
    }
    return t;
  }
}
