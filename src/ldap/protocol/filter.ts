/**
 * LDAP search filters: RFC 4511 §4.5.1.7 ASN.1 <-> typed AST <-> RFC 4515 strings, and
 * an evaluator with three-valued logic.
 *
 * Assertion values are kept as JS strings (the octets decoded as UTF-8): every
 * attribute this outpost serves is a string, so byte-exact binary assertions are not
 * needed; invalid UTF-8 decodes to U+FFFD and simply does not match.
 */

import { BerError, BerReader, type BerWriter } from './ber.ts';
import { parseDn } from './dn.ts';
import { attributeKey } from './schema.ts';

export type Filter =
  | { readonly type: 'and'; readonly filters: readonly Filter[] }
  | { readonly type: 'or'; readonly filters: readonly Filter[] }
  | { readonly type: 'not'; readonly filter: Filter }
  | { readonly type: 'equalityMatch'; readonly attribute: string; readonly value: string }
  | {
      readonly type: 'substrings';
      readonly attribute: string;
      readonly initial: string | undefined;
      readonly any: readonly string[];
      readonly final: string | undefined;
    }
  | { readonly type: 'greaterOrEqual'; readonly attribute: string; readonly value: string }
  | { readonly type: 'lessOrEqual'; readonly attribute: string; readonly value: string }
  | { readonly type: 'present'; readonly attribute: string }
  | { readonly type: 'approxMatch'; readonly attribute: string; readonly value: string }
  | {
      readonly type: 'extensibleMatch';
      readonly matchingRule: string | undefined;
      readonly attribute: string | undefined;
      readonly value: string;
      readonly dnAttributes: boolean;
    };

export type FilterType = Filter['type'];

/** Maximum nesting of and/or/not. */
export const MAX_FILTER_DEPTH = 32;

export class FilterError extends Error {
  readonly reason: string;
  readonly position: number | undefined;
  constructor(reason: string, position?: number) {
    super(position === undefined ? `filter: ${reason}` : `filter: ${reason} at position ${position}`);
    this.name = 'FilterError';
    this.reason = reason;
    this.position = position;
  }
}

/** Context tags of the Filter CHOICE (full identifier octets). */
export const FilterTag = {
  and: 0xa0,
  or: 0xa1,
  not: 0xa2,
  equalityMatch: 0xa3,
  substrings: 0xa4,
  greaterOrEqual: 0xa5,
  lessOrEqual: 0xa6,
  present: 0x87,
  approxMatch: 0xa8,
  extensibleMatch: 0xa9,
} as const;

// ---------------------------------------------------------------------------------------
// BER

/** Reads one Filter element. Throws `BerError` on malformed input. */
export function readFilter(reader: BerReader, maxDepth: number = MAX_FILTER_DEPTH): Filter {
  return readFilterAt(reader, 0, maxDepth);
}

