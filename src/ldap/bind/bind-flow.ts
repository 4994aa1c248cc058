// A bind through authentik: the provider's bind flow (with `password;code` MFA), then the access
// check of the core's API generation, then `users/me` for the user's pk and name.
//   2024.4:  the application's check_access; search rights from the provider's search group.
//   2024.8+: the outpost's `ldap/<pk>/check_access/`, which answers both whether the user may
//            bind and whether they hold `search_full_directory` (on the provider or globally).
import type { ApiGeneration } from '../../agent/generation.ts';
import { authentikReason, coreFailure, createFlowExecutor, LDAP_PARAMS, splitSecrets, type FlowDeps, type FlowExecutor, type UserSelf } from '../../flow/index.ts';
import { ResultCode } from '../protocol/index.ts';
import type { LdapProviderConfig } from '../provider-config.ts';
import type { BoundIdentity } from './identity.ts';

/** authentik's `reason` labels for rejected binds (metrics and logs). */
export type BindRejectReason = 'no_provider' | 'flow_error' | 'invalid_credentials' | 'access_denied' | 'access_check_fail' | 'user_info_fail';

/**
 * The client closed its connection or abandoned the bind before the core answered. Not a failed
 * login: nothing is answered (the connection is gone or the operation abandoned) and nothing
 * should count as rejected.
 */
export const CLIENT_GONE = 'client_gone';

export type BindResult =
  | { readonly ok: true; readonly identity: BoundIdentity }
  | { readonly ok: false; readonly code: number; readonly reason: BindRejectReason | typeof CLIENT_GONE; readonly message: string };

export interface BindAttempt {
  readonly username: string;
  readonly password: string;
  readonly clientIp: string;
  /** The API the provider's core speaks (as of the outpost's last refresh). */
  readonly generation: ApiGeneration;
  /** The request's signal: an abandoned bind or a closed connection stops every core call. */
  readonly signal?: AbortSignal;
}

// Also for an answer we cannot read: to the client, the core is as good as unreachable.
const UNAVAILABLE = 'authentik is unavailable; try again later';

const GONE: BindResult = { ok: false, code: ResultCode.other, reason: CLIENT_GONE, message: 'the client went away before the bind finished' };

/**
 * A failed access check or `users/me`: the client gone; unavailable (52) when the core failed
 * (see `coreFailure`: down, slow, 5xx, an answer we cannot read); else operationsError (1),
 * as authentik does (a 403 as the user, say, is the core refusing this user's session).
 */
function callFailed(err: unknown, signal: AbortSignal | undefined, reason: 'access_check_fail' | 'user_info_fail', message: string): BindResult {
  if (signal?.aborted) return GONE;
  if (coreFailure(err, 'user')) return { ok: false, code: ResultCode.unavailable, reason, message: UNAVAILABLE };
  return { ok: false, code: ResultCode.operationsError, reason, message };
}

export async function bindThroughFlow(deps: FlowDeps, provider: LdapProviderConfig, attempt: BindAttempt): Promise<BindResult> {
  const { signal } = attempt;
  // LDAP does not mirror the password as an MFA code when MFA support is off: a flow with an
  // authenticator stage then needs `password;code`, which is what mfa_support is for.
  const secrets = splitSecrets(attempt.password, provider.mfa_support, { mirrorPasswordAsCode: false });
  const executor = createFlowExecutor(deps, { clientIp: attempt.clientIp, logFields: { username: attempt.username, provider: provider.name } });
  const outcome = await executor.run({
    flowSlug: provider.bind_flow_slug,
    params: LDAP_PARAMS,
    answers: { username: attempt.username, ...secrets },
    ...(signal ? { signal } : {}),
  });
  if (outcome.kind === 'error' && outcome.reason === 'aborted') return GONE;
  // The core failed, whatever the password: never 49 for that.
  if (coreFailure(outcome)) return { ok: false, code: ResultCode.unavailable, reason: 'flow_error', message: UNAVAILABLE };
  if (outcome.kind !== 'passed') {
    return { ok: false, code: ResultCode.invalidCredentials, reason: authentikReason(outcome), message: '' };
  }

  let access: Access;
  try {
    access = await checkAccess(executor, provider, attempt.generation, signal);
  } catch (err) {
    return callFailed(err, signal, 'access_check_fail', 'access check failed');
  }
  if (!access.passing) {
    return { ok: false, code: ResultCode.insufficientAccessRights, reason: 'access_denied', message: 'access denied by the application\'s policies' };
  }

  let user: UserSelf;
  try {
    user = await executor.userInfo(signal);
  } catch (err) {
    return callFailed(err, signal, 'user_info_fail', 'failed to get user info');
  }
  const canSearch = access.hasSearchPermission ?? inSearchGroup(provider, user);
  return { ok: true, identity: { userPk: user.pk, username: user.username, canSearch, coreSession: executor.session(), sessionId: executor.sessionId() } };
}

interface Access {
  readonly passing: boolean;
  /** authentik 2024.8+ only; 2024.4 answers it with the search group. */
  readonly hasSearchPermission: boolean | undefined;
}

async function checkAccess(executor: FlowExecutor, provider: LdapProviderConfig, generation: ApiGeneration, signal: AbortSignal | undefined): Promise<Access> {
  if (generation === '2024.4') {
    const access = await executor.checkAccess(provider.application_slug, signal);
    return { passing: access.passing, hasSearchPermission: undefined };
  }
  const ldap = await executor.checkLdapAccess(provider.pk, provider.application_slug, signal);
  return { passing: ldap.access.passing, hasSearchPermission: ldap.hasSearchPermission };
}

/**
 * authentik 2024.4: only the direct groups count, and no search group means nobody may search
 * the whole directory (the field's help text says the opposite; clients rely on the actual
 * behaviour).
 */
function inSearchGroup(provider: LdapProviderConfig, user: UserSelf): boolean {
  return provider.search_group !== null && user.groups.some((g) => g.pk === provider.search_group);
}
