// The REST endpoints under /api/v3 that outposts use, with authentik's authentication rules
// (Bearer token, then the session cookie), permission filtering and error bodies.
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import type { Logger } from '../log.ts';
import { parseEventRequest, type EventLog } from './events.ts';
import type { FlowEngine } from './flows.ts';
import { filterGroups, filterKey, filterUsers, paginate, type FieldErrors } from './lists.ts';
import type { OutpostRec, ProviderRec, Store, UserRec } from './model.ts';
import { SEARCH_FULL_DIRECTORY } from './permissions.ts';
import { parseQs, qsGet, type QueryPairs } from './querystring.ts';
import {
  brandJson,
  certificateJson,
  groupJson,
  ldapConfigJson,
  outpostJson,
  paginated,
  proxyConfigJson,
  radiusConfigJson,
  rootConfigJson,
  userJson,
  userSelfJson,
  type GroupIncludes,
  type Json,
} from './serialize.ts';
import type { Session, SessionStore } from './sessions.ts';
import type { WsHub } from './ws.ts';

export interface ApiRequest {
  method: string;
  /** Path as received, starting with /api/v3/. */
  path: string;
  rawQuery: string;
  headers: IncomingHttpHeaders;
  body: unknown;
  bodyError?: string | undefined;
  /** `http://<Host header>`, for absolute URLs in responses. */
  baseUrl: string;
}

export interface ApiResponse {
  status: number;
  json?: unknown;
  text?: string;
  contentType?: string;
  headers?: Record<string, string | string[]>;
}

type Principal =
  | { kind: 'token'; outpost: OutpostRec; user: UserRec }
  | { kind: 'session'; session: Session; user: UserRec }
  | { kind: 'anonymous'; session: Session | undefined };

const NOT_FOUND: ApiResponse = { status: 404, json: { detail: 'Not found.' } };
const NOT_AUTHENTICATED: ApiResponse = { status: 403, json: { detail: 'Authentication credentials were not provided.' } };
const FORBIDDEN: ApiResponse = { status: 403, json: { detail: 'You do not have permission to perform this action.' } };
const INVALID_PAGE: ApiResponse = { status: 404, json: { detail: 'Invalid page.' } };
/** Django's `get_object_or_404` through DRF 3.15+'s handler, which keeps the Http404 message. */
const noMatch = (model: string): ApiResponse => ({ status: 404, json: { detail: `No ${model} matches the given query.` } });

const UUID = '[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}';
const SLUG = '[-a-zA-Z0-9_]+';

type Handler = (ctx: Call, m: RegExpExecArray) => ApiResponse | Promise<ApiResponse>;
interface Route {
  re: RegExp;
  methods: Record<string, Handler>;
  /** Authentication is skipped (the executor reads only the session and outpost headers). */
  raw?: boolean;
}

interface Call {
  req: ApiRequest;
  query: QueryPairs;
  principal: Principal;
}

function json(status: number, body: unknown): ApiResponse {
  return { status, json: body };
}

function validationError(errors: FieldErrors | string[]): ApiResponse {
  return json(400, errors);
}

export class Api {
  private readonly store: Store;
  private readonly sessions: SessionStore;
  private readonly hub: WsHub;
  private readonly flows: FlowEngine;
  private readonly events: EventLog;
  private readonly logger: Logger;
  private readonly routes: Route[];
  private readonly userListCache = new Map<string, readonly UserRec[]>();
  private userListCacheVersion = -1;

