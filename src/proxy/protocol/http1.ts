// The HTTP/1.1 framing the proxy's fast path reads itself (fast/): a request head it may take,
// a response head from an upstream, and a chunked body's end. Pure: no I/O.
//
// The fast path only takes what is plainly unambiguous. A request head that is anything else
// (another method or version, a body, an upgrade, a duplicate or folded header, a byte outside
// the strict grammar, a header block too large) is `other`: the connection then goes to Node's
// HTTP server, which answers it (400, 431…) as it answers every request of the slow path. So
// this parser never has to be lenient, and never decides a request is bad.
//
// A response head or chunked body outside the strict grammar is `invalid` / an error: the
// upstream connection cannot be trusted to be in step any more (desync), so it is dropped.

export interface SimpleRequestHead {
  readonly method: 'GET' | 'HEAD';
  /** The origin-form target as sent (starts with '/'). */
  readonly target: string;
  /** The header fields: names lower-cased, values with leading/trailing SP/HTAB removed. A null-prototype object (a header may be named `__proto__`). No name appears twice (see rules). */
  readonly headers: Readonly<Record<string, string>>;
  /** Bytes of the head from the start of the buffer, the final CRLF CRLF included. */
  readonly length: number;
  /** False when the Connection header has the token `close`. */
  readonly keepAlive: boolean;
}
export type RequestHeadRead = { readonly kind: 'incomplete' } | { readonly kind: 'simple'; readonly head: SimpleRequestHead } | { readonly kind: 'other' };

export type BodyFraming = { readonly kind: 'none' } | { readonly kind: 'length'; readonly length: number } | { readonly kind: 'chunked' } | { readonly kind: 'close' };
export interface ResponseHead {
  readonly status: number;
  /** The reason phrase as sent (may be empty), latin1. */
  readonly reason: string;
  /** Fields in order, names lower-cased, values trimmed of SP/HTAB, latin1; repeated names kept (Set-Cookie). */
  readonly headers: readonly (readonly [string, string])[];
  /** Bytes of the head, the final CRLF CRLF included. */
  readonly length: number;
  readonly framing: BodyFraming;
  /**
   * The one length the Content-Length fields give (repeats of one value are one), for any
   * framing: a `length` body's, or what a HEAD, 204 or 304 says of the representation. Undefined
   * when there is none, or (framing `none` only) when the fields are unusable.
   */
  readonly contentLength: number | undefined;
  /** Whether the upstream connection may carry another request after this response's body. */
  readonly keepAlive: boolean;
}
export type ResponseHeadRead =
  | { readonly kind: 'incomplete' }
  /** A 1xx other than 101 (100, 102, 103…): skip `length` bytes; the real head follows. */
  | { readonly kind: 'interim'; readonly status: number; readonly length: number }
  | { readonly kind: 'head'; readonly head: ResponseHead }
  | { readonly kind: 'invalid'; readonly reason: string };

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

const MAX_REQUEST_FIELDS = 100;
const MAX_RESPONSE_FIELDS = 200;

// Byte classes, one bit each, looked up per byte (no regex on the hot path).
const TCHAR = 1;
/** HTAB, SP, VCHAR: a request field value, a chunk extension. */
const VCHAR_WS = 2;
/** VCHAR_WS plus obs-text: a response field value, a reason phrase. */
const TEXT = 4;
/** VCHAR without SP: a request target. */
const TARGET = 8;

const CLASS = buildClasses();

function buildClasses(): Uint8Array {
  const t = new Uint8Array(256);
  const tchar = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  for (let i = 0; i < tchar.length; i++) t[tchar.charCodeAt(i)]! |= TCHAR;
  for (let b = 0x21; b <= 0x7e; b++) t[b]! |= TARGET | VCHAR_WS | TEXT;
  for (let b = 0x80; b <= 0xff; b++) t[b]! |= TEXT;
  t[SP]! |= VCHAR_WS | TEXT;
  t[HTAB]! |= VCHAR_WS | TEXT;
  return t;
}

function is(b: number | undefined, cls: number): boolean {
  return b !== undefined && (CLASS[b]! & cls) !== 0;
}

