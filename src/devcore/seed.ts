// The dev core's seed: a YAML document describing users, groups, flows, providers, outposts and
// certificates. Validated with zod; every error names the field (`users.2.groups.0: ...`).
// The format is documented at the top of config/demo.yaml.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { globalKey, objectKey, PermissionFormatError, permissionEntrySchema, type PermissionEntry } from './permissions.ts';
import { radiusAttributeSchema } from './radius-attributes.ts';
import { base32Decode } from './totp.ts';

const slug = z.string().regex(/^[-a-zA-Z0-9_]+$/, 'must be a slug (letters, digits, - and _)').max(50);
const name = z.string().min(1);
const attributes = z.record(z.string(), z.unknown()).default({});
const stageName = z.string().optional();
/** authentik's timedelta string (`hours=24`, `minutes=5;seconds=30`). */
export const timedelta = z.string().regex(/^(\w+=\d+(\.\d+)?)(;\s*\w+=\d+(\.\d+)?)*$/, 'must look like hours=24 or minutes=5;seconds=30');

export const DEVICE_CLASSES = ['static', 'totp', 'webauthn', 'duo', 'sms'] as const;
export type DeviceClass = (typeof DEVICE_CLASSES)[number];

const stageSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('identification'),
    name: stageName,
    user_fields: z.array(z.enum(['username', 'email', 'upn'])).default(['username', 'email']),
    /** A password stage bound to the identification stage: the password is sent with the username. */
    password_stage: z.boolean().default(false),
    case_insensitive_matching: z.boolean().default(true),
    /** authentik 2024.4 default: an unknown user passes identification when no password is embedded. */
    pretend_user_exists: z.boolean().default(true),
    show_matched_user: z.boolean().default(true),
    show_source_labels: z.boolean().default(false),
  }),
  z.strictObject({
    kind: z.literal('password'),
    name: stageName,
    failed_attempts_before_cancel: z.number().int().min(0).default(5),
  }),
  z.strictObject({
    kind: z.literal('authenticator_validate'),
    name: stageName,
    device_classes: z.array(z.enum(DEVICE_CLASSES)).default([...DEVICE_CLASSES]),
    not_configured_action: z.enum(['skip', 'deny', 'configure']).default('skip'),
  }),
  z.strictObject({
    kind: z.literal('user_login'),
    name: stageName,
    /** Seconds; > 0 makes the stage show the "stay signed in" challenge instead of completing on GET. */
    remember_me_offset: z.number().min(0).default(0),
  }),
  z.strictObject({ kind: z.literal('user_logout'), name: stageName }),
  z.strictObject({ kind: z.literal('deny'), name: stageName, message: z.string().optional() }),
  z.strictObject({ kind: z.literal('consent'), name: stageName }),
  z.strictObject({ kind: z.literal('flow_error'), name: stageName, message: z.string().default('devcore: this stage always fails') }),
  z.strictObject({
    kind: z.literal('endless'),
    name: stageName,
    /** The challenge shown each time; any POST is accepted and the stage starts over. */
    component: z.enum(['ak-stage-password', 'ak-stage-identification', 'ak-stage-authenticator-validate', 'ak-stage-user-login']).default('ak-stage-password'),
  }),
]);
export type StageSpec = z.output<typeof stageSchema>;
export type StageKind = StageSpec['kind'];
export const stagesSchema = z.array(stageSchema);

export const FLOW_AUTHENTICATION = ['none', 'require_authenticated', 'require_unauthenticated', 'require_superuser', 'require_outpost'] as const;
export const FLOW_DESIGNATIONS = ['authentication', 'authorization', 'invalidation', 'enrollment', 'unenrollment', 'recovery', 'stage_configuration'] as const;

export const flowSchema = z.strictObject({
  slug,
  pk: z.uuid().optional(),
  name: z.string().optional(),
  title: z.string().optional(),
  designation: z.enum(FLOW_DESIGNATIONS).default('authentication'),
  authentication: z.enum(FLOW_AUTHENTICATION).default('none'),
  denied_action: z.enum(['message_continue', 'message', 'continue']).default('message_continue'),
  layout: z.enum(['stacked', 'content_left', 'content_right', 'sidebar_left', 'sidebar_right']).default('stacked'),
  stages: stagesSchema.default([]),
});
export type FlowSpec = z.output<typeof flowSchema>;