function readFilterAt(reader: BerReader, depth: number, maxDepth: number): Filter {
  if (depth > maxDepth) throw new BerError('filter-too-deep', reader.offset, `nesting deeper than ${maxDepth}`);
  const tag = reader.peekTag();
  if (tag === undefined) throw new BerError('truncated', reader.offset, 'expected a filter');
  switch (tag) {
    case FilterTag.and:
    case FilterTag.or: {
      const r = reader.readConstructed(tag);
      const filters: Filter[] = [];
      while (!r.atEnd()) filters.push(readFilterAt(r, depth + 1, maxDepth));
      return tag === FilterTag.and ? { type: 'and', filters } : { type: 'or', filters };
    }
    case FilterTag.not: {
      const r = reader.readConstructed(tag);
      const filter = readFilterAt(r, depth + 1, maxDepth);
      if (!r.atEnd()) throw new BerError('trailing-data', r.offset, 'not filter has more than one component');
      return { type: 'not', filter };
    }
    case FilterTag.equalityMatch:
    case FilterTag.greaterOrEqual:
    case FilterTag.lessOrEqual:
    case FilterTag.approxMatch: {
      const r = reader.readConstructed(tag);
      const attribute = r.readString();
      const value = r.readString();
      const type =
        tag === FilterTag.equalityMatch
          ? 'equalityMatch'
          : tag === FilterTag.greaterOrEqual
            ? 'greaterOrEqual'
            : tag === FilterTag.lessOrEqual
              ? 'lessOrEqual'
              : 'approxMatch';
      return { type, attribute, value };
    }
    case FilterTag.substrings: {
      const r = reader.readConstructed(tag);
      const attribute = r.readString();
      const parts = r.readConstructed();
      let initial: string | undefined;
      let final: string | undefined;
      const any: string[] = [];
      let count = 0;
      while (!parts.atEnd()) {
        const at = parts.offset;
        const t = parts.peekTag();
        if (t === 0x80) {
          if (count !== 0) throw new BerError('bad-substrings', at, 'initial must come first');
          initial = parts.readString(0x80);
        } else if (t === 0x81) {
          if (final !== undefined) throw new BerError('bad-substrings', at, 'any after final');
          any.push(parts.readString(0x81));
        } else if (t === 0x82) {
          if (final !== undefined) throw new BerError('bad-substrings', at, 'two finals');
          final = parts.readString(0x82);
        } else {
          throw new BerError('bad-substrings', at, 'unknown substring choice');
        }
        count++;
      }
      if (count === 0) throw new BerError('bad-substrings', parts.offset, 'no substrings');
      return { type: 'substrings', attribute, initial, any, final };
    }
    case FilterTag.present:
      return { type: 'present', attribute: reader.readString(FilterTag.present) };
    case FilterTag.extensibleMatch: {
      const r = reader.readConstructed(tag);
      let matchingRule: string | undefined;
      let attribute: string | undefined;
      if (r.peekTag() === 0x81) matchingRule = r.readString(0x81);
      if (r.peekTag() === 0x82) attribute = r.readString(0x82);
      const value = r.readString(0x83);
      let dnAttributes = false;
      if (r.peekTag() === 0x84) dnAttributes = r.readBoolean(0x84);
      if (matchingRule === undefined && attribute === undefined) {
        throw new BerError('bad-extensible', r.offset, 'neither matchingRule nor type');
      }
      return { type: 'extensibleMatch', matchingRule, attribute, value, dnAttributes };
    }
    default:
      throw new BerError('unknown-filter', reader.offset, `filter choice 0x${tag.toString(16)}`);
  }
}

/** Decodes a complete BER-encoded Filter. */
export function decodeFilter(bytes: Buffer, maxDepth: number = MAX_FILTER_DEPTH): Filter {
  const r = new BerReader(bytes);
  const f = readFilter(r, maxDepth);
  if (!r.atEnd()) throw new BerError('trailing-data', r.offset);
  return f;
}

export function writeFilter(w: BerWriter, f: Filter): void {
  switch (f.type) {
    case 'and':
    case 'or':
      w.start(f.type === 'and' ? FilterTag.and : FilterTag.or);
      for (const c of f.filters) writeFilter(w, c);
      w.end();
      return;
    case 'not':
      w.start(FilterTag.not);
      writeFilter(w, f.filter);
      w.end();
      return;
    case 'equalityMatch':
    case 'greaterOrEqual':
    case 'lessOrEqual':
    case 'approxMatch':
      w.start(FilterTag[f.type]);
      w.writeOctetString(f.attribute);
      w.writeOctetString(f.value);
      w.end();
      return;
    case 'substrings':
      w.start(FilterTag.substrings);
      w.writeOctetString(f.attribute);
      w.start();
      if (f.initial !== undefined) w.writeOctetString(f.initial, 0x80);
      for (const a of f.any) w.writeOctetString(a, 0x81);
      if (f.final !== undefined) w.writeOctetString(f.final, 0x82);
      w.end();
      w.end();
      return;
    case 'present':
      w.writeOctetString(f.attribute, FilterTag.present);
      return;
    case 'extensibleMatch':
      w.start(FilterTag.extensibleMatch);
      if (f.matchingRule !== undefined) w.writeOctetString(f.matchingRule, 0x81);
      if (f.attribute !== undefined) w.writeOctetString(f.attribute, 0x82);
      w.writeOctetString(f.value, 0x83);
      if (f.dnAttributes) w.writeBoolean(true, 0x84);
      w.end();
      return;
  }
}

// ---------------------------------------------------------------------------------------
// RFC 4515 strings

