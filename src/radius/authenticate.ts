// PAP through authentik: the provider's flow with the NAS as the client address, then the
// access check, which from authentik 2024.8 on also answers the reply attributes the provider's
// property mappings made. Other methods get a clear Access-Reject.
import type { ApiGeneration } from '../agent/generation.ts';
import { authentikReason, coreFailure, createFlowExecutor, RADIUS_PARAMS, splitSecrets, type FlowDeps, type FlowExecutor } from '../flow/index.ts';
import { mappedReplyAttributes, type MappedAttributesFailure } from './mapped-attributes.ts';
import { AttributeType, decodeUserPassword, detectAuthMethods, getString, type RadiusPacket, type RawAttribute, type Secret } from './protocol/index.ts';
import type { RadiusProviderConfig } from './provider-config.ts';

/**
 * authentik's `reason` labels (the attribute ones since 2024.8), plus `unsupported_method`
 * (CHAP, MS-CHAP, EAP), `attributes_too_large` and `attributes_missing`.
 */
export type RejectReason = 'flow_error' | 'invalid_credentials' | 'access_check_fail' | 'access_denied' | 'unsupported_method' | 'attributes_missing' | MappedAttributesFailure;

export type AuthDecision =
  /** `attributes`: the mappings' reply attributes, in order; `ignored`: the types left out of them. */
  | { readonly kind: 'accept'; readonly username: string; readonly attributes: readonly RawAttribute[]; readonly ignored: readonly number[] }
  | { readonly kind: 'reject'; readonly username: string; readonly reason: RejectReason; readonly replyMessage?: string; readonly error?: string }
  /**
   * No answer: the core failed (down, slow, 5xx, an answer we cannot read; see `coreFailure`) or
   * the deadline passed. The NAS retries or fails over; the user is never rejected for it.
   */
  | { readonly kind: 'drop'; readonly username: string; readonly reason: 'core_unavailable' | 'deadline'; readonly error: string };

export interface AuthRequest {
  readonly packet: RadiusPacket;
  readonly secret: Secret;
  readonly provider: RadiusProviderConfig;
  /** The core's API generation: which access check to call, and whether it answers attributes. */
  readonly generation: ApiGeneration;
  /** The NAS's address, delegated to authentik as the client IP (as authentik does). */
  readonly nasAddress: string;
  readonly signal: AbortSignal;
}

const PAP_ONLY = 'Only PAP is supported by this server (no CHAP, MS-CHAP or EAP)';

interface Access {
  readonly passing: boolean;
  /** Base64 RADIUS packet (2024.8+); undefined when the core sent none. */
  readonly attributes: string | undefined;
}

/**
 * The access check as the core's generation has it: 2024.4 asks the application; 2024.8 moved
 * the check to the provider's outpost endpoint, which adds the mappings' attributes (computed
 * only when access passes). Throws `CoreError`; the deadline's signal aborts it.
 */
async function checkAccess(executor: FlowExecutor, req: AuthRequest): Promise<Access> {
  const { provider, signal } = req;
  if (req.generation === '2024.4') {
    const access = await executor.checkAccess(provider.application_slug, signal);
    return { passing: access.passing, attributes: undefined };
  }
  const res = await executor.checkRadiusAccess(provider.pk, provider.application_slug, signal);
  return { passing: res.access.passing, attributes: res.attributes };
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
    // Our deadline aborted the attempt, or the flow ran out of time: the NAS retransmits.
    if (outcome.reason === 'aborted' || outcome.reason === 'timeout') return { kind: 'drop', username, reason: 'deadline', error: outcome.message };
    if (coreFailure(outcome)) return { kind: 'drop', username, reason: 'core_unavailable', error: outcome.message };
    return { kind: 'reject', username, reason: 'flow_error', error: outcome.message };
  }
  if (outcome.kind === 'denied') return { kind: 'reject', username, reason: authentikReason(outcome), error: outcome.message };

  let access: Access;
  try {
    access = await checkAccess(executor, req);
  } catch (err) {
    if (req.signal.aborted) return { kind: 'drop', username, reason: 'deadline', error: 'the deadline passed during the application access check' };
    // A 403/404 as the user is an answer (access_check_fail), not the core failing.
    if (coreFailure(err, 'user')) return { kind: 'drop', username, reason: 'core_unavailable', error: (err as Error).message };
    return { kind: 'reject', username, reason: 'access_check_fail', error: (err as Error).message };
  }
  if (!access.passing) return { kind: 'reject', username, reason: 'access_denied', error: 'access denied by the application\'s policies' };
  if (access.attributes === undefined) {
    if (req.generation === '2024.4') return { kind: 'accept', username, attributes: [], ignored: [] };
    // authentik 2024.8+ answers a packet whenever access passes (an empty one without mappings);
    // none means a property mapping failed on the server: its attributes are missing.
    return { kind: 'reject', username, reason: 'attributes_missing', error: 'authentik answered no reply attributes: a property mapping of this provider failed (see authentik\'s events)' };
  }
  // Fail closed: an Accept without the attributes the administrator configured (a VLAN, a
  // privilege level) could put the user somewhere they should not be.
  const mapped = mappedReplyAttributes(access.attributes, packet);
  if (!mapped.ok) return { kind: 'reject', username, reason: mapped.reason, error: mapped.detail };
  return { kind: 'accept', username, attributes: mapped.attributes, ignored: mapped.ignored };
}