const base32Secret = z.string().refine(
  (s) => {
    try {
      return base32Decode(s).length >= 10;
    } catch {
      return false;
    }
  },
  { message: 'must be a base32 secret of at least 16 characters' },
);

export const deviceSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('totp'),
    name: z.string().optional(),
    secret: base32Secret,
    digits: z.union([z.literal(6), z.literal(8)]).default(6),
    confirmed: z.boolean().default(true),
  }),
  z.strictObject({
    type: z.literal('static'),
    name: z.string().optional(),
    tokens: z.array(z.string().min(1).max(16)).min(1),
    confirmed: z.boolean().default(true),
  }),
  z.strictObject({
    type: z.literal('duo'),
    name: z.string().optional(),
    /** What the (simulated) Duo push answers after `mfa.duo_delay_ms`. */
    result: z.enum(['allow', 'deny']).default('allow'),
    confirmed: z.boolean().default(true),
  }),
  z.strictObject({ type: z.literal('webauthn'), name: z.string().optional(), confirmed: z.boolean().default(true) }),
]);
export type DeviceSpec = z.output<typeof deviceSchema>;

export const USER_TYPES = ['internal', 'external', 'service_account', 'internal_service_account'] as const;

const userSchema = z.strictObject({
  username: z.string().min(1).max(150),
  pk: z.number().int().positive().optional(),
  uuid: z.uuid().optional(),
  name: z.string().optional(),
  email: z.string().default(''),
  /** Plaintext in the seed; hashed at load time and never kept. */
  password: z.string().optional(),
  /** Alternatively a Django hash (`pbkdf2_sha256$...`). No password at all = unusable password. */
  password_hash: z.string().optional(),
  is_active: z.boolean().default(true),
  groups: z.array(z.string()).default([]),
  attributes,
  path: z.string().default('users'),
  type: z.enum(USER_TYPES).default('internal'),
  devices: z.array(deviceSchema).default([]),
  /** RBAC grants (authentik 2024.8+): `app_label.codename`, or `{permission, provider: <name>}`. */
  permissions: z.array(permissionEntrySchema).default([]),
  /** App password tokens (authentik's intent app_password): accepted by the token endpoint's client_credentials grant. */
  app_passwords: z.array(z.string().min(1)).default([]),
});
export type UserSpec = z.output<typeof userSchema>;

const groupSchema = z.strictObject({
  name,
  pk: z.uuid().optional(),
  parent: z.string().nullable().default(null),
  is_superuser: z.boolean().default(false),
  attributes,
  /** Grants for the members of this group and of its descendants (authentik's roles). */
  permissions: z.array(permissionEntrySchema).default([]),
});
export type GroupSpec = z.output<typeof groupSchema>;

const certificateSchema = z.strictObject({
  name,
  pk: z.uuid().optional(),
  common_name: z.string().min(1),
  sans: z.array(z.string().min(1)).default([]),
  key_type: z.enum(['ecdsa', 'rsa']).default('ecdsa'),
  validity_days: z.number().int().positive().default(365),
  managed: z.string().nullable().default(null),
});
export type CertificateSpecSeed = z.output<typeof certificateSchema>;

