/**
 * BER reader/writer for the subset of X.690 Basic Encoding Rules that LDAP uses.
 *
 * RFC 4511 §5.1 restricts LDAP to definite-length encodings, so the reader rejects the
 * indefinite form outright. Only single-byte tag numbers (0..30) are supported: every
 * tag in the LDAP ASN.1 module fits; a multi-byte tag number is reported as a
 * `BerError` rather than misread.
 *
 * Tags are handled as the whole identifier octet (class | constructed | number), which
 * is how LDAP code usually spells them: 0x30 SEQUENCE, 0x63 [APPLICATION 3] constructed,
 * 0x80 [0] primitive, ...
 *
 * The reader never throws anything but `BerError` on malformed input and never reads
 * outside the range it was given. Nesting depth and the total number of elements read
 * through one top-level reader are bounded.
 */

/** Identifier-octet class bits. */
export const TagClass = {
  universal: 0x00,
  application: 0x40,
  context: 0x80,
  private: 0xc0,
} as const;

/** The constructed bit of an identifier octet. */
export const CONSTRUCTED = 0x20;

/** Universal tags (full identifier octets) that LDAP uses. */
export const UniversalTag = {
  boolean: 0x01,
  integer: 0x02,
  octetString: 0x04,
  null: 0x05,
  enumerated: 0x0a,
  sequence: 0x30,
  set: 0x31,
} as const;

/** Largest value of LDAP's `maxInt` (RFC 4511 §4.1.1: 2^31 - 1). */
export const MAX_INT = 2147483647;

export class BerError extends Error {
  /** Short machine-readable reason, e.g. `truncated`, `indefinite-length`. */
  readonly reason: string;
  /** Byte offset (in the underlying buffer) where the problem was found. */
  readonly offset: number;
  constructor(reason: string, offset: number, detail?: string) {
    super(detail === undefined ? `BER: ${reason} at offset ${offset}` : `BER: ${reason} at offset ${offset}: ${detail}`);
    this.name = 'BerError';
    this.reason = reason;
    this.offset = offset;
  }
}

export interface BerLimits {
  /** Maximum nesting of constructed elements below the outermost reader. */
  readonly maxDepth: number;
  /** Maximum number of elements read (in total) through one top-level reader. */
  readonly maxElements: number;
  /** Maximum content length of any single element. */
  readonly maxLength: number;
}

export const DEFAULT_BER_LIMITS: BerLimits = {
  maxDepth: 64,
  maxElements: 1_000_000,
  maxLength: 0x7fffffff,
};

/** Header of one TLV element. */
export interface BerHeader {
  /** Full identifier octet. */
  readonly tag: number;
  readonly constructed: boolean;
  /** Offset of the identifier octet. */
  readonly start: number;
  /** Offset of the first content octet. */
  readonly contentStart: number;
  /** Offset just after the last content octet. */
  readonly end: number;
}

export interface ReaderShared {
  readonly limits: BerLimits;
  elements: number;
}

/**
 * Reads the header (tag + length) of the element starting at `offset`, bounded by `limit`.
 * Returns `undefined` when more bytes are needed to know the header or its content
 * (never when the data is malformed: that throws `BerError`). Exposed for the framer.
 */
export function peekHeader(
  buf: Uint8Array,
  offset: number,
  limit: number,
  maxLength: number = DEFAULT_BER_LIMITS.maxLength,
): { readonly tag: number; readonly headerLength: number; readonly contentLength: number } | undefined {
  if (offset >= limit) return undefined;
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new BerError('multi-byte-tag', offset, 'tag numbers above 30 are not used by LDAP');
  if (offset + 1 >= limit) return undefined;
  const first = buf[offset + 1]!;
  if (first < 0x80) return { tag, headerLength: 2, contentLength: first };
  if (first === 0x80) throw new BerError('indefinite-length', offset + 1, 'LDAP requires definite lengths (RFC 4511 §5.1)');
  const n = first & 0x7f;
  if (n > 4) throw new BerError('length-too-long', offset + 1, `${n} length octets`);
  if (offset + 2 + n > limit) return undefined;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + buf[offset + 2 + i]!;
  if (len > maxLength) throw new BerError('length-exceeds-max', offset + 1, `${len} > ${maxLength}`);
  return { tag, headerLength: 2 + n, contentLength: len };
}

