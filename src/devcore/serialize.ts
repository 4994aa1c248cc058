// JSON bodies in the shapes of authentik's serializers, per API generation (store.mode): 2024.4,
// or 2026.8 (what 2024.8 and later serve). Field names and order as the real API sends them;
// every field the official client models of that version mark required is present, and no
// field the version removed is left over.
import { createHash } from 'node:crypto';
import { drfDate } from './certs.ts';
import type { ApplicationRec, CertRec, GroupRec, OutpostRec, ProviderRec, Store, UserRec } from './model.ts';
import type { AuthentikVersion } from './version.ts';

export type Json = Record<string, unknown>;

export const DEFAULT_AVATAR = '/static/dist/assets/images/user_default.png';

function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** An initials avatar as a data URI, in the spirit of authentik's "initials" avatar mode. */
export function avatarOf(store: Store, u: UserRec): string {
  if (store.seed.avatars === 'none') return DEFAULT_AVATAR;
  const source = (u.name || u.username).trim();
  const initials = source
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => w[0]?.toUpperCase() ?? '')
    .join('');
  const bg = createHash('md5').update(source).digest('hex').slice(0, 6);
  const svg =
    `<svg width="100" height="100" viewBox="0 0 100 100" xmlns="http://www.w3.org/2000/svg">` +
    `<rect width="100" height="100" fill="#${bg}"/>` +
    `<text x="50" y="50" fill="#ffffff" font-family="sans-serif" font-size="40" text-anchor="middle" dominant-baseline="central">${xmlEscape(initials)}</text></svg>`;
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
}

export function paginated(results: unknown[], page: { number: number; perPage: number; count: number }, mode: AuthentikVersion = '2024.4'): Json {
  const totalPages = Math.max(1, Math.ceil(page.count / page.perPage));
  const out: Json = {
    pagination: {
      next: page.number < totalPages ? page.number + 1 : 0,
      previous: page.number > 1 ? page.number - 1 : 0,
      count: page.count,
      current: page.number,
      total_pages: totalPages,
      start_index: page.count === 0 ? 0 : (page.number - 1) * page.perPage + 1,
      end_index: page.number === totalPages ? page.count : page.number * page.perPage,
    },
    results,
  };
  // authentik 2025+'s paginator adds the search autocomplete schema; the core has none to offer.
  if (mode !== '2024.4') out['autocomplete'] = {};
  return out;
}

/**
 * `base` with more fields, each set placed right after the field of `base` it is keyed by: how
 * one generation's serializer grows the other's while the keys keep the real API's order.
 */
function withFieldsAfter<B extends Json>(base: B, additions: { [K in keyof B]?: Json }): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(base)) {
    out[key] = value;
    Object.assign(out, additions[key as keyof B]);
  }
  return out;
}

export function userGroupJson(store: Store, g: GroupRec): Json {
  // 2026.8's PartialGroup: groups may have several parents there, and users list none of them.
  const group = { pk: g.pk, num_pk: g.numPk, name: g.name, is_superuser: g.isSuperuser, attributes: g.attributes };
  if (store.mode !== '2024.4') return group;
  const parent = g.parent ? store.groups.get(g.parent) : undefined;
  return withFieldsAfter(group, { is_superuser: { parent: parent ? parent.pk : null, parent_name: parent ? parent.name : null } });
}

function directGroups(store: Store, u: UserRec): GroupRec[] {
  return u.groups.flatMap((pk) => {
    const g = store.groups.get(pk);
    return g ? [g] : [];
  });
}

export function userJson(store: Store, u: UserRec, includeGroups: boolean, includeRoles = true): Json {
  const groups = directGroups(store, u);
  const user = {
    pk: u.pk,
    username: u.username,
    name: u.name,
    is_active: u.isActive,
    last_login: u.lastLogin,
    is_superuser: store.isSuperuser(u),
    groups: groups.map((g) => g.pk),
    groups_obj: includeGroups ? groups.map((g) => userGroupJson(store, g)) : null,
    email: u.email,
    avatar: avatarOf(store, u),
    attributes: u.attributes,
    uid: store.userUid(u),
    path: u.path,
    type: u.type,
    uuid: store.userUuid(u),
  };
  if (store.mode === '2024.4') return user;
  const joined = u.dateJoined ?? store.startedAt;
  return withFieldsAfter(user, {
    last_login: { date_joined: joined },
    // The core models grants, not roles: nobody has a role.
    groups_obj: { roles: [], roles_obj: includeRoles ? [] : null },
    uuid: { password_change_date: u.passwordChanged ?? joined, last_updated: u.lastUpdated ?? joined },
  });
}

