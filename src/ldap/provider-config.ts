// The LDAP provider as `GET /api/v3/outposts/ldap/` lists it (LDAPOutpostConfig), validated at
// the boundary with authentik's defaults for missing optional fields. One schema serves both API
// generations: the fields one of them lacks are optional.
import { z } from 'zod';

export const ldapAccessModeSchema = z.enum(['direct', 'cached']);
export type LdapAccessMode = z.infer<typeof ldapAccessModeSchema>;

export const ldapProviderSchema = z.object({
  pk: z.number().int(),
  name: z.string(),
  base_dn: z.string().default('DC=ldap,DC=goauthentik,DC=io'),
  bind_flow_slug: z.string(),
  /**
   * authentik 2024.10+: the provider's invalidation flow, which the server already falls back
   * to the brand's; null when neither is set. Absent before 2024.10 (the brand's flow is used).
   */
  unbind_flow_slug: z.string().nullable().default(null),
  application_slug: z.string(),
  /** authentik 2024.4 only (2024.8 replaced it with the `search_full_directory` permission). */
  search_group: z.string().nullable().default(null),
  certificate: z.string().nullable().default(null),
  tls_server_name: z.string().default(''),
  uid_start_number: z.number().int().default(2000),
  gid_start_number: z.number().int().default(4000),
  search_mode: ldapAccessModeSchema.default('direct'),
  bind_mode: ldapAccessModeSchema.default('direct'),
  mfa_support: z.boolean().default(true),
});
export type LdapProviderConfig = z.infer<typeof ldapProviderSchema>;
