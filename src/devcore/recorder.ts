// Every request the dev core receives (except its own admin API), for test assertions.
import type { IncomingHttpHeaders } from 'node:http';
import { parseQs, qsToRecord } from './querystring.ts';

export interface RecordedRequest {
  method: string;
  path: string;
  /** Last value per query key (Django's `QueryDict.get`). */
  query: Record<string, string>;
  /** Every value per key, in order (repeatable filters such as `groups_by_name`). */
  queryAll: Record<string, string[]>;
  /** The query string as received, without `?`. */
  rawQuery: string;
  /** Header names in lower case; repeated headers joined with ', '. */
  headers: Record<string, string>;
  /** Epoch milliseconds. */
  at: number;
  /** Parsed JSON or form body of a POST/PUT/PATCH, if any. */
  body?: unknown;
  /** Status code sent, once the response is out (undefined for upgrades still open or dropped requests). */
  status?: number;
}

export class Recorder {
  private items: RecordedRequest[] = [];
  readonly limit: number;

  constructor(limit = 10_000) {
    this.limit = limit;
  }

  record(method: string, path: string, rawQuery: string, headers: IncomingHttpHeaders): RecordedRequest {
    const pairs = parseQs(rawQuery);
    const queryAll: Record<string, string[]> = {};
    for (const [k, v] of pairs) (queryAll[k] ??= []).push(v);
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) {
      if (v === undefined) continue;
      flat[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
    }
    const rec: RecordedRequest = { method, path, query: qsToRecord(pairs), queryAll, rawQuery, headers: flat, at: Date.now() };
    this.items.push(rec);
    // Trim in batches so recording stays O(1) amortised.
    if (this.items.length > this.limit + 1000) this.items = this.items.slice(-this.limit);
    return rec;
  }

  list(): RecordedRequest[] {
    return this.items.slice(-this.limit);
  }

  clear(): void {
    this.items = [];
  }
}
