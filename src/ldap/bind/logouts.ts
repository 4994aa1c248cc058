// Core sessions ended in the background: a connection's own session on unbind (or close, or a
// new bind), and the session a cached bind owned when it leaves the bind cache. The flow is the
// provider's unbind flow (authentik 2024.10+) or else the brand's invalidation flow, run with
// the session's cookie.
import { endSession, type FlowDeps, type FlowOutcome } from '../../flow/index.ts';
import type { Logger } from '../../log.ts';

export interface Logout {
  readonly flow: FlowDeps;
  readonly flowSlug: string;
  /** The `authentik_session` cookie value. */
  readonly session: string;
  readonly clientIp?: string;
}

export class Logouts {
  private readonly max: number;
  private readonly log: Logger;
  private pending = 0;
  /** Logouts skipped since the limit was reached: warned about once per episode, not per logout. */
  private skipped = 0;

  /** `max`: logouts running at once; beyond it (a core that hangs) they are skipped. */
  constructor(opts: { max: number; logger: Logger }) {
    this.max = opts.max;
    this.log = opts.logger;
  }

  /** Starts a logout; `done` gets its outcome. False when skipped (too many pending). */
  start(logout: Logout, done?: (outcome: FlowOutcome) => void): boolean {
    if (this.pending >= this.max) {
      if (this.skipped++ === 0) this.log.warn({ pending: this.pending }, 'too many logouts pending; not ending core sessions until they finish');
      return false;
    }
    if (this.skipped > 0) {
      this.log.info({ skipped: this.skipped }, 'logouts resumed; some core sessions were left to expire');
      this.skipped = 0;
    }
    this.pending++;
    void endSession(logout.flow, { invalidationFlowSlug: logout.flowSlug, session: logout.session, ...(logout.clientIp ? { clientIp: logout.clientIp } : {}) })
      .then((outcome) => {
        if (outcome.kind !== 'passed') this.log.debug({ flow: logout.flowSlug, outcome: outcome.kind, error: outcome.message }, 'logout flow did not finish');
        try {
          done?.(outcome);
        } catch (err) {
          this.log.error({ err }, 'logout callback failed');
        }
      })
      .finally(() => this.pending--);
    return true;
  }
}
