// PAP through authentik: the provider's flow with the NAS as the client address, then the
// application's access check. Other methods get a clear Access-Reject.
import { CoreError } from '../agent/errors.ts';
import { authentikReason, createFlowExecutor, RADIUS_PARAMS, splitSecrets, type FlowDeps } from '../flow/index.ts';
import { AttributeType, decodeUserPassword, detectAuthMethods, getString, type RadiusPacket, type Secret } from './protocol/index.ts';
import type { RadiusProviderConfig } from './provider-config.ts';

/** authentik's `reason` labels, plus `unsupported_method` (CHAP, MS-CHAP, EAP). */
export type RejectReason = 'flow_error' | 'invalid_credentials' | 'access_check_fail' | 'access_denied' | 'unsupported_method';

export type AuthDecision =
  | { readonly kind: 'accept'; readonly username: string }
  | { readonly kind: 'reject'; readonly username: string; readonly reason: RejectReason; readonly replyMessage?: string; readonly error?: string }
  /** No answer: the core is down or the deadline passed. The NAS retries or fails over. */
  | { readonly kind: 'drop'; readonly username: string; readonly reason: 'core_unavailable' | 'deadline'; readonly error: string };

export interface AuthRequest {
  readonly packet: RadiusPacket;
  readonly secret: Secret;
  readonly provider: RadiusProviderConfig;
  /** The NAS's address, delegated to authentik as the client IP (as authentik does). */
  readonly nasAddress: string;
  readonly signal: AbortSignal;
}

const PAP_ONLY = 'Only PAP is supported by this server (no CHAP, MS-CHAP or EAP)';

function unavailable(status: number | undefined): boolean {
  return status !== undefined && status >= 500;
}

/** `p`, or a rejection as soon as `signal` aborts (`p` itself is left to settle on its own). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export async function authenticate(deps: FlowDeps, req: AuthRequest): Promise<AuthDecision> {
  const { packet, provider } = req;
  const name = getString(packet.attributes, AttributeType.userName);
  const username = name.ok ? name.value : '';
  const methods = detectAuthMethods(packet.attributes);
  if (!methods.pap) {
    const which = methods.eap ? 'eap' : methods.msChapV2 || methods.msChap ? 'ms-chap' : methods.chap ? 'chap' : 'none';
    return { kind: 'reject', username, reason: 'unsupported_method', replyMessage: PAP_ONLY, error: `authentication method ${which} is not supported` };
  }
  const pw = decodeUserPassword(packet, req.secret);
  if (username === '' || !pw.ok) {
    return { kind: 'reject', username, reason: 'flow_error', error: username === '' ? 'no User-Name' : 'User-Password is malformed' };
  }

  const executor = createFlowExecutor(deps, { clientIp: req.nasAddress, logFields: { username, client: req.nasAddress } });
  const outcome = await executor.run({
    flowSlug: provider.auth_flow_slug,
    params: RADIUS_PARAMS,
    answers: { username, ...splitSecrets(pw.password, provider.mfa_support) },
    signal: req.signal,
  });
  if (outcome.kind === 'error') {
    if (outcome.reason === 'aborted' || outcome.reason === 'timeout') return { kind: 'drop', username, reason: 'deadline', error: outcome.message };
    if (outcome.reason === 'unreachable' || (outcome.reason === 'http_status' && unavailable(outcome.status))) {
      return { kind: 'drop', username, reason: 'core_unavailable', error: outcome.message };
    }
    return { kind: 'reject', username, reason: 'flow_error', error: outcome.message };
  }
  if (outcome.kind === 'denied') return { kind: 'reject', username, reason: authentikReason(outcome), error: outcome.message };

  try {
    // The deadline covers the access check too (the executor bounds it only per HTTP call).
    const access = await untilAborted(executor.checkAccess(provider.application_slug), req.signal);
    if (!access.passing) return { kind: 'reject', username, reason: 'access_denied', error: 'access denied by the application\'s policies' };
  } catch (err) {
    if (req.signal.aborted) return { kind: 'drop', username, reason: 'deadline', error: 'the deadline passed during the application access check' };
    if (err instanceof CoreError && (err.kind === 'transport' || err.kind === 'timeout' || unavailable(err.status))) {
      return { kind: 'drop', username, reason: 'core_unavailable', error: err.message };
    }
    return { kind: 'reject', username, reason: 'access_check_fail', error: (err as Error).message };
  }
  return { kind: 'accept', username };
}
