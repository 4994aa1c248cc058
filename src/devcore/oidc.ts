// authentik's OAuth2/OIDC provider endpoints under /application/o/, as proxy providers use them:
// authorize (code flow), token (authorization_code, client_credentials), introspect, userinfo,
// end-session, jwks and discovery; plus the flow interface pages under /if/flow/.
// Errors follow authentik's views: an invalid client or redirect URI at authorize is an HTML
// error page (never a redirect); token errors are 400 `{error, error_description}`.
import { timingSafeEqual } from 'node:crypto';
import type { Logger } from '../log.ts';
import type { ApiRequest, ApiResponse } from './api.ts';
import type { ApplicationRec, ProxyProviderRec, Store, UserRec } from './model.ts';
import { TokenIssuer, providerScopes, scopeClaims } from './oidc-tokens.ts';
import { errorPage, escapeHtml, flowPage, htmlResponse } from './pages.ts';
import { verifyPassword } from './password.ts';
import { parseQs, qsGet, quotePlus, type QueryPairs } from './querystring.ts';
import { oidcConfiguration } from './serialize.ts';
import { hashSessionKey, type Session, type SessionStore } from './sessions.ts';

/** What the OIDC endpoints read of a request: the API's request, without its base URL. */
export type OidcRequest = Omit<ApiRequest, 'baseUrl'>;

export interface OidcDeps {
  store: Store;
  sessions: SessionStore;
  logger: Logger;
  /** A logged-in session ended here (end-session): the outposts are told. */
  onLogout: (sessionKey: string) => void;
}

/** authentik's OAuth2 error descriptions (providers/oauth2/errors.py). */
const TOKEN_ERRORS = {
  invalid_request: 'The request is otherwise malformed',
  invalid_client: 'Client authentication failed (e.g., unknown client, no client authentication included, or unsupported authentication method)',
  invalid_grant:
    'The provided authorization grant or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client',
  unsupported_grant_type: 'The authorization grant type is not supported by the authorization server',
} as const;

const SLUG = '[-a-zA-Z0-9_]+';
const APP_ROUTE = new RegExp(`^/application/o/(${SLUG})/(end-session/|jwks/|\\.well-known/openid-configuration/?)$`);
const FLOW_ROUTE = new RegExp(`^/if/flow/(${SLUG})/$`);

function tokenError(error: keyof typeof TOKEN_ERRORS, status = 400): ApiResponse {
  return { status, json: { error, error_description: TOKEN_ERRORS[error] }, headers: { 'cache-control': 'no-store' } };
}

function form(body: unknown): Record<string, string> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return {};
  return Object.fromEntries(Object.entries(body).flatMap(([k, v]) => (typeof v === 'string' ? [[k, v]] : [])));
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Python's `quote(s, safe="/")`, as Django's redirect_to_login encodes `next`. */
function quotePath(s: string): string {
  return quotePlus(s).replace(/%2F/g, '/').replace(/\+/g, '%20');
}

export class Oidc {
  private readonly store: Store;
  private readonly sessions: SessionStore;
  private readonly logger: Logger;
  private readonly onLogout: (sessionKey: string) => void;
  readonly tokens: TokenIssuer;

  constructor(deps: OidcDeps) {
    this.store = deps.store;
    this.sessions = deps.sessions;
    this.logger = deps.logger;
    this.onLogout = deps.onLogout;
    this.tokens = new TokenIssuer(deps.store);
  }

  /** Whether this module serves the path. */
  static serves(path: string): boolean {
    return path.startsWith('/application/o/') || path.startsWith('/if/flow/') || path === '/flows/-/default/authentication/';
  }

