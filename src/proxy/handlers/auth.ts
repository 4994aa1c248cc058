// The authenticate stage (session cookie → header auth → none) and the login endpoints: start,
// callback and sign-out. Each function takes one request state and answers or returns.
import { checkRedirect, createState, parseAuthorization, parseClaims, ProxyError, verifyState } from '../protocol/index.ts';
import { HeaderAuthCache, OidcError, type VerifiedToken } from '../oidc/index.ts';
import type { ProxyApp } from './app.ts';
import { fail, redirect, type RequestState } from './request.ts';
import { clearCookie, cookieSessionId, ensureSessionId, forget, headerSessionId, loadHeaderSession, loadSession, readSession, readSessionById, saveLogin, setSessionCookie } from './session.ts';
import { allDeletions, type SessionStore } from '../sessions/store.ts';

export interface AuthDeps {
  readonly store: SessionStore;
  readonly headerAuth: HeaderAuthCache;
}

/** The OIDC failure as a proxy error: the core failing is 503, a refused token or code 400. */
export function oidcFailure(err: unknown, during: 'callback' | 'header'): ProxyError {
  if (err instanceof OidcError) {
    if (err.isCoreFailure) return new ProxyError('core_unavailable', err.message, { cause: err });
    if (err.code === 'token_invalid') return new ProxyError('token_invalid', err.message, { cause: err });
    if (during === 'callback') return new ProxyError('token_exchange_failed', err.message, { cause: err });
    return new ProxyError('unauthenticated', err.message, { cause: err });
  }
  if (err instanceof ProxyError) return err;
  return new ProxyError('internal', (err as Error)?.message ?? String(err), { cause: err });
}

/**
 * Authenticate: the session behind the cookie, else `Authorization` (Bearer → introspection,
 * Basic → client_credentials), whose success is saved into a session (Set-Cookie) and cached
 * 60 s, in this process and in the session store (so other replicas reuse it). Sets `s.auth` or
 * leaves it unset; a session store that cannot answer leaves it unset (fail closed). Throws
 * `ProxyError` only for a core failure during header auth (503; a failed header is not "wrong
 * credentials" when the core is down), unless `optional`: a request that may be served without
 * a login (a skip path) never depends on the core, and is then served as unauthenticated.
 */
export async function authenticate(s: RequestState, app: ProxyApp, deps: AuthDeps, opts: { optional?: boolean } = {}): Promise<void> {
  const stored = await loadSession(s, app, deps.store);
  if (stored) {
    s.auth = { claims: stored.claims, rawToken: stored.rawToken, via: 'session' };
    return;
  }
  // Parsed once: the session id, the cache key and the core call all come from these values.
  const creds = parseAuthorization(s.req.headers.authorization);
  if (!creds) return;
  const id = headerSessionId(app, creds);
  const shared = await loadHeaderSession(s, app, deps.store, id);
  if (shared) {
    s.auth = { claims: shared.claims, rawToken: shared.rawToken, via: 'header' };
    setSessionCookie(s, app, id, Math.max(1, Math.floor((shared.expiresAt - Date.now()) / 1000)));
    return;
  }
  // A result this process cached is not written again: the store's copy keeps the time the core
  // verified the credential, so no replica reuses it past the 60 s, and a copy deleted by a
  // sign-out or a core session end is not brought back.
  const fresh = !deps.headerAuth.has(app.oidc, creds);
  let token: VerifiedToken;
  try {
    token = await deps.headerAuth.authenticate(app.oidc, creds, s.signal);
  } catch (err) {
    const e = oidcFailure(err, 'header');
    if (e.code === 'core_unavailable' || e.code === 'internal') {
      if (!opts.optional) throw e;
      s.log.warn({ code: e.code, err: { message: e.message } }, 'header authentication could not be checked; served as a skip path without it');
      return;
    }
    s.log.info({ reason: e.code }, 'header authentication failed');
    return;
  }
  const parsed = parseClaims(token.payload);
  if (!parsed.ok) {
    s.log.info({ reason: parsed.error }, 'header authentication: unusable claims');
    return;
  }
  s.auth = { claims: parsed.claims, rawToken: token.raw, via: 'header' };
  if (!fresh) return;
  try {
    await saveLogin(s, app, deps.store, parsed.claims, token.raw, id);
  } catch (err) {
    // The core verified the credential just now: the request passes, without a session cookie.
    s.log.debug({ err: { message: (err as Error)?.message ?? String(err) } }, 'header authentication: the session could not be stored');
  }
}

/**
 * Start a login: a fresh state (parallel tabs each get their own) bound to this browser's
 * session id and carrying the validated return URL; 302 to the authorize endpoint.
 */
export async function startLogin(s: RequestState, app: ProxyApp, returnTo: string): Promise<void> {
  let location: string;
  try {
    const sid = ensureSessionId(s, app);
    const { token } = await createState(app.config, returnTo, { sessionId: sid });
    location = app.oidc.authorizeUrl(token);
  } catch (err) {
    // Fail closed: never an empty 200 (CVE-2026-25748).
    return fail(s, new ProxyError('login_start_failed', (err as Error).message, { cause: err }));
  }
  redirect(s, location);
}

/**
 * A refused `rd` as it may be logged: without its query and fragment (someone's code or token)
 * and without user info (`https://user:password@host/`, which is exactly what gets refused).
 */
