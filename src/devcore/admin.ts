// DevCoreAdmin: what tests and the demo do to the fake core (users, groups, providers, faults,
// websockets, recorded requests). The HTTP admin API (admin-http.ts) is a thin layer over it.
import { z } from 'zod';
import type { EventJson, EventLog } from './events.ts';
import type { Faults, FaultSpec } from './faults.ts';
import type { ProviderRec, Store } from './model.ts';
import { PermissionFormatError } from './permissions.ts';
import type { RecordedRequest, Recorder } from './recorder.ts';
import { flowSchema, formatIssues, propertyMappingBodySchema, stagesSchema, timedelta, USER_TYPES } from './seed.ts';
import { userJson, type Json } from './serialize.ts';
import type { SessionInfo, SessionStore } from './sessions.ts';
import type { OutpostHealth, WsConnectionInfo, WsHub } from './ws.ts';

/** A request body or argument that does not validate. */
export class AdminInputError extends Error {
  override readonly name = 'AdminInputError';
}

function check<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const res = schema.safeParse(value);
  if (!res.success) throw new AdminInputError(`invalid ${what}: ${formatIssues(res.error.issues).replace(/\n/g, '; ')}`);
  return res.data;
}

const attributes = z.record(z.string(), z.unknown());

export const addUserSchema = z.strictObject({
  username: z.string().min(1).max(150),
  password: z.string().optional(),
  name: z.string().optional(),
  email: z.string().optional(),
  is_active: z.boolean().optional(),
  groups: z.array(z.string()).optional(),
  attributes: attributes.optional(),
  is_superuser: z.boolean().optional(),
  path: z.string().optional(),
  type: z.enum(USER_TYPES).optional(),
});
export type AddUserInput = z.input<typeof addUserSchema>;

export const updateUserSchema = z.strictObject({
  username: z.string().min(1).max(150).optional(),
  /** null makes the password unusable. */
  password: z.string().nullable().optional(),
  is_active: z.boolean().optional(),
  name: z.string().optional(),
  email: z.string().optional(),
  attributes: attributes.optional(),
});
export type UpdateUserInput = z.input<typeof updateUserSchema>;

const base32 = z.string().regex(/^[A-Za-z2-7=\s-]{16,}$/, 'must be a base32 secret of at least 16 characters');
export const totpDeviceSchema = z.strictObject({ secret: base32, digits: z.union([z.literal(6), z.literal(8)]).optional(), name: z.string().optional() });
export const deviceSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('totp'), secret: base32, digits: z.union([z.literal(6), z.literal(8)]).optional(), name: z.string().optional() }),
  z.strictObject({ type: z.literal('static'), tokens: z.array(z.string().min(1).max(16)).min(1), name: z.string().optional() }),
  z.strictObject({ type: z.literal('duo'), result: z.enum(['allow', 'deny']).optional(), name: z.string().optional() }),
  z.strictObject({ type: z.literal('webauthn'), name: z.string().optional() }),
]);
export type DeviceInput = z.input<typeof deviceSchema>;

export const addGroupSchema = z.strictObject({
  name: z.string().min(1),
  parent: z.string().nullable().optional(),
  is_superuser: z.boolean().optional(),
  attributes: attributes.optional(),
});
export type AddGroupInput = z.input<typeof addGroupSchema>;

const flowSlug = z.string().regex(/^[-a-zA-Z0-9_]+$/);
const providerPatchSchemas = {
  ldap: z.strictObject({
    base_dn: z.string(),
    bind_flow: flowSlug,
    unbind_flow: flowSlug.nullable(),
    search_group: z.string().nullable(),
    certificate: z.string().nullable(),
    tls_server_name: z.string(),
    uid_start_number: z.number().int(),
    gid_start_number: z.number().int(),
    search_mode: z.enum(['direct', 'cached']),
    bind_mode: z.enum(['direct', 'cached']),
    mfa_support: z.boolean(),
  }).partial(),
  radius: z.strictObject({
    auth_flow: flowSlug,
    client_networks: z.string(),
    shared_secret: z.string().min(1),
    mfa_support: z.boolean(),
    certificate: z.string().nullable(),
    /** Property mapping names (replaces the list). */
    property_mappings: z.array(z.string()),
  }).partial(),
  proxy: z.strictObject({
    authorization_flow: flowSlug,
    external_host: z.url({ protocol: /^https?$/ }),
    internal_host: z.union([z.literal(''), z.url({ protocol: /^https?$/ })]),
    internal_host_ssl_validation: z.boolean(),
    mode: z.enum(['proxy', 'forward_single', 'forward_domain']),
    client_id: z.string().min(1),
    client_secret: z.string().min(1),
    cookie_secret: z.string().min(1),
    certificate: z.string().nullable(),
    skip_path_regex: z.string(),
    basic_auth_enabled: z.boolean(),
    basic_auth_user_attribute: z.string(),
    basic_auth_password_attribute: z.string(),
    cookie_domain: z.string(),
    access_token_validity: timedelta,
    intercept_header_auth: z.boolean(),
    /** A certificate name: tokens are then signed with its key (RS256/ES256); null = HS256. */
    signing_key: z.string().nullable(),
  }).partial(),
} as const;
export type ProviderPatch = Record<string, unknown>;

