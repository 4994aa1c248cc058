// Node's own HTTP/1.1 parser (llhttp, as node:http's server and client run it: strict, no lenient
// flags), for tests that check the fast path reads and writes bytes exactly as Node would read
// them. `_http_common` is Node's module behind node:http; its parser class is what the server
// allocates per connection.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface ParserClass {
  new (): Parser;
  readonly REQUEST: number;
  readonly RESPONSE: number;
  readonly kOnHeaders: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
}
interface Parser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | (Error & { code?: string; bytesParsed?: number });
  finish(): undefined | (Error & { code?: string });
  [key: number]: unknown;
}

const common = require('_http_common') as { HTTPParser: ParserClass; methods: readonly string[] };
const { HTTPParser, methods } = common;

export interface NodeMessage {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly status: number | undefined;
  /** Raw name/value pairs, names as sent. */
  readonly headers: readonly string[];
  readonly upgrade: boolean;
  readonly keepAlive: boolean;
  body: string;
  complete: boolean;
}

export interface NodeRead {
  readonly messages: NodeMessage[];
  /** The parser's error code, if it refused the bytes. */
  readonly error: string | undefined;
  /** Bytes the parser consumed. */
  readonly consumed: number;
}

/**
 * What Node reads of `bytes`: requests as its server does, or responses (to `method`) as its
 * client does. `eof`: the connection closed after the bytes (ends a close-delimited body).
 */
export function nodeRead(kind: 'request' | 'response', bytes: Buffer, opts: { method?: 'GET' | 'HEAD'; maxHeaderSize?: number; eof?: boolean } = {}): NodeRead {
  const p = new HTTPParser();
  p.initialize(kind === 'request' ? HTTPParser.REQUEST : HTTPParser.RESPONSE, {}, opts.maxHeaderSize ?? 16 * 1024, 0);
  const messages: NodeMessage[] = [];
  let pending: { headers: string[]; url: string } | undefined;
  // Headers come in pieces when they span several execute() calls; here there is one.
  p[HTTPParser.kOnHeaders] = (headers: string[], url: string) => {
    pending = { headers: [...(pending?.headers ?? []), ...headers], url: (pending?.url ?? '') + url };
  };
  p[HTTPParser.kOnHeadersComplete] = (
    _major: number,
    _minor: number,
    headers: string[] | undefined,
    method: number | undefined,
    url: string | undefined,
    status: number | undefined,
    _reason: unknown,
    upgrade: boolean,
    keepAlive: boolean,
  ) => {
    messages.push({
      method: method === undefined ? undefined : methods[method],
      url: url ?? pending?.url,
      status,
      headers: headers ?? pending?.headers ?? [],
      upgrade,
      keepAlive,
      body: '',
      complete: false,
    });
    pending = undefined;
    // As Node's client: the answer to a HEAD has no body, whatever its fields say.
    return kind === 'response' && opts.method === 'HEAD' ? 1 : 0;
  };
  p[HTTPParser.kOnBody] = (b: Buffer) => {
    messages.at(-1)!.body += b.toString('latin1');
  };
  p[HTTPParser.kOnMessageComplete] = () => {
    messages.at(-1)!.complete = true;
  };
  const r = p.execute(bytes);
  if (typeof r !== 'number') return { messages, error: r.code ?? r.message, consumed: r.bytesParsed ?? 0 };
  if (opts.eof) {
    const f = p.finish();
    if (f !== undefined) return { messages, error: f.code ?? f.message, consumed: r };
  }
  return { messages, error: undefined, consumed: r };
}
