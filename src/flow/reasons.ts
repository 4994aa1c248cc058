// Mapping outcomes to the reason labels listeners use in logs and metrics.
import type { FlowOutcome } from './executor.ts';

/**
 * The label authentik 2024.4 would use for a failed flow: its executor returned an error for
 * `response_errors` and every failure to run (`flow_error`), and "not passed" only for an
 * access-denied stage (`invalid_credentials`). Use it where metrics must match the Go outpost;
 * use `outcome.reason` where the finer distinction is wanted.
 */
export function authentikReason(outcome: Exclude<FlowOutcome, { kind: 'passed' }>): 'flow_error' | 'invalid_credentials' {
  return outcome.kind === 'denied' && outcome.reason === 'access_denied' ? 'invalid_credentials' : 'flow_error';
}
