// Capped, jittered exponential backoff, and a sleep that an AbortSignal ends early.

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** Fraction of the delay randomised away (0.2 = the delay is 80–100 % of nominal). */
  jitter: number;
}

/**
 * The websocket reconnect: 1 s doubling to 20 s. authentik's outposts cap at 300 s, so after a
 * long outage they came back minutes after the core. With 20 s, plus at most the 10 s handshake
 * timeout of an attempt that began as the core came back, the control channel (and the refresh
 * that follows it) is back within 30 s of the core, at one upgrade per 16-20 s per outpost while
 * the core is down. The jitter spreads replicas that lost the core together.
 */
export const WEBSOCKET_BACKOFF: BackoffPolicy = { initialMs: 1000, maxMs: 20_000, jitter: 0.2 };
/** Start-up retries, and retries of a failed refresh, while the core is down or late. */
export const CORE_BACKOFF: BackoffPolicy = { initialMs: 1000, maxMs: 30_000, jitter: 0.2 };

/** Delay before retry number `attempt` (1-based). Never 0, never above `maxMs`. */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exp = Math.min(Math.max(attempt, 1) - 1, 30);
  const nominal = Math.min(policy.initialMs * 2 ** exp, policy.maxMs);
  const jittered = nominal * (1 - policy.jitter * random());
  return Math.max(1, Math.round(jittered));
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
