// Shapes of what the agent reads from the core, validated at the boundary. Only the fields the
// outpost uses are kept; unknown fields are dropped so a newer authentik does not break us.
import { z } from 'zod';

export const paginationSchema = <S extends z.ZodType>(item: S) =>
  z.object({
    pagination: z.object({
      next: z.number().default(0),
      count: z.number().default(0),
      current: z.number().default(1),
      total_pages: z.number().default(1),
    }),
    results: z.array(item),
  });

export const outpostTypeSchema = z.enum(['proxy', 'ldap', 'radius', 'rac']);
export type OutpostType = z.infer<typeof outpostTypeSchema>;

export const outpostSchema = z.object({
  pk: z.uuid(),
  name: z.string(),
  type: outpostTypeSchema,
  managed: z.string().nullable().default(null),
  /** authentik 2024.8+; its presence marks the newer API (see generation.ts). */
  refresh_interval_s: z.number().int().optional(),
  // authentik stores `config` as free JSON; only `log_level` matters to the outpost itself.
  config: z
    .object({ log_level: z.unknown().optional() })
    .loose()
    .default({}),
});
export type Outpost = z.infer<typeof outpostSchema>;

export const rootConfigSchema = z.object({
  error_reporting: z
    .object({
      enabled: z.boolean().default(false),
      environment: z.string().default(''),
      traces_sample_rate: z.number().default(0),
    })
    .default({ enabled: false, environment: '', traces_sample_rate: 0 }),
  cache_timeout_flows: z.number().default(300),
});
export type RootConfig = z.infer<typeof rootConfigSchema>;

export const certificateKeyPairSchema = z.object({
  pk: z.string(),
  name: z.string(),
  fingerprint_sha256: z.string().nullable().default(null),
  private_key_available: z.boolean().default(false),
});
export type CertificateKeyPair = z.infer<typeof certificateKeyPairSchema>;

export const certificateDataSchema = z.object({ data: z.string() });
