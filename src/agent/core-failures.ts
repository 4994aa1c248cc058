// Saying that the core failed: a counter per failed call and one line per cause per minute.
// Every call made for one outpost reports here (its REST calls, its listeners' flows and access
// checks), so an outage that fails a thousand binds gives one line a minute that names why.
import { named, type Logger } from '../log.ts';
import { LogLimiter } from '../net/log-limiter.ts';
import type { CoreFailure, CoreFailureCause } from '../flow/core-failure.ts';
import type { AgentMetrics } from './metrics.ts';

const EVENTS: Record<Exclude<CoreFailureCause, 'token_rejected'>, string> = {
  unreachable: 'cannot reach authentik',
  timeout: 'authentik did not answer in time',
  status: 'authentik answered with an error status',
  invalid: 'authentik answered with a body that is not what was asked for',
};

/** Where callers report a failure of the core (`coreFailure`'s answer). */
export interface CoreFailureSink {
  report(failure: CoreFailure): void;
}

export const TOKEN_REJECTED_EVENT = 'authentik rejected the outpost token';

export interface CoreFailureLogOptions {
  logger: Logger;
  metrics: AgentMetrics;
  /** One line per cause per window; default 60 s. */
  windowMs?: number;
  now?: () => number;
}

export class CoreFailureLog implements CoreFailureSink {
  private readonly parent: Logger;
  private log: Logger;
  private readonly metrics: AgentMetrics;
  private readonly limiter: LogLimiter;
  private outpostName = '';

  constructor(opts: CoreFailureLogOptions) {
    this.parent = opts.logger;
    this.log = named(opts.logger, 'core');
    this.metrics = opts.metrics;
    this.limiter = new LogLimiter({ windowMs: opts.windowMs ?? 60_000, maxKeys: 16, ...(opts.now ? { now: opts.now } : {}) });
  }

  /** The outpost these calls are made for, once the agent has found it. */
  setOutpost(name: string): void {
    this.outpostName = name;
    this.log = named(this.parent, 'core', { outpost: name });
  }

  report(failure: CoreFailure): void {
    const { cause, error } = failure;
    this.metrics.apiErrors.inc({ outpost_name: this.outpostName, kind: cause });
    const decision = this.limiter.check(cause);
    if (!decision.log) return;
    const fields = { cause, err: error, ...(error.status !== undefined ? { status: error.status } : {}), ...(decision.suppressed > 0 ? { suppressed: decision.suppressed } : {}) };
    if (cause === 'token_rejected') {
      // Not a retry loop that only says 403: the one line an operator needs, at error.
      this.log.error({ ...fields, hint: 'the token was revoked or rotated; deploy the token authentik shows in the outpost\'s deployment info' }, TOKEN_REJECTED_EVENT);
    } else {
      this.log.warn(fields, EVENTS[cause]);
    }
  }
}