const ldapProviderSchema = z.strictObject({
  type: z.literal('ldap'),
  name,
  pk: z.number().int().positive().optional(),
  bind_flow: slug,
  /** authentik 2024.10+: the provider's invalidation flow (`unbind_flow_slug`; unset: the brand's). */
  unbind_flow: slug.nullable().default(null),
  base_dn: z.string().default('DC=ldap,DC=goauthentik,DC=io'),
  /** A group name; the API renders its UUID (authentik 2024.4 only; 2024.8 uses permissions). */
  search_group: z.string().nullable().default(null),
  /** A certificate name; the API renders the keypair UUID. */
  certificate: z.string().nullable().default(null),
  tls_server_name: z.string().default(''),
  uid_start_number: z.number().int().default(2000),
  gid_start_number: z.number().int().default(4000),
  search_mode: z.enum(['direct', 'cached']).default('direct'),
  bind_mode: z.enum(['direct', 'cached']).default('direct'),
  mfa_support: z.boolean().default(true),
});
const radiusProviderSchema = z.strictObject({
  type: z.literal('radius'),
  name,
  pk: z.number().int().positive().optional(),
  auth_flow: slug,
  client_networks: z.string().default('0.0.0.0/0, ::/0'),
  shared_secret: z.string().min(1),
  mfa_support: z.boolean().default(true),
  /** A certificate name (authentik 2025.10+, EAP-TLS); the API renders the keypair UUID. */
  certificate: z.string().nullable().default(null),
  /** Property mapping names (authentik 2024.8+): their attributes go into check_access's packet. */
  property_mappings: z.array(z.string()).default([]),
});
const proxyProviderSchema = z.strictObject({
  type: z.literal('proxy'),
  name,
  pk: z.number().int().positive().optional(),
  authorization_flow: slug,
  external_host: z.string().min(1),
  internal_host: z.string().default(''),
  internal_host_ssl_validation: z.boolean().default(true),
  mode: z.enum(['proxy', 'forward_single', 'forward_domain']).default('proxy'),
  client_id: z.string().optional(),
  client_secret: z.string().optional(),
  cookie_secret: z.string().optional(),
  certificate: z.string().nullable().default(null),
  skip_path_regex: z.string().default(''),
  basic_auth_enabled: z.boolean().default(false),
  basic_auth_user_attribute: z.string().default(''),
  basic_auth_password_attribute: z.string().default(''),
  cookie_domain: z.string().default(''),
  /** authentik's timedelta string, e.g. `hours=24`. */
  access_token_validity: timedelta.default('hours=24'),
  intercept_header_auth: z.boolean().default(true),
  /**
   * A certificate name: tokens are signed with its key (RS256 for rsa, ES256 for ecdsa) and the
   * jwks endpoint serves it. authentik's proxy providers have none (HS256 with the client secret);
   * the core allows one so outposts can be tested against a JWKS.
   */
  signing_key: z.string().nullable().default(null),
});
export const providerSchema = z.discriminatedUnion('type', [ldapProviderSchema, radiusProviderSchema, proxyProviderSchema]);
export type ProviderSpec = z.output<typeof providerSchema>;
export type LdapProviderSpec = z.output<typeof ldapProviderSchema>;
export type RadiusProviderSpec = z.output<typeof radiusProviderSchema>;
export type ProxyProviderSpec = z.output<typeof proxyProviderSchema>;

/** A property mapping as the admin API takes it (the seed entry without its name). */
export const propertyMappingBodySchema = z.strictObject({
  type: z.literal('radius'),
  /** Applies to members of any of these groups (through parent groups too); absent: everybody. */
  groups: z.array(z.string()).optional(),
  attributes: z.array(radiusAttributeSchema).default([]),
  /** Test-only: when the mapping applies, check_access's `attributes` is exactly this string. */
  raw_packet_base64: z.string().optional(),
  /**
   * The mapping's expression raises this error when it applies: authentik then logs a
   * configuration error and answers `attributes: null` with access passing.
   */
  error: z.string().optional(),
});
export type PropertyMappingBody = z.output<typeof propertyMappingBodySchema>;
const propertyMappingSchema = propertyMappingBodySchema.extend({ name });
export type PropertyMappingSpec = z.output<typeof propertyMappingSchema>;

const applicationSchema = z.strictObject({
  slug,
  name,
  pk: z.uuid().optional(),
  provider: z.string().nullable().default(null),
  /** Group names bound to the application. Absent or null: everyone may access. */
  access_groups: z.array(z.string()).nullable().default(null),
  policy_engine_mode: z.enum(['any', 'all']).default('any'),
  /**
   * authentik 2024.12+ application entitlements: a user holds one when bound to it directly
   * (`users`) or through a group (`groups`, parents included). No bindings: nobody holds it.
   */
  entitlements: z
    .array(z.strictObject({ name, groups: z.array(z.string()).default([]), users: z.array(z.string()).default([]) }))
    .default([]),
});
export type ApplicationSpec = z.output<typeof applicationSchema>;

const outpostSchema = z.strictObject({
  name,
  pk: z.uuid().optional(),
  type: z.enum(['ldap', 'radius', 'proxy', 'rac']),
  token: z.string().min(1),
  providers: z.array(z.string()).default([]),
  config: z.record(z.string(), z.unknown()).default({}),
  managed: z.string().nullable().default(null),
  /** authentik 2024.8+: how often the outpost should refresh (outposts treat <= 0 as 300). */
  refresh_interval_s: z.number().int().default(300),
});
export type OutpostSpec = z.output<typeof outpostSchema>;