/** Escapes an assertion value for an RFC 4515 filter string. */
export function escapeFilterValue(value: string): string {
  let out = '';
  let last = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    let rep: string | undefined;
    if (c === 0x2a) rep = '\\2a';
    else if (c === 0x28) rep = '\\28';
    else if (c === 0x29) rep = '\\29';
    else if (c === 0x5c) rep = '\\5c';
    else if (c === 0x00) rep = '\\00';
    if (rep !== undefined) {
      out += value.slice(last, i) + rep;
      last = i + 1;
    }
  }
  return last === 0 ? value : out + value.slice(last);
}

/** Formats a filter AST as an RFC 4515 string. */
export function formatFilter(f: Filter): string {
  switch (f.type) {
    case 'and':
      return `(&${f.filters.map(formatFilter).join('')})`;
    case 'or':
      return `(|${f.filters.map(formatFilter).join('')})`;
    case 'not':
      return `(!${formatFilter(f.filter)})`;
    case 'equalityMatch':
      return `(${f.attribute}=${escapeFilterValue(f.value)})`;
    case 'greaterOrEqual':
      return `(${f.attribute}>=${escapeFilterValue(f.value)})`;
    case 'lessOrEqual':
      return `(${f.attribute}<=${escapeFilterValue(f.value)})`;
    case 'approxMatch':
      return `(${f.attribute}~=${escapeFilterValue(f.value)})`;
    case 'present':
      return `(${f.attribute}=*)`;
    case 'substrings': {
      let s = `(${f.attribute}=`;
      if (f.initial !== undefined) s += escapeFilterValue(f.initial);
      s += '*';
      for (const a of f.any) s += `${escapeFilterValue(a)}*`;
      if (f.final !== undefined) s += escapeFilterValue(f.final);
      return `${s})`;
    }
    case 'extensibleMatch': {
      let s = '(';
      if (f.attribute !== undefined) s += f.attribute;
      if (f.dnAttributes) s += ':dn';
      if (f.matchingRule !== undefined) s += `:${f.matchingRule}`;
      return `${s}:=${escapeFilterValue(f.value)})`;
    }
  }
}

const ATTR_CHAR = /[A-Za-z0-9\-.;]/;
const RULE_CHAR = /[A-Za-z0-9\-.]/;
const KEYSTRING = /^[A-Za-z][A-Za-z0-9-]*$/;
const NUMERICOID = /^(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))+$/;
/** attributedescription = attributetype options (RFC 4512 §2.5). */
const ATTRIBUTE_DESCRIPTION = /^(?:[A-Za-z][A-Za-z0-9-]*|(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))+)(?:;[A-Za-z0-9-]+)*$/;

export function isValidAttributeDescription(s: string): boolean {
  return ATTRIBUTE_DESCRIPTION.test(s);
}

function isValidOid(s: string): boolean {
  return KEYSTRING.test(s) || NUMERICOID.test(s);
}

/**
 * Parses an RFC 4515 filter string. A bare item without the outer parentheses
 * (`cn=alice`, as ldapsearch accepts) is also allowed. `(&)` and `(|)` (RFC 4526
 * absolute true/false) are accepted.
 */
export function parseFilter(input: string, maxDepth: number = MAX_FILTER_DEPTH): Filter {
  const src = input.trim();
  if (src.length === 0) throw new FilterError('empty filter');
  const p = new FilterParser(src.startsWith('(') ? src : `(${src})`, maxDepth);
  const f = p.parseFilter(0);
  if (p.pos !== p.src.length) throw new FilterError('trailing characters', p.pos);
  return f;
}

class FilterParser {
  readonly src: string;
  pos = 0;
  private readonly maxDepth: number;
  constructor(src: string, maxDepth: number) {
    this.src = src;
    this.maxDepth = maxDepth;
  }

  private expect(ch: string): void {
    if (this.src[this.pos] !== ch) throw new FilterError(`expected '${ch}'`, this.pos);
    this.pos++;
  }

  parseFilter(depth: number): Filter {
    if (depth > this.maxDepth) throw new FilterError(`nesting deeper than ${this.maxDepth}`, this.pos);
    this.expect('(');
    const c = this.src[this.pos];
    let f: Filter;
    if (c === '&' || c === '|') {
      this.pos++;
      const filters: Filter[] = [];
      while (this.src[this.pos] === '(') filters.push(this.parseFilter(depth + 1));
      f = c === '&' ? { type: 'and', filters } : { type: 'or', filters };
    } else if (c === '!') {
      this.pos++;
      f = { type: 'not', filter: this.parseFilter(depth + 1) };
    } else {
      f = this.parseItem();
    }
    this.expect(')');
    return f;
  }