export function groupMemberJson(store: Store, u: UserRec): Json {
  return {
    pk: u.pk,
    username: u.username,
    name: u.name,
    is_active: u.isActive,
    last_login: u.lastLogin,
    email: u.email,
    attributes: u.attributes,
    uid: store.userUid(u),
  };
}

/** 2026.8's RelatedGroup (a parent or child in a group's `parents_obj` / `children_obj`). */
function relatedGroupJson(g: GroupRec): Json {
  return { pk: g.pk, name: g.name, is_superuser: g.isSuperuser, attributes: g.attributes, group_uuid: g.pk };
}

/** What 2026.8's group list and retrieve include on request (`include_*` query flags). */
export interface GroupIncludes {
  users: boolean;
  parents?: boolean;
  children?: boolean;
  inheritedRoles?: boolean;
}

export function groupJson(store: Store, g: GroupRec, includes: GroupIncludes): Json {
  const members = [...g.members].sort((a, b) => a - b);
  const usersObj = includes.users
    ? members.flatMap((pk) => {
        const u = store.users.get(pk);
        return u ? [groupMemberJson(store, u)] : [];
      })
    : null;
  if (store.mode !== '2024.4') {
    const parent = g.parent ? store.groups.get(g.parent) : undefined;
    const children = [...store.groups.values()].filter((c) => c.parent === g.pk).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return {
      pk: g.pk,
      num_pk: g.numPk,
      name: g.name,
      is_superuser: g.isSuperuser,
      parents: parent ? [parent.pk] : [],
      parents_obj: includes.parents ? (parent ? [relatedGroupJson(parent)] : []) : null,
      users: members,
      users_obj: usersObj,
      attributes: g.attributes,
      roles: [],
      roles_obj: [],
      inherited_roles_obj: includes.inheritedRoles ? [] : null,
      children: children.map((c) => c.pk),
      children_obj: includes.children ? children.map(relatedGroupJson) : null,
    };
  }
  return {
    ...userGroupJson(store, g),
    users: members,
    users_obj: usersObj,
    roles: [],
    roles_obj: [],
  };
}

/** `UserSelfSerializer`, as `/core/users/me/` returns it inside `{"user": ...}`. */
export function userSelfJson(store: Store, u: UserRec): Json {
  const groups = directGroups(store, u)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((g) => ({ name: g.name, pk: g.pk }));
  const later = store.mode !== '2024.4';
  return {
    pk: u.pk,
    username: u.username,
    name: u.name,
    is_active: u.isActive,
    is_superuser: store.isSuperuser(u),
    ...(later ? { is_current: true } : {}),
    groups,
    ...(later ? { roles: [] } : {}),
    email: u.email,
    avatar: avatarOf(store, u),
    uid: store.userUid(u),
    settings: {},
    type: u.type,
    system_permissions: [],
  };
}

const PROVIDER_META = {
  ldap: { component: 'ak-provider-ldap-form', verbose: 'LDAP Provider', plural: 'LDAP Providers', model: 'authentik_providers_ldap.ldapprovider' },
  radius: { component: 'ak-provider-radius-form', verbose: 'Radius Provider', plural: 'Radius Providers', model: 'authentik_providers_radius.radiusprovider' },
  proxy: { component: 'ak-provider-proxy-form', verbose: 'Proxy Provider', plural: 'Proxy Providers', model: 'authentik_providers_proxy.proxyprovider' },
} as const;

export function providerJson(store: Store, p: ProviderRec): Json {
  const app = store.applicationOfProvider(p.name);
  const flow = store.flows.get(store.flowSlugOfProvider(p));
  const meta = PROVIDER_META[p.type];
  const provider = {
    pk: p.pk,
    name: p.name,
    authentication_flow: null,
    authorization_flow: flow?.pk ?? null,
    property_mappings: [],
    component: meta.component,
    assigned_application_slug: app?.slug ?? null,
    assigned_application_name: app?.name ?? null,
    // Backchannel applications are not modelled; the official client requires the keys.
    assigned_backchannel_application_slug: '',
    assigned_backchannel_application_name: '',
    verbose_name: meta.verbose,
    verbose_name_plural: meta.plural,
    meta_model_name: meta.model,
  };
  if (store.mode === '2024.4') return provider;
  const invalidation = p.type === 'ldap' && p.unbind_flow !== null ? store.flows.get(p.unbind_flow) : undefined;
  const mappings = p.type === 'radius' ? [...new Set(p.property_mappings)].flatMap((n) => store.propertyMappings.get(n)?.pk ?? []) : [];
  return withFieldsAfter(
    { ...provider, property_mappings: mappings, assigned_backchannel_application_slug: null, assigned_backchannel_application_name: null },
    { authorization_flow: { invalidation_flow: invalidation?.pk ?? null } },
  );
}