export const outpostPatchSchema = z.strictObject({
  name: z.string().min(1).optional(),
  providers: z.array(z.string()).optional(),
  /** Merged key by key into the outpost's config (e.g. `{log_level: "debug"}`). */
  config: z.record(z.string(), z.unknown()).optional(),
  managed: z.string().nullable().optional(),
  /** Served in 2026.8 mode; outposts treat <= 0 as 300 s. */
  refresh_interval_s: z.number().int().optional(),
});
export type OutpostPatch = z.input<typeof outpostPatchSchema>;

export const faultSchema = z.strictObject({
  latencyMs: z.number().int().min(0).optional(),
  pathPrefix: z.string().startsWith('/').optional(),
  failStatus: z.number().int().min(100).max(599).optional(),
  failCount: z.number().int().min(0).optional(),
  garbage: z.boolean().optional(),
});

/** A grant of a user or a group (exactly one): global, or on a provider (by name). */
export const permissionInputSchema = z
  .strictObject({
    username: z.string().min(1).optional(),
    group: z.string().min(1).optional(),
    permission: z.string().min(1),
    provider: z.string().min(1).optional(),
  })
  .refine((p) => (p.username === undefined) !== (p.group === undefined), { message: 'give exactly one of username and group' });
export type PermissionInput = z.input<typeof permissionInputSchema>;

export type PropertyMappingInput = z.input<typeof propertyMappingBodySchema>;

export type FlowInput = z.input<typeof flowSchema>;
export type StagesInput = z.input<typeof stagesSchema>;

export interface OutpostInfo {
  pk: string;
  name: string;
  type: string;
  token: string;
  providers: string[];
}

export interface CertificateInfo {
  pk: string;
  name: string;
  fingerprint_sha256: string;
  fingerprint_sha1: string;
  certificate: string;
}

/** Listener control, implemented by the server. */
export interface ListenerControl {
  stopListening(): Promise<void>;
  startListening(): Promise<void>;
}

/**
 * In-process control of the dev core. Every data change sends TRIGGER_UPDATE
 * (`{"instruction":2,"args":{}}`) to the connected websockets of the affected outposts.
 */
export interface DevCoreAdmin {
  addUser(input: AddUserInput): number;
  updateUser(username: string, patch: UpdateUserInput): void;
  deleteUser(username: string): void;
  setUserGroups(username: string, groups: string[]): void;
  addTotpDevice(username: string, device: { secret: string; digits?: 6 | 8; name?: string }): number;
  addStaticDevice(username: string, tokens: string[]): number;
  addDevice(username: string, device: DeviceInput): number;
  /** The user as `GET /api/v3/core/users/<pk>/` renders it, or undefined. */
  getUser(username: string): Json | undefined;

  addGroup(input: AddGroupInput): string;
  deleteGroup(name: string): void;
  addMember(group: string, username: string): void;
  removeMember(group: string, username: string): void;

  updateProvider(name: string, patch: ProviderPatch): void;
  updateOutpost(name: string, patch: OutpostPatch): void;
  setApplicationAccess(slug: string, groups: string[] | null): void;
  outpost(name: string): OutpostInfo;
  /** Every outpost, in seed order. */
  outposts(): OutpostInfo[];

  rotateCertificate(name: string): Promise<{ fingerprint_sha256: string }>;
  certificate(name: string): CertificateInfo;

