// RFC 5080 §2.2.2 duplicate detection, keyed by client address, port, Identifier and Request
// Authenticator. A retransmission of a request still being processed is not run again; one
// that arrives after the answer gets that same answer, so a one-time code is not used twice
// (authentik ran the flow again). Bounded in entries, bytes and time: a reply echoes the
// request's Proxy-States, so anyone a client network admits can make each one 4 KB.

import { LruMap } from '../lru-map.ts';

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

export class DuplicateCache {
  private readonly inFlight = new Set<string>();
  private readonly answered: LruMap<string, Buffer>;

  constructor(opts: DuplicateOptions) {
    this.answered = new LruMap<string, Buffer>({ max: opts.max, ttlMs: opts.ttlMs, maxSize: opts.maxBytes ?? Infinity, sizeOf: (reply) => reply.length });
  }

  /** Look the request up; a `new` one is marked in flight until `answer` or `abandon`. */
  check(key: string): Seen {
    if (this.inFlight.has(key)) return { kind: 'in-flight' };
    const reply = this.answered.get(key);
    if (reply !== undefined) return { kind: 'answered', reply };
    this.inFlight.add(key);
    return { kind: 'new' };
  }

  answer(key: string, reply: Buffer): void {
    this.inFlight.delete(key);
    this.answered.set(key, reply);
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
    return this.answered.totalSize;
  }
}