export function outpostJson(store: Store, o: OutpostRec): Json {
  const providers = o.providers.flatMap((n) => {
    const p = store.providers.get(n);
    return p ? [p] : [];
  });
  return {
    pk: o.pk,
    name: o.name,
    type: o.type,
    providers: providers.map((p) => p.pk),
    providers_obj: providers.map((p) => providerJson(store, p)),
    service_connection: null,
    service_connection_obj: null,
    ...(store.mode !== '2024.4' ? { refresh_interval_s: o.refreshIntervalS } : {}),
    token_identifier: `ak-outpost-${o.pk}-api`,
    config: store.outpostConfig(o),
    managed: o.managed,
  };
}

export function ldapConfigJson(store: Store, p: Extract<ProviderRec, { type: 'ldap' }>, app: ApplicationRec): Json {
  const cert = p.certificate !== null ? store.certs.get(p.certificate) : undefined;
  const config = {
    pk: p.pk,
    name: p.name,
    base_dn: p.base_dn,
    bind_flow_slug: p.bind_flow,
    application_slug: app.slug,
    certificate: cert?.pk ?? null,
    tls_server_name: p.tls_server_name,
    uid_start_number: p.uid_start_number,
    gid_start_number: p.gid_start_number,
    search_mode: p.search_mode,
    bind_mode: p.bind_mode,
    mfa_support: p.mfa_support,
  };
  // 2024.8 dropped search_group (check_access's has_search_permission replaced it).
  if (store.mode !== '2024.4') return withFieldsAfter(config, { bind_flow_slug: { unbind_flow_slug: store.unbindFlowOf(p) } });
  const searchGroup = p.search_group !== null ? store.groupsByName.get(p.search_group) : undefined;
  return withFieldsAfter(config, { application_slug: { search_group: searchGroup?.pk ?? null } });
}

export function radiusConfigJson(store: Store, p: Extract<ProviderRec, { type: 'radius' }>, app: ApplicationRec): Json {
  const out: Json = {
    pk: p.pk,
    name: p.name,
    application_slug: app.slug,
    auth_flow_slug: p.auth_flow,
    client_networks: p.client_networks,
    shared_secret: p.shared_secret,
    mfa_support: p.mfa_support,
  };
  if (store.mode !== '2024.4') {
    const cert = p.certificate !== null ? store.certs.get(p.certificate) : undefined;
    out['certificate'] = cert?.pk ?? null;
  }
  return out;
}

/** authentik's `timedelta_from_string` ("hours=24;minutes=5") in seconds. */
export function timedeltaSeconds(value: string): number {
  const unit: Record<string, number> = { weeks: 604800, days: 86400, hours: 3600, minutes: 60, seconds: 1, milliseconds: 0.001, microseconds: 0.000001 };
  let total = 0;
  for (const part of value.split(';')) {
    const [k, v] = part.split('=').map((s) => s.trim());
    if (k && v && unit[k] !== undefined) total += Number(v) * unit[k];
  }
  return total;
}

/** The scope mappings set_oauth_defaults attaches to a proxy provider (2024.12 added entitlements). */
export function providerScopes(store: Store): string[] {
  return store.mode === '2024.4' ? ['openid', 'email', 'profile', 'ak_proxy'] : ['openid', 'email', 'profile', 'ak_proxy', 'entitlements'];
}

/** The JWS algorithm of a proxy provider's tokens: HS256 with the client secret, else by the signing key's type. */
export function signingAlgOf(store: Store, p: Extract<ProviderRec, { type: 'proxy' }>): 'HS256' | 'RS256' | 'ES256' {
  const cert = p.signing_key !== null ? store.certs.get(p.signing_key) : undefined;
  if (!cert) return 'HS256';
  return cert.keyType === 'rsa' ? 'RS256' : 'ES256';
}

/**
 * The provider's OpenID discovery document (ProviderInfoView), which the proxy outpost config
 * also carries as `oidc_configuration`. `base` is `http://<Host of the request>`, as authentik
 * builds its URLs from the request.
 */