  constructor(opts: { store: Store; sessions: SessionStore; hub: WsHub; flows: FlowEngine; events: EventLog; logger: Logger }) {
    this.store = opts.store;
    this.sessions = opts.sessions;
    this.hub = opts.hub;
    this.flows = opts.flows;
    this.events = opts.events;
    this.logger = opts.logger;
    const r = (re: string, methods: Record<string, Handler>, raw = false): Route => ({ re: new RegExp(`^${re}$`), methods, raw });
    this.routes = [
      r('root/config/', { GET: () => json(200, rootConfigJson(this.store)) }),
      r('core/brands/current/', { GET: () => json(200, brandJson(this.store)) }),
      r('outposts/instances/', { GET: (c) => this.outpostList(c) }),
      r(`outposts/instances/(${UUID})/`, { GET: (c, m) => this.outpostRetrieve(c, m[1] as string) }),
      r(`outposts/instances/(${UUID})/health/`, { GET: (c, m) => this.outpostHealth(c, m[1] as string) }),
      r('outposts/ldap/', { GET: (c) => this.providerList(c, 'ldap') }),
      r('outposts/radius/', { GET: (c) => this.providerList(c, 'radius') }),
      r('outposts/proxy/', { GET: (c) => this.providerList(c, 'proxy') }),
      r('core/users/', { GET: (c) => this.userList(c) }),
      r('core/users/me/', { GET: (c) => this.userMe(c) }),
      r('core/users/(\\d+)/', { GET: (c, m) => this.userRetrieve(c, Number(m[1])) }),
      r('core/groups/', { GET: (c) => this.groupList(c) }),
      r(`core/groups/(${UUID})/`, { GET: (c, m) => this.groupRetrieve(c, m[1] as string) }),
      r(`core/applications/(${SLUG})/check_access/`, { GET: (c, m) => this.checkAccess(c, m[1] as string) }),
      r(`crypto/certificatekeypairs/(${UUID})/`, { GET: (c, m) => this.certRetrieve(c, m[1] as string) }),
      r(`crypto/certificatekeypairs/(${UUID})/view_certificate/`, { GET: (c, m) => this.certView(c, m[1] as string, 'certificate') }),
      r(`crypto/certificatekeypairs/(${UUID})/view_private_key/`, { GET: (c, m) => this.certView(c, m[1] as string, 'private_key') }),
      r('events/events/', { POST: (c) => this.eventCreate(c) }),
      r(`flows/executor/(${SLUG})/`, { GET: (c, m) => this.executor(c, m[1] as string), POST: (c, m) => this.executor(c, m[1] as string) }, true),
    ];
    // authentik 2024.8+: the LDAP and RADIUS outposts' access checks (absent, hence 404, in 2024.4).
    if (this.store.mode !== '2024.4') {
      this.routes.push(
        r('outposts/ldap/(\\d+)/check_access/', { GET: (c, m) => this.ldapCheckAccess(c, Number(m[1])) }),
        r('outposts/radius/(\\d+)/check_access/', { GET: (c, m) => this.radiusCheckAccess(c, Number(m[1])) }),
      );
    }
  }

  private match(sub: string): [Route, RegExpExecArray] | undefined {
    for (const route of this.routes) {
      const m = route.re.exec(sub);
      if (m) return [route, m];
    }
    return undefined;
  }

  async handle(req: ApiRequest): Promise<ApiResponse> {
    const sub = req.path.slice('/api/v3/'.length);
    const found = this.match(sub);
    if (!found) {
      // Django's APPEND_SLASH: redirect to the slashed URL when that one exists.
      if (!req.path.endsWith('/') && this.match(`${sub}/`)) {
        return { status: 301, headers: { location: `${req.path}/${req.rawQuery ? `?${req.rawQuery}` : ''}` } };
      }
      return NOT_FOUND;
    }
    const [route, m] = found;
    const query = parseQs(req.rawQuery);
    // Django answers HEAD with the GET view.
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    if (route.raw) {
      const h = route.methods[method];
      if (!h) return json(405, { detail: `Method "${req.method}" not allowed.` });
      return h({ req, query, principal: { kind: 'anonymous', session: undefined } }, m);
    }
    const principal = this.authenticate(req);
    if ('status' in principal) return principal;
    const h = route.methods[method];
    if (!h) {
      if (req.method === 'OPTIONS') return { status: 200, json: { name: 'devcore', description: '' }, headers: { allow: `${Object.keys(route.methods).join(', ')}, OPTIONS` } };
      return json(405, { detail: `Method "${req.method}" not allowed.` });
    }
    return h({ req, query, principal }, m);
  }