  private readWhile(re: RegExp): string {
    const start = this.pos;
    while (this.pos < this.src.length && re.test(this.src[this.pos]!)) this.pos++;
    return this.src.slice(start, this.pos);
  }

  private parseItem(): Filter {
    const attrStart = this.pos;
    const attribute = this.readWhile(ATTR_CHAR);
    const c = this.src[this.pos];
    if (c === ':') return this.parseExtensible(attribute, attrStart);
    if (attribute === '') throw new FilterError('missing attribute description', attrStart);
    if (!isValidAttributeDescription(attribute)) throw new FilterError(`invalid attribute description '${attribute}'`, attrStart);
    if (c === '=') {
      this.pos++;
      const parts = this.parseValue(true);
      if (parts.length === 1) return { type: 'equalityMatch', attribute, value: parts[0]! };
      if (parts.length === 2 && parts[0] === '' && parts[1] === '') return { type: 'present', attribute };
      const initial = parts[0] === '' ? undefined : parts[0];
      const last = parts[parts.length - 1];
      const final = last === '' ? undefined : last;
      const any = parts.slice(1, -1);
      if (any.some((a) => a === '')) throw new FilterError('empty substring between two asterisks', this.pos);
      return { type: 'substrings', attribute, initial, any, final };
    }
    const op = this.src.slice(this.pos, this.pos + 2);
    if (op === '>=' || op === '<=' || op === '~=') {
      this.pos += 2;
      const value = this.parseValue(false)[0]!;
      const type = op === '>=' ? 'greaterOrEqual' : op === '<=' ? 'lessOrEqual' : 'approxMatch';
      return { type, attribute, value };
    }
    throw new FilterError('expected a filter type (=, ~=, >=, <=, :=)', this.pos);
  }

  private parseExtensible(attr: string, attrStart: number): Filter {
    const attribute: string | undefined = attr === '' ? undefined : attr;
    if (attribute !== undefined && !isValidAttributeDescription(attribute)) {
      throw new FilterError(`invalid attribute description '${attribute}'`, attrStart);
    }
    let dnAttributes = false;
    let matchingRule: string | undefined;
    // [":dn"] [":" oid] ":="
    if (this.src.slice(this.pos, this.pos + 3).toLowerCase() === ':dn' && this.src[this.pos + 3] === ':') {
      dnAttributes = true;
      this.pos += 3;
    }
    if (this.src[this.pos] === ':' && this.src[this.pos + 1] !== '=') {
      this.pos++;
      const ruleStart = this.pos;
      const rule = this.readWhile(RULE_CHAR);
      if (!isValidOid(rule)) throw new FilterError(`invalid matching rule '${rule}'`, ruleStart);
      matchingRule = rule;
    }
    if (!this.src.startsWith(':=', this.pos)) throw new FilterError("expected ':='", this.pos);
    this.pos += 2;
    if (attribute === undefined && matchingRule === undefined) {
      throw new FilterError('extensible match needs an attribute or a matching rule', attrStart);
    }
    const value = this.parseValue(false)[0]!;
    return { type: 'extensibleMatch', matchingRule, attribute, value, dnAttributes };
  }

  /**
   * Reads an assertion value up to the closing ')'. With `allowStar`, unescaped '*'
   * split the value into parts; otherwise an unescaped '*' is an error.
   */
  private parseValue(allowStar: boolean): string[] {
    const parts: string[] = [];
    let bytes: number[] = [];
    const src = this.src;
    while (this.pos < src.length) {
      const ch = src.charCodeAt(this.pos);
      if (ch === 0x29) break; // ')'
      if (ch === 0x28) throw new FilterError("unescaped '(' in value", this.pos);
      if (ch === 0x00) throw new FilterError('NUL in value', this.pos);
      if (ch === 0x2a) {
        if (!allowStar) throw new FilterError("unescaped '*' in value", this.pos);
        parts.push(Buffer.from(bytes).toString('utf8'));
        bytes = [];
        this.pos++;
        continue;
      }
      if (ch === 0x5c) {
        const h = src.slice(this.pos + 1, this.pos + 3);
        if (/^[0-9A-Fa-f]{2}$/.test(h)) {
          bytes.push(Number.parseInt(h, 16));
          this.pos += 3;
          continue;
        }
        // RFC 2254 style `\*`, `\(`, `\)`, `\\` is accepted for leniency.
        const n = src[this.pos + 1];
        if (n === '*' || n === '(' || n === ')' || n === '\\') {
          bytes.push(n.charCodeAt(0));
          this.pos += 2;
          continue;
        }
        throw new FilterError('invalid escape', this.pos);
      }
      if (ch < 0x80) {
        bytes.push(ch);
        this.pos++;
        continue;
      }
      const cp = src.codePointAt(this.pos)!;
      const s = String.fromCodePoint(cp);
      for (const b of Buffer.from(s, 'utf8')) bytes.push(b);
      this.pos += s.length;
    }
    parts.push(Buffer.from(bytes).toString('utf8'));
    return parts;
  }
}

