// Admission of Access-Requests: at most `maxRunning` authentications at once and, behind
// them, a short queue shared fairly between client addresses. A burst above the cap (a
// controller rebooting, every access point at once) waits a moment instead of being dropped
// and retransmitted one NAS timer later; one NAS flooding does not starve the others:
// - the queue is served round robin across the addresses that have something queued;
// - a full queue makes room for an address holding fewer entries than the largest holder by
//   pushing out that holder's newest entry (longest queue drop), so no address is shut out
//   and none holds more than its share while others want in;
// - an entry is never started when less than `need` ms of its deadline is left (the NAS has
//   given up on it, or is about to): it comes back as expired instead.
// Pure: no timers, no I/O; the caller passes the time.

export interface AdmissionOptions {
  /** Authentications at once. */
  readonly maxRunning: number;
  /** Entries waiting at most, all addresses together. */
  readonly maxQueued: number;
}

export interface Clock {
  readonly now: number;
  /** Time an entry needs left of its deadline to be worth starting (ms). */
  readonly need: number;
}

export type Offer<T> =
  /** Start it now. */
  | { readonly kind: 'run'; readonly expired: readonly T[] }
  /** Queued; `pushedOut` is the entry of a larger holder that made room for it. */
  | { readonly kind: 'queued'; readonly pushedOut: T | undefined; readonly expired: readonly T[] }
  /** No room, and the address already holds the largest share. */
  | { readonly kind: 'full'; readonly expired: readonly T[] };

export interface Next<T> {
  /** The entry to start now, if any. */
  readonly run: T | undefined;
  /** Entries whose deadline was too near to start them. */
  readonly expired: readonly T[];
}

interface Entry<T> {
  readonly item: T;
  readonly deadline: number;
}

export class Admission<T> {
  private readonly maxRunning: number;
  private readonly maxQueued: number;
  private _running = 0;
  private _queued = 0;
  /** Per address, oldest first; only addresses with entries. */
  private readonly queues = new Map<string, Entry<T>[]>();
  /** Round-robin order; may hold addresses whose queue emptied (skipped when their turn comes). */
  private readonly turns: string[] = [];
  private readonly inTurns = new Set<string>();

  constructor(opts: AdmissionOptions) {
    this.maxRunning = Math.max(1, opts.maxRunning);
    this.maxQueued = Math.max(0, opts.maxQueued);
  }

  get running(): number {
    return this._running;
  }

  get queued(): number {
    return this._queued;
  }

  /** A new request from `client`, to be answered by `deadline`. */
  offer(client: string, item: T, deadline: number, clock: Clock): Offer<T> {
    // Entries wait only while every slot is busy (`done` starts one whenever a slot frees).
    if (this._running < this.maxRunning && this._queued === 0) {
      this._running++;
      return { kind: 'run', expired: [] };
    }
    let expired: T[] = [];
    if (this._queued >= this.maxQueued) expired = this.purge(clock);
    if (this._queued < this.maxQueued) {
      this.push(client, { item, deadline });
      return { kind: 'queued', pushedOut: undefined, expired };
    }
    const own = this.queues.get(client)?.length ?? 0;
    const largest = this.largestHolder();
    if (largest === undefined || largest.entries.length <= own + 1) return { kind: 'full', expired };
    const pushedOut = largest.entries.pop()!;
    this._queued--;
    if (largest.entries.length === 0) this.queues.delete(largest.client);
    this.push(client, { item, deadline });
    return { kind: 'queued', pushedOut: pushedOut.item, expired };
  }

  /** A running authentication finished: the next entry to start (round robin), if any. */
  done(clock: Clock): Next<T> {
    this._running = Math.max(0, this._running - 1);
    const expired: T[] = [];
    while (this._queued > 0) {
      const entry = this.nextInTurn();
      if (entry === undefined) break;
      if (entry.deadline - clock.now < clock.need) {
        expired.push(entry.item);
        continue;
      }
      this._running++;
      return { run: entry.item, expired };
    }
    return { run: undefined, expired };
  }

  /** Empties the queue (shutdown): everything that was waiting. */
  drain(): T[] {
    const all = [...this.queues.values()].flat().map((e) => e.item);
    this.queues.clear();
    this.turns.length = 0;
    this.inTurns.clear();
    this._queued = 0;
    return all;
  }

  private push(client: string, entry: Entry<T>): void {
    let queue = this.queues.get(client);
    if (queue === undefined) {
      queue = [];
      this.queues.set(client, queue);
    }
    queue.push(entry);
    this._queued++;
    if (!this.inTurns.has(client)) {
      this.inTurns.add(client);
      this.turns.push(client);
    }
  }

  /** The oldest entry of the address whose turn it is; that address goes to the back. */
  private nextInTurn(): Entry<T> | undefined {
    while (this.turns.length > 0) {
      const client = this.turns.shift()!;
      const queue = this.queues.get(client);
      if (queue === undefined) {
        this.inTurns.delete(client);
        continue;
      }
      const entry = queue.shift()!;
      this._queued--;
      if (queue.length === 0) {
        this.queues.delete(client);
        this.inTurns.delete(client);
      } else {
        this.turns.push(client);
      }
      return entry;
    }
    return undefined;
  }

  private largestHolder(): { client: string; entries: Entry<T>[] } | undefined {
    let best: { client: string; entries: Entry<T>[] } | undefined;
    for (const [client, entries] of this.queues) if (best === undefined || entries.length > best.entries.length) best = { client, entries };
    return best;
  }

  /** Removes the entries too near their deadline to start. */
  private purge(clock: Clock): T[] {
    const expired: T[] = [];
    for (const [client, entries] of this.queues) {
      const live = entries.filter((e) => e.deadline - clock.now >= clock.need);
      if (live.length === entries.length) continue;
      for (const e of entries) if (e.deadline - clock.now < clock.need) expired.push(e.item);
      this._queued -= entries.length - live.length;
      if (live.length === 0) this.queues.delete(client);
      else this.queues.set(client, live);
    }
    return expired;
  }
}

/**
 * How long one authentication takes, as an exponentially weighted mean of the last ones (a
 * queued request needs about that much of its deadline left to be worth starting).
 */
export class DurationEstimate {
  private readonly alpha: number;
  private mean: number;

  constructor(opts: { alpha?: number; initialMs?: number } = {}) {
    this.alpha = opts.alpha ?? 0.2;
    this.mean = opts.initialMs ?? 0;
  }

  observe(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.mean += this.alpha * (ms - this.mean);
  }

  get ms(): number {
    return this.mean;
  }
}
