// Simple Paged Results (RFC 2696) over a computed result list.
//
// The first request of a paged search computes the whole result (entries are shared, immutable
// objects, so the list is one pointer per entry) and keeps the rest under an opaque cookie in a
// per-connection store; following requests slice it. The result set is therefore stable while
// the client pages, even when the cached directory refreshes in between.
//
// - A cookie this store does not know (another connection's, expired, evicted, already
//   finished, or forged) → unwillingToPerform (53), like OpenLDAP's "paged results cookie is
//   invalid or old"; RFC 2696 only says the server returns "the appropriate error".
// - A request whose base, scope, filter, attributes or typesOnly differ from the one that
//   created the cookie → 53 too (RFC 2696 §3: the client MUST NOT change them).
// - Page size 0 with a cookie abandons the paged search (its state is dropped) → success, no
//   entries, empty cookie. Page size 0 without a cookie → success, no entries, empty cookie.
// - The last page carries an empty cookie. The response size is the total result count.
// - sizeLimit applies to the whole paged search (RFC 2696 §3); when a page size is not smaller
//   than it, the search is answered in one page.
import { randomBytes } from 'node:crypto';
import { formatFilter, normalizeDn, pagedResultsResponseControl, type SearchRequest } from '../protocol/index.ts';
import type { LdapEntry } from '../entry.ts';

export interface PagingOptions {
  /** Paged searches kept per connection; the least recently used is dropped beyond this. Default 8. */
  readonly maxSearches?: number;
  /** A paged search not continued for this long is dropped. Default 10 minutes. */
  readonly maxIdleMs?: number;
  readonly now?: () => number;
}

export interface PagedState {
  readonly signature: string;
  readonly entries: readonly LdapEntry[];
  offset: number;
  /** Result code and message to send with the last page. */
  readonly finalCode: number;
  readonly finalMessage: string | undefined;
  usedAt: number;
}

/** Paged-search state of ONE connection. Create one per connection; drop it when the connection closes. */
export class PagingStore {
  private readonly states = new Map<string, PagedState>();
  private readonly maxSearches: number;
  private readonly maxIdleMs: number;
  private readonly now: () => number;

  constructor(opts: PagingOptions = {}) {
    this.maxSearches = Math.max(1, opts.maxSearches ?? 8);
    this.maxIdleMs = opts.maxIdleMs ?? 10 * 60_000;
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    this.expire();
    return this.states.size;
  }

  private expire(): void {
    const limit = this.now() - this.maxIdleMs;
    for (const [k, s] of this.states) if (s.usedAt < limit) this.states.delete(k);
  }

  /** Stores a state; returns its cookie. */
  save(state: Omit<PagedState, 'usedAt'>): Buffer {
    this.expire();
    while (this.states.size >= this.maxSearches) {
      const oldest = this.states.keys().next().value as string;
      this.states.delete(oldest);
    }
    const cookie = randomBytes(12);
    this.states.set(cookie.toString('hex'), { ...state, usedAt: this.now() });
    return cookie;
  }

  /** The state of a cookie (refreshing its age), or undefined. */
  get(cookie: Buffer): PagedState | undefined {
    this.expire();
    const key = cookie.toString('hex');
    const s = this.states.get(key);
    if (s === undefined) return undefined;
    // Re-insert: Map order is the LRU order.
    this.states.delete(key);
    s.usedAt = this.now();
    this.states.set(key, s);
    return s;
  }

  delete(cookie: Buffer): void {
    this.states.delete(cookie.toString('hex'));
  }

  clear(): void {
    this.states.clear();
  }
}

/** What must stay the same between the pages of one paged search. */
export function pagingSignature(req: SearchRequest): string {
  let base: string;
  try {
    base = normalizeDn(req.baseObject);
  } catch {
    base = req.baseObject;
  }
  return JSON.stringify([base, req.scope, req.derefAliases, req.typesOnly, formatFilter(req.filter), req.attributes.map((a) => a.toLowerCase())]);
}

export const EMPTY_COOKIE = Buffer.alloc(0);

export function pagedControl(total: number, cookie: Buffer) {
  return pagedResultsResponseControl(total, cookie);
}
