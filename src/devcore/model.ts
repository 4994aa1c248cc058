// The dev core's in-memory store: users, groups, MFA devices, flows, providers, applications,
// outposts and certificates, built from a seed. Every mutation notifies listeners with the
// outposts it affects so the websocket hub can send TRIGGER_UPDATE.
import { createHash } from 'node:crypto';
import { drfDate, generateKeypair, type GeneratedKeypair, type KeyType } from './certs.ts';
import { hashPassword, parseEncodedHash, type PasswordHash } from './password.ts';
import { globalKey, objectKey, type PermissionEntry } from './permissions.ts';
import { encodeAttribute, radiusPacket, type RadiusAttributeSpec } from './radius-attributes.ts';
import { base32Decode } from './totp.ts';
import { DEFAULT_AUTHENTIK_VERSION, SERVER_VERSION, type AuthentikVersion } from './version.ts';
import type {
  ApplicationSpec,
  BrandSpec,
  DeviceClass,
  DeviceSpec,
  FlowSpec,
  LdapProviderSpec,
  OutpostSpec,
  PropertyMappingBody,
  ProxyProviderSpec,
  RadiusProviderSpec,
  Seed,
  StageSpec,
  USER_TYPES,
} from './seed.ts';

export type UserType = (typeof USER_TYPES)[number];

export interface UserRec {
  pk: number;
  username: string;
  name: string;
  email: string;
  isActive: boolean;
  /** ISO time of the last login through a flow, or null. */
  lastLogin: string | null;
  /** null = unusable password. Generated bench users share one object. */
  password: PasswordHash | null;
  /** Direct groups, by group pk. */
  groups: string[];
  attributes: Record<string, unknown>;
  path: string;
  type: UserType;
  /** Set from the seed, otherwise derived on first use (see userUuid). */
  uuid?: string;
  /** Cache of sha256("<pk>-<install id>"). */
  uid?: string;
  /** RBAC grants (see permissions.ts for the keys); absent = none. */
  permissions?: Set<string>;
  /** DRF datetimes of authentik 2024.8+'s user fields; absent = when the core started. */
  dateJoined?: string;
  lastUpdated?: string;
  passwordChanged?: string;
  /** App password token keys (seed `app_passwords`); absent = none. */
  appPasswords?: string[];
}

export interface GroupRec {
  pk: string;
  numPk: number;
  name: string;
  isSuperuser: boolean;
  /** Parent group pk. */
  parent: string | null;
  attributes: Record<string, unknown>;
  /** Direct members, by user pk. */
  members: Set<number>;
  /** RBAC grants for the members of this group and its descendants. */
  permissions: Set<string>;
}

interface DeviceBase {
  pk: number;
  userPk: number;
  name: string;
  confirmed: boolean;
  /** DRF datetime of the last successful use (authentik 2026's `last_used`), or null. */
  lastUsed: string | null;
}
export interface TotpDeviceRec extends DeviceBase {
  kind: 'totp';
  key: Buffer;
  digits: number;
  step: number;
  lastT: number;
  drift: number;
}
export interface StaticDeviceRec extends DeviceBase {
  kind: 'static';
  tokens: string[];
}
export interface DuoDeviceRec extends DeviceBase {
  kind: 'duo';
  result: 'allow' | 'deny';
}
export interface WebauthnDeviceRec extends DeviceBase {
  kind: 'webauthn';
  credentialId: string;
}
export type DeviceRec = TotpDeviceRec | StaticDeviceRec | DuoDeviceRec | WebauthnDeviceRec;

/** django-otp's `devices_for_user` walks device models in app order: duo, sms, static, totp, webauthn. */
export const DEVICE_CLASS_ORDER: readonly DeviceClass[] = ['duo', 'sms', 'static', 'totp', 'webauthn'];

export interface FlowRec {
  pk: string;
  slug: string;
  name: string;
  title: string;
  designation: FlowSpec['designation'];
  authentication: FlowSpec['authentication'];
  deniedAction: FlowSpec['denied_action'];
  layout: FlowSpec['layout'];
  stages: StageSpec[];
}

export type LdapProviderRec = LdapProviderSpec & { pk: number };
export type RadiusProviderRec = RadiusProviderSpec & { pk: number };
export type ProxyProviderRec = ProxyProviderSpec & { pk: number; client_id: string; client_secret: string; cookie_secret: string };
export type ProviderRec = LdapProviderRec | RadiusProviderRec | ProxyProviderRec;

export interface PropertyMappingRec {
  pk: string;
  name: string;
  type: 'radius';
  /** Group names; null = applies to everybody. */
  groups: string[] | null;
  attributes: RadiusAttributeSpec[];
  /** The attributes on the wire, encoded once. */
  encoded: Buffer[];
  rawPacketBase64: string | undefined;
  /** The expression raises this error (see the seed). */
  error: string | undefined;
}

export interface ApplicationRec {
  pk: string;
  slug: string;
  name: string;
  provider: string | null;
  /** Group names bound to the application; null = no bindings (everyone passes). */
  accessGroups: string[] | null;
  policyEngineMode: ApplicationSpec['policy_engine_mode'];
  /** authentik 2024.12+ entitlements with their user and group bindings (by name). */
  entitlements: ApplicationSpec['entitlements'];
}