  /** RBAC (authentik 2024.8+): what the LDAP check_access reads for `has_search_permission`. */
  grantPermission(input: PermissionInput): void;
  revokePermission(input: PermissionInput): void;
  /** Create or replace a RADIUS property mapping (attach it with updateProvider's `property_mappings`). */
  setPropertyMapping(name: string, mapping: PropertyMappingInput): void;

  listSessions(): SessionInfo[];
  /**
   * Ends all sessions (or one user's); returns how many were ended. Each logged-in one is
   * announced to the outposts (2026.8: SESSION_END to all; 2024.4: a logout to proxy outposts).
   */
  endSessions(username?: string): number;

  pushToOutpost(outpostName: string, message: object): number;
  dropWebsockets(outpostName?: string): number;
  refuseWebsockets(on: boolean): void;
  websocketConnections(outpostName: string): WsConnectionInfo[];
  health(outpostName: string): OutpostHealth[];

  setFaults(spec: FaultSpec): void;
  clearFaults(): void;
  stopListening(): Promise<void>;
  startListening(): Promise<void>;

  requests(): RecordedRequest[];
  clearRequests(): void;

  /** Events received on `POST /api/v3/events/events/`, oldest first, as the API rendered them. */
  events(): EventJson[];
  clearEvents(): void;

  addFlow(flow: FlowInput): void;
  setFlowStages(slug: string, stages: StagesInput): void;
}

export class Admin implements DevCoreAdmin {
  private readonly store: Store;
  private readonly sessions: SessionStore;
  private readonly hub: WsHub;
  private readonly faults: Faults;
  private readonly recorder: Recorder;
  private readonly eventLog: EventLog;
  private readonly listener: ListenerControl;

  constructor(deps: { store: Store; sessions: SessionStore; hub: WsHub; faults: Faults; recorder: Recorder; events: EventLog; listener: ListenerControl }) {
    this.store = deps.store;
    this.sessions = deps.sessions;
    this.hub = deps.hub;
    this.faults = deps.faults;
    this.recorder = deps.recorder;
    this.eventLog = deps.events;
    this.listener = deps.listener;
  }

  addUser(input: AddUserInput): number {
    return this.store.addUser(check(addUserSchema, input, 'user'));
  }

  updateUser(username: string, patch: UpdateUserInput): void {
    const p = check(updateUserSchema, patch, 'user patch');
    this.store.updateUser(username, p);
    // authentik's UserViewSet.partial_update deletes the sessions of a user it leaves inactive
    // (2024.4 mode keeps the core's earlier behaviour: such sessions only stop authenticating).
    const name = p.username ?? username;
    if (this.store.mode !== '2024.4' && !this.store.mustUser(name).isActive) this.announce(this.sessions.end(name));
  }

  deleteUser(username: string): void {
    this.store.mustUser(username);
    // Deleting a user cascades to its sessions (their pre_delete signal ends them on the outposts).
    const ended = this.store.mode === '2024.4' ? [] : this.sessions.end(username);
    this.store.deleteUser(username);
    this.announce(ended);
  }

  private announce(ended: readonly { key: string }[]): void {
    for (const s of ended) this.hub.sessionEnded(s.key);
  }

  setUserGroups(username: string, groups: string[]): void {
    this.store.setUserGroups(username, check(z.array(z.string()), groups, 'groups'));
  }

  addTotpDevice(username: string, device: { secret: string; digits?: 6 | 8; name?: string }): number {
    return this.addDevice(username, { type: 'totp', ...device });
  }

  addStaticDevice(username: string, tokens: string[]): number {
    return this.addDevice(username, { type: 'static', tokens });
  }

  addDevice(username: string, device: DeviceInput): number {
    const d = check(deviceSchema, device, 'device');
    const spec =
      d.type === 'totp'
        ? { type: 'totp' as const, secret: d.secret, digits: d.digits ?? 6, confirmed: true, ...(d.name ? { name: d.name } : {}) }
        : d.type === 'static'
          ? { type: 'static' as const, tokens: d.tokens, confirmed: true, ...(d.name ? { name: d.name } : {}) }
          : d.type === 'duo'
            ? { type: 'duo' as const, result: d.result ?? ('allow' as const), confirmed: true, ...(d.name ? { name: d.name } : {}) }
            : { type: 'webauthn' as const, confirmed: true, ...(d.name ? { name: d.name } : {}) };
    return this.store.addDevice(username, spec);
  }

