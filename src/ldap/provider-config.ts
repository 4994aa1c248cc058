// The LDAP provider as `GET /api/v3/outposts/ldap/` lists it (LDAPOutpostConfig, 2024.4),
// validated at the boundary with authentik's defaults for missing optional fields.
import { z } from 'zod';

export const ldapAccessModeSchema = z.enum(['direct', 'cached']);
export type LdapAccessMode = z.infer<typeof ldapAccessModeSchema>;

export const ldapProviderSchema = z.object({
  pk: z.number().int(),
  name: z.string(),
  base_dn: z.string().default('DC=ldap,DC=goauthentik,DC=io'),
  bind_flow_slug: z.string(),
  application_slug: z.string(),
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
