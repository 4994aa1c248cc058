// The executor's decisions, as pure functions: given a challenge and the answers, either POST a
// body, or stop with an outcome. No I/O here, so every branch is unit-testable.
import {
  authenticatorValidateChallengeSchema,
  firstResponseError,
  isRedirect,
  STAGE,
  type AuthenticatorValidateResponse,
  type Challenge,
  type ChallengeResponse,
  type DeviceChallenge,
} from './challenges.ts';

export interface FlowAnswers {
  /** Answer to the identification stage's `uid_field`. */
  username: string;
  /** Answer to the password (and identification-with-password) stage. */
  password: string;
  /** MFA code (TOTP or static token), if the user supplied one. */
  code?: string;
  /** `code` is the whole password mirrored (MFA support off), not a code the user typed. */
  codeIsPassword?: boolean;
}

/** Why a flow refused the user: a stage rejected the credentials, or an access-denied stage. */
export type DeniedReason = 'invalid_credentials' | 'access_denied';

export type FlowErrorReason =
  /** The flow could not be completed: unsupported stage, too many stages, no usable device, … */
  | 'flow_error'
  /**
   * The core failed while running the flow: `ak-stage-flow-error`, which authentik sends when a
   * stage raised an exception (its 500, wrapped in a 200). Never a verdict on the credentials.
   */
  | 'core_error'
  /** A request or the attempt as a whole took too long. */
  | 'timeout'
  /** Connection refused/reset, DNS, TLS. */
  | 'unreachable'
  /** The core answered with a non-2xx status. */
  | 'http_status'
  /** The body was not JSON, not a challenge, or a redirect went somewhere it must not. */
  | 'invalid_response'
  /** The caller's AbortSignal fired. */
  | 'aborted';

export type Step =
  | { kind: 'post'; body: ChallengeResponse }
  | { kind: 'passed' }
  | { kind: 'denied'; reason: DeniedReason; message: string }
  | { kind: 'error'; reason: FlowErrorReason; message: string };

/** Stages whose `response_errors` mean "these credentials are wrong". */
const CREDENTIAL_STAGES: ReadonlySet<string> = new Set([
  STAGE.identification,
  STAGE.password,
  STAGE.authenticatorValidate,
]);

/**
 * Decide what to do with a challenge (authentik 2024.4 order: response errors first, then
 * redirect / access denied, then the solver for the component).
 */
export function nextStep(challenge: Challenge, answers: FlowAnswers): Step {
  const failure = firstResponseError(challenge);
  if (failure) {
    const message = `flow error ${scrub(failure.field, answers)}: ${scrub(failure.message, answers)}`;
    return CREDENTIAL_STAGES.has(challenge.component)
      ? { kind: 'denied', reason: 'invalid_credentials', message }
      : { kind: 'error', reason: 'flow_error', message };
  }
  if (isRedirect(challenge)) return { kind: 'passed' };
  if (challenge.component === STAGE.accessDenied) {
    const why = challenge.error_message ? scrub(challenge.error_message, answers) : 'access denied';
    return { kind: 'denied', reason: 'access_denied', message: why };
  }
  if (challenge.component === STAGE.flowError) return coreError(challenge, answers);
  // authentik 2024.4 POSTs a `shell` challenge with no body; we refuse it like any other
  // challenge we cannot answer.
  const component = challenge.component || String(challenge.type);
  if (challenge.type === 'shell') return unsupported(component, answers);

  switch (challenge.component) {
    case STAGE.identification:
      return post({ component: STAGE.identification, uid_field: answers.username, password: answers.password });
    case STAGE.password:
      return post({ component: STAGE.password, password: answers.password });
    case STAGE.userLogin:
      return post({ component: STAGE.userLogin, remember_me: true });
    case STAGE.authenticatorValidate:
      return solveAuthenticatorValidate(challenge, answers);
    default:
      return unsupported(component, answers);
  }
}

function post(body: ChallengeResponse): Step {
  return { kind: 'post', body };
}

