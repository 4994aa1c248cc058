// A bind through authentik: the provider's bind flow (with `password;code` MFA), then the
// application access check, then `users/me` for the search permission.
import { CoreError } from '../../agent/errors.ts';
import { authentikReason, createFlowExecutor, LDAP_PARAMS, splitSecrets, type FlowDeps } from '../../flow/index.ts';
import { ResultCode } from '../protocol/index.ts';
import type { LdapProviderConfig } from '../provider-config.ts';
import type { BoundIdentity } from './identity.ts';

/** authentik's `reason` labels for rejected binds (metrics and logs). */
export type BindRejectReason = 'no_provider' | 'flow_error' | 'invalid_credentials' | 'access_denied' | 'access_check_fail' | 'user_info_fail';

export type BindResult =
  | { readonly ok: true; readonly identity: BoundIdentity }
  | { readonly ok: false; readonly code: number; readonly reason: BindRejectReason; readonly message: string };

export interface BindAttempt {
  readonly username: string;
  readonly password: string;
  readonly clientIp: string;
  readonly signal?: AbortSignal;
}

const UNAVAILABLE = 'authentik cannot be reached; try again later';

/** A core that is down or slow: LDAP `unavailable` (52), never a pass and never a "wrong password". */
function coreDown(err: CoreError): boolean {
  return err.kind === 'transport' || err.kind === 'timeout' || (err.kind === 'status' && (err.status ?? 0) >= 500);
}

export async function bindThroughFlow(deps: FlowDeps, provider: LdapProviderConfig, attempt: BindAttempt): Promise<BindResult> {
  // LDAP does not mirror the password as an MFA code when MFA support is off: a flow with an
  // authenticator stage then needs `password;code`, which is what mfa_support is for.
  const secrets = splitSecrets(attempt.password, provider.mfa_support, { mirrorPasswordAsCode: false });
  const executor = createFlowExecutor(deps, { clientIp: attempt.clientIp, logFields: { username: attempt.username, provider: provider.name } });
  const outcome = await executor.run({
    flowSlug: provider.bind_flow_slug,
    params: LDAP_PARAMS,
    answers: { username: attempt.username, ...secrets },
    ...(attempt.signal ? { signal: attempt.signal } : {}),
  });
  if (outcome.kind === 'error' && (outcome.reason === 'timeout' || outcome.reason === 'unreachable' || (outcome.reason === 'http_status' && (outcome.status ?? 0) >= 500))) {
    return { ok: false, code: ResultCode.unavailable, reason: 'flow_error', message: UNAVAILABLE };
  }
  if (outcome.kind !== 'passed') {
    return { ok: false, code: ResultCode.invalidCredentials, reason: authentikReason(outcome), message: '' };
  }

  let access;
  try {
    access = await executor.checkAccess(provider.application_slug);
  } catch (err) {
    if (err instanceof CoreError && coreDown(err)) return { ok: false, code: ResultCode.unavailable, reason: 'access_check_fail', message: UNAVAILABLE };
    return { ok: false, code: ResultCode.operationsError, reason: 'access_check_fail', message: 'access check failed' };
  }
  if (!access.passing) {
    return { ok: false, code: ResultCode.insufficientAccessRights, reason: 'access_denied', message: 'access denied by the application\'s policies' };
  }

  let user;
  try {
    user = await executor.userInfo();
  } catch (err) {
    if (err instanceof CoreError && coreDown(err)) return { ok: false, code: ResultCode.unavailable, reason: 'user_info_fail', message: UNAVAILABLE };
    return { ok: false, code: ResultCode.operationsError, reason: 'user_info_fail', message: 'failed to get user info' };
  }
  // authentik 2024.4: only the direct groups count, and no search group means nobody may
  // search the whole directory (the field's help text says the opposite; clients rely on
  // the actual behaviour).
  const canSearch = provider.search_group !== null && user.groups.some((g) => g.pk === provider.search_group);
  return { ok: true, identity: { userPk: user.pk, username: user.username, canSearch, coreSession: executor.session() } };
}
