/**
 * SearchResultEntry contents encoded once and framed per request. Pure (no I/O).
 *
 * A directory whose entries do not change between refreshes (the cached search mode) sends the
 * same entries again and again; encoding them is most of what a large search costs. This store
 * keeps, per entry slot, the BER of its objectName and of each of its attributes (in the
 * entry's order), with an id per distinct attribute description. A request then only decides
 * per id whether the attribute is selected, and copies the bytes of the selected ones behind a
 * message header: the bytes are the same as `writeMessage` gives for the selected attributes.
 *
 * Memory: the bytes live in large shared chunks and the per-entry tables in typed arrays, so
 * an entry costs its encoded size plus 4 bytes per attribute and 16 per entry, and no objects.
 * Entries are stored when first sent; a store is dropped with the directory snapshot it
 * belongs to.
 */

import { BerWriter, UniversalTag, headerSize } from './ber.ts';
import { OpTag, writePartialAttribute } from './messages.ts';

/** What the store needs of an attribute (the outpost's `Attribute`). */
export interface EncodableAttribute {
  readonly type: string;
  readonly values: readonly string[];
  readonly operational?: boolean;
}

/** Bytes that stores may still keep; one budget may be shared by several stores. */
export interface EncodingBudget {
  remaining: number;
}

/** A distinct attribute description, as selection decides on it. */
export interface StoredAttribute {
  readonly type: string;
  readonly operational: boolean;
}

const CHUNK_BYTES = 1 << 20;
const NOT_STORED = -1;
const UNSTORABLE = -2;
/** Attribute TLVs up to 1 MiB and 4,096 distinct descriptions: an entry beyond either is not stored. */
const LENGTH_SHIFT = 12;
const MAX_IDS = 1 << LENGTH_SHIFT;
const MAX_ATTRIBUTE_BYTES = 2 ** (32 - LENGTH_SHIFT) - 1;
/** Per entry: chunk, byte offset, objectName TLV length, attribute count. */
const ENTRY_FIELDS = 4;

export class EncodedEntries {
  /** Attribute descriptions by id. */
  readonly attributes: StoredAttribute[] = [];
  private readonly ids = new Map<string, number>();
  /** Per slot: where its record starts in `meta`; NOT_STORED, or UNSTORABLE once refused. */
  private readonly recordAt: Int32Array;
  /** Bytes kept (entry bytes; the tables come on top). */
  private bytesKept = 0;
  /** What may still be kept, possibly shared with other stores; entries past it are encoded per request. */
  private readonly budget: EncodingBudget;
  /** Selection decisions per id for the `selected` function last used (1 yes, 2 no, 0 not asked yet). */
  private decisions = new Uint8Array(16);
  private decidedFor: ((a: StoredAttribute) => boolean) | undefined;
  /** Records: ENTRY_FIELDS numbers, then per attribute `length << LENGTH_SHIFT | id`. */
  private meta = new Uint32Array(1024);
  private metaLength = 0;
  private readonly chunks: Buffer[] = [];
  private chunkUsed = CHUNK_BYTES;
  private readonly scratch = new BerWriter(4096);

  /** `slots`: entries are numbered 0 .. slots - 1. `budget`: bytes (entries and tables) that may be kept. */
  constructor(slots: number, budget: EncodingBudget = { remaining: Infinity }) {
    this.recordAt = new Int32Array(slots).fill(NOT_STORED);
    this.budget = budget;
    budget.remaining -= this.recordAt.byteLength;
  }

  has(slot: number): boolean {
    return this.recordAt[slot]! >= 0;
  }

  /** Encoded bytes kept (entries and their tables). */
  get size(): number {
    return this.bytesKept + this.meta.byteLength + this.recordAt.byteLength;
  }

  /**
   * Encodes and keeps the entry at `slot`. False when it cannot be kept (an attribute too
   * large, too many distinct descriptions, the byte budget spent): the caller encodes it per
   * request instead.
   */
  store(slot: number, dn: string, attributes: readonly EncodableAttribute[]): boolean {
    if (this.recordAt[slot] === UNSTORABLE || this.budget.remaining <= 0) return false;
    const kept = this.encode(slot, dn, attributes);
    if (!kept) this.recordAt[slot] = UNSTORABLE;
    return kept;
  }

