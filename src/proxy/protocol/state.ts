/**
 * The OAuth `state`, as authentik ≥ 2024.6 (spec proxy.md §4.3): an HS256 JWT signed with the
 * provider's `cookie_secret`, claims
 *   iss      `goauthentik.io/outpost/<client_id>`
 *   sid      the outpost session ID the flow belongs to (checked against the cookie at the callback)
 *   state    32 random bytes, base64url
 *   redirect the validated return URL, or '' (→ external host)
 * plus `iat` and a 10-minute `exp` (authentik sets none; a login that takes longer starts again).
 * Only HS256 is accepted on verify (authentik accepts any HMAC alg).
 *
 * `verifyState` never throws: every failure is `{ ok: false, reason }`, answered with 400.
 */
import { SignJWT, jwtVerify } from 'jose';
import { randomBytes } from 'node:crypto';
import type { ProxyProviderConfig } from './provider.ts';
import { isSessionId, newSessionId } from './cookie.ts';

export const STATE_TTL_SECONDS = 600;
/** States are short; anything longer is not ours. */
export const MAX_STATE_LENGTH = 16384;

export interface OAuthState {
  readonly iss: string;
  readonly sid: string;
  readonly state: string;
  readonly redirect: string;
  readonly iat: number;
  readonly exp: number;
}

export type StateProvider = Pick<ProxyProviderConfig, 'client_id' | 'cookie_secret'>;

export type StateFailure =
  | 'malformed' // not a compact JWS, too long, wrong alg
  | 'signature' // HMAC mismatch (another secret, tampered)
  | 'expired'
  | 'issuer' // another provider's state
  | 'claims' // sid/state/redirect missing or of the wrong type
  | 'session'; // sid is not the current session's

export type StateResult =
  | { readonly ok: true; readonly state: OAuthState }
  | { readonly ok: false; readonly reason: Exclude<StateFailure, 'session'> }
  /** Ours, intact and current, but bound to another session: its claims, for the caller to judge. */
  | { readonly ok: false; readonly reason: 'session'; readonly state: OAuthState };

export function stateIssuer(clientId: string): string {
  return `goauthentik.io/outpost/${clientId}`;
}

function key(provider: StateProvider): Uint8Array {
  if (provider.cookie_secret === '') throw new Error('cookie_secret is empty');
  return new TextEncoder().encode(provider.cookie_secret);
}

export interface CreateStateOptions {
  /** The session the flow belongs to; a new random ID when omitted (returned as `sid`). */
  readonly sessionId?: string | undefined;
  /** Clock, in milliseconds since the epoch. */
  readonly now?: number | undefined;
  readonly ttlSeconds?: number | undefined;
}

/**
 * Signs a new state. `redirect` must already have passed `checkRedirect` (or be the forward-auth
 * URL the outpost itself reconstructed); pass '' for none. Throws only for an empty
 * `cookie_secret` or a malformed `sessionId` (configuration/programming errors: answer 500).
 */
export async function createState(
  provider: StateProvider,
  redirect: string,
  options: CreateStateOptions = {},
): Promise<{ token: string; state: OAuthState }> {
  const sid = options.sessionId ?? newSessionId();
  if (!isSessionId(sid)) throw new Error('sessionId must be a session ID from newSessionId()');
  const iat = Math.floor((options.now ?? Date.now()) / 1000);
  const claims: OAuthState = {
    iss: stateIssuer(provider.client_id),
    sid,
    state: randomBytes(32).toString('base64url'),
    redirect,
    iat,
    exp: iat + (options.ttlSeconds ?? STATE_TTL_SECONDS),
  };
  const token = await new SignJWT({ sid: claims.sid, state: claims.state, redirect: claims.redirect })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(claims.iss)
    .setIssuedAt(claims.iat)
    .setExpirationTime(claims.exp)
    .sign(key(provider));
  return { token, state: claims };
}

/**
 * Verifies a state from the callback query against the session ID from the request's verified
 * cookie. `sessionId` undefined (no cookie, or one that did not verify) always fails with
 * `session`: a state is only good in the browser that started the flow (no login CSRF).
 * Never throws. `now` in milliseconds since the epoch.
 */
export async function verifyState(
  token: unknown,
  provider: StateProvider,
  sessionId: string | undefined,
  now: number = Date.now(),
): Promise<StateResult> {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_STATE_LENGTH) return { ok: false, reason: 'malformed' };
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) return { ok: false, reason: 'malformed' };
  if (provider.cookie_secret === '') return { ok: false, reason: 'signature' };
  let payload: Record<string, unknown>;
  try {
    const r = await jwtVerify(token, key(provider), { algorithms: ['HS256'], currentDate: new Date(now), requiredClaims: ['exp', 'iss'] });
    payload = r.payload as Record<string, unknown>;
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') return { ok: false, reason: 'signature' };
    if (code === 'ERR_JWT_EXPIRED') return { ok: false, reason: 'expired' };
    if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') return { ok: false, reason: 'claims' };
    return { ok: false, reason: 'malformed' };
  }
  if (payload['iss'] !== stateIssuer(provider.client_id)) return { ok: false, reason: 'issuer' };
  const { sid, state, redirect, iat, exp } = payload;
  if (typeof sid !== 'string' || typeof state !== 'string' || state === '' || typeof redirect !== 'string') return { ok: false, reason: 'claims' };
  if (typeof exp !== 'number') return { ok: false, reason: 'claims' };
  const claims: OAuthState = { iss: payload['iss'] as string, sid, state, redirect, iat: typeof iat === 'number' ? iat : 0, exp };
  if (sessionId === undefined || sid !== sessionId) return { ok: false, reason: 'session', state: claims };
  return { ok: true, state: claims };
}
