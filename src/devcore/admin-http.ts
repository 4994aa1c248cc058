// The HTTP admin API under /_devcore/: the same operations as DevCoreAdmin, as JSON, for the
// demo and for tools outside the test process. Protected by `Authorization: Bearer <admin_token>`
// (401 without, 403 with a wrong token); bad bodies are 400 {"detail": "<field>: <problem>"},
// unknown objects 404, name clashes 409. Path segments are URL-decoded ("authentik%20Admins").
//
//   GET    /_devcore/                                  summary: url, authentik_version, version, outposts (pk, providers, open websockets)
//   POST   /_devcore/users                             {username, password?, name?, email?, is_active?, groups?, attributes?, is_superuser?} → 201 {pk}
//   GET    /_devcore/users/<username>                  the user as /api/v3/core/users/<pk>/ renders it
//   PATCH  /_devcore/users/<username>                  {password?|null, is_active?, name?, email?, attributes?, username?}
//   DELETE /_devcore/users/<username>
//   PUT    /_devcore/users/<username>/groups           {groups: [names]}
//   POST   /_devcore/users/<username>/devices          {type: totp, secret, digits?} | {type: static, tokens} | {type: duo, result?} | {type: webauthn} → 201 {pk}
//   POST   /_devcore/groups                            {name, parent?, is_superuser?, attributes?} → 201 {pk}
//   DELETE /_devcore/groups/<name>
//   POST   /_devcore/groups/<name>/members             {username}
//   DELETE /_devcore/groups/<name>/members/<username>
//   PATCH  /_devcore/providers/<name>                  fields of that provider type (mfa_support, shared_secret, search_group,
//                                                      unbind_flow, certificate, property_mappings: [names] for radius;
//                                                      proxy: external_host, mode, access_token_validity, signing_key, ...)
//   GET    /_devcore/outposts/<name>                   {pk, name, type, token, providers}
//   PATCH  /_devcore/outposts/<name>                   {config?: {log_level, ...} (merged), providers?, name?, managed?, refresh_interval_s?}
//   POST   /_devcore/permissions                       {username? | group?, permission, provider?} grant (global, or on a provider)
//   DELETE /_devcore/permissions                       the same body: revoke → 204
//   PUT    /_devcore/property-mappings/<name>          {type: radius, groups?, attributes: [...], raw_packet_base64?} create or replace
//   PUT    /_devcore/applications/<slug>/access        {groups: [names] | null}
//   GET    /_devcore/certificates/<name>               {pk, fingerprint_sha256, fingerprint_sha1, certificate}
//   POST   /_devcore/certificates/<name>/rotate        → {fingerprint_sha256}
//   GET    /_devcore/sessions                          list; DELETE /_devcore/sessions[?username=x] → {ended}
//   POST   /_devcore/outposts/<name>/push              the message object itself → {sent}
//   POST   /_devcore/outposts/<name>/drop              close its websockets without a close frame → {dropped}
//   GET    /_devcore/outposts/<name>/websockets        connection history (query, connectedAt, closedAt)
//   GET    /_devcore/outposts/<name>/health            as /api/v3/outposts/instances/<pk>/health/
//   POST   /_devcore/websockets/drop                   all outposts
//   PUT    /_devcore/websockets/refuse                 {on: true|false} (503 on upgrade while on)
//   POST   /_devcore/faults                            {latencyMs?, pathPrefix?, failStatus?, failCount?, garbage?}; DELETE clears
//   POST   /_devcore/listener/outage                   {ms}: stop listening now, listen again on the same port after ms
//   GET    /_devcore/requests[?path_prefix=/api/v3/]   recorded requests; DELETE clears
//   GET    /_devcore/events[?action=configuration_error]  events posted to /api/v3/events/events/, oldest first; DELETE clears
//   POST   /_devcore/flows                             a flow as in the seed → 201
//   PUT    /_devcore/flows/<slug>/stages               {stages: [...]}
import { z } from 'zod';
import { AdminInputError, faultSchema, type Admin } from './admin.ts';
import { ConflictError, NotFoundError } from './model.ts';
import { qsGet, parseQs } from './querystring.ts';
import { stagesSchema } from './seed.ts';

