// The HTTP client for the authentik core's REST API. One pool of keep-alive connections per
// process is shared by every agent and every flow attempt: a cookie jar per attempt does not
// mean a connection per attempt.
import type { z } from 'zod';
import { coreFailure } from '../flow/core-failure.ts';
import { exchange } from '../net/http.ts';
import { HttpPool } from '../net/pool.ts';
import type { CoreFailureSink } from './core-failures.ts';
import { CoreError, parseWire } from './errors.ts';
import { paginationSchema } from './schemas.ts';

export interface DispatcherOptions {
  insecure: boolean;
  /** Sockets kept per origin; flows and API calls share them. */
  connections?: number;
}

export function createDispatcher(opts: DispatcherOptions): HttpPool {
  return new HttpPool({ insecure: opts.insecure, connections: opts.connections ?? 64, keepAliveMs: 30_000 });
}

export interface CoreApiOptions {
  /** `AUTHENTIK_HOST`; only scheme and host:port are used, as authentik 2024.4 does. */
  host: URL;
  token: string;
  userAgent: string;
  dispatcher: HttpPool;
  /** Deadline for one API call, in milliseconds. */
  timeoutMs: number;
  /** Told of every call that failed because of the core, this client's and its flows'. */
  failures?: CoreFailureSink;
}

export type Query = Record<string, string | number | boolean | undefined>;

/** Calls the core with the outpost's bearer token. */
export class CoreApi {
  readonly origin: string;
  readonly token: string;
  readonly userAgent: string;
  readonly dispatcher: HttpPool;
  readonly timeoutMs: number;
  readonly failures?: CoreFailureSink;

  constructor(opts: CoreApiOptions) {
    this.origin = opts.host.origin;
    this.token = opts.token;
    this.userAgent = opts.userAgent;
    this.dispatcher = opts.dispatcher;
    this.timeoutMs = opts.timeoutMs;
    if (opts.failures) this.failures = opts.failures;
  }

  /**
   * GET `/api/v3<path>` and validate the JSON body with `schema`. Throws `CoreError`; `signal`
   * (a search abandoned) gives `aborted`.
   */
  async get<S extends z.ZodType>(path: string, schema: S, query: Query = {}, signal?: AbortSignal): Promise<z.output<S>> {
    const url = new URL(`/api/v3${path}`, this.origin);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return this.call('GET', url, path, schema, undefined, this.timeoutMs, signal);
  }

  /**
   * POST `body` as JSON to `/api/v3<path>` and validate the 2xx answer with `schema`. Throws
   * `CoreError`. `timeoutMs` (default the client's) bounds the whole exchange.
   */
  async post<S extends z.ZodType>(path: string, body: unknown, schema: S, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<z.output<S>> {
    return this.call('POST', new URL(`/api/v3${path}`, this.origin), path, schema, JSON.stringify(body), opts.timeoutMs ?? this.timeoutMs, opts.signal);
  }

  /** One exchange with the bearer token; a failure of the core is reported before it is thrown. */
  private async call<S extends z.ZodType>(
    method: 'GET' | 'POST',
    url: URL,
    path: string,
    schema: S,
    body: string | undefined,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<z.output<S>> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, 'user-agent': this.userAgent, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      const res = await exchange({ url, method, dispatcher: this.dispatcher, headers, body, timeoutMs, signal, errorClass: CoreError });
      return parseWire(schema, res.json(), path);
    } catch (err) {
      const failure = coreFailure(err, 'api');
      if (failure) this.failures?.report(failure);
      throw err;
    }
  }

  /**
   * Every page of a paginated list. Unlike authentik's Go paginator, an error fails the whole
   * call instead of retrying the same page in a tight loop; the caller decides about retries.
   */
  async list<S extends z.ZodType>(path: string, item: S, opts: { pageSize?: number; query?: Query; signal?: AbortSignal } = {}): Promise<z.output<S>[]> {
    const envelope = paginationSchema(item);
    const out: z.output<S>[] = [];
    const pageSize = opts.pageSize ?? 100;
    // A hostile or broken core must not keep us paging forever.
    for (let page = 1; page <= 100_000; ) {
      const res = await this.get(path, envelope, { ...opts.query, page, page_size: pageSize }, opts.signal);
      out.push(...(res.results as z.output<S>[]));
      const next = res.pagination.next;
      if (!(next > page)) return out;
      page = next;
    }
    throw new CoreError('invalid', path, `pagination of ${path} did not end`);
  }
}