  /** authentik's bearer authentication (then DRF's session authentication). */
  private authenticate(req: ApiRequest): Principal | ApiResponse {
    const raw = (req.headers.authorization ?? '').trim();
    if (raw !== '' && raw.includes(' ')) {
      const space = raw.indexOf(' ');
      const type = raw.slice(0, space).toLowerCase();
      const creds = raw.slice(space + 1).trim();
      if (type !== 'bearer') return json(403, { detail: 'Unsupported authentication type' });
      if (creds === '') return json(403, { detail: 'Malformed header' });
      const outpost = this.store.outpostsByToken.get(creds);
      const user = outpost ? this.store.users.get(outpost.serviceAccountPk) : undefined;
      if (!outpost || !user) return json(403, { detail: 'Token invalid/expired' });
      return { kind: 'token', outpost, user };
    }
    const session = this.sessions.fromCookieHeader(req.headers.cookie);
    const user = session ? this.sessions.authenticatedUser(session) : null;
    if (session && user) return { kind: 'session', session, user };
    return { kind: 'anonymous', session };
  }

  private isSuperuser(p: Principal): boolean {
    return p.kind === 'session' && this.store.isSuperuser(p.user);
  }

  private page(items: readonly unknown[], c: Call, render: (x: never) => Json): ApiResponse {
    const page = paginate(items, c.query);
    if (!page) return INVALID_PAGE;
    return json(200, paginated(page.items.map((x) => render(x as never)), page, this.store.mode));
  }

  // ---- outposts ----

  /** Outposts the caller may view: its own for a token, all for a superuser. Null = 403. */
  private visibleOutposts(p: Principal): OutpostRec[] | null {
    if (p.kind === 'token') return [p.outpost];
    if (this.isSuperuser(p)) return [...this.store.outposts.values()];
    return null;
  }

  private outpostList(c: Call): ApiResponse {
    if (c.principal.kind === 'anonymous') return NOT_AUTHENTICATED;
    const visible = this.visibleOutposts(c.principal);
    if (!visible) return FORBIDDEN;
    let items = visible.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const nameIexact = qsGet(c.query, 'name__iexact');
    if (nameIexact) items = items.filter((o) => o.name.toLowerCase() === nameIexact.toLowerCase());
    const name = qsGet(c.query, 'name');
    if (name) items = items.filter((o) => o.name === name);
    const providers = c.query.filter(([k]) => k === 'providers_by_pk').map(([, v]) => Number(v));
    if (providers.length > 0) items = items.filter((o) => o.providers.some((n) => providers.includes(this.store.providers.get(n)?.pk ?? -1)));
    return this.page(items, c, (o: OutpostRec) => outpostJson(this.store, o));
  }

  private findOutpost(c: Call, pk: string): OutpostRec | ApiResponse {
    if (c.principal.kind === 'anonymous') return NOT_AUTHENTICATED;
    const visible = this.visibleOutposts(c.principal);
    if (!visible) return FORBIDDEN;
    const o = visible.find((x) => x.pk === pk.toLowerCase());
    return o ?? NOT_FOUND;
  }

  private outpostRetrieve(c: Call, pk: string): ApiResponse {
    const o = this.findOutpost(c, pk);
    return 'status' in o ? o : json(200, outpostJson(this.store, o));
  }

  private outpostHealth(c: Call, pk: string): ApiResponse {
    const o = this.findOutpost(c, pk);
    return 'status' in o ? o : json(200, this.hub.health(o));
  }

