// The HTTP client for the authentik core's REST API. One pooled, keep-alive dispatcher per
// process is shared by every agent and every flow attempt: a cookie jar per attempt does not
// mean a connection per attempt.
import { Agent, request, type Dispatcher } from 'undici';
import type { z } from 'zod';
import { Deadline } from '../net/deadline.ts';
import { CoreError, parseWire } from './errors.ts';
import { paginationSchema } from './schemas.ts';

export interface DispatcherOptions {
  insecure: boolean;
  /** Sockets kept per origin; flows and API calls share them. */
  connections?: number;
}

export function createDispatcher(opts: DispatcherOptions): Agent {
  return new Agent({
    connections: opts.connections ?? 64,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 120_000,
    connect: { rejectUnauthorized: !opts.insecure, timeout: 10_000 },
  });
}

export interface CoreApiOptions {
  /** `AUTHENTIK_HOST`; only scheme and host:port are used, as authentik 2024.4 does. */
  host: URL;
  token: string;
  userAgent: string;
  dispatcher: Dispatcher;
  /** Deadline for one API call, in milliseconds. */
  timeoutMs: number;
}

export type Query = Record<string, string | number | boolean | undefined>;

/** Calls the core with the outpost's bearer token. */
export class CoreApi {
  readonly origin: string;
  readonly token: string;
  readonly userAgent: string;
  readonly dispatcher: Dispatcher;
  readonly timeoutMs: number;

  constructor(opts: CoreApiOptions) {
    this.origin = opts.host.origin;
    this.token = opts.token;
    this.userAgent = opts.userAgent;
    this.dispatcher = opts.dispatcher;
    this.timeoutMs = opts.timeoutMs;
  }

  /** GET `/api/v3<path>` and validate the JSON body with `schema`. */
  async get<S extends z.ZodType>(path: string, schema: S, query: Query = {}): Promise<z.output<S>> {
    const url = new URL(`/api/v3${path}`, this.origin);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    const body = await this.send('GET', url, path);
    return parseWire(schema, body, path);
  }

  /**
   * Every page of a paginated list. Unlike authentik's Go paginator, an error fails the whole
   * call instead of retrying the same page in a tight loop; the caller decides about retries.
   */
  async list<S extends z.ZodType>(path: string, item: S, opts: { pageSize?: number; query?: Query } = {}): Promise<z.output<S>[]> {
    const envelope = paginationSchema(item);
    const out: z.output<S>[] = [];
    const pageSize = opts.pageSize ?? 100;
    // A hostile or broken core must not keep us paging forever.
    for (let page = 1; page <= 100_000; ) {
      const res = await this.get(path, envelope, { ...opts.query, page, page_size: pageSize });
      out.push(...(res.results as z.output<S>[]));
      const next = res.pagination.next;
      if (!(next > page)) return out;
      page = next;
    }
    throw new CoreError('invalid', path, `pagination of ${path} did not end`);
  }

  private async send(method: 'GET' | 'POST', url: URL, path: string): Promise<unknown> {
    const deadline = new Deadline(this.timeoutMs);
    let res: Dispatcher.ResponseData;
    let text: string;
    try {
      try {
        res = await request(url, {
          method,
          dispatcher: this.dispatcher,
          headers: {
            authorization: `Bearer ${this.token}`,
            'user-agent': this.userAgent,
            accept: 'application/json',
          },
          signal: deadline.signal,
        });
      } catch (err) {
        throw transportError(err, path, this.timeoutMs);
      }
      text = await readBody(res, path, this.timeoutMs);
    } finally {
      deadline.dispose();
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      throw new CoreError('status', path, `${method} ${path} answered ${res.statusCode}${describeDetail(text)}`, { status: res.statusCode });
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new CoreError('invalid', path, `${method} ${path} answered with a body that is not JSON`);
    }
  }
}

/** Bodies larger than this are not something the core sends to an outpost; refuse them. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

export async function readBody(res: Dispatcher.ResponseData, path: string, timeoutMs: number): Promise<string> {
  const len = Number(res.headers['content-length'] ?? 0);
  if (len > MAX_BODY_BYTES) {
    res.body.destroy();
    throw new CoreError('invalid', path, `response of ${path} is too large (${len} bytes)`);
  }
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > MAX_BODY_BYTES) {
        res.body.destroy();
        throw new CoreError('invalid', path, `response of ${path} is too large`);
      }
      chunks.push(buf);
    }
    return Buffer.concat(chunks).toString('utf8');
  } catch (err) {
    if (err instanceof CoreError) throw err;
    throw transportError(err, path, timeoutMs);
  }
}

export function transportError(err: unknown, path: string, timeoutMs: number): CoreError {
  const e = err as { name?: string; code?: string; message?: string };
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT') {
    return new CoreError('timeout', path, `${path} did not answer within ${timeoutMs} ms`, { cause: err });
  }
  const code = e.code ? ` (${e.code})` : '';
  return new CoreError('transport', path, `cannot reach the core for ${path}: ${e.message ?? String(err)}${code}`, { cause: err });
}

/** authentik's error bodies are `{"detail": "..."}`; show it (bounded) to help at 3 a.m. */
function describeDetail(text: string): string {
  try {
    const parsed = JSON.parse(text) as { detail?: unknown };
    if (typeof parsed.detail === 'string') return `: ${parsed.detail.slice(0, 200)}`;
  } catch {
    // not JSON: say nothing more
  }
  return '';
}