export interface AdminHttpRequest {
  method: string;
  path: string;
  rawQuery: string;
  authorization: string | undefined;
  body: unknown;
  bodyError?: string | undefined;
}

export interface AdminHttpResponse {
  status: number;
  json?: unknown;
  /** Run after the response is sent (e.g. a listener outage that would cut this connection). */
  after?: () => void;
}

type Params = string[];
type Handler = (body: unknown, params: Params, query: string) => AdminHttpResponse | Promise<AdminHttpResponse>;

const ok = (json: unknown = { ok: true }, status = 200): AdminHttpResponse => ({ status, json });

export class AdminHttp {
  private readonly admin: Admin;
  private readonly token: string;
  private readonly routes: { method: string; re: RegExp; handler: Handler }[] = [];
  private readonly describe: () => unknown;

  constructor(admin: Admin, token: string, describe: () => unknown) {
    this.admin = admin;
    this.token = token;
    this.describe = describe;
    const a = admin;
    const route = (method: string, pattern: string, handler: Handler) => this.routes.push({ method, re: new RegExp(`^/_devcore${pattern}/?$`), handler });
    const seg = '([^/]+)';
    route('GET', '', () => ok(this.describe()));
    route('POST', '/users', (b) => ok({ pk: a.addUser(b as never) }, 201));
    route('GET', `/users/${seg}`, (_, [u]) => {
      const user = a.getUser(u as string);
      return user ? ok(user) : { status: 404, json: { detail: `unknown user "${u}"` } };
    });
    route('PATCH', `/users/${seg}`, (b, [u]) => (a.updateUser(u as string, b as never), ok()));
    route('DELETE', `/users/${seg}`, (_, [u]) => (a.deleteUser(u as string), { status: 204 }));
    route('PUT', `/users/${seg}/groups`, (b, [u]) => (a.setUserGroups(u as string, parse(z.strictObject({ groups: z.array(z.string()) }), b).groups), ok()));
    route('POST', `/users/${seg}/devices`, (b, [u]) => ok({ pk: a.addDevice(u as string, b as never) }, 201));
    route('POST', '/groups', (b) => ok({ pk: a.addGroup(b as never) }, 201));
    route('DELETE', `/groups/${seg}`, (_, [g]) => (a.deleteGroup(g as string), { status: 204 }));
    route('POST', `/groups/${seg}/members`, (b, [g]) => (a.addMember(g as string, parse(z.strictObject({ username: z.string() }), b).username), ok()));
    route('DELETE', `/groups/${seg}/members/${seg}`, (_, [g, u]) => (a.removeMember(g as string, u as string), { status: 204 }));
    route('PATCH', `/providers/${seg}`, (b, [p]) => (a.updateProvider(p as string, parse(z.record(z.string(), z.unknown()), b)), ok()));
    route('GET', `/outposts/${seg}`, (_, [o]) => ok(a.outpost(o as string)));
    route('PATCH', `/outposts/${seg}`, (b, [o]) => (a.updateOutpost(o as string, b as never), ok()));
    route('POST', '/permissions', (b) => (a.grantPermission(b as never), ok()));
    route('DELETE', '/permissions', (b) => (a.revokePermission(b as never), { status: 204 }));
    route('PUT', `/property-mappings/${seg}`, (b, [m]) => (a.setPropertyMapping(m as string, b as never), ok()));
    route('PUT', `/applications/${seg}/access`, (b, [s]) => (a.setApplicationAccess(s as string, parse(z.strictObject({ groups: z.array(z.string()).nullable() }), b).groups), ok()));
    route('POST', `/certificates/${seg}/rotate`, async (_, [c]) => ok(await a.rotateCertificate(c as string)));
    route('GET', `/certificates/${seg}`, (_, [c]) => ok(a.certificate(c as string)));
    route('GET', '/sessions', () => ok(a.listSessions()));
    route('DELETE', '/sessions', (_, __, q) => ok({ ended: a.endSessions(qsGet(parseQs(q), 'username')) }));
    route('POST', `/outposts/${seg}/push`, (b, [o]) => ok({ sent: a.pushToOutpost(o as string, parse(z.record(z.string(), z.unknown()), b)) }));
    route('POST', `/outposts/${seg}/drop`, (_, [o]) => ok({ dropped: a.dropWebsockets(o as string) }));
    route('GET', `/outposts/${seg}/websockets`, (_, [o]) => ok(a.websocketConnections(o as string)));
    route('GET', `/outposts/${seg}/health`, (_, [o]) => ok(a.health(o as string)));
    route('POST', '/websockets/drop', () => ok({ dropped: a.dropWebsockets() }));
    route('PUT', '/websockets/refuse', (b) => (a.refuseWebsockets(parse(z.strictObject({ on: z.boolean() }), b).on), ok()));
    route('POST', '/faults', (b) => (a.setFaults(parse(faultSchema, b)), ok()));
    route('DELETE', '/faults', () => (a.clearFaults(), ok()));
    route('POST', '/listener/outage', (b) => {
      // Stopping the listener cuts this very connection, so answer first.
      const { ms } = parse(z.strictObject({ ms: z.number().int().min(0).max(600_000) }), b);
      return {
        status: 202,
        json: { ok: true, ms },
        after: () => {
          void a.stopListening().then(() => setTimeout(() => void a.startListening().catch(() => {}), ms).unref());
        },
      };
    });
    route('GET', '/requests', (_, __, q) => {
      const prefix = qsGet(parseQs(q), 'path_prefix');
      return ok(prefix ? a.requests().filter((r) => r.path.startsWith(prefix)) : a.requests());
    });
    route('DELETE', '/requests', () => (a.clearRequests(), ok()));
    route('GET', '/events', (_, __, q) => {
      const action = qsGet(parseQs(q), 'action');
      return ok(action ? a.events().filter((e) => e.action === action) : a.events());
    });
    route('DELETE', '/events', () => (a.clearEvents(), ok()));
    route('POST', '/flows', (b) => (a.addFlow(b as never), ok(undefined, 201)));
    route('PUT', `/flows/${seg}/stages`, (b, [s]) => (a.setFlowStages(s as string, parse(z.strictObject({ stages: stagesSchema }), b).stages as never), ok()));
  }