  private providerList(c: Call, type: ProviderRec['type']): ApiResponse {
    if (c.principal.kind === 'anonymous') return NOT_AUTHENTICATED;
    let providers: ProviderRec[];
    if (c.principal.kind === 'token') {
      providers = c.principal.outpost.providers.flatMap((n) => {
        const p = this.store.providers.get(n);
        return p ? [p] : [];
      });
    } else if (this.isSuperuser(c.principal)) providers = [...this.store.providers.values()];
    else return FORBIDDEN;
    // The outpost config endpoints list only providers that have an application, by name.
    const rows = providers
      .filter((p) => p.type === type)
      .flatMap((p) => {
        const app = this.store.applicationOfProvider(p.name);
        return app ? [{ p, app }] : [];
      })
      .sort((a, b) => (a.p.name < b.p.name ? -1 : a.p.name > b.p.name ? 1 : 0));
    return this.page(rows, c, ({ p, app }: (typeof rows)[number]) => {
      if (p.type === 'ldap') return ldapConfigJson(this.store, p, app);
      if (p.type === 'radius') return radiusConfigJson(this.store, p, app);
      return proxyConfigJson(this.store, p as Extract<ProviderRec, { type: 'proxy' }>, app, c.req.baseUrl);
    });
  }

  // ---- users and groups ----

  /**
   * Directory visibility: an LDAP outpost's account has global view_user/view_group; other
   * outpost accounts (internal service accounts) see an empty list; superusers see everything;
   * other users get 403 (authentik's ObjectFilter).
   */
  private directoryAccess(p: Principal): 'all' | 'none' | ApiResponse {
    if (p.kind === 'anonymous') return NOT_AUTHENTICATED;
    if (p.kind === 'token') return this.store.outpostCanViewDirectory(p.outpost) ? 'all' : 'none';
    return this.isSuperuser(p) ? 'all' : FORBIDDEN;
  }

  private includeFlag(q: QueryPairs, key: string): boolean {
    return (qsGet(q, key) ?? 'true').toLowerCase() === 'true';
  }

  private userList(c: Call): ApiResponse {
    const access = this.directoryAccess(c.principal);
    if (typeof access !== 'string') return access;
    const key = filterKey(c.query);
    if (this.userListCacheVersion !== this.store.dataVersion) {
      this.userListCache.clear();
      this.userListCacheVersion = this.store.dataVersion;
    }
    let items = this.userListCache.get(key);
    if (!items) {
      const res = filterUsers(this.store, c.query);
      if (!res.ok) return validationError(res.errors);
      items = res.items;
      // Paging through 100k users re-filters otherwise; keep a few recent filter results.
      if (this.userListCache.size >= 16) this.userListCache.delete(this.userListCache.keys().next().value as string);
      this.userListCache.set(key, items);
    }
    if (access === 'none') items = [];
    const groups = this.includeFlag(c.query, 'include_groups');
    const roles = this.includeFlag(c.query, 'include_roles');
    return this.page(items, c, (u: UserRec) => userJson(this.store, u, groups, roles));
  }

  private userRetrieve(c: Call, pk: number): ApiResponse {
    const access = this.directoryAccess(c.principal);
    if (typeof access !== 'string') return access;
    const u = this.store.users.get(pk);
    if (!u || access === 'none') return NOT_FOUND;
    return json(200, userJson(this.store, u, true));
  }

  private userMe(c: Call): ApiResponse {
    const p = c.principal;
    if (p.kind === 'anonymous') return NOT_AUTHENTICATED;
    const self = userSelfJson(this.store, p.user);
    // 2026.8's SessionUser also lists the session's users (account switching): just this one.
    const res = json(200, this.store.mode === '2024.4' ? { user: self } : { user: self, users: [self] });
    // authentik marks the session modified here, so Django sends the cookie again.
    if (p.kind === 'session') res.headers = { 'set-cookie': this.sessions.setCookieHeader(p.session) };
    return res;
  }

  private groupList(c: Call): ApiResponse {
    const access = this.directoryAccess(c.principal);
    if (typeof access !== 'string') return access;
    const res = filterGroups(this.store, c.query);
    if (!res.ok) return validationError(res.errors);
    const includes = this.groupIncludes(c.query);
    return this.page(access === 'none' ? [] : res.items, c, (g: Parameters<typeof groupJson>[1]) => groupJson(this.store, g, includes));
  }