export interface OutpostRec {
  pk: string;
  name: string;
  type: OutpostSpec['type'];
  token: string;
  providers: string[];
  config: Record<string, unknown>;
  managed: string | null;
  serviceAccountPk: number;
  refreshIntervalS: number;
}

export interface CertRec {
  pk: string;
  name: string;
  commonName: string;
  sans: string[];
  keyType: KeyType;
  validityDays: number;
  managed: string | null;
  kp: GeneratedKeypair;
}

export type ChangeTarget = 'all' | ReadonlySet<string>;
export type ChangeListener = (outposts: ChangeTarget, reason: string) => void;

export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}

/** A stable v4-shaped UUID from the install id and a name, so seeds without pks get the same ids every run. */
export function stableUuid(installId: string, kind: string, key: string): string {
  const h = createHash('sha256').update(`${installId}/${kind}/${key}`).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x40;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** authentik's `Group.num_pk`: the first five decimal digits of the UUID as a 128-bit integer. */
export function groupNumPk(uuid: string): number {
  return Number(BigInt(`0x${uuid.replace(/-/g, '')}`).toString().slice(0, 5));
}

const DEFAULT_OUTPOST_CONFIG = (host: string): Record<string, unknown> => ({
  authentik_host: host,
  authentik_host_insecure: false,
  authentik_host_browser: '',
  log_level: 'info',
  object_naming_template: 'ak-outpost-%(name)s',
  docker_network: null,
  docker_map_ports: true,
  docker_labels: null,
  container_image: null,
  kubernetes_replicas: 1,
  kubernetes_namespace: 'authentik',
  kubernetes_ingress_annotations: {},
  kubernetes_ingress_secret_name: 'authentik-outpost-tls',
  kubernetes_ingress_class_name: null,
  kubernetes_service_type: 'ClusterIP',
  kubernetes_disabled_components: [],
  kubernetes_image_pull_secrets: [],
  kubernetes_json_patches: null,
});

export interface UserInput {
  username: string;
  password?: string | undefined;
  name?: string | undefined;
  email?: string | undefined;
  is_active?: boolean | undefined;
  groups?: string[] | undefined;
  attributes?: Record<string, unknown> | undefined;
  is_superuser?: boolean | undefined;
  path?: string | undefined;
  type?: UserType | undefined;
}

export interface UserPatch {
  password?: string | null | undefined;
  is_active?: boolean | undefined;
  name?: string | undefined;
  email?: string | undefined;
  attributes?: Record<string, unknown> | undefined;
  username?: string | undefined;
}

export interface GroupInput {
  name: string;
  parent?: string | null | undefined;
  is_superuser?: boolean | undefined;
  attributes?: Record<string, unknown> | undefined;
}

/** The superuser group addUser({is_superuser: true}) joins, created on demand like authentik's default. */
export const ADMINS_GROUP = 'authentik Admins';

export class Store {
  readonly installId: string;
  readonly seed: Seed;
  readonly passwordIterations: number;
  /** The API generation served (see version.ts). */
  readonly mode: AuthentikVersion;
  /** What the core claims to be: the seed's `version`, else the mode's release. */
  readonly version: string;
  /** DRF datetime of the start, for timestamps the seed does not give. */
  readonly startedAt = drfDate(new Date());
  brand: BrandSpec & { pk: string };

  readonly users = new Map<number, UserRec>();
  private readonly byUsername = new Map<string, UserRec>();
  private readonly byUsernameLower = new Map<string, UserRec[]>();
  private readonly byEmailLower = new Map<string, UserRec[]>();
  private readonly byUpn = new Map<string, UserRec[]>();
  private sortedUsersCache: UserRec[] | null = null;
  private nextUserPk = 1;

  readonly groups = new Map<string, GroupRec>();
  readonly groupsByName = new Map<string, GroupRec>();

  private readonly devices = new Map<number, DeviceRec[]>();
  private readonly devicePk: Record<DeviceRec['kind'], number> = { totp: 0, static: 0, duo: 0, webauthn: 0 };

  readonly flows = new Map<string, FlowRec>();
  readonly providers = new Map<string, ProviderRec>();
  readonly providersByPk = new Map<number, ProviderRec>();
  readonly applications = new Map<string, ApplicationRec>();
  readonly outposts = new Map<string, OutpostRec>();
  readonly outpostsByToken = new Map<string, OutpostRec>();
  readonly outpostsByPk = new Map<string, OutpostRec>();
  readonly certs = new Map<string, CertRec>();
  readonly certsByPk = new Map<string, CertRec>();
  readonly propertyMappings = new Map<string, PropertyMappingRec>();

  /** Bumped on every user/group change; list caches key on it. */
  dataVersion = 0;
  private readonly listeners: ChangeListener[] = [];
  /** The URL the server listens on, for outpost `config.authentik_host` defaults and OIDC URLs. */
  baseUrl = 'http://127.0.0.1';

  private constructor(seed: Seed, mode: AuthentikVersion) {
    this.seed = seed;
    this.mode = mode;
    this.version = seed.version ?? SERVER_VERSION[mode];
    this.installId = seed.install_id;
    this.passwordIterations = seed.password_iterations;
    this.brand = { ...seed.brand, pk: seed.brand.pk ?? stableUuid(seed.install_id, 'brand', seed.brand.domain) };
  }

  /** Build the store from a validated seed. Certificates are generated here (hence async). */
  static async create(seed: Seed, opts: { extraUsers?: number; authentikVersion?: AuthentikVersion } = {}): Promise<Store> {
    const s = new Store(seed, opts.authentikVersion ?? DEFAULT_AUTHENTIK_VERSION);
    for (const c of seed.certificates) {
      const pk = c.pk ?? stableUuid(seed.install_id, 'certificate', c.name);
      const kp = await generateKeypair({ commonName: c.common_name, sans: c.sans, keyType: c.key_type, validityDays: c.validity_days });
      const rec: CertRec = { pk, name: c.name, commonName: c.common_name, sans: c.sans, keyType: c.key_type, validityDays: c.validity_days, managed: c.managed, kp };
      s.certs.set(c.name, rec);
      s.certsByPk.set(pk, rec);
    }
    // Groups first (parents may come later in the list), then parents.
    for (const g of seed.groups) s.insertGroup({ name: g.name, is_superuser: g.is_superuser, attributes: g.attributes }, g.pk);
    for (const g of seed.groups) {
      if (g.parent !== null) s.mustGroup(g.name).parent = s.mustGroup(g.parent).pk;
    }
    const explicitPks = new Set(seed.users.flatMap((u) => (u.pk === undefined ? [] : [u.pk])));
    for (const u of seed.users) {
      let pk = u.pk;
      if (pk === undefined) {
        while (explicitPks.has(s.nextUserPk) || s.users.has(s.nextUserPk)) s.nextUserPk++;
        pk = s.nextUserPk;
      }
      const password = u.password_hash !== undefined ? parseEncodedHash(u.password_hash) : u.password !== undefined ? hashPassword(u.password, seed.password_iterations) : null;
      const rec = s.insertUser({
        pk,
        username: u.username,
        name: u.name ?? u.username,
        email: u.email,
        isActive: u.is_active,
        lastLogin: null,
        password,
        groups: [],
        attributes: u.attributes,
        path: u.path,
        type: u.type,
        ...(u.uuid ? { uuid: u.uuid } : {}),
        ...(u.app_passwords.length > 0 ? { appPasswords: [...u.app_passwords] } : {}),
      });
      for (const g of u.groups) s.join(rec, s.mustGroup(g));
      for (const d of u.devices) s.insertDevice(rec, d);
    }
    for (const f of seed.flows) s.insertFlow(f);
    for (const m of seed.property_mappings) s.insertPropertyMapping(m.name, m);
    let nextProviderPk = Math.max(0, ...seed.providers.map((p) => p.pk ?? 0)) + 1;
    for (const p of seed.providers) {
      const pk = p.pk ?? nextProviderPk++;
      let rec: ProviderRec;
      if (p.type === 'proxy') {
        const derive = (what: string) => createHash('sha256').update(`${seed.install_id}/proxy/${p.name}/${what}`).digest('hex');
        rec = { ...p, pk, client_id: p.client_id ?? derive('client_id').slice(0, 40), client_secret: p.client_secret ?? derive('client_secret'), cookie_secret: p.cookie_secret ?? derive('cookie_secret').slice(0, 32) };
      } else {
        rec = { ...p, pk };
      }
      s.providers.set(p.name, rec);
      s.providersByPk.set(pk, rec);
    }
    // Grants name providers, so they come after them.
    for (const g of seed.groups) for (const e of g.permissions) s.mustGroup(g.name).permissions.add(s.grantKey(e));
    for (const u of seed.users) {
      const rec = s.mustUser(u.username);
      for (const e of u.permissions) (rec.permissions ??= new Set()).add(s.grantKey(e));
    }
    for (const a of seed.applications) {
      s.applications.set(a.slug, {
        pk: a.pk ?? stableUuid(seed.install_id, 'application', a.slug),
        slug: a.slug,
        name: a.name,
        provider: a.provider,
        accessGroups: a.access_groups,
        policyEngineMode: a.policy_engine_mode,
        entitlements: a.entitlements,
      });
    }
    for (const o of seed.outposts) {
      const pk = (o.pk ?? stableUuid(seed.install_id, 'outpost', o.name)).toLowerCase();
      // The service account authentik creates for every outpost (ak-outpost-<uuid hex>).
      const sa = s.insertUser({
        pk: s.allocUserPk(),
        username: `ak-outpost-${pk.replace(/-/g, '')}`,
        name: `Outpost ${o.name} Service-Account`,
        email: '',
        isActive: true,
        lastLogin: null,
        password: null,
        groups: [],
        attributes: { 'goauthentik.io/user/service-account': true, 'goauthentik.io/user/override-ips': true },
        path: 'goauthentik.io/outposts',
        type: 'internal_service_account',
      });
      const rec: OutpostRec = {
        pk,
        name: o.name,
        type: o.type,
        token: o.token,
        providers: [...o.providers],
        config: { ...o.config },
        managed: o.managed,
        serviceAccountPk: sa.pk,
        refreshIntervalS: o.refresh_interval_s,
      };
      s.outposts.set(o.name, rec);
      s.outpostsByToken.set(o.token, rec);
      s.outpostsByPk.set(pk, rec);
    }
    if (opts.extraUsers && opts.extraUsers > 0) s.addBenchUsers(opts.extraUsers);
    return s;
  }

  // ---- change notification ----

  onChange(listener: ChangeListener): void {
    this.listeners.push(listener);
  }

  private emit(target: ChangeTarget, reason: string): void {
    for (const l of this.listeners) l(target, reason);
  }

  private dataChanged(reason: string): void {
    this.dataVersion++;
    // User and group data is read by LDAP outposts; the brief asks for a trigger to every outpost.
    this.emit('all', reason);
  }

  /** Outposts that serve any of these providers. */
  outpostsOfProviders(names: Iterable<string>): Set<string> {
    const wanted = new Set(names);
    const out = new Set<string>();
    for (const o of this.outposts.values()) if (o.providers.some((p) => wanted.has(p))) out.add(o.name);
    return out;
  }

  // ---- users ----

  private allocUserPk(): number {
    while (this.users.has(this.nextUserPk)) this.nextUserPk++;
    return this.nextUserPk++;
  }

  private indexAdd<K>(map: Map<K, UserRec[]>, key: K, u: UserRec): void {
    const list = map.get(key);
    if (list) list.push(u);
    else map.set(key, [u]);
  }

  private indexRemove<K>(map: Map<K, UserRec[]>, key: K, u: UserRec): void {
    const list = map.get(key);
    if (!list) return;
    const i = list.indexOf(u);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) map.delete(key);
  }

  private upnOf(u: UserRec): string | undefined {
    const v = u.attributes['upn'];
    return typeof v === 'string' ? v : undefined;
  }

  private indexUser(u: UserRec, add: boolean): void {
    const fn = add ? this.indexAdd.bind(this) : this.indexRemove.bind(this);
    if (add) this.byUsername.set(u.username, u);
    else this.byUsername.delete(u.username);
    fn(this.byUsernameLower, u.username.toLowerCase(), u);
    if (u.email) fn(this.byEmailLower, u.email.toLowerCase(), u);
    const upn = this.upnOf(u);
    if (upn !== undefined) fn(this.byUpn, upn, u);
  }

  private insertUser(u: UserRec): UserRec {
    if (this.byUsername.has(u.username)) throw new ConflictError(`user "${u.username}" already exists`);
    if (this.users.has(u.pk)) throw new ConflictError(`user pk ${u.pk} already exists`);
    this.users.set(u.pk, u);
    this.indexUser(u, true);
    this.sortedUsersCache = null;
    return u;
  }

  userUuid(u: UserRec): string {
    u.uuid ??= stableUuid(this.installId, 'user', String(u.pk));
    return u.uuid;
  }

  /** authentik's `User.uid`: sha256 hex of "<pk>-<install id>". */
  userUid(u: UserRec): string {
    u.uid ??= createHash('sha256').update(`${u.pk}-${this.installId}`).digest('hex');
    return u.uid;
  }

  userByUsername(username: string): UserRec | undefined {
    return this.byUsername.get(username);
  }

  mustUser(username: string): UserRec {
    const u = this.byUsername.get(username);
    if (!u) throw new NotFoundError(`unknown user "${username}"`);
    return u;
  }

  /**
   * The identification stage's lookup: any of the configured fields, exact or case-insensitive,
   * first match by pk (authentik's `User.objects.filter(q).first()`).
   */
  findUserForIdentification(uid: string, fields: readonly string[], caseInsensitive: boolean): UserRec | undefined {
    const found: UserRec[] = [];
    for (const f of fields) {
      if (f === 'username') {
        if (caseInsensitive) found.push(...(this.byUsernameLower.get(uid.toLowerCase()) ?? []));
        else {
          const u = this.byUsername.get(uid);
          if (u) found.push(u);
        }
      } else if (f === 'email') {
        const list = this.byEmailLower.get(uid.toLowerCase()) ?? [];
        found.push(...(caseInsensitive ? list : list.filter((u) => u.email === uid)));
      } else if (f === 'upn') {
        if (caseInsensitive) {
          for (const [k, list] of this.byUpn) if (k.toLowerCase() === uid.toLowerCase()) found.push(...list);
        } else found.push(...(this.byUpn.get(uid) ?? []));
      }
    }
    let best: UserRec | undefined;
    for (const u of found) if (!best || u.pk < best.pk) best = u;
    return best;
  }

  /** Users ordered by username, as authentik's UserViewSet orders them. Cached until a user changes. */
  sortedUsers(): readonly UserRec[] {
    if (!this.sortedUsersCache) {
      this.sortedUsersCache = [...this.users.values()].sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0));
    }
    return this.sortedUsersCache;
  }

  /** Direct groups plus all their ancestors (authentik's `User.all_groups()`). */
  allGroupPks(u: UserRec): Set<string> {
    const out = new Set<string>();
    for (const pk of u.groups) {
      for (let g = this.groups.get(pk); g && !out.has(g.pk); g = g.parent ? this.groups.get(g.parent) : undefined) out.add(g.pk);
    }
    return out;
  }

  isSuperuser(u: UserRec): boolean {
    for (const pk of this.allGroupPks(u)) if (this.groups.get(pk)?.isSuperuser) return true;
    return false;
  }

  private join(u: UserRec, g: GroupRec): void {
    if (!u.groups.includes(g.pk)) u.groups.push(g.pk);
    g.members.add(u.pk);
  }

  private leave(u: UserRec, g: GroupRec): void {
    u.groups = u.groups.filter((pk) => pk !== g.pk);
    g.members.delete(u.pk);
  }

  addUser(input: UserInput): number {
    if (this.byUsername.has(input.username)) throw new ConflictError(`user "${input.username}" already exists`);
    const groups = (input.groups ?? []).map((n) => this.mustGroup(n));
    const u = this.insertUser({
      pk: this.allocUserPk(),
      username: input.username,
      name: input.name ?? input.username,
      email: input.email ?? '',
      isActive: input.is_active ?? true,
      lastLogin: null,
      password: input.password !== undefined ? hashPassword(input.password, this.passwordIterations) : null,
      groups: [],
      attributes: input.attributes ?? {},
      path: input.path ?? 'users',
      type: input.type ?? 'internal',
      dateJoined: drfDate(new Date()),
    });
    for (const g of groups) this.join(u, g);
    if (input.is_superuser) {
      const admins = this.groupsByName.get(ADMINS_GROUP) ?? this.insertGroup({ name: ADMINS_GROUP, is_superuser: true });
      this.join(u, admins);
    }
    this.dataChanged(`user ${u.username} added`);
    return u.pk;
  }

  updateUser(username: string, patch: UserPatch): void {
    const u = this.mustUser(username);
    if (patch.username !== undefined && patch.username !== u.username && this.byUsername.has(patch.username)) {
      throw new ConflictError(`user "${patch.username}" already exists`);
    }
    this.indexUser(u, false);
    if (patch.username !== undefined) {
      u.username = patch.username;
      this.sortedUsersCache = null;
    }
    if (patch.name !== undefined) u.name = patch.name;
    if (patch.email !== undefined) u.email = patch.email;
    if (patch.is_active !== undefined) u.isActive = patch.is_active;
    if (patch.attributes !== undefined) u.attributes = patch.attributes;
    if (patch.password !== undefined) {
      u.password = patch.password === null ? null : hashPassword(patch.password, this.passwordIterations);
      u.passwordChanged = drfDate(new Date());
    }
    u.lastUpdated = drfDate(new Date());
    this.indexUser(u, true);
    this.dataChanged(`user ${u.username} updated`);
  }

  deleteUser(username: string): void {
    const u = this.mustUser(username);
    for (const pk of u.groups) this.groups.get(pk)?.members.delete(u.pk);
    this.indexUser(u, false);
    this.users.delete(u.pk);
    this.devices.delete(u.pk);
    this.sortedUsersCache = null;
    this.dataChanged(`user ${username} deleted`);
  }

  setUserGroups(username: string, groups: string[]): void {
    const u = this.mustUser(username);
    const target = groups.map((n) => this.mustGroup(n));
    for (const pk of [...u.groups]) {
      const g = this.groups.get(pk);
      if (g) this.leave(u, g);
    }
    for (const g of target) this.join(u, g);
    this.dataChanged(`groups of ${username} set`);
  }

  recordLogin(u: UserRec): void {
    u.lastLogin = new Date().toISOString();
  }

  // ---- devices ----

  private insertDevice(u: UserRec, d: DeviceSpec): DeviceRec {
    const pk = ++this.devicePk[d.type === 'totp' ? 'totp' : d.type === 'static' ? 'static' : d.type === 'duo' ? 'duo' : 'webauthn'];
    const base = { pk, userPk: u.pk, name: d.name ?? `${d.type} device`, confirmed: d.confirmed, lastUsed: null };
    let rec: DeviceRec;
    switch (d.type) {
      case 'totp':
        rec = { ...base, kind: 'totp', key: base32Decode(d.secret), digits: d.digits, step: 30, lastT: -1, drift: 0 };
        break;
      case 'static':
        rec = { ...base, kind: 'static', tokens: [...d.tokens] };
        break;
      case 'duo':
        rec = { ...base, kind: 'duo', result: d.result };
        break;
      case 'webauthn':
        rec = { ...base, kind: 'webauthn', credentialId: createHash('sha256').update(`${this.installId}/webauthn/${u.pk}/${pk}`).digest('base64url') };
        break;
    }
    const list = this.devices.get(u.pk);
    if (list) list.push(rec);
    else this.devices.set(u.pk, [rec]);
    return rec;
  }

  addDevice(username: string, d: DeviceSpec): number {
    const rec = this.insertDevice(this.mustUser(username), d);
    this.dataChanged(`device added to ${username}`);
    return rec.pk;
  }

  /** Confirmed devices of a user, in django-otp's class order, then by pk. */
  devicesOf(userPk: number): DeviceRec[] {
    const list = (this.devices.get(userPk) ?? []).filter((d) => d.confirmed);
    const order = (d: DeviceRec) => DEVICE_CLASS_ORDER.indexOf(d.kind);
    return list.sort((a, b) => order(a) - order(b) || a.pk - b.pk);
  }

  duoDevice(pk: number): DuoDeviceRec | undefined {
    for (const list of this.devices.values()) for (const d of list) if (d.kind === 'duo' && d.pk === pk) return d;
    return undefined;
  }

  // ---- groups ----

  mustGroup(name: string): GroupRec {
    const g = this.groupsByName.get(name);
    if (!g) throw new NotFoundError(`unknown group "${name}"`);
    return g;
  }

  private insertGroup(input: GroupInput, pk?: string): GroupRec {
    if (this.groupsByName.has(input.name)) throw new ConflictError(`group "${input.name}" already exists`);
    const id = (pk ?? stableUuid(this.installId, 'group', input.name)).toLowerCase();
    const g: GroupRec = {
      pk: id,
      numPk: groupNumPk(id),
      name: input.name,
      isSuperuser: input.is_superuser ?? false,
      parent: input.parent ? this.mustGroup(input.parent).pk : null,
      attributes: input.attributes ?? {},
      members: new Set(),
      permissions: new Set(),
    };
    this.groups.set(g.pk, g);
    this.groupsByName.set(g.name, g);
    return g;
  }

  addGroup(input: GroupInput): string {
    const g = this.insertGroup(input);
    this.dataChanged(`group ${g.name} added`);
    return g.pk;
  }

  deleteGroup(name: string): void {
    const g = this.mustGroup(name);
    for (const upk of g.members) {
      const u = this.users.get(upk);
      if (u) u.groups = u.groups.filter((pk) => pk !== g.pk);
    }
    // Django's on_delete=SET_NULL for children.
    for (const child of this.groups.values()) if (child.parent === g.pk) child.parent = null;
    this.groups.delete(g.pk);
    this.groupsByName.delete(name);
    for (const p of this.providers.values()) if (p.type === 'ldap' && p.search_group === name) p.search_group = null;
    for (const a of this.applications.values()) if (a.accessGroups) a.accessGroups = a.accessGroups.filter((n) => n !== name);
    for (const m of this.propertyMappings.values()) if (m.groups) m.groups = m.groups.filter((n) => n !== name);
    this.dataChanged(`group ${name} deleted`);
  }

  addMember(group: string, username: string): void {
    this.join(this.mustUser(username), this.mustGroup(group));
    this.dataChanged(`${username} joined ${group}`);
  }

  removeMember(group: string, username: string): void {
    this.leave(this.mustUser(username), this.mustGroup(group));
    this.dataChanged(`${username} left ${group}`);
  }

  // ---- flows ----

  private insertFlow(f: FlowSpec): FlowRec {
    const rec: FlowRec = {
      pk: f.pk ?? stableUuid(this.installId, 'flow', f.slug),
      slug: f.slug,
      name: f.name ?? f.slug,
      title: f.title ?? 'Welcome to authentik!',
      designation: f.designation,
      authentication: f.authentication,
      deniedAction: f.denied_action,
      layout: f.layout,
      stages: f.stages,
    };
    this.flows.set(f.slug, rec);
    return rec;
  }

  addFlow(f: FlowSpec): void {
    if (this.flows.has(f.slug)) throw new ConflictError(`flow "${f.slug}" already exists`);
    this.insertFlow(f);
    this.emit(this.outpostsOfFlow(f.slug), `flow ${f.slug} added`);
  }

  setFlowStages(slug: string, stages: StageSpec[]): void {
    const f = this.flows.get(slug);
    if (!f) throw new NotFoundError(`unknown flow "${slug}"`);
    f.stages = stages;
    this.emit(this.outpostsOfFlow(slug), `stages of flow ${slug} set`);
  }

  flowSlugOfProvider(p: ProviderRec): string {
    return p.type === 'ldap' ? p.bind_flow : p.type === 'radius' ? p.auth_flow : p.authorization_flow;
  }

  /**
   * authentik 2024.10+'s `unbind_flow_slug`: the provider's invalidation flow, else the brand's
   * (LDAPOutpostConfigSerializer.get_unbind_flow_slug), else null.
   */
  unbindFlowOf(p: LdapProviderRec): string | null {
    return p.unbind_flow ?? this.brand.flow_invalidation;
  }

  private outpostsOfFlow(slug: string): Set<string> {
    const uses = (p: ProviderRec) => this.flowSlugOfProvider(p) === slug || (p.type === 'ldap' && this.unbindFlowOf(p) === slug);
    return this.outpostsOfProviders([...this.providers.values()].filter(uses).map((p) => p.name));
  }

  // ---- providers, applications, outposts ----

  mustProvider(name: string): ProviderRec {
    const p = this.providers.get(name);
    if (!p) throw new NotFoundError(`unknown provider "${name}"`);
    return p;
  }

  applicationOfProvider(providerName: string): ApplicationRec | undefined {
    for (const a of this.applications.values()) if (a.provider === providerName) return a;
    return undefined;
  }

  /** Apply a validated patch (admin.ts checks field names and types per provider type). */
  updateProvider(name: string, patch: Record<string, unknown>): void {
    const p = this.mustProvider(name);
    if ('search_group' in patch && patch['search_group'] !== null) this.mustGroup(String(patch['search_group']));
    for (const key of ['certificate', 'signing_key']) {
      if (key in patch && patch[key] !== null) this.mustCert(String(patch[key]));
    }
    for (const key of ['bind_flow', 'unbind_flow', 'auth_flow', 'authorization_flow']) {
      if (key in patch && patch[key] !== null && !this.flows.has(String(patch[key]))) throw new NotFoundError(`unknown flow "${String(patch[key])}"`);
    }
    if (Array.isArray(patch['property_mappings'])) for (const m of patch['property_mappings']) this.mustPropertyMapping(String(m));
    Object.assign(p, patch);
    this.emit(this.outpostsOfProviders([name]), `provider ${name} updated`);
  }

  mustOutpost(name: string): OutpostRec {
    const o = this.outposts.get(name);
    if (!o) throw new NotFoundError(`unknown outpost "${name}"`);
    return o;
  }

  updateOutpost(
    name: string,
    patch: { name?: string | undefined; providers?: string[] | undefined; config?: Record<string, unknown> | undefined; managed?: string | null | undefined; refresh_interval_s?: number | undefined },
  ): void {
    const o = this.mustOutpost(name);
    if (patch.providers) {
      for (const pn of patch.providers) {
        const p = this.mustProvider(pn);
        if (p.type !== o.type) throw new ConflictError(`provider "${pn}" is of type ${p.type}, outpost "${name}" of type ${o.type}`);
      }
      o.providers = [...patch.providers];
    }
    // A config patch merges key by key, like editing the outpost's YAML in the admin UI.
    if (patch.config) o.config = { ...o.config, ...patch.config };
    if (patch.managed !== undefined) o.managed = patch.managed;
    if (patch.refresh_interval_s !== undefined) o.refreshIntervalS = patch.refresh_interval_s;
    if (patch.name !== undefined && patch.name !== name) {
      if (this.outposts.has(patch.name)) throw new ConflictError(`outpost "${patch.name}" already exists`);
      this.outposts.delete(name);
      o.name = patch.name;
      this.outposts.set(o.name, o);
    }
    this.emit(new Set([o.name]), `outpost ${o.name} updated`);
  }

  /** Full `config` as the API renders it: authentik's defaults overlaid with the seed's keys. */
  outpostConfig(o: OutpostRec): Record<string, unknown> {
    return { ...DEFAULT_OUTPOST_CONFIG(this.baseUrl), ...o.config };
  }

  setApplicationAccess(slug: string, groups: string[] | null): void {
    const a = this.applications.get(slug);
    if (!a) throw new NotFoundError(`unknown application "${slug}"`);
    if (groups) for (const g of groups) this.mustGroup(g);
    a.accessGroups = groups ? [...groups] : null;
    this.emit(a.provider ? this.outpostsOfProviders([a.provider]) : new Set(), `access to ${slug} changed`);
  }

  /** The application's group bindings evaluated for a user (policy engine, mode any/all). */
  applicationPasses(a: ApplicationRec, u: UserRec): boolean {
    if (!a.accessGroups || a.accessGroups.length === 0) return true;
    const mine = this.allGroupPks(u);
    const hits = a.accessGroups.map((n) => {
      const g = this.groupsByName.get(n);
      return g !== undefined && mine.has(g.pk);
    });
    return a.policyEngineMode === 'all' ? hits.every(Boolean) : hits.some(Boolean);
  }

  /** Names of the application's entitlements the user holds (authentik's `User.app_entitlements(app)`). */
  entitlementsOf(a: ApplicationRec, u: UserRec): string[] {
    const mine = this.allGroupPks(u);
    return a.entitlements
      .filter((e) => e.users.includes(u.username) || e.groups.some((n) => mine.has(this.groupsByName.get(n)?.pk ?? '')))
      .map((e) => e.name);
  }

  /** The proxy provider whose OAuth2 client id this is. */
  proxyProviderByClientId(clientId: string): ProxyProviderRec | undefined {
    for (const p of this.providers.values()) if (p.type === 'proxy' && p.client_id === clientId) return p;
    return undefined;
  }

  /** LDAP providers require global view_user/view_group for their outpost's service account. */
  outpostCanViewDirectory(o: OutpostRec): boolean {
    return o.providers.some((n) => this.providers.get(n)?.type === 'ldap');
  }

  /** RADIUS providers have a certificate since authentik 2025.10 (EAP-TLS); not in 2024.4. */
  certificateOfProvider(p: ProviderRec): string | null {
    return p.type === 'radius' && this.mode === '2024.4' ? null : p.certificate;
  }

  outpostCanViewCert(o: OutpostRec, c: CertRec): boolean {
    return o.providers.some((n) => {
      const p = this.providers.get(n);
      return p !== undefined && this.certificateOfProvider(p) === c.name;
    });
  }

  // ---- permissions (authentik 2024.8+ RBAC) ----

  /** The key a grant is stored under. Throws PermissionFormatError, or NotFoundError for a provider. */
  grantKey(e: PermissionEntry): string {
    if (typeof e === 'string') return globalKey(e);
    return objectKey(e.permission, this.mustProvider(e.provider));
  }

  /** Grant or revoke a permission of a user or a group (exactly one is given). Idempotent. */
  setPermission(input: { username?: string | undefined; group?: string | undefined; permission: string; provider?: string | undefined }, granted: boolean): void {
    const holder = input.username !== undefined ? (this.mustUser(input.username).permissions ??= new Set()) : this.mustGroup(input.group ?? '').permissions;
    const key = this.grantKey(input.provider === undefined ? input.permission : { permission: input.permission, provider: input.provider });
    if (granted) holder.add(key);
    else holder.delete(key);
  }

  private holds(u: UserRec, key: string): boolean {
    if (u.permissions?.has(key)) return true;
    for (const pk of this.allGroupPks(u)) if (this.groups.get(pk)?.permissions.has(key)) return true;
    return false;
  }

  /** Django's `user.has_perm("app_label.codename")`: active superusers hold every permission. */
  hasGlobalPermission(u: UserRec, permission: string): boolean {
    if (!u.isActive) return false;
    return this.isSuperuser(u) || this.holds(u, globalKey(permission));
  }

  /** guardian's `user.has_perm(codename, provider)`: object grants only (Django's backend answers no for an object). */
  hasProviderPermission(u: UserRec, permission: string, p: ProviderRec): boolean {
    if (!u.isActive) return false;
    return this.isSuperuser(u) || this.holds(u, objectKey(permission, p));
  }

  // ---- property mappings (authentik 2024.8+ RADIUS reply attributes) ----

  private insertPropertyMapping(name: string, body: PropertyMappingBody): PropertyMappingRec {
    const rec: PropertyMappingRec = {
      pk: stableUuid(this.installId, 'property-mapping', name),
      name,
      type: body.type,
      groups: body.groups ? [...body.groups] : null,
      attributes: body.attributes,
      encoded: body.attributes.map((a) => encodeAttribute(a)),
      rawPacketBase64: body.raw_packet_base64,
      error: body.error,
    };
    this.propertyMappings.set(name, rec);
    return rec;
  }

  /** Create or replace a mapping. Providers keep naming it; no outpost is told (authentik does not either). */
  putPropertyMapping(name: string, body: PropertyMappingBody): void {
    for (const g of body.groups ?? []) this.mustGroup(g);
    this.insertPropertyMapping(name, body);
  }

  mustPropertyMapping(name: string): PropertyMappingRec {
    const m = this.propertyMappings.get(name);
    if (!m) throw new NotFoundError(`unknown property mapping "${name}"`);
    return m;
  }

  /**
   * The RADIUS `check_access` attributes for a user: the provider's mappings that apply to the
   * user, ordered by name as authentik's `property_mappings.order_by("name")`, their attributes
   * in order, in one packet, base64. A mapping with `raw_packet_base64` that applies wins as is;
   * one that raises makes it null (authentik logs the error and sends no attributes).
   */
  radiusAttributes(p: RadiusProviderRec, u: UserRec): string | null {
    const mine = this.allGroupPks(u);
    const applies = (m: PropertyMappingRec) => m.groups === null || m.groups.some((n) => mine.has(this.groupsByName.get(n)?.pk ?? ''));
    const mappings = [...new Set(p.property_mappings)]
      .flatMap((n) => {
        const m = this.propertyMappings.get(n);
        return m && applies(m) ? [m] : [];
      })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (mappings.some((m) => m.error !== undefined)) return null;
    const raw = mappings.find((m) => m.rawPacketBase64 !== undefined);
    if (raw?.rawPacketBase64 !== undefined) return raw.rawPacketBase64;
    return radiusPacket(mappings.flatMap((m) => m.encoded)).toString('base64');
  }

  // ---- certificates ----

  mustCert(name: string): CertRec {
    const c = this.certs.get(name);
    if (!c) throw new NotFoundError(`unknown certificate "${name}"`);
    return c;
  }

  async rotateCertificate(name: string): Promise<{ fingerprint_sha256: string }> {
    const c = this.mustCert(name);
    c.kp = await generateKeypair({ commonName: c.commonName, sans: c.sans, keyType: c.keyType, validityDays: c.validityDays });
    const users = [...this.providers.values()].filter((p) => this.certificateOfProvider(p) === name).map((p) => p.name);
    this.emit(this.outpostsOfProviders(users), `certificate ${name} rotated`);
    return { fingerprint_sha256: c.kp.fingerprintSha256 };
  }

  // ---- bench users (DEMO_USERS) ----

  /**
   * Adds user1..userN (password 'bench-pass'), each in group<(i % 100) + 1> and 'vpn'.
   * The password is hashed ONCE and every generated user points at the same stored hash
   * object: PBKDF2 per user would make 100,000 users take minutes to load, and the hash value
   * is the same anyway. Users get pks after every existing user.
   */
  addBenchUsers(count: number): void {
    const shared = hashPassword('bench-pass', this.passwordIterations);
    const groups: GroupRec[] = [];
    for (let i = 1; i <= 100; i++) groups.push(this.groupsByName.get(`group${i}`) ?? this.insertGroup({ name: `group${i}` }));
    const vpn = this.groupsByName.get('vpn') ?? this.insertGroup({ name: 'vpn' });
    let pk = Math.max(0, ...this.users.keys()) + 1;
    for (let i = 1; i <= count; i++) {
      const username = `user${i}`;
      if (this.byUsername.has(username)) throw new ConflictError(`bench user "${username}" collides with a seeded user`);
      const g = groups[i % 100] as GroupRec;
      const u: UserRec = {
        pk: pk++,
        username,
        name: `User ${i}`,
        email: `${username}@example.com`,
        isActive: true,
        lastLogin: null,
        password: shared,
        groups: [g.pk, vpn.pk],
        attributes: {},
        path: 'users',
        type: 'internal',
      };
      this.users.set(u.pk, u);
      this.indexUser(u, true);
      g.members.add(u.pk);
      vpn.members.add(u.pk);
    }
    this.nextUserPk = pk;
    this.sortedUsersCache = null;
    this.dataVersion++;
  }
}