/**
 * Sequential reader over `[start, end)` of a buffer. Child readers (for constructed
 * elements) share the element counter of their root.
 */
export class BerReader {
  readonly buffer: Buffer;
  private pos: number;
  readonly end: number;
  readonly depth: number;
  private readonly shared: ReaderShared;

  constructor(
    buffer: Buffer,
    options?: { start?: number; end?: number; limits?: Partial<BerLimits> },
    /** @internal used for child readers */
    inherited?: { depth: number; shared: ReaderShared },
  ) {
    this.buffer = buffer;
    this.pos = options?.start ?? 0;
    this.end = options?.end ?? buffer.length;
    if (this.pos < 0 || this.end > buffer.length || this.pos > this.end) {
      throw new BerError('bad-range', this.pos);
    }
    this.depth = inherited?.depth ?? 0;
    this.shared = inherited?.shared ?? { limits: { ...DEFAULT_BER_LIMITS, ...options?.limits }, elements: 0 };
    if (this.depth > this.shared.limits.maxDepth) {
      throw new BerError('too-deep', this.pos, `nesting deeper than ${this.shared.limits.maxDepth}`);
    }
  }

  private child(start: number, end: number): BerReader {
    return new BerReader(this.buffer, { start, end }, { depth: this.depth + 1, shared: this.shared });
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  /** Identifier octet of the next element, or undefined at the end. */
  peekTag(): number | undefined {
    return this.pos < this.end ? this.buffer[this.pos] : undefined;
  }

  /** Reads the header of the next element and advances past the whole element. */
  readHeader(): BerHeader {
    const start = this.pos;
    if (start >= this.end) throw new BerError('truncated', start, 'expected an element');
    const h = peekHeader(this.buffer, start, this.end, this.shared.limits.maxLength);
    if (h === undefined) throw new BerError('truncated', start, 'incomplete header');
    const contentStart = start + h.headerLength;
    const end = contentStart + h.contentLength;
    if (end > this.end) throw new BerError('truncated', start, `content of ${h.contentLength} bytes exceeds enclosing data`);
    if (++this.shared.elements > this.shared.limits.maxElements) {
      throw new BerError('too-many-elements', start, `more than ${this.shared.limits.maxElements}`);
    }
    this.pos = end;
    return { tag: h.tag, constructed: (h.tag & CONSTRUCTED) !== 0, start, contentStart, end };
  }

  /** Reads the next element, requiring `tag`. */
  private expect(tag: number, what: string): BerHeader {
    const t = this.peekTag();
    if (t === undefined) throw new BerError('truncated', this.pos, `expected ${what}`);
    if (t !== tag) throw new BerError('unexpected-tag', this.pos, `expected ${what} (0x${hex(tag)}), got 0x${hex(t)}`);
    return this.readHeader();
  }

  /** Skips the next element (which must be well-formed at the header level). */
  skip(): void {
    this.readHeader();
  }

  /** Reads a constructed element with `tag` and returns a reader over its contents. */
  readConstructed(tag: number = UniversalTag.sequence): BerReader {
    if ((tag & CONSTRUCTED) === 0) throw new BerError('bad-call', this.pos, 'readConstructed with a primitive tag');
    const h = this.expect(tag, 'constructed element');
    return this.child(h.contentStart, h.end);
  }

  /** Reader over the contents of an element whose header was read with `readHeader`. */
  contentsOf(h: BerHeader): BerReader {
    if (!h.constructed) throw new BerError('not-constructed', h.start);
    return this.child(h.contentStart, h.end);
  }

  /** Raw content bytes of a primitive element with `tag` (a view, not a copy). */
  readPrimitive(tag: number): Buffer {
    const h = this.expect(tag, 'primitive element');
    if (h.constructed) throw new BerError('constructed-not-allowed', h.start);
    return this.buffer.subarray(h.contentStart, h.end);
  }

  /** OCTET STRING (or any primitive with `tag`) as a copy of its bytes. */
  readOctetString(tag: number = UniversalTag.octetString): Buffer {
    return Buffer.from(this.readPrimitive(tag));
  }

  /** OCTET STRING decoded as UTF-8 (invalid sequences become U+FFFD). */
  readString(tag: number = UniversalTag.octetString): string {
    const h = this.expect(tag, 'string');
    if (h.constructed) throw new BerError('constructed-not-allowed', h.start);
    return this.buffer.toString('utf8', h.contentStart, h.end);
  }

  /**
   * INTEGER as a JS number. `maxBytes` (1..6) bounds the encoding; the default of 4 is
   * what LDAP's INTEGER (0 .. maxInt) needs.
   */
  readInteger(tag: number = UniversalTag.integer, maxBytes = 4): number {
    const h = this.expect(tag, 'integer');
    return decodeInteger(this.buffer, h, maxBytes);
  }

  /** INTEGER constrained to LDAP's 0 .. maxInt. */
  readUnsignedInt(tag: number = UniversalTag.integer): number {
    const start = this.pos;
    const v = this.readInteger(tag, 4);
    if (v < 0) throw new BerError('integer-out-of-range', start, `${v} is negative`);
    return v;
  }

  readEnumerated(tag: number = UniversalTag.enumerated): number {
    return this.readInteger(tag, 4);
  }

  /** BOOLEAN: any non-zero content octet is TRUE (X.690 §8.2.2). */
  readBoolean(tag: number = UniversalTag.boolean): boolean {
    const h = this.expect(tag, 'boolean');
    if (h.constructed || h.end - h.contentStart !== 1) throw new BerError('bad-boolean', h.start);
    return this.buffer[h.contentStart] !== 0;
  }

  readNull(tag: number = UniversalTag.null): void {
    const h = this.expect(tag, 'null');
    if (h.constructed || h.end !== h.contentStart) throw new BerError('bad-null', h.start);
  }
}

function decodeInteger(buf: Buffer, h: BerHeader, maxBytes: number): number {
  const len = h.end - h.contentStart;
  if (h.constructed) throw new BerError('constructed-not-allowed', h.start);
  if (len === 0) throw new BerError('empty-integer', h.start);
  if (len > Math.min(maxBytes, 6)) throw new BerError('integer-too-large', h.start, `${len} content octets`);
  let v = buf[h.contentStart]!;
  if (v >= 0x80) v -= 256;
  for (let i = h.contentStart + 1; i < h.end; i++) v = v * 256 + buf[i]!;
  return v;
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}

// ---------------------------------------------------------------------------------------
// Writer

/**
 * Growable BER writer. Constructed elements are written with a one-byte length
 * placeholder that is back-patched in `end()`; when the content turns out longer than
 * 127 bytes the content is shifted (a single memmove) to make room for the long form.
 * Total cost is linear in the output size times nesting depth, never quadratic in the
 * number of elements.
 */
export class BerWriter {
  private buf: Buffer;
  private pos = 0;
  private readonly stack: number[] = [];
  /** Size of the buffer to allocate next (the buffer's own, until `take()` handed it over). */
  private capacity: number;
  /** A taken buffer given back (`giveBack`), used instead of a new one. */
  private spare: Buffer | undefined;
  /** The buffer the last `take()` handed out. */
  private lent: Buffer | undefined;