  private groupRetrieve(c: Call, pk: string): ApiResponse {
    const access = this.directoryAccess(c.principal);
    if (typeof access !== 'string') return access;
    const g = this.store.groups.get(pk.toLowerCase());
    if (!g || access === 'none') return NOT_FOUND;
    return json(200, groupJson(this.store, g, this.groupIncludes(c.query)));
  }

  /** `include_users` defaults to true; 2026.8's `include_parents/children/inherited_roles` to false. */
  private groupIncludes(q: QueryPairs): GroupIncludes {
    const optIn = (key: string) => (qsGet(q, key) ?? 'false').toLowerCase() === 'true';
    return { users: this.includeFlag(q, 'include_users'), parents: optIn('include_parents'), children: optIn('include_children'), inheritedRoles: optIn('include_inherited_roles') };
  }

  private checkAccess(c: Call, slug: string): ApiResponse {
    const p = c.principal;
    if (p.kind === 'anonymous') return NOT_AUTHENTICATED;
    const app = this.store.applications.get(slug);
    if (!app) return NOT_FOUND;
    let forUser = p.user;
    const superuser = this.store.isSuperuser(p.user);
    // `for_user` is honoured for superusers only.
    const forUserParam = qsGet(c.query, 'for_user');
    if (superuser && forUserParam !== undefined) {
      if (!/^\s*\d+\s*$/.test(forUserParam)) return validationError({ for_user: ['for_user must be numerical'] });
      const u = this.store.users.get(Number(forUserParam));
      if (!u) return validationError({ for_user: ['User not found'] });
      forUser = u;
    }
    const passing = this.store.applicationPasses(app, forUser);
    return json(200, { passing, messages: [], log_messages: [] });
  }

  /**
   * What an outpost access check of provider `pk` (of `type`) is about: the session's user, the
   * provider by pk without permission filtering, and the application of `app_slug` (authentik
   * reads `request.query_params["app_slug"]`, so a missing one is a KeyError, answered 500).
   */
  private outpostCheckTarget<T extends 'ldap' | 'radius'>(c: Call, pk: number, type: T, model: string) {
    const p = c.principal;
    if (p.kind === 'anonymous') return NOT_AUTHENTICATED;
    const provider = this.store.providersByPk.get(pk);
    if (provider?.type !== type) return noMatch(model);
    const slug = qsGet(c.query, 'app_slug');
    if (slug === undefined) return json(500, { detail: 'devcore: app_slug is required (authentik raises MultiValueDictKeyError, a 500)' });
    const app = this.store.applications.get(slug);
    if (!app) return noMatch('Application');
    return { user: p.user, provider: provider as Extract<ProviderRec, { type: T }>, app };
  }

  /**
   * authentik 2024.8+ `GET /outposts/ldap/<pk>/check_access/?app_slug=` as the session's user
   * (LDAPOutpostConfigViewSet.check_access): the policy engine without cache, and
   * `user.has_perm("search_full_directory", provider) or user.has_perm("authentik_providers_ldap.search_full_directory")`.
   */
  private ldapCheckAccess(c: Call, pk: number): ApiResponse {
    const t = this.outpostCheckTarget(c, pk, 'ldap', 'LDAPProvider');
    if ('status' in t) return t;
    const { user, provider, app } = t;
    const hasSearch = this.store.hasProviderPermission(user, 'search_full_directory', provider) || this.store.hasGlobalPermission(user, SEARCH_FULL_DIRECTORY);
    return json(200, { has_search_permission: hasSearch, access: { passing: this.store.applicationPasses(app, user), messages: [], log_messages: [] } });
  }

  /**
   * authentik 2024.8+ `GET /outposts/radius/<pk>/check_access/?app_slug=` as the session's user
   * (RadiusOutpostConfigViewSet.check_access): like LDAP's; `attributes` is computed only when
   * access passes (null otherwise): a packet with the attributes of the provider's mappings.
   */
  private radiusCheckAccess(c: Call, pk: number): ApiResponse {
    const t = this.outpostCheckTarget(c, pk, 'radius', 'RadiusProvider');
    if ('status' in t) return t;
    const { user, provider, app } = t;
    const passing = this.store.applicationPasses(app, user);
    const attributes = passing ? this.store.radiusAttributes(provider, user) : null;
    return json(200, { attributes, access: { passing, messages: [], log_messages: [] } });
  }