const brandSchema = z.strictObject({
  pk: z.uuid().optional(),
  domain: z.string().default('authentik-default'),
  branding_title: z.string().default('authentik'),
  branding_logo: z.string().default('/static/dist/assets/icons/icon_left_brand.svg'),
  branding_favicon: z.string().default('/static/dist/assets/icons/icon.png'),
  flow_authentication: slug.nullable().default(null),
  flow_invalidation: slug.nullable().default(null),
  flow_recovery: slug.nullable().default(null),
  flow_unenrollment: slug.nullable().default(null),
  flow_user_settings: slug.nullable().default(null),
  flow_device_code: slug.nullable().default(null),
  default_locale: z.string().default(''),
  ui_theme: z.enum(['automatic', 'light', 'dark']).default('automatic'),
  ui_footer_links: z.array(z.strictObject({ name: z.string(), href: z.string() })).default([]),
});
export type BrandSpec = z.output<typeof brandSchema>;

const rootConfigSchema = z.strictObject({
  error_reporting: z
    .strictObject({
      enabled: z.boolean().default(false),
      sentry_dsn: z.string().default(''),
      environment: z.string().default('customer'),
      send_pii: z.boolean().default(false),
      traces_sample_rate: z.number().min(0).max(1).default(0.1),
    })
    .prefault({}),
  capabilities: z.array(z.enum(['can_save_media', 'can_geo_ip', 'can_asn', 'can_impersonate', 'can_debug', 'is_enterprise'])).default(['can_save_media', 'can_impersonate']),
  cache_timeout: z.number().int().min(0).default(300),
  cache_timeout_flows: z.number().int().min(0).default(300),
  cache_timeout_policies: z.number().int().min(0).default(300),
  cache_timeout_reputation: z.number().int().min(0).default(300),
});

/** Fixed default so user `uid`s are stable across runs of a seed that does not set one. */
export const DEFAULT_INSTALL_ID = '6a0e2b5c-3f4d-4c1e-9a8b-7d6e5f4a3b2c';

export const seedSchema = z
  .strictObject({
    admin_token: z.string().min(1).default('devcore-admin'),
    install_id: z.uuid().default(DEFAULT_INSTALL_ID),
    /** The authentik version the fake core claims (health `version_should`); default by API mode. */
    version: z.string().min(1).optional(),
    build_hash: z.string().default('tagged'),
    password_iterations: z.number().int().positive().default(1000),
    /** Seconds an outpost instance stays in the health list after its last hello (authentik: 15). */
    outpost_state_ttl_seconds: z.number().positive().default(15),
    /** `initials`: data-URI SVG avatars like authentik's initials mode; `none`: the default image URL. */
    avatars: z.enum(['initials', 'none']).default('initials'),
    mfa: z
      .strictObject({
        /** django-otp refuses a TOTP code for a time step already used (authentik behaviour). */
        totp_replay_protection: z.boolean().default(true),
        /** How long the simulated Duo push takes to answer. */
        duo_delay_ms: z.number().int().min(0).default(200),
      })
      .prefault({}),
    root_config: rootConfigSchema.prefault({}),
    brand: brandSchema.prefault({}),
    certificates: z.array(certificateSchema).default([]),
    groups: z.array(groupSchema).default([]),
    users: z.array(userSchema).default([]),
    flows: z.array(flowSchema).default([]),
    property_mappings: z.array(propertyMappingSchema).default([]),
    applications: z.array(applicationSchema).default([]),
    providers: z.array(providerSchema).default([]),
    outposts: z.array(outpostSchema).default([]),
  })
  .superRefine((seed, ctx) => crossCheck(seed, (path, message) => ctx.addIssue({ code: 'custom', path, message })));

/** What a seed author writes (defaults not yet applied). */
export type SeedDocument = z.input<typeof seedSchema>;
/** A validated seed with every default filled in. */
export type Seed = z.output<typeof seedSchema>;

type Report = (path: (string | number)[], message: string) => void;

