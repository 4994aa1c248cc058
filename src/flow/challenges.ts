// Shapes of the flow challenges the executor reads and of the responses it sends (authentik
// 2024.4 API). Challenges are parsed leniently: unknown fields are kept (so selected device
// challenges are echoed back exactly) and only what the executor uses is checked.
import { z } from 'zod';

export const STAGE = {
  identification: 'ak-stage-identification',
  password: 'ak-stage-password',
  authenticatorValidate: 'ak-stage-authenticator-validate',
  userLogin: 'ak-stage-user-login',
  accessDenied: 'ak-stage-access-denied',
  flowError: 'ak-stage-flow-error',
  redirect: 'xak-flow-redirect',
} as const;

export const errorDetailSchema = z.object({ string: z.string(), code: z.string().default('') }).loose();
export type ErrorDetail = z.infer<typeof errorDetailSchema>;

/** The fields every challenge may carry. */
export const challengeSchema = z
  .object({
    /** `native`, `shell` or `redirect` in 2024.4; dropped by later versions. */
    type: z.string().nullish(),
    component: z.string().default(''),
    response_errors: z.record(z.string(), z.array(errorDetailSchema)).nullish(),
    pending_user: z.string().nullish(),
    error_message: z.string().nullish(),
    to: z.string().nullish(),
  })
  .loose()
  .refine((c) => c.component !== '' || c.type === 'redirect', { message: 'challenge has no component' });
export type Challenge = z.infer<typeof challengeSchema>;

/** `device_uid` is a string in the API; a number is tolerated and echoed back unchanged. */
export const deviceChallengeSchema = z
  .object({
    device_class: z.string(),
    device_uid: z.union([z.string(), z.number()]),
    challenge: z.record(z.string(), z.unknown()).default({}),
  })
  .loose();
export type DeviceChallenge = z.infer<typeof deviceChallengeSchema>;

export const authenticatorValidateChallengeSchema = z
  .object({
    component: z.literal(STAGE.authenticatorValidate),
    device_challenges: z.array(deviceChallengeSchema),
  })
  .loose();
export type AuthenticatorValidateChallenge = z.infer<typeof authenticatorValidateChallengeSchema>;

/**
 * True when the challenge ends the flow successfully: the redirect component, or a 2024.4
 * `type: redirect` without a component. A challenge that says redirect in `type` but names
 * another stage in `component` (access denied, a password stage) is taken by its component, as
 * later authentik does: no success unless the core plainly said the flow completed.
 */
export function isRedirect(c: Challenge): boolean {
  return c.component === STAGE.redirect || (c.component === '' && c.type === 'redirect');
}

/** The first `response_errors` entry, if any, in the order the core sent them. */
export function firstResponseError(c: Challenge): { field: string; message: string } | undefined {
  for (const [field, errs] of Object.entries(c.response_errors ?? {})) {
    const first = errs[0];
    if (first) return { field, message: first.string };
  }
  return undefined;
}

// ---- Responses (POST bodies) ----

export const identificationResponseSchema = z.object({
  component: z.literal(STAGE.identification),
  uid_field: z.string(),
  /** Always present, even when empty. */
  password: z.string(),
});

export const passwordResponseSchema = z.object({
  component: z.literal(STAGE.password),
  password: z.string(),
});

export const selectedChallengeSchema = z.object({
  device_class: z.string(),
  device_uid: z.union([z.string(), z.number()]),
  challenge: z.record(z.string(), z.unknown()),
});

export const authenticatorValidateResponseSchema = z.object({
  component: z.literal(STAGE.authenticatorValidate),
  selected_challenge: selectedChallengeSchema,
  code: z.string().optional(),
  duo: z.number().int().optional(),
});

export const userLoginResponseSchema = z.object({
  component: z.literal(STAGE.userLogin),
  remember_me: z.boolean(),
});

/** Every body the executor can POST. */
export const challengeResponseSchema = z.discriminatedUnion('component', [
  identificationResponseSchema,
  passwordResponseSchema,
  authenticatorValidateResponseSchema,
  userLoginResponseSchema,
]);
export type ChallengeResponse = z.infer<typeof challengeResponseSchema>;
export type IdentificationResponse = z.infer<typeof identificationResponseSchema>;
export type PasswordResponse = z.infer<typeof passwordResponseSchema>;
export type AuthenticatorValidateResponse = z.infer<typeof authenticatorValidateResponseSchema>;
export type UserLoginResponse = z.infer<typeof userLoginResponseSchema>;

// ---- Session-authenticated endpoints ----

export const accessCheckSchema = z
  .object({
    passing: z.boolean(),
    messages: z.array(z.string()).default([]),
  })
  .loose();
export type AccessCheck = { passing: boolean; messages: string[] };

/**
 * authentik 2024.8+: `GET /api/v3/outposts/ldap/<pk>/check_access/?app_slug=` as the flow's
 * user (`LDAPCheckAccess`): the application's policies, and the RBAC search permission.
 */
export const ldapCheckAccessSchema = z
  .object({
    has_search_permission: z.boolean().optional(),
    access: accessCheckSchema,
  })
  .loose();

/**
 * authentik 2024.8+: `GET /api/v3/outposts/radius/<pk>/check_access/?app_slug=`
 * (`RadiusCheckAccess`): the policies, and the reply attributes the provider's property mappings
 * made, as a base64 RADIUS packet (untrusted: the listener decodes it with its codec).
 */
export const radiusCheckAccessSchema = z
  .object({
    attributes: z.string().nullable().optional(),
    access: accessCheckSchema,
  })
  .loose();

export interface LdapAccess {
  access: AccessCheck;
  /** `search_full_directory` on the provider or globally (superusers have every permission). */
  hasSearchPermission: boolean;
}

export interface RadiusAccess {
  access: AccessCheck;
  /** Base64 RADIUS packet of reply attributes; absent when the mappings made none. */
  attributes: string | undefined;
}

export const userSelfSchema = z
  .object({
    pk: z.number().int(),
    username: z.string(),
    name: z.string().default(''),
    email: z.string().default(''),
    is_active: z.boolean(),
    is_superuser: z.boolean().default(false),
    groups: z.array(z.object({ pk: z.string(), name: z.string() }).loose()).default([]),
    uid: z.string().default(''),
    attributes: z.record(z.string(), z.unknown()).default({}),
  })
  .loose();

export const userSelfEnvelopeSchema = z.object({ user: userSelfSchema }).loose();

/** The `UserSelf` fields the LDAP listener needs. */
export interface UserSelf {
  pk: number;
  username: string;
  name: string;
  email: string;
  is_active: boolean;
  is_superuser: boolean;
  groups: { pk: string; name: string }[];
  uid: string;
  attributes: Record<string, unknown>;
}
