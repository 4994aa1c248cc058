// RFC 5080 §2.2.2 duplicate detection, keyed by client address, port, Identifier and Request
// Authenticator. A retransmission of a request still being processed is not run again; one
// that arrives after the answer gets that same answer, so a one-time code is not used twice
// (authentik ran the flow again). Bounded in entries, bytes and time: a reply echoes the
// request's Proxy-States, so anyone a client network admits can make each one 4 KB.

export type Seen = { readonly kind: 'new' } | { readonly kind: 'in-flight' } | { readonly kind: 'answered'; readonly reply: Buffer };

export interface DuplicateOptions {
  /** How long an answer is kept for retransmissions (FreeRADIUS: cleanup_delay 5 s). */
  readonly ttlMs: number;
  /** Answers kept at most. */
  readonly max: number;
  /** Bytes of answers kept at most (default: no bound beyond `max`). */
  readonly maxBytes?: number;
}

export function requestKey(address: string, port: number, identifier: number, authenticator: Uint8Array): string {
  return `${address}|${port}|${identifier}|${Buffer.from(authenticator).toString('hex')}`;
}

interface Answer {
  readonly reply: Buffer;
  readonly expires: number;
}

export class DuplicateCache {
  private readonly inFlight = new Set<string>();
  /** Oldest first: every answer lives equally long, so this is also the order they expire in. */
  private readonly answered = new Map<string, Answer>();
  private readonly ttlMs: number;
  private readonly max: number;
  private readonly maxBytes: number;
  private _bytes = 0;

  constructor(opts: DuplicateOptions) {
    this.ttlMs = opts.ttlMs;
    this.max = opts.max;
    this.maxBytes = opts.maxBytes ?? Infinity;
  }

  /** Look the request up; a `new` one is marked in flight until `answer` or `abandon`. */
  check(key: string): Seen {
    if (this.inFlight.has(key)) return { kind: 'in-flight' };
    const answer = this.answered.get(key);
    if (answer !== undefined) {
      if (answer.expires > Date.now()) return { kind: 'answered', reply: answer.reply };
      this.forget(key, answer);
    }
    this.inFlight.add(key);
    return { kind: 'new' };
  }

  answer(key: string, reply: Buffer): void {
    this.inFlight.delete(key);
    const old = this.answered.get(key);
    if (old !== undefined) this.forget(key, old);
    const now = Date.now();
    this.answered.set(key, { reply, expires: now + this.ttlMs });
    this._bytes += reply.length;
    // From the oldest: what has expired, then whatever is over either bound.
    for (const [k, a] of this.answered) {
      if (a.expires > now && this.answered.size <= this.max && this._bytes <= this.maxBytes) break;
      this.forget(k, a);
    }
  }

  /** The request got no answer (dropped, timed out): a retransmission may try again. */
  abandon(key: string): void {
    this.inFlight.delete(key);
  }

  get pending(): number {
    return this.inFlight.size;
  }

  /** Bytes of the answers held. */
  get bytes(): number {
    return this._bytes;
  }

  private forget(key: string, answer: Answer): void {
    this.answered.delete(key);
    this._bytes -= answer.reply.length;
  }
}
