// A deadline as an AbortSignal that leaves nothing behind. `AbortSignal.timeout` keeps its
// timer until it fires, and `AbortSignal.any` over a composite signal is kept alive by Node
// (nodejs/node#55351): at thousands of requests per second both grow the heap without bound.
// Here the timer is cleared and the parent listener removed on `dispose()`.

/** The longest delay setTimeout honours (about 24.8 days): past it Node fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export class Deadline {
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly parent: AbortSignal | undefined;
  private readonly onParentAbort: (() => void) | undefined;
  private _expired = false;

  /** Aborts after `ms` (none when undefined, or longer than a timer can wait), or as soon as `parent` aborts. */
  constructor(ms: number | undefined, parent?: AbortSignal) {
    this.signal = this.controller.signal;
    this.parent = parent;
    if (ms !== undefined && ms <= MAX_TIMER_MS) {
      this.timer = setTimeout(() => {
        this._expired = true;
        this.controller.abort(new DOMException(`deadline of ${ms} ms passed`, 'TimeoutError'));
      }, ms);
      this.timer.unref();
    }
    if (parent) {
      if (parent.aborted) this.controller.abort(parent.reason);
      else {
        this.onParentAbort = () => this.controller.abort(parent.reason);
        parent.addEventListener('abort', this.onParentAbort, { once: true });
      }
    }
  }

  /** True when this deadline's own time ran out (not the parent's). */
  get expired(): boolean {
    return this._expired;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.parent && this.onParentAbort) this.parent.removeEventListener('abort', this.onParentAbort);
  }
}