  async handle(req: OidcRequest): Promise<ApiResponse> {
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const base = `http://${req.headers.host ?? '127.0.0.1'}`;
    const query = parseQs(req.rawQuery);
    switch (req.path) {
      case '/application/o/authorize/':
        return method === 'GET' || method === 'POST' ? this.authorize(req, query) : this.notAllowed(req);
      case '/application/o/token/':
        return method === 'POST' ? this.token(req, base) : this.notAllowed(req);
      case '/application/o/introspect/':
        return method === 'POST' ? this.introspect(req) : this.notAllowed(req);
      case '/application/o/userinfo/':
        return method === 'GET' || method === 'POST' ? this.userinfo(req, query) : this.notAllowed(req);
      case '/flows/-/default/authentication/':
        return this.defaultAuthentication(req);
    }
    const flow = FLOW_ROUTE.exec(req.path);
    if (flow) {
      const f = this.store.flows.get(flow[1] as string);
      return f ? flowPage(f.slug, f.title) : errorPage(404, 'Not found', `No flow "${flow[1]}".`);
    }
    const m = APP_ROUTE.exec(req.path);
    if (!m) return errorPage(404, 'Not found', 'The requested page does not exist.');
    const found = this.proxyApp(m[1] as string);
    if (!found) return { status: 404, json: { detail: 'Not found.' } };
    const [app, provider] = found;
    if (m[2] === 'end-session/') return this.endSession(req);
    if (m[2] === 'jwks/') return { status: 200, json: await this.tokens.jwks(provider) };
    return { status: 200, json: oidcConfiguration(this.store, provider, app, base) };
  }

  private notAllowed(req: OidcRequest): ApiResponse {
    return { status: 405, json: { detail: `Method "${req.method}" not allowed.` } };
  }

  private proxyApp(slug: string): [ApplicationRec, ProxyProviderRec] | undefined {
    const app = this.store.applications.get(slug);
    const p = app?.provider ? this.store.providers.get(app.provider) : undefined;
    return app && p?.type === 'proxy' ? [app, p] : undefined;
  }

  private sessionUser(req: OidcRequest): { session: Session; user: UserRec } | undefined {
    const session = this.sessions.fromCookieHeader(req.headers.cookie);
    const user = session ? this.sessions.authenticatedUser(session) : null;
    return session && user ? { session, user } : undefined;
  }

  /** The brand's authentication flow interface, `next` pointing back at `fullPath`. */
  private toLogin(fullPath: string): ApiResponse {
    const slug = this.store.brand.flow_authentication;
    if (!slug) return errorPage(400, 'No authentication flow', 'The brand has no authentication flow, so nobody can log in.');
    return { status: 302, headers: { location: `/if/flow/${slug}/?next=${quotePath(fullPath)}` } };
  }

  /** authentik's `/flows/-/default/authentication/`: the brand's flow interface, query kept. */
  private defaultAuthentication(req: OidcRequest): ApiResponse {
    const slug = this.store.brand.flow_authentication;
    if (!slug) return errorPage(404, 'Not found', 'The brand has no authentication flow.');
    return { status: 302, headers: { location: `/if/flow/${slug}/${req.rawQuery ? `?${req.rawQuery}` : ''}` } };
  }

  // ---- authorize (views/authorize.py) ----

  /**
   * The redirect URIs set_oauth_defaults registers: `urljoin(ext, "outpost.goauthentik.io/callback")`
   * and ext itself, each with `?X-authentik-auth-callback=true`. 2024.4 stores them as regular
   * expressions (fullmatch, `\?` escaped); 2024.8+ as strict URLs.
   */
  redirectUriAllowed(p: ProxyProviderRec, uri: string): boolean {
    let joined: string;
    try {
      joined = new URL('outpost.goauthentik.io/callback', p.external_host).href;
    } catch {
      return false;
    }
    const allowed = [`${joined}?X-authentik-auth-callback=true`, `${p.external_host}?X-authentik-auth-callback=true`];
    if (this.store.mode !== '2024.4') return allowed.includes(uri);
    return allowed.some((a) => {
      try {
        // The regex authentik stores: the URL as typed, with only the `?` escaped.
        return new RegExp(`^(?:${a.replace('?', '\\?')})$`).test(uri);
      } catch {
        return false;
      }
    });
  }