export function oidcConfiguration(store: Store, p: Extract<ProviderRec, { type: 'proxy' }>, app: ApplicationRec, base: string): Json {
  const o = `${base}/application/o`;
  return {
    issuer: `${o}/${app.slug}/`,
    authorization_endpoint: `${o}/authorize/`,
    token_endpoint: `${o}/token/`,
    userinfo_endpoint: `${o}/userinfo/`,
    end_session_endpoint: `${o}/${app.slug}/end-session/`,
    introspection_endpoint: `${o}/introspect/`,
    revocation_endpoint: `${o}/revoke/`,
    device_authorization_endpoint: `${o}/device/`,
    jwks_uri: `${o}/${app.slug}/jwks/`,
    response_types_supported: ['code', 'id_token', 'id_token token', 'code token', 'code id_token', 'code id_token token'],
    id_token_signing_alg_values_supported: [signingAlgOf(store, p)],
    subject_types_supported: ['public'],
    token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
  };
}

export function proxyConfigJson(store: Store, p: Extract<ProviderRec, { type: 'proxy' }>, app: ApplicationRec, base: string): Json {
  const cert = p.certificate !== null ? store.certs.get(p.certificate) : undefined;
  return {
    pk: p.pk,
    name: p.name,
    internal_host: p.internal_host,
    external_host: p.external_host,
    internal_host_ssl_validation: p.internal_host_ssl_validation,
    client_id: p.client_id,
    client_secret: p.client_secret,
    oidc_configuration: oidcConfiguration(store, p, app, base),
    cookie_secret: p.cookie_secret,
    certificate: cert?.pk ?? null,
    skip_path_regex: p.skip_path_regex,
    basic_auth_enabled: p.basic_auth_enabled,
    basic_auth_password_attribute: p.basic_auth_password_attribute,
    basic_auth_user_attribute: p.basic_auth_user_attribute,
    mode: p.mode,
    cookie_domain: p.cookie_domain,
    access_token_validity: timedeltaSeconds(p.access_token_validity),
    intercept_header_auth: p.intercept_header_auth,
    scopes_to_request: providerScopes(store),
    assigned_application_slug: app.slug,
    assigned_application_name: app.name,
  };
}

export function certificateJson(store: Store, c: CertRec): Json {
  const base = `/api/v3/crypto/certificatekeypairs/${c.pk}`;
  // 2024.4's private_key_type (rsa | ecdsa) became key_type (rsa | ec | ...) in later releases.
  const keyType = store.mode === '2024.4' ? { private_key_type: c.kp.privateKeyType } : { key_type: c.kp.privateKeyType === 'ecdsa' ? 'ec' : 'rsa' };
  return {
    pk: c.pk,
    name: c.name,
    fingerprint_sha256: c.kp.fingerprintSha256,
    fingerprint_sha1: c.kp.fingerprintSha1,
    cert_expiry: c.kp.certExpiry,
    cert_subject: c.kp.certSubject,
    private_key_available: true,
    ...keyType,
    certificate_download_url: `${base}/view_certificate/?download`,
    private_key_download_url: `${base}/view_private_key/?download`,
    managed: c.managed,
  };
}

export function brandJson(store: Store): Json {
  const b = store.brand;
  const later = store.mode !== '2024.4';
  const brand = {
    matched_domain: b.domain,
    branding_title: b.branding_title,
    branding_logo: b.branding_logo,
    branding_favicon: b.branding_favicon,
    ui_footer_links: b.ui_footer_links,
    ui_theme: b.ui_theme,
  };
  const out: Json = later
    ? withFieldsAfter(brand, {
        // null: the logo and favicon have no per-theme variants.
        branding_logo: { branding_logo_themed_urls: null },
        branding_favicon: { branding_favicon_themed_urls: null, branding_custom_css: '', branding_map_tiles: '' },
      })
    : brand;
  // Unset flows are left out, as DRF does for a null `flow_x.slug` source.
  for (const key of ['flow_authentication', 'flow_invalidation', 'flow_recovery', 'flow_unenrollment', 'flow_user_settings', 'flow_device_code'] as const) {
    const v = b[key];
    if (v !== null) out[key] = v;
  }
  out['default_locale'] = b.default_locale;
  if (later) out['flags'] = { flows_continuous_login: false, flows_refresh_others: false };
  return out;
}

export function rootConfigJson(store: Store): Json {
  const c = store.seed.root_config;
  return {
    error_reporting: { ...c.error_reporting },
    capabilities: [...c.capabilities],
    cache_timeout: c.cache_timeout,
    cache_timeout_flows: c.cache_timeout_flows,
    cache_timeout_policies: c.cache_timeout_policies,
    // Gone after 2024.4 (the reputation cache went with Redis).
    ...(store.mode === '2024.4' ? { cache_timeout_reputation: c.cache_timeout_reputation } : {}),
  };
}

export { drfDate };
