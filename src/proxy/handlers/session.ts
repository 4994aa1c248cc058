// The session stage: the signed id in the cookie, the claims server-side. A cookie that does not
// verify, names no stored session, or a session of another provider is simply "no session"
// (CVE-2026-25748: a malformed cookie must never fail open). So is a store that cannot answer
// (a shared store down or slow): a request never passes on a session nobody could verify.
import { createHmac } from 'node:crypto';
import { HEADER_AUTH_TTL_MS } from '../oidc/index.ts';
import { canonicalAuthorization, clearSessionCookie, newSessionId, parseClaims, readCookies, sessionCookie, signSessionId, verifySessionId, type Authorization, type ProxyClaims } from '../protocol/index.ts';
import { SessionStoreUnavailableError } from '../sessions/shared.ts';
import type { ProxySession, SessionStore } from '../sessions/store.ts';
import type { ProxyApp } from './app.ts';
import type { RequestState } from './request.ts';
import type { Logger } from '../../log.ts';

/** A stored session as the handlers use it: its claims validated on the way out of the store. */
export interface StoredSession {
  readonly claims: ProxyClaims;
  readonly rawToken: string;
  readonly providerPk: number;
  readonly outpostPk: string;
  /** ms since the epoch. */
  readonly createdAt: number;
  /** ms since the epoch. */
  readonly expiresAt: number;
}

/** What reading the session behind an ID found: the store not answering is its own outcome. */
export type SessionRead = { readonly kind: 'found'; readonly session: StoredSession } | { readonly kind: 'none' } | { readonly kind: 'unavailable' };

/** Before login the cookie only binds the login state to this browser: as long as the state lives. */
export const PRE_LOGIN_COOKIE_SECONDS = 600;

/**
 * Cookie values whose signature verified, per compiled app (a new secret compiles a new app):
 * an HMAC per request is most of a session lookup. Only values we signed get in, so a client
 * cannot fill it; bounded anyway, and emptied when full.
 */
const verifiedCookies = new WeakMap<ProxyApp, Map<string, string>>();
const VERIFIED_COOKIES_MAX = 10_000;

/** Claims already validated, by the stored object (a store that returns the same object per get). */
const parsedClaims = new WeakMap<object, ProxyClaims>();

/** Reads the cookie: the verified session id (any of the values sent) or undefined. */
export function cookieSessionId(s: RequestState, app: ProxyApp): string | undefined {
  return sessionIdFromCookie(s.req.headers.cookie, app);
}

/** The verified session id in a `Cookie` header (any of the app's cookie values sent), or undefined. */
export function sessionIdFromCookie(cookieHeader: string | undefined, app: ProxyApp): string | undefined {
  let cache = verifiedCookies.get(app);
  for (const v of readCookies(cookieHeader, app.cookieName)) {
    const hit = cache?.get(v);
    if (hit !== undefined) return hit;
    const id = verifySessionId(v, app.config.cookie_secret);
    if (id === undefined) continue;
    if (!cache) verifiedCookies.set(app, (cache = new Map()));
    if (cache.size >= VERIFIED_COOKIES_MAX) cache.clear();
    cache.set(v, id);
    return id;
  }
  return undefined;
}

/** The stored session behind the request's cookie, when it is this provider's and alive; any store failure is "none". */
export async function loadSession(s: RequestState, app: ProxyApp, store: SessionStore): Promise<StoredSession | undefined> {
  const id = cookieSessionId(s, app);
  s.sessionId = id;
  if (id === undefined) return undefined;
  const read = await readSessionById(id, app, store, () => s.log);
  return read.kind === 'found' ? read.session : undefined;
}

/** The session behind the request's cookie, telling "none" from "the store did not answer". */
export function readSession(s: RequestState, app: ProxyApp, store: SessionStore): Promise<SessionRead> {
  const id = cookieSessionId(s, app);
  s.sessionId = id;
  if (id === undefined) return Promise.resolve({ kind: 'none' });
  return readSessionById(id, app, store, () => s.log);
}

/**
 * The session a header-auth success saved under `id` on any replica, while it is younger than
 * the header-auth cache's TTL: the shared form of that cache, so that a credential verified by
 * one replica is not verified again by each of the others within the minute.
 */
export async function loadHeaderSession(s: RequestState, app: ProxyApp, store: SessionStore, id: string): Promise<StoredSession | undefined> {
  const read = await readSessionById(id, app, store, () => s.log);
  if (read.kind !== 'found') return undefined;
  const age = Date.now() - read.session.createdAt;
  return age >= 0 && age < HEADER_AUTH_TTL_MS ? read.session : undefined;
}