/** `ak-stage-flow-error`: its request id (to find the exception in authentik's logs) and error, if shown. */
function coreError(challenge: Challenge, answers: FlowAnswers): Step {
  const id = typeof challenge['request_id'] === 'string' ? ` (request_id ${scrub(challenge['request_id'], answers)})` : '';
  const error = typeof challenge['error'] === 'string' && challenge['error'] !== '' ? `: ${scrub(challenge['error'], answers)}` : '';
  return { kind: 'error', reason: 'core_error', message: `authentik failed while running the flow${id}${error}` };
}

function unsupported(component: string, answers: FlowAnswers): Step {
  return { kind: 'error', reason: 'flow_error', message: `unsupported challenge type ${scrub(component, answers)}` };
}

const CODE_CLASSES: ReadonlySet<string> = new Set(['totp', 'static']);

/**
 * Pick a device for `ak-stage-authenticator-validate`.
 * - A code the user typed (`password;code`) goes to the first totp/static device; Duo is used
 *   only when no code was supplied or no code device is offered. (authentik 2024.4 lets Duo
 *   win over a supplied code and can send a body mixing both; we never mix.)
 * - When the "code" is the password mirrored (MFA support off), Duo comes first, as in
 *   authentik, since the mirrored password is usually not a code; a totp/static device gets
 *   the mirrored password only when there is no Duo device.
 * - webauthn, sms and unknown classes are never selected.
 */
export function solveAuthenticatorValidate(challenge: Challenge, answers: FlowAnswers): Step {
  const parsed = authenticatorValidateChallengeSchema.safeParse(challenge);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : '(body)';
    return {
      kind: 'error',
      reason: 'invalid_response',
      message: `unexpected ${STAGE.authenticatorValidate} challenge: ${where}: ${issue?.message ?? 'invalid'}`,
    };
  }
  const devices = parsed.data.device_challenges;
  const code = answers.code ?? '';
  const codeDevice = code !== '' ? devices.find((d) => CODE_CLASSES.has(d.device_class)) : undefined;
  const duoDevice = devices.find((d) => d.device_class === 'duo');

  const useCode = codeDevice !== undefined && (!answers.codeIsPassword || duoDevice === undefined);
  if (useCode) {
    return post({ component: STAGE.authenticatorValidate, selected_challenge: selected(codeDevice), code });
  }
  if (duoDevice) {
    const duo = duoId(duoDevice.device_uid);
    if (duo === undefined) return { kind: 'error', reason: 'flow_error', message: 'failed to convert duo device id to int' };
    const body: AuthenticatorValidateResponse = {
      component: STAGE.authenticatorValidate,
      selected_challenge: selected(duoDevice),
      duo,
    };
    return post(body);
  }
  return { kind: 'error', reason: 'flow_error', message: 'no compatible authenticator class found' };
}

/** The device challenge exactly as offered: the core compares class and uid with its list. */
function selected(d: DeviceChallenge): AuthenticatorValidateResponse['selected_challenge'] {
  return { device_class: d.device_class, device_uid: d.device_uid, challenge: d.challenge };
}

const INT32_MAX = 2 ** 31 - 1;

/** A Duo device id as the core's int32 `duo` field; no sign, no spaces (unlike Go's ParseInt). */
function duoId(uid: string | number): number | undefined {
  const n = typeof uid === 'number' ? uid : /^\d{1,10}$/.test(uid) ? Number(uid) : Number.NaN;
  return Number.isInteger(n) && n >= 0 && n <= INT32_MAX ? n : undefined;
}

/** Secrets shorter than this are not looked for in server text (too many false hits). */
const MIN_SCRUB_LENGTH = 4;

/**
 * Text from the core that goes into an outcome message is dropped whole if it contains the
 * password or the code, so that no message or log line can carry a secret.
 */
export function scrub(text: string, answers: Pick<FlowAnswers, 'password' | 'code'>): string {
  for (const secret of [answers.password, answers.code]) {
    if (secret !== undefined && secret.length >= MIN_SCRUB_LENGTH && text.includes(secret)) return '[redacted]';
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
