/**
 * `ProxyOutpostConfig`, one entry of `GET /api/v3/outposts/proxy/` (paginated `results`). The
 * shape is the same from authentik 2024.4 to 2026.8 (spec proxy.md §4.1, authentik-now §1.2).
 *
 * Tolerant where authentik is loose: optional strings may be missing or null and become `''`,
 * lists default to `[]`, unknown fields are dropped. Strict where a wrong value would be unsafe:
 * `mode` must be one of the three modes. Whether `external_host` parses, and whether the secrets
 * are set, is checked per provider by `compileRoutes` (one bad provider must not take down the
 * others).
 */
import { z } from 'zod';

/** An optional string: missing or null becomes `''` (claims.ts uses it too). */
export const str = z
  .string()
  .nullish()
  .transform((v) => v ?? '');
const strList = z
  .array(z.string())
  .nullish()
  .transform((v) => v ?? []);

export const proxyModeSchema = z.enum(['proxy', 'forward_single', 'forward_domain']);
export type ProxyMode = z.infer<typeof proxyModeSchema>;

export const oidcConfigurationSchema = z.object({
  issuer: z.string(),
  authorization_endpoint: z.string(),
  token_endpoint: z.string(),
  userinfo_endpoint: str,
  end_session_endpoint: str,
  introspection_endpoint: str,
  jwks_uri: str,
  response_types_supported: strList,
  id_token_signing_alg_values_supported: strList,
  subject_types_supported: strList,
  token_endpoint_auth_methods_supported: strList,
});
export type OidcConfiguration = z.infer<typeof oidcConfigurationSchema>;

export const proxyProviderSchema = z.object({
  pk: z.number().int(),
  name: z.string(),
  internal_host: str,
  external_host: z.string(),
  internal_host_ssl_validation: z
    .boolean()
    .nullish()
    .transform((v) => v ?? true),
  client_id: str,
  client_secret: str,
  oidc_configuration: oidcConfigurationSchema,
  cookie_secret: str,
  /** Keypair UUID for TLS on :9443, or null. */
  certificate: z
    .string()
    .nullish()
    .transform((v) => v ?? null),
  skip_path_regex: str,
  basic_auth_enabled: z
    .boolean()
    .nullish()
    .transform((v) => v ?? false),
  basic_auth_password_attribute: str,
  basic_auth_user_attribute: str,
  mode: proxyModeSchema
    .nullish()
    .transform((v) => v ?? 'proxy'),
  cookie_domain: str,
  /** Seconds (authentik sends a float), or null for "no limit". */
  access_token_validity: z
    .number()
    .nullish()
    .transform((v) => v ?? null),
  intercept_header_auth: z
    .boolean()
    .nullish()
    .transform((v) => v ?? true),
  /** Unordered (a Python set on the server). */
  scopes_to_request: strList,
  assigned_application_slug: str,
  assigned_application_name: str,
});
export type ProxyProviderConfig = z.infer<typeof proxyProviderSchema>;
/** What the schema accepts (snake_case JSON as the API sends it). */
export type ProxyProviderInput = z.input<typeof proxyProviderSchema>;

/** The provider's external URL, or undefined when it is not an absolute http(s) URL. */
export function externalUrl(provider: Pick<ProxyProviderConfig, 'external_host'>): URL | undefined {
  const u = URL.parse(provider.external_host.trim());
  if (u === null || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.hostname === '') return undefined;
  if (u.username !== '' || u.password !== '') return undefined;
  return u;
}

/** `cookie_domain` lower-cased, one leading dot and any trailing dot removed; '' when unset. */
export function normalizedCookieDomain(provider: Pick<ProxyProviderConfig, 'cookie_domain'>): string {
  let d = provider.cookie_domain.trim().toLowerCase();
  if (d.startsWith('.')) d = d.slice(1);
  if (d.endsWith('.')) d = d.slice(0, -1);
  return d;
}

/** `host === domain` or `host` ends with `.domain` (a dot boundary: never `badexample.com`). */
export function hostUnderDomain(hostname: string, domain: string): boolean {
  if (domain === '') return false;
  const h = hostname.toLowerCase();
  return h === domain || (h.length > domain.length && h.endsWith(domain) && h[h.length - domain.length - 1] === '.');
}