// ---------------------------------------------------------------------------------------
// Evaluation

/** Three-valued filter result (RFC 4511 §4.5.1.7). */
export const FilterResult = { FALSE: 0, TRUE: 1, UNDEFINED: 2 } as const;
export type FilterResult = (typeof FilterResult)[keyof typeof FilterResult];

/**
 * An entry as the evaluator sees it. `get` receives the attribute's key (`baseAttribute`:
 * lower case, options stripped, alternative names mapped to the primary one) and returns its
 * values, or undefined when the attribute is absent.
 * `keys` (the same keys) is only needed for extensible matches without a type;
 * `dn` only for extensible matches with dnAttributes.
 */
export interface FilterEntry {
  get(attributeLowerCase: string): readonly string[] | undefined;
  keys?(): Iterable<string>;
  readonly dn?: string;
}

export type EntryLike = FilterEntry | Readonly<Record<string, readonly string[]>>;

export interface MatchingRules {
  /** Lower-case attribute types compared case-sensitively (caseExactMatch). */
  readonly caseExact?: ReadonlySet<string>;
  /** Lower-case attribute types with INTEGER syntax (integerMatch / integerOrderingMatch). */
  readonly integer?: ReadonlySet<string>;
}

export const DEFAULT_MATCHING_RULES: MatchingRules = {
  caseExact: new Set<string>(),
  integer: new Set(['uidnumber', 'gidnumber']),
};

/** Builds a FilterEntry from a plain record whose keys may use any case. */
export function toFilterEntry(record: Readonly<Record<string, readonly string[]>>, dn?: string): FilterEntry {
  const map = new Map<string, readonly string[]>();
  for (const [k, v] of Object.entries(record)) {
    const key = baseAttribute(k);
    const prev = map.get(key);
    map.set(key, prev === undefined ? v : [...prev, ...v]);
  }
  const entry: FilterEntry = { get: (a) => map.get(a), keys: () => map.keys() };
  return dn === undefined ? entry : { ...entry, dn };
}

function asEntry(e: EntryLike): FilterEntry {
  return typeof (e as FilterEntry).get === 'function' ? (e as FilterEntry) : toFilterEntry(e as Readonly<Record<string, readonly string[]>>);
}

/**
 * The key an entry is asked for: lower case, options stripped (`CN;lang-en` -> `cn`), and the
 * alternative names and OIDs the schema declares mapped to the primary name (`commonName`,
 * `2.5.4.3` -> `cn`), so every name of a type matches alike (schema.ts attributeKey).
 */
export function baseAttribute(description: string): string {
  return attributeKey(description);
}

const NEEDS_SPACE_NORM = /^\s|\s$|\s\s|[^\S ]/;
const SPACE_RUN = /\s+/g;

/** Insignificant-space handling (RFC 4518 §2.6.1, simplified): trim and collapse runs. */
function normSpaces(s: string): string {
  return NEEDS_SPACE_NORM.test(s) ? s.replace(SPACE_RUN, ' ').trim() : s;
}
function collapseSpaces(s: string): string {
  return NEEDS_SPACE_NORM.test(s) ? s.replace(SPACE_RUN, ' ') : s;
}

const INTEGER_RE = /^\s*([+-]?\d+)\s*$/;
function parseInteger(s: string): number | undefined {
  const m = INTEGER_RE.exec(s);
  if (m === null) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}

type RuleKind = 'caseIgnore' | 'caseExact' | 'integer' | 'octet';

