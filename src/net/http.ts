// One HTTP exchange: request and whole body under one deadline, the body bounded, every failure
// an `HttpError` with a stable code. The agent's REST client and the flow executor (and the
// proxy's calls to come) share it, so "the core failed" looks the same wherever it happens.
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Deadline } from './deadline.ts';
import type { HttpPool } from './pool.ts';

export type HttpErrorCode =
  /** The caller's signal aborted the exchange (a client went away, a shutdown). */
  | 'aborted'
  /** The exchange's own deadline passed. */
  | 'timeout'
  /** Connection refused or reset, DNS, TLS. */
  | 'transport'
  /** An answer with a status the caller did not want (`status` is set). */
  | 'status'
  /** An answer that is not JSON, or not the shape the caller needs. */
  | 'invalid'
  /** A body larger than the caller's bound. */
  | 'too_large';

export interface HttpErrorOptions {
  status?: number | undefined;
  cause?: unknown;
}

export class HttpError extends Error {
  override readonly name: string = 'HttpError';
  readonly code: HttpErrorCode;
  readonly status: number | undefined;
  /** The request's path, never its query (a flow's query is the user's context). */
  readonly path: string;

  constructor(code: HttpErrorCode, path: string, message: string, opts: HttpErrorOptions = {}) {
    super(message, { cause: opts.cause });
    this.code = code;
    this.path = path;
    this.status = opts.status;
  }
}

/** A subclass to throw instead of `HttpError` (the agent's `CoreError`), same constructor. */
export type HttpErrorClass = new (code: HttpErrorCode, path: string, message: string, opts?: HttpErrorOptions) => HttpError;

/** No answer from the core to an outpost is this large; a larger one is refused unread. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

export interface ExchangeRequest {
  url: URL;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string | undefined;
  /** The keep-alive connections to use (one per process towards the core). */
  dispatcher: HttpPool;
  /** Deadline for the request and its whole body, in ms. */
  timeoutMs: number;
  /** The caller's signal. Its abort is `aborted`, never `timeout`. */
  signal?: AbortSignal | undefined;
  /** Default `MAX_BODY_BYTES`. */
  maxBodyBytes?: number;
  /** Default `HttpError`. */
  errorClass?: HttpErrorClass;
}

export interface ExchangeResponse {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** 2xx. */
  readonly ok: boolean;
  /** The body as JSON. A non-2xx answer throws `status`, a body that is not JSON `invalid`. */
  json(): unknown;
  /** The `status` error for this answer (with the core's `detail`, bounded). */
  statusError(): HttpError;
}

/**
 * Send one request and read its whole body. Resolves for every status; throws `HttpError` with
 * code `aborted`, `timeout`, `transport` or `too_large`.
 */
export async function exchange(req: ExchangeRequest): Promise<ExchangeResponse> {
  const path = req.url.pathname;
  const Err = req.errorClass ?? HttpError;
  const max = req.maxBodyBytes ?? MAX_BODY_BYTES;
  const deadline = new Deadline(req.timeoutMs, req.signal);
  try {
    const res = await send(req, deadline.signal);
    const text = await readBounded(res, max, path, Err);
    return response(req.method, path, res.statusCode ?? 0, res.headers, text, Err);
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw classify(err, { path, method: req.method, timeoutMs: req.timeoutMs, aborted: req.signal?.aborted === true, expired: deadline.expired }, Err);
  } finally {
    deadline.dispose();
  }
}

/** The request sent, resolved with the response head; rejects on transport failure or abort. */
function send(req: ExchangeRequest, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = req.url.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers = req.body === undefined ? req.headers : { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) };
    const out = request(req.url, { method: req.method, headers, agent: req.dispatcher.agentFor(req.url), signal }, resolve);
    out.once('error', reject);
    out.end(req.body);
  });
}

async function readBounded(res: IncomingMessage, max: number, path: string, Err: HttpErrorClass): Promise<string> {
  const declared = Number(res.headers['content-length'] ?? 0);
  if (declared > max) {
    res.destroy();
    throw new Err('too_large', path, `the answer of ${path} is too large (${declared} bytes, at most ${max})`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > max) {
      res.destroy();
      throw new Err('too_large', path, `the answer of ${path} is too large (more than ${max} bytes)`);
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

interface FailureContext {
  path: string;
  method: string;
  timeoutMs: number;
  /** The caller's signal had aborted. */
  aborted: boolean;
  /** The exchange's own deadline had passed. */
  expired: boolean;
}

/**
 * What a thrown error means. The signals decide first: an aborted request rejects with an
 * AbortError whichever signal fired, so an error's name cannot tell a caller's abort from a deadline.
 */
function classify(err: unknown, c: FailureContext, Err: HttpErrorClass): HttpError {
  if (c.aborted) return new Err('aborted', c.path, `${c.method} ${c.path}: aborted by the caller`, { cause: err });
  const e = err as { name?: string; code?: string; message?: string };
  if (c.expired) {
    return new Err('timeout', c.path, `${c.path} did not answer within ${c.timeoutMs} ms`, { cause: err });
  }
  const code = e.code ? ` (${e.code})` : '';
  return new Err('transport', c.path, `cannot reach the core for ${c.path}: ${e.message ?? String(err)}${code}`, { cause: err });
}

function response(method: string, path: string, status: number, headers: IncomingHttpHeaders, text: string, Err: HttpErrorClass): ExchangeResponse {
  const ok = status >= 200 && status < 300;
  const statusError = () => new Err('status', path, `${method} ${path} answered ${status}${describeDetail(text)}`, { status });
  return {
    method,
    path,
    status,
    headers,
    text,
    ok,
    statusError,
    json() {
      if (!ok) throw statusError();
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new Err('invalid', path, `${method} ${path} answered with a body that is not JSON`);
      }
    },
  };
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