  private readonly initialSize: number;

  constructor(initialSize = 1024) {
    this.initialSize = Math.max(16, initialSize);
    this.capacity = this.initialSize;
    this.buf = Buffer.allocUnsafe(this.capacity);
  }

  get length(): number {
    return this.pos;
  }

  /** Discards everything written so far (keeps the allocated buffer). */
  reset(): void {
    this.pos = 0;
    this.stack.length = 0;
  }

  /** Discards everything written so far, and a buffer grown past the initial size (a writer kept between uses). */
  release(): void {
    this.reset();
    this.spare = undefined;
    this.lent = undefined;
    if (this.capacity > this.initialSize) {
      this.buf = EMPTY;
      this.capacity = this.initialSize;
    }
  }

  private ensure(extra: number): void {
    const need = this.pos + extra;
    if (need <= this.buf.length) return;
    let size = Math.max(this.buf.length * 2, this.capacity);
    while (size < need) size *= 2;
    const spare = this.spare;
    this.spare = undefined;
    const next = spare !== undefined && spare.length >= size ? spare : size >= UNPOOLED ? Buffer.allocUnsafeSlow(size) : Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.capacity = next.length;
  }

  private writeLength(len: number): void {
    if (len < 0x80) {
      this.ensure(1);
      this.buf[this.pos++] = len;
      return;
    }
    const n = lengthOctets(len);
    this.ensure(1 + n);
    this.buf[this.pos++] = 0x80 | n;
    for (let i = n - 1; i >= 0; i--) this.buf[this.pos++] = Math.floor(len / 2 ** (8 * i)) & 0xff;
  }