  getUser(username: string): Json | undefined {
    const u = this.store.userByUsername(username);
    return u ? userJson(this.store, u, true) : undefined;
  }

  addGroup(input: AddGroupInput): string {
    return this.store.addGroup(check(addGroupSchema, input, 'group'));
  }

  deleteGroup(name: string): void {
    this.store.deleteGroup(name);
  }

  addMember(group: string, username: string): void {
    this.store.addMember(group, username);
  }

  removeMember(group: string, username: string): void {
    this.store.removeMember(group, username);
  }

  updateProvider(name: string, patch: ProviderPatch): void {
    const p: ProviderRec = this.store.mustProvider(name);
    this.store.updateProvider(name, check(providerPatchSchemas[p.type], patch, `${p.type} provider patch`));
  }

  updateOutpost(name: string, patch: OutpostPatch): void {
    this.store.updateOutpost(name, check(outpostPatchSchema, patch, 'outpost patch'));
  }

  setApplicationAccess(slug: string, groups: string[] | null): void {
    this.store.setApplicationAccess(slug, check(z.array(z.string()).nullable(), groups, 'groups'));
  }

  outpost(name: string): OutpostInfo {
    const o = this.store.mustOutpost(name);
    return { pk: o.pk, name: o.name, type: o.type, token: o.token, providers: [...o.providers] };
  }

  outposts(): OutpostInfo[] {
    return [...this.store.outposts.keys()].map((name) => this.outpost(name));
  }

  rotateCertificate(name: string): Promise<{ fingerprint_sha256: string }> {
    return this.store.rotateCertificate(name);
  }

  certificate(name: string): CertificateInfo {
    const c = this.store.mustCert(name);
    return { pk: c.pk, name: c.name, fingerprint_sha256: c.kp.fingerprintSha256, fingerprint_sha1: c.kp.fingerprintSha1, certificate: c.kp.certPem };
  }

  listSessions(): SessionInfo[] {
    return this.sessions.list();
  }

  endSessions(username?: string): number {
    const before = this.sessions.size;
    this.announce(this.sessions.end(username));
    return before - this.sessions.size;
  }

  grantPermission(input: PermissionInput): void {
    this.setPermission(input, true);
  }

  revokePermission(input: PermissionInput): void {
    this.setPermission(input, false);
  }

  private setPermission(input: PermissionInput, granted: boolean): void {
    const p = check(permissionInputSchema, input, 'permission');
    try {
      this.store.setPermission(p, granted);
    } catch (err) {
      if (err instanceof PermissionFormatError) throw new AdminInputError(`invalid permission: ${err.message}`);
      throw err;
    }
  }

  setPropertyMapping(name: string, mapping: PropertyMappingInput): void {
    this.store.putPropertyMapping(name, check(propertyMappingBodySchema, mapping, 'property mapping'));
  }

  pushToOutpost(outpostName: string, message: object): number {
    return this.hub.push(this.store.mustOutpost(outpostName), message);
  }

  dropWebsockets(outpostName?: string): number {
    return this.hub.drop(outpostName === undefined ? undefined : this.store.mustOutpost(outpostName));
  }

  refuseWebsockets(on: boolean): void {
    this.hub.refusing = on;
  }

  websocketConnections(outpostName: string): WsConnectionInfo[] {
    return this.hub.connections(this.store.mustOutpost(outpostName));
  }

  health(outpostName: string): OutpostHealth[] {
    return this.hub.health(this.store.mustOutpost(outpostName));
  }

  setFaults(spec: FaultSpec): void {
    this.faults.set(check(faultSchema, spec, 'faults'));
  }

  clearFaults(): void {
    this.faults.clear();
  }

  stopListening(): Promise<void> {
    return this.listener.stopListening();
  }

  startListening(): Promise<void> {
    return this.listener.startListening();
  }

  requests(): RecordedRequest[] {
    return this.recorder.list();
  }

  clearRequests(): void {
    this.recorder.clear();
  }

  events(): EventJson[] {
    return this.eventLog.list();
  }

  clearEvents(): void {
    this.eventLog.clear();
  }

  addFlow(flow: FlowInput): void {
    this.store.addFlow(check(flowSchema, flow, 'flow'));
  }

  setFlowStages(slug: string, stages: StagesInput): void {
    this.store.setFlowStages(slug, check(stagesSchema, stages, 'stages'));
  }
}

