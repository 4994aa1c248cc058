/**
 * The claims the proxy keeps from a verified token (spec proxy.md §4.5.4; authentik-now §1.4).
 * Verification (signature, iss, aud, exp) is the caller's; this only shapes the payload.
 *
 * Tolerant: every field but `sub` and `exp` may be missing or null (strings become '', lists
 * []). Unknown claims are dropped. `ak_proxy` stays undefined when absent, because Basic
 * injection and `additionalHeaders` only apply when it is present (§6.2); inside it,
 * `user_attributes` defaults to {}.
 */
import { z } from 'zod';
import { str } from './provider.ts';

/** A list of strings; non-string items are dropped rather than failing the login. */
const strList = z
  .array(z.unknown())
  .nullish()
  .transform((v) => (v ?? []).filter((x): x is string => typeof x === 'string'));

export const akProxyClaimsSchema = z.object({
  user_attributes: z
    .record(z.string(), z.unknown())
    .nullish()
    .transform((v) => v ?? {}),
  is_superuser: z
    .boolean()
    .nullish()
    .transform((v) => v ?? false),
  /** A URL replacing the upstream scheme and host for this user (admin-defined mapping). */
  backend_override: z.string().nullish().transform((v) => (v === null || v === '' ? undefined : v)),
  /** 2025.6.1+: the Host header to send upstream. */
  host_header: z.string().nullish().transform((v) => (v === null || v === '' ? undefined : v)),
});
export type AkProxyClaims = z.infer<typeof akProxyClaimsSchema>;

export const claimsSchema = z.object({
  sub: z.string().min(1),
  exp: z.number(),
  iat: z.number().optional(),
  email: str,
  email_verified: z
    .boolean()
    .nullish()
    .transform((v) => v ?? false),
  name: str,
  preferred_username: str,
  groups: strList,
  /** 2024.12+. */
  entitlements: strList,
  /** SHA-256 hex of the authentik session key; matched by back-channel logout. */
  sid: str,
  ak_proxy: akProxyClaimsSchema.nullish().transform((v) => v ?? undefined),
});
export type ProxyClaims = z.infer<typeof claimsSchema>;

export type ClaimsResult = { readonly ok: true; readonly claims: ProxyClaims } | { readonly ok: false; readonly error: string };

/** Shape a verified token payload or introspection response. Never throws. */
export function parseClaims(payload: unknown): ClaimsResult {
  const r = claimsSchema.safeParse(payload);
  if (r.success) return { ok: true, claims: r.data };
  const first = r.error.issues[0];
  const where = first && first.path.length > 0 ? first.path.join('.') : '(claims)';
  return { ok: false, error: first ? `${where}: ${first.message}` : r.error.message };
}