  private writeTag(tag: number): void {
    if (!Number.isInteger(tag) || tag < 0 || tag > 0xff || (tag & 0x1f) === 0x1f) {
      throw new RangeError(`BerWriter: unsupported tag ${tag}`);
    }
    this.ensure(1);
    this.buf[this.pos++] = tag;
  }

  /** Starts a constructed element (SEQUENCE by default); close it with `end()`. */
  start(tag: number = UniversalTag.sequence): this {
    this.writeTag(tag | CONSTRUCTED);
    this.ensure(1);
    this.stack.push(this.pos);
    this.buf[this.pos++] = 0;
    return this;
  }

  /** Closes the innermost constructed element, back-patching its length. */
  end(): this {
    const lenPos = this.stack.pop();
    if (lenPos === undefined) throw new Error('BerWriter: end() without start()');
    const contentStart = lenPos + 1;
    const len = this.pos - contentStart;
    if (len < 0x80) {
      this.buf[lenPos] = len;
      return this;
    }
    const n = lengthOctets(len);
    this.ensure(n);
    this.buf.copyWithin(contentStart + n, contentStart, this.pos);
    this.buf[lenPos] = 0x80 | n;
    for (let i = 0; i < n; i++) this.buf[lenPos + 1 + i] = Math.floor(len / 2 ** (8 * (n - 1 - i))) & 0xff;
    this.pos += n;
    return this;
  }

  /** Primitive element with raw content. */
  writePrimitive(tag: number, content: Uint8Array): this {
    this.writeTag(tag);
    this.writeLength(content.length);
    this.ensure(content.length);
    this.buf.set(content, this.pos);
    this.pos += content.length;
    return this;
  }

  /** OCTET STRING from bytes or a UTF-8 string (no intermediate Buffer for strings). */
  writeOctetString(value: Uint8Array | string, tag: number = UniversalTag.octetString): this {
    if (typeof value !== 'string') return this.writePrimitive(tag, value);
    this.writeTag(tag);
    if (value.length < SHORT_STRING && this.writeShortAscii(value)) return this;
    const len = Buffer.byteLength(value, 'utf8');
    this.writeLength(len);
    this.ensure(len);
    this.pos += this.buf.write(value, this.pos, len, 'utf8');
    return this;
  }

  /**
   * Length and content of a short string when it is all ASCII (one byte per character): most
   * names and values are, and copying them here costs less than two calls into the UTF-8
   * encoder. False, having written nothing, when a character is not ASCII.
   */
  private writeShortAscii(value: string): boolean {
    const n = value.length;
    this.ensure(1 + n);
    const buf = this.buf;
    const start = this.pos + 1;
    for (let i = 0; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c >= 0x80) return false;
      buf[start + i] = c;
    }
    buf[this.pos] = n;
    this.pos = start + n;
    return true;
  }

  writeInteger(value: number, tag: number = UniversalTag.integer): this {
    if (value >= 0 && value < 0x80 && Number.isInteger(value)) {
      // One content octet (message ids, result codes, scopes): no length search.
      this.writeTag(tag);
      this.ensure(2);
      this.buf[this.pos++] = 1;
      this.buf[this.pos++] = value;
      return this;
    }
    if (!Number.isSafeInteger(value)) throw new RangeError(`BerWriter: ${value} is not a safe integer`);
    // Two's complement in the fewest octets whose top bit still gives the sign.
    let n = 1;
    if (value >= 0) while (value >= 2 ** (8 * n - 1)) n++;
    else while (value < -(2 ** (8 * n - 1))) n++;
    this.writeTag(tag);
    this.writeLength(n);
    this.ensure(n);
    let v = value;
    for (let i = n - 1; i >= 0; i--) {
      const b = ((v % 256) + 256) % 256;
      this.buf[this.pos + i] = b;
      v = (v - b) / 256;
    }
    this.pos += n;
    return this;
  }