export function loggableRedirect(rd: string): string {
  const noQuery = rd.split(/[?#]/, 1)[0] ?? '';
  const u = URL.parse(noQuery);
  const shown = u !== null && (u.username !== '' || u.password !== '') ? `${u.protocol}//${u.host}${u.pathname}` : noQuery;
  return shown.slice(0, 200);
}

/** `/outpost.goauthentik.io/start?rd=…`: `rd` validated (§3.7), else the external host. */
export async function handleStart(s: RequestState, app: ProxyApp, query: URLSearchParams): Promise<void> {
  const rd = checkRedirect(query.get('rd') ?? undefined, app.config);
  if (query.has('rd') && !rd) s.log.info({ rd: loggableRedirect(query.get('rd') ?? '') }, 'Invalid redirect found');
  await startLogin(s, app, rd?.href ?? '');
}

/**
 * The callback (§3.4, ≥2024.6): the state must verify and belong to this browser's session; the
 * code is exchanged and the token verified; the session is stored under a fresh id; 302 to the
 * state's return URL or the external host. Every failure is 400 (503 when the core is down).
 */
export async function handleCallback(s: RequestState, app: ProxyApp, query: URLSearchParams, deps: AuthDeps): Promise<void> {
  s.sessionId ??= cookieSessionId(s, app);
  const sid = s.sessionId;
  const state = await verifyState(query.get('state') ?? undefined, app.config, sid);
  if (!state.ok) {
    // Another tab of this browser finished its login first, and its callback replaced the
    // pre-login cookie this state was bound to. Already logged in here: back to where this tab
    // was going, nothing exchanged and no session changed (so a state from another browser
    // achieves nothing either).
    if (state.reason === 'session' && sid !== undefined && (await readSessionById(sid, app, deps.store, () => s.log)).kind === 'found') {
      return redirect(s, returnUrl(app, state.state.redirect));
    }
    return fail(s, new ProxyError('state_invalid', `state rejected: ${state.reason}`));
  }
  const code = query.get('code');
  if (!code) return fail(s, 'code_missing');
  let token: VerifiedToken;
  try {
    token = await app.oidc.exchangeCode(code, s.signal);
  } catch (err) {
    return fail(s, oidcFailure(err, 'callback'));
  }
  const parsed = parseClaims(token.payload);
  if (!parsed.ok) return fail(s, new ProxyError('token_invalid', parsed.error));
  try {
    await saveLogin(s, app, deps.store, parsed.claims, token.raw);
  } catch (err) {
    // No session could be stored: no cookie, and a 503 rather than a login that silently fails.
    return fail(s, new ProxyError('session_store_unavailable', (err as Error)?.message ?? String(err), { cause: err }));
  }
  s.log.info({ user: parsed.claims.preferred_username || parsed.claims.sub }, 'user logged in');
  redirect(s, returnUrl(app, state.state.redirect));
}

/** Where a login returns: the state's redirect (it passed checkRedirect, or was reconstructed by us; checked again anyway), else the external host. */
function returnUrl(app: ProxyApp, stateRedirect: string): string {
  const back = stateRedirect !== '' ? checkRedirect(stateRedirect, app.config) : undefined;
  return back?.href ?? app.external.href;
}

/**
 * Sign-out (§3.5): the session and every session of the same user (`sub`) and core session
 * (`sid`) are deleted, the cookie cleared, and the browser sent to the end-session endpoint.
 * Without a session: to /start with `rd` = sign_out (authentik's behaviour, checklist 23).
 * With the session store down: the cookie is cleared and the browser still goes to the
 * end-session endpoint (without the token hint, which only the store knew); the deletion of this
 * session is kept by the shared store for when it is back.
 */
export async function handleSignOut(s: RequestState, app: ProxyApp, deps: AuthDeps): Promise<void> {
  const read = await readSession(s, app, deps.store);
  if (read.kind === 'unavailable') {
    if (s.sessionId !== undefined) await forget(deps.store, s.sessionId);
    clearCookie(s, app);
    s.log.warn('signed out while the session store is unavailable: the cookie is cleared, the session is deleted once the store is back');
    return redirect(s, app.oidc.endSessionUrl());
  }
  if (read.kind === 'none') {
    const rd = `${app.outpostBase}/sign_out`;
    return redirect(s, `${app.outpostBase}/start?rd=${encodeURIComponent(rd)}`);
  }
  const stored = read.session;
  let ended = 0;
  try {
    const { store } = deps;
    ended = await allDeletions([
      ...(s.sessionId !== undefined ? [store.delete(s.sessionId)] : []),
      ...(store.deleteByUser ? [store.deleteByUser(stored.claims.sub)] : []),
      ...(stored.claims.sid !== '' ? [store.deleteBySid(stored.claims.sid)] : []),
    ]);
  } catch (err) {
    // The store failed midway (a shared store keeps the deletions for when it is back): the
    // browser is signed out all the same.
    s.log.warn({ err: { message: (err as Error)?.message ?? String(err) } }, 'sign-out: the session store did not take every deletion');
  }
  deps.headerAuth.dropSession(stored.claims.sid);
  clearCookie(s, app);
  s.log.info({ user: stored.claims.preferred_username || stored.claims.sub, sessions: ended + 1 }, 'user signed out');
  redirect(s, app.oidc.endSessionUrl(stored.rawToken));
}
