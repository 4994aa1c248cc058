// Rate limiting for log lines keyed by (reason, address): a flood of rejected connections or
// PDUs from one address gives one line per window, the next one carrying how many were
// suppressed. Pure apart from the injected clock; memory is bounded by `maxKeys`.

export interface LogLimiterOptions {
  /** One line per key per window. */
  readonly windowMs: number;
  /** Keys remembered; the oldest are forgotten first. */
  readonly maxKeys: number;
  readonly now?: () => number;
}

export interface LogDecision {
  readonly log: boolean;
  /** Occurrences not logged since the last logged one (only when `log`). */
  readonly suppressed: number;
}

interface Slot {
  until: number;
  suppressed: number;
}

export class LogLimiter {
  private readonly slots = new Map<string, Slot>();
  private readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(opts: LogLimiterOptions) {
    this.windowMs = opts.windowMs;
    this.maxKeys = Math.max(1, opts.maxKeys);
    this.now = opts.now ?? Date.now;
  }

  check(key: string): LogDecision {
    const now = this.now();
    const slot = this.slots.get(key);
    if (slot !== undefined && now < slot.until) {
      slot.suppressed++;
      return { log: false, suppressed: 0 };
    }
    const suppressed = slot?.suppressed ?? 0;
    this.slots.delete(key);
    this.slots.set(key, { until: now + this.windowMs, suppressed: 0 });
    while (this.slots.size > this.maxKeys) {
      const oldest = this.slots.keys().next();
      if (oldest.done === true) break;
      this.slots.delete(oldest.value);
    }
    return { log: true, suppressed };
  }
}
