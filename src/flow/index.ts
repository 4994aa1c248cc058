// Public API of the flow executor.
export {
  createFlowExecutor,
  endSession,
  flowUrl,
  FlowExecutor,
  warmUp,
  DEFAULT_ATTEMPT_TIMEOUT_MS,
  LDAP_PARAMS,
  LDAP_WARMUP_PARAMS,
  MAX_POSTS,
  MAX_FLOW_ANSWER_BYTES,
  MAX_REDIRECTS,
  RADIUS_PARAMS,
  type EndSessionRequest,
  type FlowCoreClient,
  type FlowDeps,
  type FlowExecutorOptions,
  type FlowMetrics,
  type FlowOutcome,
  type FlowRunRequest,
} from './executor.ts';
export { nextStep, solveAuthenticatorValidate, type DeniedReason, type FlowAnswers, type FlowErrorReason, type Step } from './solvers.ts';
export { splitSecrets, CODE_PATTERN, CODE_SEPARATOR, type Secrets, type SplitOptions } from './mfa.ts';
export { decodeFlowQuery, encodeFlowQuery, encodeParams, quotePlus, unquotePlus, parseQuery, type FlowParams } from './query.ts';
export { CookieJar, SESSION_COOKIE } from './cookies.ts';
export {
  challengeSchema,
  challengeResponseSchema,
  STAGE,
  type AccessCheck,
  type Challenge,
  type LdapAccess,
  type RadiusAccess,
  type ChallengeResponse,
  type DeviceChallenge,
  type UserSelf,
} from './challenges.ts';
export { authentikReason } from './reasons.ts';
export { sessionIdOf } from './session-id.ts';
export { flowMetricsFrom } from './metrics.ts';
export { coreFailure, type CoreCall, type CoreFailure, type CoreFailureCause } from './core-failure.ts';