/** The session stored under `id`, when it is this provider's, alive and readable; `log` is asked for only when a line is written. */
export async function readSessionById(id: string, app: ProxyApp, store: SessionStore, log: () => Logger): Promise<SessionRead> {
  let stored: ProxySession | undefined;
  try {
    stored = await store.get(id);
  } catch (err) {
    // The store's own failures are counted and logged (rate-limited) where the store is built.
    if (err instanceof SessionStoreUnavailableError) log().debug({ err: { message: err.message } }, 'session store unavailable; treated as no session');
    else log().warn({ err: { message: (err as Error)?.message ?? String(err) } }, 'session store read failed; treated as no session');
    return { kind: 'unavailable' };
  }
  if (!stored || stored.providerPk !== app.config.pk || stored.outpostPk !== app.outpostPk) return { kind: 'none' };
  if (stored.expiresAt <= Date.now()) {
    await forget(store, id);
    return { kind: 'none' };
  }
  // A store shared with other processes is input like any other.
  const raw = stored.claims;
  let parsed = typeof raw === 'object' && raw !== null ? parsedClaims.get(raw) : undefined;
  if (parsed === undefined) {
    const claims = parseClaims(raw);
    if (!claims.ok) {
      log().warn({ error: claims.error }, 'stored session has unreadable claims; treated as no session');
      await forget(store, id);
      return { kind: 'none' };
    }
    parsed = claims.claims;
    if (typeof raw === 'object' && raw !== null) parsedClaims.set(raw, parsed);
  }
  return { kind: 'found', session: { claims: parsed, rawToken: stored.rawToken, providerPk: stored.providerPk, outpostPk: stored.outpostPk, createdAt: stored.createdAt, expiresAt: stored.expiresAt } };
}

/** Delete, best effort: a session that could not be deleted now expires anyway (or its deletion is replayed by a shared store). */
export async function forget(store: SessionStore, id: string): Promise<void> {
  await store.delete(id).catch(() => false);
}

/** The session id of this browser, minting one (and its cookie) when it has none. */
export function ensureSessionId(s: RequestState, app: ProxyApp): string {
  if (s.sessionId !== undefined) return s.sessionId;
  const id = newSessionId();
  s.sessionId = id;
  s.cookies.push(sessionCookie({ name: app.cookieName, value: signSessionId(id, app.config.cookie_secret), secure: app.secureCookie, domain: app.cookieDomain, maxAge: PRE_LOGIN_COOKIE_SECONDS }));
  return id;
}

/**
 * Store a login under a fresh id (the pre-login id is never promoted: no session fixation) and
 * set its cookie, living as long as the token (capped by `access_token_validity`). Throws what
 * the store throws when it cannot take the session (no cookie is set then).
 */
export async function saveLogin(s: RequestState, app: ProxyApp, store: SessionStore, claims: ProxyClaims, rawToken: string, fixedId?: string): Promise<void> {
  const now = Date.now();
  let seconds = Math.floor(claims.exp - now / 1000);
  if (app.maxSessionSeconds !== undefined) seconds = Math.min(seconds, app.maxSessionSeconds);
  if (seconds <= 0) return;
  const id = fixedId ?? newSessionId();
  await store.set(id, { claims, rawToken, providerPk: app.config.pk, outpostPk: app.outpostPk, createdAt: now, expiresAt: now + seconds * 1000 }, seconds * 1000);
  if (s.sessionId !== undefined && s.sessionId !== id) await forget(store, s.sessionId);
  setSessionCookie(s, app, id, seconds);
}

/** The cookie for a stored session `id`, replacing whatever cookie this answer was to set. */
export function setSessionCookie(s: RequestState, app: ProxyApp, id: string, seconds: number): void {
  s.sessionId = id;
  // A Set-Cookie of the pre-login cookie from this same answer would be overridden: drop it.
  s.cookies.length = 0;
  s.cookies.push(sessionCookie({ name: app.cookieName, value: signSessionId(id, app.config.cookie_secret), secure: app.secureCookie, domain: app.cookieDomain, maxAge: seconds }));
}

/**
 * The session id a header-auth success is saved under: one per credential and provider (an
 * HMAC of the canonical credentials keyed with `cookie_secret`), so a client that repeats its
 * header without keeping the cookie, or spells it another way (scheme case, whitespace, base64),
 * overwrites one session instead of minting one per request or per spelling (which would evict
 * every other user's session from the bounded store).
 */
export function headerSessionId(app: ProxyApp, creds: Authorization): string {
  return createHmac('sha256', app.config.cookie_secret).update(`authentik_proxy_header.${app.config.pk}.`).update(canonicalAuthorization(creds)).digest('base64url');
}

export function clearCookie(s: RequestState, app: ProxyApp): void {
  s.cookies.push(clearSessionCookie({ name: app.cookieName, secure: app.secureCookie, domain: app.cookieDomain }));
}