  private authorize(req: OidcRequest, query: QueryPairs): ApiResponse {
    const params = req.method === 'POST' ? [...query, ...Object.entries(form(req.body))] : query;
    const clientId = qsGet(params, 'client_id') ?? '';
    const redirectUri = qsGet(params, 'redirect_uri') ?? '';
    const provider = clientId ? this.store.proxyProviderByClientId(clientId) : undefined;
    const app = provider ? this.store.applicationOfProvider(provider.name) : undefined;
    if (!provider || !app) return errorPage(400, 'Client ID Error', `Invalid client identifier: ${clientId}.`);
    if (!this.redirectUriAllowed(provider, redirectUri)) {
      return errorPage(400, 'Redirect URI Error', 'The request fails due to a missing, invalid, or mismatching redirection URI (redirect_uri).');
    }
    const state = qsGet(params, 'state');
    const back = (extra: [string, string][]) => {
      const all = [...extra, ...(state !== undefined ? [['state', state] as [string, string]] : [])];
      const qs = all.map(([k, v]) => `${quotePlus(k)}=${quotePlus(v)}`).join('&');
      return { status: 302, headers: { location: `${redirectUri}${redirectUri.includes('?') ? '&' : '?'}${qs}` } };
    };
    // With a valid redirect URI, authentik reports request errors to the client there.
    if (qsGet(params, 'response_type') !== 'code') return back([['error', 'unsupported_response_type']]);
    const fullPath = req.rawQuery ? `${req.path}?${req.rawQuery}` : req.path;
    const who = this.sessionUser(req);
    if (!who) return this.toLogin(fullPath);
    if (!this.store.applicationPasses(app, who.user)) {
      return htmlResponse(403, 'Permission denied', `<h1>Permission denied</h1><p id="error">You do not have access to ${escapeHtml(app.name)}.</p>`);
    }
    // The authorization flow runs after login; the core runs only stage-less (implicit consent) ones.
    const authz = this.store.flows.get(provider.authorization_flow);
    if (!authz || authz.stages.length > 0) {
      return errorPage(501, 'Authorization flow not supported', `devcore: the authorization flow "${provider.authorization_flow}" must exist and have no stages (implicit consent).`);
    }
    const requested = (qsGet(params, 'scope') ?? '').split(/\s+/).filter(Boolean);
    const scopes = providerScopes(this.store).filter((s) => requested.includes(s));
    const code = this.tokens.newCode({
      provider: provider.name,
      clientId,
      redirectUri,
      userPk: who.user.pk,
      scopes,
      sessionKey: who.session.key,
      authTime: who.session.authTime ?? Date.now(),
    });
    this.logger.debug({ user: who.user.username, app: app.slug }, 'authorization code issued');
    return back([['code', code]]);
  }

  // ---- token (views/token.py) ----

  /** `extract_client_auth`: HTTP Basic when present (the form is then ignored), else the form. */
  private clientAuth(req: OidcRequest): { clientId: string; clientSecret: string } {
    const auth = (req.headers.authorization ?? '').trim();
    const m = /^Basic\s(.+)$/.exec(auth);
    if (m) {
      const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      return colon < 0 ? { clientId: decoded, clientSecret: '' } : { clientId: decoded.slice(0, colon), clientSecret: decoded.slice(colon + 1) };
    }
    const f = form(req.body);
    return { clientId: f['client_id'] ?? '', clientSecret: f['client_secret'] ?? '' };
  }

  private async token(req: OidcRequest, base: string): Promise<ApiResponse> {
    const f = form(req.body);
    const { clientId, clientSecret } = this.clientAuth(req);
    const provider = clientId ? this.store.proxyProviderByClientId(clientId) : undefined;
    const app = provider ? this.store.applicationOfProvider(provider.name) : undefined;
    if (!provider || !app) return tokenError('invalid_client');
    const issuer = `${base}/application/o/${app.slug}/`;
    const grant = f['grant_type'];
    if (grant === 'authorization_code') {
      // Proxy providers are confidential clients: the secret is checked for this grant only.
      if (!sameSecret(clientSecret, provider.client_secret)) return tokenError('invalid_client');
      const redirectUri = f['redirect_uri'] ?? '';
      if (!this.redirectUriAllowed(provider, redirectUri)) return tokenError('invalid_client');
      const codeValue = f['code'] ?? '';
      const code = this.tokens.codes.get(codeValue);
      // A code works once, whatever happens next.
      if (code) this.tokens.codes.delete(codeValue);
      if (!code || code.expires <= Date.now() || code.provider !== provider.name || code.redirectUri !== redirectUri) return tokenError('invalid_grant');
      const user = this.store.users.get(code.userPk);
      if (!user || !user.isActive) return tokenError('invalid_grant');
      const t = await this.tokens.issue({ provider, app, user, scopes: code.scopes, issuer, authTime: code.authTime, sessionKeyHash: hashSessionKey(code.sessionKey) });
      return this.tokenResponse(t, code.scopes);
    }
    if (grant === 'client_credentials') {
      // authentik: `username` names the user, `password` is an app password of theirs; the
      // core also takes the user's own password. No client secret is asked for this grant.
      const user = this.store.userByUsername(f['username'] ?? '');
      const password = f['password'] ?? '';
      const ok = user !== undefined && user.isActive && password !== '' && ((user.appPasswords ?? []).includes(password) || verifyPassword(user.password, password));
      if (!user || !ok || !this.store.applicationPasses(app, user)) return tokenError('invalid_grant');
      const requested = (f['scope'] ?? '').split(/\s+/).filter(Boolean);
      const scopes = providerScopes(this.store).filter((s) => requested.includes(s));
      const t = await this.tokens.issue({ provider, app, user, scopes, issuer, authTime: Date.now(), sessionKeyHash: undefined });
      return this.tokenResponse(t, scopes);
    }
    return tokenError('unsupported_grant_type');
  }