  private encode(slot: number, dn: string, attributes: readonly EncodableAttribute[]): boolean {
    const w = this.scratch;
    w.reset();
    w.writeOctetString(dn);
    const dnLength = w.length;
    const record = this.metaLength;
    this.reserveMeta(ENTRY_FIELDS + attributes.length);
    for (let i = 0; i < attributes.length; i++) {
      const a = attributes[i]!;
      const id = this.idOf(a);
      const before = w.length;
      writePartialAttribute(w, a);
      const length = w.length - before;
      if (id === undefined || length > MAX_ATTRIBUTE_BYTES) return false;
      this.meta[record + ENTRY_FIELDS + i] = ((length << LENGTH_SHIFT) | id) >>> 0;
    }
    const size = w.length;
    if (this.chunkUsed + size > CHUNK_BYTES || this.chunks.length === 0) {
      this.chunks.push(Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, size)));
      this.chunkUsed = 0;
    }
    w.copyTo(this.chunks[this.chunks.length - 1]!, this.chunkUsed);
    this.meta[record] = this.chunks.length - 1;
    this.meta[record + 1] = this.chunkUsed;
    this.chunkUsed += size;
    this.meta[record + 2] = dnLength;
    this.meta[record + 3] = attributes.length;
    this.metaLength = record + ENTRY_FIELDS + attributes.length;
    this.recordAt[slot] = record;
    this.bytesKept += size;
    this.budget.remaining -= size + 4 * (ENTRY_FIELDS + attributes.length);
    return true;
  }

  /**
   * Appends the SearchResultEntry message of `slot` (stored) for `messageId`, with the
   * attributes whose id `selected` accepts, in the entry's order.
   */
  write(w: BerWriter, messageId: number, slot: number, selected: (a: StoredAttribute) => boolean): void {
    const record = this.recordAt[slot]!;
    if (record < 0) throw new Error(`EncodedEntries: slot ${slot} is not stored`);
    const decide = this.decider(selected);
    const meta = this.meta;
    const chunk = this.chunks[meta[record]!]!;
    const start = meta[record + 1]!;
    const dnLength = meta[record + 2]!;
    const count = meta[record + 3]!;
    let attributesLength = 0;
    for (let i = 0; i < count; i++) {
      const m = meta[record + ENTRY_FIELDS + i]!;
      if (decide(m & (MAX_IDS - 1))) attributesLength += m >>> LENGTH_SHIFT;
    }
    const opLength = dnLength + headerSize(attributesLength) + attributesLength;
    const idLength = integerSize(messageId);
    w.writeHeader(UniversalTag.sequence, 2 + idLength + headerSize(opLength) + opLength);
    w.writeInteger(messageId);
    w.writeHeader(OpTag.searchResultEntry, opLength);
    w.writeRawRange(chunk, start, start + dnLength);
    w.writeHeader(UniversalTag.sequence, attributesLength);
    // Copy runs of consecutive selected attributes at once.
    let at = start + dnLength;
    let runStart = at;
    for (let i = 0; i < count; i++) {
      const m = meta[record + ENTRY_FIELDS + i]!;
      const length = m >>> LENGTH_SHIFT;
      if (!decide(m & (MAX_IDS - 1))) {
        if (at > runStart) w.writeRawRange(chunk, runStart, at);
        runStart = at + length;
      }
      at += length;
    }
    if (at > runStart) w.writeRawRange(chunk, runStart, at);
  }

  /**
   * `selected` by id, each id asked once per `selected` function (one per request): the
   * decision depends only on the description, and a large search asks it for every attribute
   * of every entry.
   */
  private decider(selected: (a: StoredAttribute) => boolean): (id: number) => boolean {
    if (selected !== this.decidedFor || this.decisions.length < this.attributes.length) {
      this.decidedFor = selected;
      if (this.decisions.length < this.attributes.length) this.decisions = new Uint8Array(Math.max(this.attributes.length, this.decisions.length * 2));
      else this.decisions.fill(0);
    }
    return this.decide;
  }

  private readonly decide = (id: number): boolean => {
    let d = this.decisions[id]!;
    if (d === 0) {
      d = this.decidedFor!(this.attributes[id]!) ? 1 : 2;
      this.decisions[id] = d;
    }
    return d === 1;
  };

  private idOf(a: EncodableAttribute): number | undefined {
    const operational = a.operational === true;
    const key = operational ? `+${a.type}` : `-${a.type}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      if (this.attributes.length >= MAX_IDS) return undefined;
      id = this.attributes.length;
      this.attributes.push({ type: a.type, operational });
      this.ids.set(key, id);
    }
    return id;
  }

  private reserveMeta(n: number): void {
    if (this.metaLength + n <= this.meta.length) return;
    let size = this.meta.length * 2;
    while (size < this.metaLength + n) size *= 2;
    const next = new Uint32Array(size);
    next.set(this.meta.subarray(0, this.metaLength));
    this.meta = next;
  }
}

/** Content octets of INTEGER `value` (0 .. maxInt), as `BerWriter.writeInteger` writes it. */
function integerSize(value: number): number {
  let n = 1;
  while (value >= 2 ** (8 * n - 1)) n++;
  return n;
}