const MATCHING_RULES = new Map<string, RuleKind>([
  ['caseignorematch', 'caseIgnore'],
  ['2.5.13.2', 'caseIgnore'],
  ['caseignoreia5match', 'caseIgnore'],
  ['1.3.6.1.4.1.1466.109.114.2', 'caseIgnore'],
  ['caseexactmatch', 'caseExact'],
  ['2.5.13.5', 'caseExact'],
  ['caseexactia5match', 'caseExact'],
  ['1.3.6.1.4.1.1466.109.114.1', 'caseExact'],
  ['integermatch', 'integer'],
  ['2.5.13.14', 'integer'],
  ['octetstringmatch', 'octet'],
  ['2.5.13.17', 'octet'],
]);

/**
 * Value comparator for one prepared assertion under one matching rule. Attribute values
 * that are invalid for the rule (e.g. non-integers under integerMatch) never match.
 */
interface Matcher {
  /** Equality of one attribute value against the prepared assertion. */
  eq(value: string): boolean;
  /** Ordering compare: value >= assertion (ge) or value <= assertion (le). */
  order(value: string, ge: boolean): boolean;
}

function makeMatcher(kind: RuleKind, assertion: string): Matcher | undefined {
  switch (kind) {
    case 'integer': {
      const a = parseInteger(assertion);
      if (a === undefined) return undefined;
      return {
        eq: (v) => parseInteger(v) === a,
        order: (v, ge) => {
          const n = parseInteger(v);
          return n !== undefined && (ge ? n >= a : n <= a);
        },
      };
    }
    case 'caseExact': {
      const a = normSpaces(assertion);
      return {
        eq: (v) => normSpaces(v) === a,
        order: (v, ge) => (ge ? normSpaces(v) >= a : normSpaces(v) <= a),
      };
    }
    case 'octet':
      return { eq: (v) => v === assertion, order: (v, ge) => (ge ? v >= assertion : v <= assertion) };
    case 'caseIgnore': {
      const a = normSpaces(assertion.toLowerCase());
      return {
        eq: (v) => normSpaces(v.toLowerCase()) === a,
        order: (v, ge) => (ge ? normSpaces(v.toLowerCase()) >= a : normSpaces(v.toLowerCase()) <= a),
      };
    }
  }
}

type Node = (e: FilterEntry) => FilterResult;

const F = FilterResult.FALSE;
const T = FilterResult.TRUE;
const U = FilterResult.UNDEFINED;
const always =
  (r: FilterResult): Node =>
  () =>
    r;

export interface CompiledFilter {
  readonly filter: Filter;
  /** Three-valued result. */
  evaluate(entry: EntryLike): FilterResult;
  /** True only when the filter evaluates to TRUE (what search returns). */
  matches(entry: EntryLike): boolean;
}

/**
 * Prepares a filter once (lower-cased names, normalised assertion values, parsed
 * integers) and returns a fast evaluator.
 */
export function compileFilter(filter: Filter, rules: MatchingRules = DEFAULT_MATCHING_RULES): CompiledFilter {
  const root = compileNode(filter, rules);
  return {
    filter,
    evaluate: (e) => root(asEntry(e)),
    matches: (e) => root(asEntry(e)) === T,
  };
}

/** One-shot evaluation; prefer `compileFilter` when evaluating many entries. */
export function evaluateFilter(filter: Filter, entry: EntryLike, rules: MatchingRules = DEFAULT_MATCHING_RULES): FilterResult {
  return compileFilter(filter, rules).evaluate(entry);
}

function ruleFor(attr: string, rules: MatchingRules): RuleKind {
  if (rules.integer?.has(attr)) return 'integer';
  if (rules.caseExact?.has(attr)) return 'caseExact';
  return 'caseIgnore';
}

