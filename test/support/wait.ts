// Polling helpers for end-to-end tests: wait for a condition instead of sleeping blindly.

/** What a poll returns while the awaited thing has not happened yet. */
export type NotYet = undefined | false;

const EXPIRED = Symbol('expired');

/**
 * Call `fn` every `everyMs` until it returns a result, and resolve with it.
 *
 * Only `undefined` and `false` mean "not yet". Every other value is the result, returned as it
 * is: a poll for a count resolves with 0 at once if 0 is what it returns, and `() => n === 0`
 * is the way to wait for a count to reach 0. `null` is neither: it is what `exec`, `match` and
 * many APIs return for "nothing", and taking it as a result would end the wait too early, so it
 * fails the wait (the type forbids it too; write `?? undefined`). A throw counts as "not yet"
 * and is quoted in the timeout's message.
 *
 * The deadline always applies: also to a call of `fn` that never settles.
 */
export async function waitFor<T extends {}>(what: string, fn: () => T | NotYet | Promise<T | NotYet>, timeoutMs = 5000, everyMs = 25): Promise<Exclude<T, false>> {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError(`waitFor(${what}): the timeout must be a positive number of ms, got ${timeoutMs}`);
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<typeof EXPIRED>((resolve) => {
    timer = setTimeout(() => resolve(EXPIRED), timeoutMs);
  });
  try {
    for (;;) {
      let v: T | NotYet | null | typeof EXPIRED;
      try {
        v = await Promise.race([fn(), expired]);
      } catch (err) {
        last = err;
        v = undefined;
      }
      if (v === EXPIRED) break;
      if (v === null) throw new TypeError(`waitFor(${what}): the poll returned null; return undefined or false for "not yet"`);
      if (v !== undefined && v !== false) return v as Exclude<T, false>;
      if (Date.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, Math.min(everyMs, Math.max(0, deadline - Date.now()))));
    }
  } finally {
    clearTimeout(timer);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last !== undefined ? `: ${String(last)}` : ''}`);
}
