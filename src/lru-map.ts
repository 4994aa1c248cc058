// A Map bounded in entries and, optionally, in age and in the total size of its values. lru-cache allocates its arrays for `max`
// entries up front (about 1.5 MB at 65,536, whether it holds anything or not); this grows with
// what it holds, so a RADIUS outpost at rest keeps its large bounds for free.

export interface LruMapOptions<V = unknown> {
  /** Entries kept at most; beyond it the first to leave goes. */
  readonly max: number;
  /**
   * How long an entry lives after it was set. With a TTL, entries leave in the order they were
   * set (all live equally long, so the oldest is at the front); without one, the least recently
   * read or written leaves first.
   */
  readonly ttlMs?: number;
  /** With `sizeOf`: the total size of the values kept at most; beyond it the first to leave go. */
  readonly maxSize?: number;
  readonly sizeOf?: (value: V) => number;
  readonly now?: () => number;
}

interface Slot<V> {
  readonly value: V;
  readonly expires: number;
  readonly size: number;
}

export class LruMap<K, V> {
  private readonly slots = new Map<K, Slot<V>>();
  private readonly max: number;
  private readonly ttlMs: number | undefined;
  private readonly now: () => number;
  private readonly maxSize: number;
  private readonly sizeOf: ((value: V) => number) | undefined;
  private _totalSize = 0;

  constructor(opts: LruMapOptions<V>) {
    if (!Number.isInteger(opts.max) || opts.max < 1) throw new RangeError(`LruMap max must be a positive integer, not ${opts.max}`);
    // lru-cache reads a ttl of 0 as "no TTL"; here it would keep nothing: refuse it rather than surprise.
    if (opts.ttlMs !== undefined && !(Number.isFinite(opts.ttlMs) && opts.ttlMs > 0)) throw new RangeError(`LruMap ttlMs must be a positive finite number, not ${opts.ttlMs}`);
    this.max = opts.max;
    this.ttlMs = opts.ttlMs;
    this.now = opts.now ?? Date.now;
    this.maxSize = opts.maxSize ?? Infinity;
    this.sizeOf = opts.sizeOf;
  }

  /** The live value of `key`; without a TTL, reading makes it the most recently used. */
  get(key: K): V | undefined {
    const slot = this.live(key);
    if (slot === undefined) return undefined;
    if (this.ttlMs === undefined) {
      this.slots.delete(key);
      this.slots.set(key, slot);
    }
    return slot.value;
  }

  /** Whether `key` has a live value; does not count as a use. */
  has(key: K): boolean {
    return this.live(key) !== undefined;
  }

  set(key: K, value: V): void {
    const now = this.now();
    this.delete(key);
    const size = this.sizeOf?.(value) ?? 0;
    // Larger than the bound by itself: not kept, and nothing else is pushed out for it.
    if (size > this.maxSize) return;
    this.slots.set(key, { value, expires: this.ttlMs === undefined ? Infinity : now + this.ttlMs, size });
    this._totalSize += size;
    if (this.ttlMs !== undefined) this.dropExpired(now);
    while (this.slots.size > this.max || this._totalSize > this.maxSize) {
      const first = this.slots.keys().next();
      if (first.done === true) break;
      this.delete(first.value);
    }
  }

  delete(key: K): boolean {
    const slot = this.slots.get(key);
    if (slot === undefined) return false;
    this._totalSize -= slot.size;
    return this.slots.delete(key);
  }

  /** The total size of the values held (`sizeOf`), counting expired ones not yet dropped. */
  get totalSize(): number {
    return this._totalSize;
  }

  /** Entries held, counting expired ones not yet dropped. */
  get size(): number {
    return this.slots.size;
  }

  private live(key: K): Slot<V> | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) return undefined;
    if (slot.expires <= this.now()) {
      this.delete(key);
      return undefined;
    }
    return slot;
  }

  /** Expired entries sit at the front (see `ttlMs`): drop them, so the map holds only live ones. */
  private dropExpired(now: number): void {
    for (const [key, slot] of this.slots) {
      if (slot.expires > now) return;
      this.delete(key);
    }
  }
}
