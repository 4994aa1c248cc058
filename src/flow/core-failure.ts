// "The core failed": the one rule that tells a fault of the core (LDAP `unavailable`, RADIUS no
// answer, so the client retries or fails over) from an answer about the user (a denial, a wrong
// password). Never blame the user for a fault of the core; never pass a user because of one.
import { CoreError } from '../agent/errors.ts';
import { HttpError } from '../net/http.ts';
import type { FlowOutcome } from './executor.ts';

/** Which request the core answered, which decides what a status means. */
export type CoreCall =
  /**
   * The outpost's own API call, with its bearer token as the only credential: a 401/403 is the
   * token rejected (revoked, expired), never a verdict on a user.
   */
  | 'api'
  /**
   * A flow executor exchange. authentik answers every verdict on the user (wrong password,
   * denied) with a 200 challenge, so any other status is the core failing.
   */
  | 'flow'
  /**
   * An API call as the flow's user (session cookie): check_access, users/me. A 401/403 or 404
   * is an answer (the session is not accepted, the user may be inactive now; a missing
   * application), not the core failing.
   */
  | 'user';

export type CoreFailureCause =
  | 'unreachable'
  | 'timeout'
  /** 5xx, 408, 429, a redirect that was not followed; from the flow executor, any non-2xx. */
  | 'status'
  /** Not JSON, the wrong shape, too large, a redirect elsewhere. */
  | 'invalid'
  /** A 401/403 to the outpost's bearer token. */
  | 'token_rejected';

export interface CoreFailure {
  readonly cause: CoreFailureCause;
  /** The failed call. For a flow it is built from the outcome, whose message is free of secrets. */
  readonly error: HttpError;
}

/** Whether a flow attempt ended because the core failed (undefined: it did not). */
export function coreFailure(outcome: FlowOutcome): CoreFailure | undefined;
/** Whether a call of kind `call` threw because the core failed (undefined: it did not). */
export function coreFailure(err: unknown, call: CoreCall): CoreFailure | undefined;
export function coreFailure(x: unknown, call?: CoreCall): CoreFailure | undefined {
  if (call !== undefined) return x instanceof HttpError ? fromError(x, call) : undefined;
  const outcome = x as FlowOutcome;
  if (outcome.kind !== 'error') return undefined;
  // `aborted` is our caller giving up; `flow_error` a flow we cannot run (as authentik: 49).
  switch (outcome.reason) {
    case 'timeout': return { cause: 'timeout', error: new CoreError('timeout', '', outcome.message) };
    case 'unreachable': return { cause: 'unreachable', error: new CoreError('transport', '', outcome.message) };
    case 'invalid_response': return { cause: 'invalid', error: new CoreError('invalid', '', outcome.message) };
    // authentik's error stage: its 500, sent as a 200 challenge.
    case 'core_error': return { cause: 'status', error: new CoreError('status', '', outcome.message) };
    case 'http_status': {
      const cause = statusCause(outcome.status ?? 0, 'flow');
      return cause && { cause, error: new CoreError('status', '', outcome.message, { status: outcome.status }) };
    }
    default: return undefined;
  }
}

function fromError(err: HttpError, call: CoreCall): CoreFailure | undefined {
  switch (err.code) {
    case 'aborted': return undefined;
    case 'timeout': return { cause: 'timeout', error: err };
    case 'transport': return { cause: 'unreachable', error: err };
    case 'invalid':
    case 'too_large': return { cause: 'invalid', error: err };
    case 'status': {
      const cause = statusCause(err.status ?? 0, call);
      return cause && { cause, error: err };
    }
  }
}

function statusCause(status: number, call: CoreCall): CoreFailureCause | undefined {
  // A redirect the client did not follow (never towards another origin, never with the token):
  // a proxy in front of the core or a wrong AUTHENTIK_HOST, no answer about anyone.
  if (status >= 300 && status < 400) return 'status';
  if (call === 'api' && (status === 401 || status === 403)) return 'token_rejected';
  if (call === 'flow') return 'status';
  // A proxy in front of the core timing out or rate limiting is not an answer either.
  return status >= 500 || status === 408 || status === 429 ? 'status' : undefined;
}