  // ---- certificates ----

  private findCert(c: Call, pk: string) {
    const p = c.principal;
    if (p.kind === 'anonymous') return NOT_AUTHENTICATED;
    const cert = this.store.certsByPk.get(pk.toLowerCase());
    if (!cert) return NOT_FOUND;
    if (p.kind === 'token' && !this.store.outpostCanViewCert(p.outpost, cert)) return NOT_FOUND;
    if (p.kind === 'session' && !this.store.isSuperuser(p.user)) return FORBIDDEN;
    return cert;
  }

  private certRetrieve(c: Call, pk: string): ApiResponse {
    const cert = this.findCert(c, pk);
    return 'status' in cert ? cert : json(200, certificateJson(this.store, cert));
  }

  private certView(c: Call, pk: string, what: 'certificate' | 'private_key'): ApiResponse {
    const cert = this.findCert(c, pk);
    if ('status' in cert) return cert;
    const data = what === 'certificate' ? cert.kp.certPem : cert.kp.keyPem;
    if (c.query.some(([k]) => k === 'download')) {
      return {
        status: 200,
        text: data,
        contentType: 'application/x-pem-file',
        headers: { 'content-disposition': `attachment; filename="${cert.name}_${what}.pem"` },
      };
    }
    return json(200, { data });
  }

  // ---- events ----

  /**
   * EventViewSet.create: an outpost's token may (authentik gives every outpost account
   * `authentik_events.add_event`), as may a superuser; the event is stored as posted (the API
   * sets no user of its own) and answered 201 as the serializer renders it.
   */
  private eventCreate(c: Call): ApiResponse {
    const p = c.principal;
    if (p.kind === 'anonymous') return NOT_AUTHENTICATED;
    if (p.kind === 'session' && !this.store.isSuperuser(p.user)) return FORBIDDEN;
    if (c.req.bodyError !== undefined) return json(400, { detail: `JSON parse error - ${c.req.bodyError}` });
    const now = new Date();
    const parsed = parseEventRequest(c.req.body ?? {}, this.store.mode, now);
    if (!parsed.ok) return validationError(parsed.errors);
    const event = this.events.add(parsed.value, now);
    this.logger.info({ action: event.action, app: event.app, client_ip: event.client_ip }, 'Created Event');
    return json(201, event);
  }

  // ---- flow executor ----

  private async executor(c: Call, slug: string): Promise<ApiResponse> {
    const { req } = c;
    const tokenHeader = req.headers['x-authentik-outpost-token'];
    const ipHeader = req.headers['x-authentik-remote-ip'];
    const outpostToken = typeof tokenHeader === 'string' ? (this.store.outpostsByToken.get(tokenHeader) ?? null) : null;
    // authentik honours the delegated IP only with a valid outpost token and a parseable IP.
    const delegatedIp = outpostToken && typeof ipHeader === 'string' && isIP(ipHeader.trim()) !== 0 ? ipHeader.trim() : null;
    const res = await this.flows.handle({
      method: req.method === 'POST' ? 'POST' : 'GET',
      slug,
      path: req.path,
      rawQuery: req.rawQuery,
      body: req.body,
      bodyError: req.bodyError,
      session: this.sessions.fromCookieHeader(req.headers.cookie),
      outpostToken,
      delegatedIp,
    });
    const headers: Record<string, string | string[]> = {};
    if (res.session) headers['set-cookie'] = this.sessions.setCookieHeader(res.session);
    if (res.location !== undefined) headers['location'] = res.location;
    if (res.status === 302) return { status: 302, text: '', contentType: 'text/html; charset=utf-8', headers };
    return { status: res.status, json: res.body, headers };
  }
}