function compileNode(f: Filter, rules: MatchingRules): Node {
  switch (f.type) {
    case 'and': {
      const kids = f.filters.map((c) => compileNode(c, rules));
      if (kids.length === 0) return always(T);
      return (e) => {
        let r: FilterResult = T;
        for (const k of kids) {
          const v = k(e);
          if (v === F) return F;
          if (v === U) r = U;
        }
        return r;
      };
    }
    case 'or': {
      const kids = f.filters.map((c) => compileNode(c, rules));
      if (kids.length === 0) return always(F);
      return (e) => {
        let r: FilterResult = F;
        for (const k of kids) {
          const v = k(e);
          if (v === T) return T;
          if (v === U) r = U;
        }
        return r;
      };
    }
    case 'not': {
      const k = compileNode(f.filter, rules);
      return (e) => {
        const v = k(e);
        return v === T ? F : v === F ? T : U;
      };
    }
    case 'present': {
      const attr = baseAttribute(f.attribute);
      return (e) => (e.get(attr) !== undefined ? T : F);
    }
    case 'equalityMatch':
    case 'approxMatch': {
      // approxMatch: no phonetic algorithm; evaluated as the attribute's equality rule.
      const attr = baseAttribute(f.attribute);
      const m = makeMatcher(ruleFor(attr, rules), f.value);
      if (m === undefined) return always(U);
      return (e) => {
        const vals = e.get(attr);
        if (vals === undefined) return F;
        for (const v of vals) if (m.eq(v)) return T;
        return F;
      };
    }
    case 'greaterOrEqual':
    case 'lessOrEqual': {
      const attr = baseAttribute(f.attribute);
      const m = makeMatcher(ruleFor(attr, rules), f.value);
      if (m === undefined) return always(U);
      const ge = f.type === 'greaterOrEqual';
      return (e) => {
        const vals = e.get(attr);
        if (vals === undefined) return F;
        for (const v of vals) if (m.order(v, ge)) return T;
        return F;
      };
    }
    case 'substrings':
      return compileSubstrings(f, rules);
    case 'extensibleMatch':
      return compileExtensible(f, rules);
  }
}

function compileSubstrings(f: Extract<Filter, { type: 'substrings' }>, rules: MatchingRules): Node {
  const attr = baseAttribute(f.attribute);
  // Integer attributes have no substring rule in the standard schema; like authentik,
  // we match their string form, case-insensitively.
  const exact = ruleFor(attr, rules) === 'caseExact';
  const prep = (s: string): string => collapseSpaces(exact ? s : s.toLowerCase());
  const initial = f.initial === undefined ? undefined : prep(f.initial).trimStart();
  const final = f.final === undefined ? undefined : prep(f.final).trimEnd();
  const any = f.any.map(prep);
  const matchOne = (raw: string): boolean => {
    const v = normSpaces(exact ? raw : raw.toLowerCase());
    let pos = 0;
    if (initial !== undefined) {
      if (!v.startsWith(initial)) return false;
      pos = initial.length;
    }
    for (const a of any) {
      const i = v.indexOf(a, pos);
      if (i < 0) return false;
      pos = i + a.length;
    }
    if (final !== undefined) {
      if (v.length - final.length < pos || !v.endsWith(final)) return false;
    }
    return true;
  };
  return (e) => {
    const vals = e.get(attr);
    if (vals === undefined) return F;
    for (const v of vals) if (matchOne(v)) return T;
    return F;
  };
}

function compileExtensible(f: Extract<Filter, { type: 'extensibleMatch' }>, rules: MatchingRules): Node {
  const attr = f.attribute === undefined ? undefined : baseAttribute(f.attribute);
  let kind: RuleKind | undefined;
  if (f.matchingRule !== undefined) {
    kind = MATCHING_RULES.get(f.matchingRule.toLowerCase());
    if (kind === undefined) return always(U); // unrecognised matching rule
  } else if (attr !== undefined) {
    kind = ruleFor(attr, rules);
  } else {
    return always(U);
  }
  const m = makeMatcher(kind, f.value);
  if (m === undefined) return always(U);

  const matchValues = (vals: readonly string[] | undefined): boolean => {
    if (vals === undefined) return false;
    for (const v of vals) if (m.eq(v)) return true;
    return false;
  };
  const matchAttrs = (e: FilterEntry): FilterResult => {
    if (attr !== undefined) return matchValues(e.get(attr)) ? T : F;
    if (e.keys === undefined) return U;
    for (const k of e.keys()) if (matchValues(e.get(k))) return T;
    return F;
  };
  if (!f.dnAttributes) return matchAttrs;
  return (e) => {
    const r = matchAttrs(e);
    if (r === T || e.dn === undefined) return r;
    try {
      for (const rdn of parseDn(e.dn)) {
        for (const ava of rdn) {
          if ((attr === undefined || baseAttribute(ava.type) === attr) && m.eq(ava.value)) return T;
        }
      }
    } catch {
      return U;
    }
    return r;
  };
}