function duplicates<T>(items: T[], key: (t: T) => string | number | undefined, path: string, field: string, report: Report): void {
  const seen = new Map<string | number, number>();
  items.forEach((item, i) => {
    const k = key(item);
    if (k === undefined) return;
    const prev = seen.get(k);
    if (prev !== undefined) report([path, i, field], `duplicate ${field} "${k}" (also at ${path}.${prev})`);
    else seen.set(k, i);
  });
}

function crossCheck(seed: SeedShape, report: Report): void {
  const groups = new Set(seed.groups.map((g) => g.name));
  const flows = new Set(seed.flows.map((f) => f.slug));
  const certs = new Set(seed.certificates.map((c) => c.name));
  const providers = new Map(seed.providers.map((p) => [p.name, p]));
  const users = new Set(seed.users.map((u) => u.username));

  duplicates(seed.groups, (g) => g.name, 'groups', 'name', report);
  duplicates(seed.groups, (g) => g.pk?.toLowerCase(), 'groups', 'pk', report);
  duplicates(seed.users, (u) => u.username, 'users', 'username', report);
  duplicates(seed.users, (u) => u.pk, 'users', 'pk', report);
  duplicates(seed.flows, (f) => f.slug, 'flows', 'slug', report);
  duplicates(seed.certificates, (c) => c.name, 'certificates', 'name', report);
  duplicates(seed.providers, (p) => p.name, 'providers', 'name', report);
  duplicates(seed.providers, (p) => p.pk, 'providers', 'pk', report);
  duplicates(seed.applications, (a) => a.slug, 'applications', 'slug', report);
  duplicates(seed.outposts, (o) => o.name, 'outposts', 'name', report);
  duplicates(seed.outposts, (o) => o.token, 'outposts', 'token', report);
  duplicates(seed.outposts, (o) => o.pk?.toLowerCase(), 'outposts', 'pk', report);
  duplicates(seed.property_mappings, (m) => m.name, 'property_mappings', 'name', report);

  seed.groups.forEach((g, i) => {
    if (g.parent !== null && !groups.has(g.parent)) report(['groups', i, 'parent'], `unknown group "${g.parent}"`);
  });
  // Parent cycles would make "all groups of a user" loop forever.
  const parentOf = new Map(seed.groups.map((g) => [g.name, g.parent]));
  seed.groups.forEach((g, i) => {
    const seen = new Set<string>([g.name]);
    for (let p = g.parent; p !== null && p !== undefined; p = parentOf.get(p) ?? null) {
      if (seen.has(p)) {
        report(['groups', i, 'parent'], `group parents form a cycle through "${p}"`);
        break;
      }
      seen.add(p);
    }
  });
  seed.users.forEach((u, i) => {
    u.groups.forEach((g, j) => {
      if (!groups.has(g)) report(['users', i, 'groups', j], `unknown group "${g}"`);
    });
    if (u.password !== undefined && u.password_hash !== undefined) report(['users', i, 'password_hash'], 'give either password or password_hash, not both');
    checkPermissions(u.permissions, ['users', i, 'permissions'], providers, report);
  });
  seed.groups.forEach((g, i) => checkPermissions(g.permissions, ['groups', i, 'permissions'], providers, report));
  seed.property_mappings.forEach((m, i) => {
    m.groups?.forEach((g, j) => {
      if (!groups.has(g)) report(['property_mappings', i, 'groups', j], `unknown group "${g}"`);
    });
  });
  const mappings = new Set(seed.property_mappings.map((m) => m.name));
  const flowRef = (path: (string | number)[], s: string | null) => {
    if (s !== null && !flows.has(s)) report(path, `unknown flow "${s}"`);
  };
  for (const key of ['flow_authentication', 'flow_invalidation', 'flow_recovery', 'flow_unenrollment', 'flow_user_settings', 'flow_device_code'] as const) {
    flowRef(['brand', key], seed.brand[key]);
  }
  seed.providers.forEach((p, i) => {
    if (p.type === 'ldap') {
      flowRef(['providers', i, 'bind_flow'], p.bind_flow);
      flowRef(['providers', i, 'unbind_flow'], p.unbind_flow);
      if (p.search_group !== null && !groups.has(p.search_group)) report(['providers', i, 'search_group'], `unknown group "${p.search_group}"`);
    } else if (p.type === 'radius') {
      flowRef(['providers', i, 'auth_flow'], p.auth_flow);
      p.property_mappings.forEach((m, j) => {
        if (!mappings.has(m)) report(['providers', i, 'property_mappings', j], `unknown property mapping "${m}"`);
      });
    } else {
      flowRef(['providers', i, 'authorization_flow'], p.authorization_flow);
      if (p.signing_key !== null && !certs.has(p.signing_key)) report(['providers', i, 'signing_key'], `unknown certificate "${p.signing_key}"`);
    }
    if (p.certificate !== null && !certs.has(p.certificate)) report(['providers', i, 'certificate'], `unknown certificate "${p.certificate}"`);
  });
  const assigned = new Map<string, number>();
  seed.applications.forEach((a, i) => {
    if (a.provider !== null) {
      if (!providers.has(a.provider)) report(['applications', i, 'provider'], `unknown provider "${a.provider}"`);
      const prev = assigned.get(a.provider);
      if (prev !== undefined) report(['applications', i, 'provider'], `provider "${a.provider}" is already the provider of applications.${prev}`);
      else assigned.set(a.provider, i);
    }
    a.access_groups?.forEach((g, j) => {
      if (!groups.has(g)) report(['applications', i, 'access_groups', j], `unknown group "${g}"`);
    });
    a.entitlements.forEach((e, j) => {
      e.groups.forEach((g, k) => {
        if (!groups.has(g)) report(['applications', i, 'entitlements', j, 'groups', k], `unknown group "${g}"`);
      });
      e.users.forEach((u, k) => {
        if (!users.has(u)) report(['applications', i, 'entitlements', j, 'users', k], `unknown user "${u}"`);
      });
    });
  });
  seed.outposts.forEach((o, i) => {
    o.providers.forEach((name, j) => {
      const p = providers.get(name);
      if (!p) report(['outposts', i, 'providers', j], `unknown provider "${name}"`);
      else if (p.type !== o.type) report(['outposts', i, 'providers', j], `provider "${name}" is of type ${p.type}, the outpost of type ${o.type}`);
    });
  });
}