function isOws(b: number | undefined): boolean {
  return b === SP || b === HTAB;
}

/**
 * Where the run of class-`cls` bytes from `from` stops. Unbounded on purpose: the callers scan a
 * head already known to hold a CRLFCRLF, and CR is in no class, so the run stops there at the
 * latest (and past the end, `undefined` is in no class either).
 */
function runEnd(buf: Buffer, from: number, cls: number): number {
  let i = from;
  while ((CLASS[buf[i]!]! & cls) !== 0) i++;
  return i;
}

/** Whether buf[at…] starts with the ASCII `s` (only as far as both go, so a prefix matches). */
function prefixMatches(buf: Buffer, at: number, s: string): boolean {
  const n = Math.min(s.length, buf.length - at);
  for (let i = 0; i < n; i++) if (buf[at + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** Whether buf holds all of the ASCII `s` at `at`. */
function bytesAre(buf: Buffer, at: number, s: string): boolean {
  return at + s.length <= buf.length && prefixMatches(buf, at, s);
}

/**
 * The `:` ending the field name that starts the line at `pos` (1+ tchar), or -1: obs-fold (the
 * line starts with SP/HTAB), whitespace before the colon, a byte outside tchar, no colon.
 */
function nameEnd(buf: Buffer, pos: number): number {
  const i = runEnd(buf, pos, TCHAR);
  return i > pos && buf[i] === COLON ? i : -1;
}

/**
 * The CR ending the field value from `from` (bytes of class `cls`, then CRLF), or -1: a byte
 * outside the class, a bare CR or a bare LF.
 */
function valueEnd(buf: Buffer, from: number, cls: number): number {
  const i = runEnd(buf, from, cls);
  return buf[i] === CR && buf[i + 1] === LF ? i : -1;
}

function skipOws(buf: Buffer, from: number, to: number): number {
  while (from < to && isOws(buf[from])) from++;
  return from;
}

function trimOwsEnd(buf: Buffer, from: number, to: number): number {
  while (to > from && isOws(buf[to - 1])) to--;
  return to;
}

/**
 * While no CRLFCRLF has come: true when the lines so far already rule the head out, so the peer
 * is not left waiting for a head that can never be read (a bare LF; more lines than fields).
 * Native indexOf per line only, as this runs again on every partial read.
 */
function partialLinesBad(buf: Buffer, maxLines: number): boolean {
  let lines = 0;
  for (let lf = buf.indexOf(LF); lf !== -1; lf = buf.indexOf(LF, lf + 1)) {
    if (buf[lf - 1] !== CR || ++lines > maxLines) return true;
  }
  return false;
}

/** Where the head ends (after its CRLFCRLF), or -1 when it has not fully come yet. */
function headEnd(buf: Buffer): number {
  const at = buf.indexOf(CRLFCRLF);
  return at === -1 ? -1 : at + 4;
}

// ---------------------------------------------------------------------------------------------
// Requests

const INCOMPLETE = Object.freeze({ kind: 'incomplete' } as const);
const OTHER = Object.freeze({ kind: 'other' } as const);

/** The methods taken, each with the space and target start that must follow it. */
const GET_PREFIX = 'GET /';
const HEAD_PREFIX = 'HEAD /';
const REQUEST_VERSION = ' HTTP/1.1\r\n';

/** Headers that mean a body, a protocol switch or an interim exchange: all Node's. */
const DELEGATED = new Set(['content-length', 'transfer-encoding', 'upgrade', 'expect', 'http2-settings']);

/** Reads the request head at the start of `buf` (`maxBytes`: the largest head accepted, final CRLFCRLF included). */
export function readRequestHead(buf: Buffer, maxBytes: number): RequestHeadRead {
  const prefix = buf[0] === 0x47 ? GET_PREFIX : buf[0] === 0x48 ? HEAD_PREFIX : undefined;
  if (prefix === undefined) return buf.length === 0 ? INCOMPLETE : OTHER;
  if (!prefixMatches(buf, 0, prefix)) return OTHER;
  const end = headEnd(buf);
  if (end === -1) {
    if (buf.length >= maxBytes || partialLinesBad(buf, MAX_REQUEST_FIELDS + 1)) return OTHER;
    return INCOMPLETE;
  }
  if (end > maxBytes) return OTHER;
  return parseRequest(buf, prefix.length - 1, end);
}

/** The request target's end (the SP before the version), or -1. `start`: the target's start. */
function requestTargetEnd(buf: Buffer, start: number): number {
  const i = runEnd(buf, start, TARGET);
  return bytesAre(buf, i, REQUEST_VERSION) ? i : -1;
}

// The lines are walked in one pass over the bytes, each byte looked at once: the per-line
// indexOf calls into C++ would cost more than the scan itself on a head of a few hundred bytes.
function parseRequest(buf: Buffer, targetStart: number, end: number): RequestHeadRead {
  const targetEnd = requestTargetEnd(buf, targetStart);
  if (targetEnd === -1) return OTHER;
  // One native decode of the whole head; names and values are then cheap slices of it.
  const text = buf.toString('latin1', 0, end);
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  const last = end - 2; // the empty line
  let keepAlive = true;
  let count = 0;
  let pos = targetEnd + REQUEST_VERSION.length;
  while (pos < last) {
    const colon = nameEnd(buf, pos);
    const cr = colon === -1 ? -1 : valueEnd(buf, colon + 1, VCHAR_WS);
    if (cr === -1 || ++count > MAX_REQUEST_FIELDS) return OTHER;
    const name = text.slice(pos, colon).toLowerCase();
    if (headers[name] !== undefined || DELEGATED.has(name)) return OTHER;
    const vs = skipOws(buf, colon + 1, cr);
    const value = text.slice(vs, trimOwsEnd(buf, vs, cr));
    if (name === 'connection') {
      const close = requestConnection(value);
      if (close === undefined) return OTHER;
      keepAlive = !close;
    } else if (name === 'host' && !plainHost(value)) {
      return OTHER;
    }
    headers[name] = value;
    pos = cr + 2;
  }
  // The walk and indexOf both find the first empty line, so they agree; checked all the same.
  if (pos !== last || headers.host === undefined) return OTHER;
  const method = targetStart === 4 ? 'GET' : 'HEAD';
  const target = text.slice(targetStart, targetEnd);
  return { kind: 'simple', head: { method, target, headers, length: end, keepAlive } };
}

/** An empty Host or one with inner whitespace cannot be routed as sent: Node's to judge. */
function plainHost(value: string): boolean {
  return value.length > 0 && !value.includes(' ') && !value.includes('\t');
}

/**
 * A request's Connection: whether it says `close`, or undefined when it names anything other
 * than keep-alive/close (a hop-by-hop header list or an upgrade: Node's to handle).
 */
function requestConnection(value: string): boolean | undefined {
  const v = value.toLowerCase();
  if (v === 'keep-alive') return false;
  if (v === 'close') return true;
  let close = false;
  for (const part of v.split(',')) {
    const token = part.trim();
    if (token === 'close') close = true;
    else if (token !== 'keep-alive' && token !== '') return undefined;
  }
  return close;
}

// ---------------------------------------------------------------------------------------------
// Responses

const R_INCOMPLETE = Object.freeze({ kind: 'incomplete' } as const);
const NONE: BodyFraming = Object.freeze({ kind: 'none' });
const CHUNKED: BodyFraming = Object.freeze({ kind: 'chunked' });
const CLOSE: BodyFraming = Object.freeze({ kind: 'close' });

function invalid(reason: string): ResponseHeadRead {
  return { kind: 'invalid', reason };
}

/** `HTTP/1.` then the minor version digit, SP, the 3 status digits: 12 bytes. */
const STATUS_FIXED = 12;

/**
 * Whether the status line's first `to` bytes (at most 13) are right: `HTTP/1.0 ` or `HTTP/1.1 `,
 * a status 100–599, then SP (a reason follows) or CR (none).
 */
function statusStartOk(buf: Buffer, to: number): boolean {
  for (let i = 0; i < to; i++) if (!statusByteOk(buf[i]!, i)) return false;
  return true;
}

function statusByteOk(b: number, i: number): boolean {
  if (i < 7) return b === 'HTTP/1.'.charCodeAt(i);
  if (i === 7) return b === 0x30 || b === 0x31;
  if (i === 8) return b === SP;
  if (i === 9) return b >= 0x31 && b <= 0x35;
  if (i < STATUS_FIXED) return b >= 0x30 && b <= 0x39;
  return b === SP || b === CR;
}

/** The CR ending the status line (whose first 13 bytes are right), or -1. */
function statusLineEnd(buf: Buffer): number {
  if (buf[STATUS_FIXED] === CR) return buf[STATUS_FIXED + 1] === LF ? STATUS_FIXED : -1;
  return valueEnd(buf, STATUS_FIXED + 1, TEXT);
}

/** Reads a response head at the start of `buf`, for a request of `method`. */
export function readResponseHead(buf: Buffer, maxBytes: number, method: 'GET' | 'HEAD'): ResponseHeadRead {
  const end = headEnd(buf);
  if (end === -1) return partialResponse(buf, maxBytes);
  if (end > maxBytes) return invalid('response head too large');
  const cr = statusStartOk(buf, STATUS_FIXED + 1) ? statusLineEnd(buf) : -1;
  if (cr === -1) return invalid('bad status line');
  return parseResponse(buf, cr, end, method);
}

function partialResponse(buf: Buffer, maxBytes: number): ResponseHeadRead {
  if (buf.length >= maxBytes) return invalid('response head too large');
  // Only the status line's fixed start is looked at again on each read; the rest when complete.
  if (!statusStartOk(buf, Math.min(buf.length, STATUS_FIXED + 1))) return invalid('bad status line');
  if (partialLinesBad(buf, MAX_RESPONSE_FIELDS + 1)) return invalid('bad line ending or too many fields');
  return R_INCOMPLETE;
}

/** What the fields say about framing and the connection, gathered while reading them. */
interface FramingFields {
  te: string | undefined;
  teCount: number;
  contentLengths: string[];
  close: boolean;
}

function parseResponse(buf: Buffer, statusCr: number, end: number, method: 'GET' | 'HEAD'): ResponseHeadRead {
  const http11 = buf[7] === 0x31;
  const status = (buf[9]! - 0x30) * 100 + (buf[10]! - 0x30) * 10 + (buf[11]! - 0x30);
  if (status === 101) return invalid('101 without an upgrade asked');
  // One native decode of the whole head; the reason, names and values are then cheap slices.
  const text = buf.toString('latin1', 0, end);
  const reason = statusCr > STATUS_FIXED ? text.slice(STATUS_FIXED + 1, statusCr) : '';
  const headers: (readonly [string, string])[] = [];
  const f: FramingFields = { te: undefined, teCount: 0, contentLengths: [], close: false };
  const last = end - 2; // the empty line
  let pos = statusCr + 2;
  while (pos < last) {
    const colon = nameEnd(buf, pos);
    if (colon === -1) return invalid('bad field line');
    const cr = valueEnd(buf, colon + 1, TEXT);
    if (cr === -1) return invalid('bad byte or line ending in a field value');
    if (headers.length === MAX_RESPONSE_FIELDS) return invalid('too many fields');
    const name = text.slice(pos, colon).toLowerCase();
    const vs = skipOws(buf, colon + 1, cr);
    const value = text.slice(vs, trimOwsEnd(buf, vs, cr));
    noteFraming(f, name, value);
    headers.push([name, value]);
    pos = cr + 2;
  }
  if (pos !== last) return invalid('bad line ending');
  if (status < 200) return { kind: 'interim', status, length: end };
  // Read once, for the framing and for the head's `contentLength`.
  const cl = f.contentLengths.length > 0 ? lengthOf(f.contentLengths) : undefined;
  const framing = responseFraming(f, cl, status, method, http11);
  if (typeof framing === 'string') return invalid(framing);
  const keepAlive = http11 && !f.close && framing !== CLOSE;
  return { kind: 'head', head: { status, reason, headers, length: end, framing, contentLength: typeof cl === 'number' ? cl : undefined, keepAlive } };
}

function noteFraming(f: FramingFields, name: string, value: string): void {
  if (name === 'transfer-encoding') {
    f.te = value;
    f.teCount++;
  } else if (name === 'content-length') {
    f.contentLengths.push(value);
  } else if (name === 'connection' && hasCloseToken(value)) {
    f.close = true;
  }
}

function hasCloseToken(value: string): boolean {
  const v = value.toLowerCase();
  if (v === 'close') return true;
  if (!v.includes('close')) return false;
  return v.split(',').some((t) => t.trim() === 'close');
}

/** The body framing (RFC 9112 §6.3), or why the head cannot be framed without doubt. `cl`: what `lengthOf` made of the Content-Length fields (undefined: none). */
function responseFraming(f: FramingFields, cl: number | string | undefined, status: number, method: 'GET' | 'HEAD', http11: boolean): BodyFraming | string {
  if (method === 'HEAD' || status === 204 || status === 304) return NONE;
  if (f.teCount > 0) {
    // Any other coding (or a list) would need decoding to find the end, and TE with CL is
    // the classic smuggling pair: refused, not guessed.
    if (f.teCount !== 1 || f.te!.toLowerCase() !== 'chunked') return 'unsupported transfer-encoding';
    if (!http11) return 'transfer-encoding in HTTP/1.0';
    if (f.contentLengths.length > 0) return 'transfer-encoding with content-length';
    return CHUNKED;
  }
  if (cl !== undefined) return typeof cl === 'number' ? { kind: 'length', length: cl } : cl;
  return CLOSE;
}

/** 1–15 digits: below 2^53, so the number is exact. */
const MAX_CL_DIGITS = 15;

/** The one length Content-Length fields give, or why they give none. */
function lengthOf(values: readonly string[]): number | string {
  let length = -1;
  for (const v of values) {
    const n = digitsValue(v);
    if (n === -1) return 'bad content-length';
    if (length !== -1 && n !== length) return 'conflicting content-length';
    length = n;
  }
  return length;
}

/** The value of 1–15 ASCII digits, or -1. */
function digitsValue(v: string): number {
  if (v.length === 0 || v.length > MAX_CL_DIGITS) return -1;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const d = v.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Chunked bodies

const MAX_SIZE_LINE = 4096;
const MAX_TRAILERS = 16384;
const MAX_HEX_DIGITS = 16;

// The reader's states: where in the chunked grammar the next byte falls.
const S_SIZE = 0; // hex digits of chunk-size
const S_SIZE_BWS = 1; // SP/HTAB after the size: only `;` may follow
const S_EXT = 2; // chunk extensions, up to CR
const S_SIZE_LF = 3; // LF ending the size line
const S_DATA = 4; // chunk data, counted in bulk
const S_DATA_CR = 5; // CR after the data
const S_DATA_LF = 6; // LF after the data
const S_TRAILER_START = 7; // start of a trailer line, or CR of the final empty line
const S_TRAILER_NAME = 8;
const S_TRAILER_VALUE = 9;
const S_TRAILER_LF = 10;
const S_FINAL_LF = 11;
const S_DONE = 12;
const S_ERROR = 13;

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  const l = b | 0x20; // ASCII lower case; only letters can match below
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1;
}

/** Follows a chunked response body (the bytes after its head, fed in order) to its end. */
export class ChunkedBodyReader {
  #state = S_SIZE;
  /** The chunk size being read, then the data bytes still to come. */
  #size = 0;
  #digits = 0;
  #lineBytes = 0;
  #trailerBytes = 0;
  #dataBytes = 0;
  #error: string | undefined;

  /**
   * Consumes `chunk`. Returns how many of its bytes belong to the body: `chunk.length` while the
   * body goes on, fewer when it ended inside `chunk` (the rest is not this body's), or -1 on a
   * framing error (`error` says what). After the end or an error, `done` is true and feed must not be called again.
   */
  feed(chunk: Buffer): number {
    if (this.done) throw new Error('ChunkedBodyReader: feed after the end');
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.#state === S_DATA) {
        i += this.#skipData(n - i);
        continue;
      }
      if (!this.#step(chunk[i]!)) return -1;
      i++;
      if (this.#state === S_DONE) return i;
    }
    return n;
  }

  get done(): boolean {
    return this.#state === S_DONE || this.#state === S_ERROR;
  }

  get error(): string | undefined {
    return this.#error;
  }

  /** The body's data bytes so far (without the chunk framing). */
  get dataBytes(): number {
    return this.#dataBytes;
  }

  /** Counts up to `available` data bytes; returns how many belonged to the chunk. */
  #skipData(available: number): number {
    const take = Math.min(this.#size, available);
    this.#size -= take;
    this.#dataBytes += take;
    if (this.#size === 0) this.#state = S_DATA_CR;
    return take;
  }

  #fail(reason: string): false {
    this.#state = S_ERROR;
    this.#error = reason;
    return false;
  }

  /** One byte outside chunk data; false on a framing error. */
  #step(b: number): boolean {
    const s = this.#state;
    if (s <= S_EXT && b !== CR && ++this.#lineBytes > MAX_SIZE_LINE) return this.#fail('chunk size line too long');
    if (s >= S_TRAILER_START && ++this.#trailerBytes > MAX_TRAILERS) return this.#fail('trailer section too large');
    switch (s) {
      case S_SIZE:
        return this.#sizeByte(b);
      case S_SIZE_BWS:
        if (isOws(b)) return true;
        return b === 0x3b ? this.#to(S_EXT) : this.#fail('bad chunk size line');
      case S_EXT:
        if (b === CR) return this.#to(S_SIZE_LF);
        return is(b, VCHAR_WS) ? true : this.#fail('bad byte in chunk extension');
      case S_SIZE_LF:
        return b === LF ? this.#sizeLineEnd() : this.#fail('bad chunk size line ending');
      case S_DATA_CR:
        return b === CR ? this.#to(S_DATA_LF) : this.#fail('no CRLF after chunk data');
      case S_DATA_LF:
        return b === LF ? this.#nextSizeLine() : this.#fail('no CRLF after chunk data');
      default:
        return this.#trailerByte(s, b);
    }
  }

  #to(state: number): true {
    this.#state = state;
    return true;
  }

  #sizeByte(b: number): boolean {
    const d = hexValue(b);
    if (d !== -1) {
      if (++this.#digits > MAX_HEX_DIGITS) return this.#fail('chunk size too long');
      // Exact up to MAX_SAFE_INTEGER; anything past it rounds to at least 2^53, so is caught.
      this.#size = this.#size * 16 + d;
      return this.#size <= Number.MAX_SAFE_INTEGER ? true : this.#fail('chunk size too large');
    }
    if (this.#digits === 0) return this.#fail('bad chunk size');
    if (b === CR) return this.#to(S_SIZE_LF);
    if (b === 0x3b) return this.#to(S_EXT);
    return isOws(b) ? this.#to(S_SIZE_BWS) : this.#fail('bad chunk size');
  }

  #sizeLineEnd(): true {
    return this.#to(this.#size === 0 ? S_TRAILER_START : S_DATA);
  }

  #nextSizeLine(): true {
    this.#digits = 0;
    this.#lineBytes = 0;
    return this.#to(S_SIZE);
  }

  /** Trailer fields as response field lines (no obs-fold), then the empty line. */
  #trailerByte(s: number, b: number): boolean {
    switch (s) {
      case S_TRAILER_START:
        if (b === CR) return this.#to(S_FINAL_LF);
        return is(b, TCHAR) ? this.#to(S_TRAILER_NAME) : this.#fail('bad trailer line');
      case S_TRAILER_NAME:
        if (b === COLON) return this.#to(S_TRAILER_VALUE);
        return is(b, TCHAR) ? true : this.#fail('bad trailer name');
      case S_TRAILER_VALUE:
        if (b === CR) return this.#to(S_TRAILER_LF);
        return is(b, TEXT) ? true : this.#fail('bad byte in trailer value');
      case S_TRAILER_LF:
        return b === LF ? this.#to(S_TRAILER_START) : this.#fail('bad trailer line ending');
      default: // S_FINAL_LF
        return b === LF ? this.#to(S_DONE) : this.#fail('bad end of trailer section');
    }
  }
}
