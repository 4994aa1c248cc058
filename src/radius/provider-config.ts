// The RADIUS provider as `GET /api/v3/outposts/radius/` lists it (RadiusOutpostConfig, 2024.4;
// `certificate` since 2025.10).
import { z } from 'zod';

export const radiusProviderSchema = z.object({
  pk: z.number().int(),
  name: z.string(),
  application_slug: z.string(),
  auth_flow_slug: z.string(),
  client_networks: z.string().default('0.0.0.0/0, ::/0'),
  shared_secret: z.string(),
  mfa_support: z.boolean().default(true),
  /** The keypair's pk, for EAP-TLS (authentik 2025.10+); kept, not used yet. */
  certificate: z.string().nullable().optional(),
});
export type RadiusProviderConfig = z.infer<typeof radiusProviderSchema>;