  writeEnumerated(value: number, tag: number = UniversalTag.enumerated): this {
    return this.writeInteger(value, tag);
  }

  /** BOOLEAN; TRUE is written as 0xFF (DER/CER canonical form). */
  writeBoolean(value: boolean, tag: number = UniversalTag.boolean): this {
    this.writeTag(tag);
    this.ensure(2);
    this.buf[this.pos++] = 1;
    this.buf[this.pos++] = value ? 0xff : 0x00;
    return this;
  }

  writeNull(tag: number = UniversalTag.null): this {
    this.writeTag(tag);
    this.ensure(1);
    this.buf[this.pos++] = 0;
    return this;
  }

  /** Appends pre-encoded bytes (e.g. a complete TLV encoded elsewhere). */
  writeRaw(bytes: Uint8Array): this {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }

  /** Appends `src[start, end)` (pre-encoded bytes) without making a view of them first. */
  writeRawRange(src: Buffer, start: number, end: number): this {
    this.ensure(end - start);
    this.pos += src.copy(this.buf, this.pos, start, end);
    return this;
  }

  /**
   * The identifier and definite length of an element whose `length` content bytes the caller
   * writes next (with `writeRaw`): for content whose size is known before it is written.
   * The same encoding as `start()`/`end()` give.
   */
  writeHeader(tag: number, length: number): this {
    this.writeTag(tag);
    this.writeLength(length);
    return this;
  }

  /** Copies the bytes written into `target` at `offset` (all elements closed); returns their count. */
  copyTo(target: Uint8Array, offset: number): number {
    if (this.stack.length !== 0) throw new Error(`BerWriter: ${this.stack.length} unclosed element(s)`);
    target.set(this.buf.subarray(0, this.pos), offset);
    return this.pos;
  }

  /**
   * The bytes written, without a copy (all elements closed): the writer hands its buffer over
   * and continues, empty, in a new one of the same capacity. For large output batches that go
   * straight to a socket.
   */
  take(): Buffer {
    if (this.stack.length !== 0) throw new Error(`BerWriter: ${this.stack.length} unclosed element(s)`);
    const out = this.buf.subarray(0, this.pos);
    this.lent = this.buf;
    // The next buffer (same capacity) is allocated by the next write, if there is one.
    this.buf = EMPTY;
    this.pos = 0;
    return out;
  }

  /**
   * Offers back a buffer `take()` returned, once its bytes are no longer needed (written to the
   * socket): the writer uses it for its next buffer instead of allocating one. Fresh large
   * buffers cost page faults on every batch of a large search.
   */
  giveBack(taken: Buffer): void {
    // Only this writer's last large buffer, which owns its memory (allocated unpooled): a
    // buffer from Node's shared pool or one handed out earlier is never reused here.
    const lent = this.lent;
    if (lent === undefined || taken.buffer !== lent.buffer || lent.length < UNPOOLED || this.capacity <= this.initialSize) return;
    this.lent = undefined;
    if (lent.length >= this.capacity) this.spare = lent;
  }

  /** A copy of the bytes written; all constructed elements must be closed. */
  toBuffer(): Buffer {
    if (this.stack.length !== 0) throw new Error(`BerWriter: ${this.stack.length} unclosed element(s)`);
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

const EMPTY = Buffer.alloc(0);
/** Buffers this large are allocated with memory of their own (never from Node's shared pool). */
const UNPOOLED = 16 * 1024;

/** Strings shorter than this (in UTF-16 units) try the ASCII copy; its length fits the short form (< 128). */
const SHORT_STRING = 64;

/** Size of the identifier and length octets of an element with `length` content bytes. */
export function headerSize(length: number): number {
  return length < 0x80 ? 2 : 2 + lengthOctets(length);
}

function lengthOctets(len: number): number {
  if (len < 0x100) return 1;
  if (len < 0x10000) return 2;
  if (len < 0x1000000) return 3;
  if (len <= 0xffffffff) return 4;
  throw new RangeError(`BerWriter: length ${len} too large`);
}