  private tokenResponse(t: { accessToken: string; idToken: string; expiresIn: number }, scopes: string[]): ApiResponse {
    return {
      status: 200,
      json: { access_token: t.accessToken, token_type: 'Bearer', scope: scopes.join(' '), expires_in: t.expiresIn, id_token: t.idToken },
      headers: { 'cache-control': 'no-store' },
    };
  }

  // ---- introspect (views/introspection.py) ----

  /** RFC 7662: the client must authenticate with its secret; anything wrong is `{active: false}`. */
  private introspect(req: OidcRequest): ApiResponse {
    const inactive: ApiResponse = { status: 200, json: { active: false } };
    const { clientId, clientSecret } = this.clientAuth(req);
    const provider = clientId ? this.store.proxyProviderByClientId(clientId) : undefined;
    if (!provider || !sameSecret(clientSecret, provider.client_secret)) return inactive;
    const t = this.tokens.activeToken(form(req.body)['token'] ?? '');
    if (!t || t.provider !== provider.name) return inactive;
    return { status: 200, json: { ...t.claims, active: true, scope: t.scopes.join(' '), client_id: provider.client_id } };
  }

  // ---- userinfo (views/userinfo.py) ----

  private userinfo(req: OidcRequest, query: QueryPairs): ApiResponse {
    const bearer = /^Bearer\s+(\S+)$/i.exec((req.headers.authorization ?? '').trim());
    const raw = bearer?.[1] ?? form(req.body)['access_token'] ?? qsGet(query, 'access_token');
    const challenge = (status: number, error: string, description: string): ApiResponse => ({
      status,
      text: '',
      headers: { 'www-authenticate': `error="${error}", error_description="${description}"` },
    });
    if (!raw) return challenge(400, 'invalid_request', 'The request is otherwise malformed');
    const t = this.tokens.activeToken(raw);
    const user = t ? this.store.users.get(t.userPk) : undefined;
    const found = t ? this.proxyAppOfProvider(t.provider) : undefined;
    if (!t || !user || !found) return challenge(401, 'invalid_token', 'The access token is invalid or has expired');
    if (!t.scopes.includes('openid')) return challenge(403, 'insufficient_scope', 'The request requires higher privileges than provided by the access token');
    const sid = typeof t.claims['sid'] === 'string' ? t.claims['sid'] : undefined;
    return { status: 200, json: { sub: this.store.userUid(user), ...scopeClaims(this.store, found[0], user, t.scopes, sid) } };
  }

  private proxyAppOfProvider(name: string): [ApplicationRec, ProxyProviderRec] | undefined {
    const app = this.store.applicationOfProvider(name);
    return app ? this.proxyApp(app.slug) : undefined;
  }

  // ---- end-session (views/end_session.py) ----

  /**
   * Ends the browser's core session here and shows a signed-out page. (authentik instead
   * sends the browser through the invalidation flow, whose logout stage ends the session; the
   * outcome for outposts is the same message, and this way an HTTP client sees it happen.)
   */
  private endSession(req: OidcRequest): ApiResponse {
    const session = this.sessions.fromCookieHeader(req.headers.cookie);
    let headers: Record<string, string> | undefined;
    if (session) {
      if (this.sessions.authenticatedUser(session)) this.onLogout(session.key);
      headers = { 'set-cookie': this.sessions.setCookieHeader(this.sessions.flush(session)) };
    }
    const login = this.store.brand.flow_authentication;
    const again = login ? `<p><a href="/if/flow/${escapeHtml(login)}/">Log in again</a></p>` : '';
    return htmlResponse(200, 'Signed out', `<h1>Signed out</h1><p id="message">You have been signed out of authentik.</p>${again}`, headers);
  }
}