/** Global grants must be `app_label.codename`; object grants name a provider of the seed. */
function checkPermissions(entries: PermissionEntry[], path: (string | number)[], providers: Map<string, ProviderSpec>, report: Report): void {
  entries.forEach((e, k) => {
    try {
      if (typeof e === 'string') globalKey(e);
      else {
        const p = providers.get(e.provider);
        if (!p) report([...path, k, 'provider'], `unknown provider "${e.provider}"`);
        else objectKey(e.permission, { type: p.type, pk: 0, name: p.name });
      }
    } catch (err) {
      if (!(err instanceof PermissionFormatError)) throw err;
      report([...path, k], err.message);
    }
  });
}

// The parts of the output crossCheck reads, spelled out so the function stays readable.
interface SeedShape {
  groups: GroupSpec[];
  property_mappings: PropertyMappingSpec[];
  users: UserSpec[];
  flows: FlowSpec[];
  certificates: CertificateSpecSeed[];
  providers: ProviderSpec[];
  applications: ApplicationSpec[];
  outposts: OutpostSpec[];
  brand: BrandSpec;
}

export class SeedError extends Error {
  override readonly name = 'SeedError';
}

/** Format zod issues as `path: message` lines. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((i) => {
      const path = i.path.length > 0 ? i.path.map(String).join('.') : '(root)';
      return `${path}: ${i.message}`;
    })
    .join('\n');
}

/** Validate an already-parsed seed document. */
export function parseSeed(doc: unknown, source = 'seed'): Seed {
  const result = seedSchema.safeParse(doc ?? {});
  if (!result.success) {
    const lines = formatIssues(result.error.issues).split('\n').map((l) => `  ${l}`);
    throw new SeedError(`${source} is invalid:\n${lines.join('\n')}`);
  }
  return result.data;
}

/** Read and validate a YAML seed file. */
export function loadSeedFile(path: string): Seed {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SeedError(`cannot read seed ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new SeedError(`seed ${path} is not valid YAML: ${(err as Error).message}`);
  }
  return parseSeed(doc, `seed ${path}`);
}

/** A path is read as YAML; an object is validated as is. */
export function loadSeed(source: string | SeedDocument): Seed {
  return typeof source === 'string' ? loadSeedFile(source) : parseSeed(source);
}
