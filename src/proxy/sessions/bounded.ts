// Every shared-store operation settles within its bound, whatever the driver does: a timer races
// the operation (the driver's own timeouts still run, to free its connection afterwards).

/** The operation did not settle within its bound. */
export class OperationTimeoutError extends Error {
  override readonly name = 'OperationTimeoutError';
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** `work`, or an `OperationTimeoutError` after `ms`. A late settlement of `work` is ignored. */
export function bounded<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new OperationTimeoutError(ms)), ms);
  });
  // The losing side must not become an unhandled rejection.
  work.catch(() => {});
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
