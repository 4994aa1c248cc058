// RBAC permissions of the fake core, as authentik 2024.8+ checks them for the LDAP outpost's
// `check_access`: global grants (`app_label.codename`, Django's `user.has_perm(perm)`) and
// object grants on one provider (guardian's `user.has_perm(codename, provider)`). A group's
// grants reach the members of the group and of its descendants, as authentik's roles do (a
// role assigned to a group goes to `group.children_recursive()`'s users): the user's all-groups.
import { z } from 'zod';

/** The Django app that owns each provider model (the app label of its object permissions). */
const PROVIDER_APP_LABEL = {
  ldap: 'authentik_providers_ldap',
  radius: 'authentik_providers_radius',
  proxy: 'authentik_providers_proxy',
} as const;
export type ProviderType = keyof typeof PROVIDER_APP_LABEL;

/** What the LDAP outpost's search rights hang on since authentik 2024.8. */
export const SEARCH_FULL_DIRECTORY = 'authentik_providers_ldap.search_full_directory';

const GLOBAL_PERMISSION = /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/;
const OBJECT_PERMISSION = /^(?:([a-z][a-z0-9_]*)\.)?([a-z][a-z0-9_]*)$/;

/** A seed entry: a global permission, or one on a provider (by name). */
export const permissionEntrySchema = z.union([z.string(), z.strictObject({ permission: z.string(), provider: z.string() })], {
  error: () => 'must be "app_label.codename" or {permission, provider}',
});
export type PermissionEntry = z.output<typeof permissionEntrySchema>;

export class PermissionFormatError extends Error {
  override readonly name = 'PermissionFormatError';
}

/** The key a global grant is stored under: the permission itself (`app_label.codename`). */
export function globalKey(permission: string): string {
  if (!GLOBAL_PERMISSION.test(permission)) {
    throw new PermissionFormatError(`a global permission is "app_label.codename" (e.g. ${SEARCH_FULL_DIRECTORY}), got "${permission}"`);
  }
  return permission;
}

/**
 * The key an object grant is stored under: `app_label.codename@<provider pk>`. The codename may
 * come with or without its app label (guardian accepts both); a label that is not the provider
 * model's app is an error, as guardian's WrongAppError.
 */
export function objectKey(permission: string, provider: { type: ProviderType; pk: number; name: string }): string {
  const m = OBJECT_PERMISSION.exec(permission);
  if (!m) throw new PermissionFormatError(`a permission on a provider is "codename" or "app_label.codename", got "${permission}"`);
  const app = PROVIDER_APP_LABEL[provider.type];
  if (m[1] !== undefined && m[1] !== app) {
    throw new PermissionFormatError(`permission "${permission}" is not of ${app}, the app of ${provider.type} provider "${provider.name}"`);
  }
  return `${app}.${m[2] as string}@${provider.pk}`;
}
