// The pure parts of relaying an HTTP Upgrade (upstream/websocket.ts does the I/O): what kind of
// upgrade a request offers, the upstream's answer head read strictly and bounded (a 101 here,
// any other status with the strict response reader), and a refusal's body cut at its framed end.
import type { IncomingMessage } from 'node:http';
import { ChunkedBodyReader, readResponseHead, type BodyFraming, type ResponseHead } from './http1.ts';

/** Header fields a 101 may carry. */
const MAX_SWITCH_FIELDS = 200;
/** `HTTP/1.1 101`, then nothing or SP and a reason (HTAB, SP, VCHAR, obs-text). Linear: no backtracking. */
const SWITCH_STATUS = /^HTTP\/1\.1 101(?: ([\t \x21-\x7e\x80-\xff]*))?$/;
/** A field line: a token, a colon, a value of HTAB, SP, VCHAR, obs-text (no obs-fold, NUL, bare CR or LF). */
const FIELD = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):([\t \x21-\x7e\x80-\xff]*)$/;
const SWITCH_PREFIX = 'HTTP/1.1 101';
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
export const EMPTY = Buffer.alloc(0);

function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s[a] === ' ' || s[a] === '\t')) a++;
  while (b > a && (s[b - 1] === ' ' || s[b - 1] === '\t')) b--;
  return s.slice(a, b);
}

/**
 * The elements of a comma-separated list field (RFC 9110 §5.6.1) over all its lines, OWS
 * trimmed, empty elements skipped, lower-cased (tokens compare case-insensitively).
 */
export function listTokens(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  const out: string[] = [];
  for (const line of typeof value === 'string' ? [value] : value) {
    for (const element of line.split(',')) {
      const t = trimOws(element);
      if (t) out.push(t.toLowerCase());
    }
  }
  return out;
}

type UpgradeRequestKind = 'websocket' | 'plain' | 'has-body';

/** What the relay does with the client's upgrade request: relay a websocket, send anything else as a plain request, refuse a body (upstream/websocket.ts says why). */
export function upgradeRequestKind(req: Pick<IncomingMessage, 'method' | 'headers'>): UpgradeRequestKind {
  const h = req.headers;
  if (h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && Number(h['content-length']) !== 0)) return 'has-body';
  const offered = req.method === 'GET' && listTokens(h.connection).includes('upgrade') && listTokens(h.upgrade).includes('websocket');
  return offered ? 'websocket' : 'plain';
}

export interface SwitchHead {
  readonly reason: string;
  /** [name as sent, value OWS-trimmed], in order. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** Bytes of the head, the final CRLF CRLF included. */
  readonly length: number;
}

export type AnswerRead =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'interim'; readonly length: number }
  | { readonly kind: 'switch'; readonly head: SwitchHead }
  | { readonly kind: 'answer'; readonly head: ResponseHead }
  | { readonly kind: 'invalid'; readonly reason: string };

const INCOMPLETE: AnswerRead = Object.freeze({ kind: 'incomplete' });

function invalid(reason: string): AnswerRead {
  return { kind: 'invalid', reason };
}

/** Reads the answer head at the start of `buf`: a 101 here, any other status with the fast path's strict reader. */
export function readUpgradeAnswer(buf: Buffer, maxBytes: number, method: 'GET' | 'HEAD', upgrading: boolean): AnswerRead {
  if (buf.length >= SWITCH_PREFIX.length && buf.toString('latin1', 0, SWITCH_PREFIX.length) === SWITCH_PREFIX) {
    return upgrading ? readSwitchHead(buf, maxBytes) : invalid('101 to a request that offered no upgrade');
  }
  const r = readResponseHead(buf, maxBytes, method);
  if (r.kind === 'interim') return { kind: 'interim', length: r.length };
  if (r.kind === 'head') return { kind: 'answer', head: r.head };
  return r;
}

function readSwitchHead(buf: Buffer, maxBytes: number): AnswerRead {
  const at = buf.indexOf(CRLFCRLF);
  if (at === -1) {
    if (buf.length >= maxBytes) return invalid('response head too large');
    // A bare LF already rules the head out: fail now, not at the timeout.
    for (let lf = buf.indexOf(0x0a); lf !== -1; lf = buf.indexOf(0x0a, lf + 1)) if (buf[lf - 1] !== 0x0d) return invalid('bad line ending');
    return INCOMPLETE;
  }
  const length = at + 4;
  if (length > maxBytes) return invalid('response head too large');
  const lines = buf.toString('latin1', 0, at).split('\r\n');
  const status = SWITCH_STATUS.exec(lines[0]!);
  if (!status) return invalid('bad status line');
  if (lines.length - 1 > MAX_SWITCH_FIELDS) return invalid('too many fields');
  const headers: Array<readonly [string, string]> = [];
  const connection: string[] = [];
  const upgrade: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const m = FIELD.exec(lines[i]!);
    if (!m) return invalid('bad field line');
    const name = m[1]!;
    const value = trimOws(m[2]!);
    const lower = name.toLowerCase();
    if (lower === 'connection') connection.push(value);
    else if (lower === 'upgrade') upgrade.push(value);
    headers.push([name, value]);
  }
  if (!listTokens(connection).includes('upgrade')) return invalid('101 without a Connection: upgrade token');
  // The protocol switched to must be the one relayed, and only it (Go: the requested type, exactly).
  const protocols = listTokens(upgrade);
  if (protocols.length !== 1 || protocols[0] !== 'websocket') return invalid('101 without Upgrade: websocket');
  return { kind: 'switch', head: { reason: trimOws(status[1] ?? ''), headers, length } };
}

export type Cut = { readonly body: Buffer; readonly ended: boolean } | { readonly bad: string };

/** Cuts a refusal's body out of the upstream's bytes, up to its framed end. */
export function bodyCutter(framing: BodyFraming): (chunk: Buffer) => Cut {
  switch (framing.kind) {
    case 'none':
      return () => ({ body: EMPTY, ended: true });
    case 'close':
      return (chunk) => ({ body: chunk, ended: false });
    case 'length': {
      let left = framing.length;
      return (chunk) => {
        const n = Math.min(left, chunk.length);
        left -= n;
        return { body: chunk.subarray(0, n), ended: left === 0 };
      };
    }
    case 'chunked': {
      const reader = new ChunkedBodyReader();
      return (chunk) => {
        const n = reader.feed(chunk);
        return n === -1 ? { bad: reader.error ?? 'bad chunked body' } : { body: chunk.subarray(0, n), ended: reader.done };
      };
    }
  }
}