  async handle(req: AdminHttpRequest): Promise<AdminHttpResponse> {
    const auth = (req.authorization ?? '').trim();
    if (!auth) return { status: 401, json: { detail: 'Authentication credentials were not provided.' } };
    if (auth !== `Bearer ${this.token}`) return { status: 403, json: { detail: 'Invalid admin token.' } };
    if (req.bodyError !== undefined) return { status: 400, json: { detail: `JSON parse error - ${req.bodyError}` } };
    let allowed = false;
    for (const r of this.routes) {
      const m = r.re.exec(req.path);
      if (!m) continue;
      allowed = true;
      if (r.method !== req.method) continue;
      const params = m.slice(1).map((p) => decodeURIComponent(p));
      try {
        return await r.handler(req.body ?? {}, params, req.rawQuery);
      } catch (err) {
        if (err instanceof AdminInputError) return { status: 400, json: { detail: err.message } };
        if (err instanceof NotFoundError) return { status: 404, json: { detail: err.message } };
        if (err instanceof ConflictError) return { status: 409, json: { detail: err.message } };
        throw err;
      }
    }
    return allowed ? { status: 405, json: { detail: `Method "${req.method}" not allowed.` } } : { status: 404, json: { detail: 'Not found.' } };
  }
}

function parse<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const res = schema.safeParse(body);
  if (!res.success) {
    const msg = res.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`).join('; ');
    throw new AdminInputError(`invalid body: ${msg}`);
  }
  return res.data;
}
