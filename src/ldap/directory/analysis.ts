// Static reasoning about a search filter, used only to avoid work, never to decide results:
// every entry that is returned has passed the full filter (compileFilter) in tree.ts.
//
// - `prepareFilter` rewrites DN-valued equality assertions (member, memberOf, entryDN, ...) into
//   the canonical spelling our entries use, so `(memberOf=CN=staff, OU=groups, DC=...)` matches
//   like distinguishedNameMatch would (authentik compared the raw strings).
// - `possibleResults` evaluates a filter abstractly for a whole kind of entry (users, groups,
//   virtual groups) from what is fixed for that kind (its object classes; the complete
//   attribute list of virtual groups; the two object class lists a group can have). When TRUE is impossible, the section is skipped (and, in
//   direct mode, not fetched). Sound because object classes cannot be overridden by custom
//   attributes (entries.ts).
// - `planCandidates` picks index posting lists for equality tests, inside ANDs and ORs.
import { baseAttribute, compileFilter, FilterResult, type Filter, type FilterEntry } from '../protocol/index.ts';
import { canonicalDnValue, EMPTY_GROUP_OBJECT_CLASSES, GROUP_OBJECT_CLASSES, USER_OBJECT_CLASSES, VIRTUAL_GROUP_OBJECT_CLASSES } from './entries.ts';

export type LeafKind = 'users' | 'groups' | 'vgroups';
export const LEAF_KINDS: readonly LeafKind[] = ['users', 'groups', 'vgroups'];

/** Attributes whose values are DNs: equality assertions on them are canonicalised. */
const DN_ATTRIBUTES = new Set(['member', 'memberof', 'uniquemember', 'entrydn', 'distinguishedname', 'namingcontexts', 'rootdomainnamingcontext', 'subschemasubentry']);

/** Rewrites DN-valued equality assertions to our canonical DN spelling (values that are not DNs are left alone). */
export function prepareFilter(f: Filter): Filter {
  switch (f.type) {
    case 'and':
    case 'or': {
      let changed = false;
      const kids = f.filters.map((c) => {
        const n = prepareFilter(c);
        if (n !== c) changed = true;
        return n;
      });
      return changed ? { type: f.type, filters: kids } : f;
    }
    case 'not': {
      const n = prepareFilter(f.filter);
      return n === f.filter ? f : { type: 'not', filter: n };
    }
    case 'equalityMatch':
    case 'approxMatch': {
      if (!DN_ATTRIBUTES.has(baseAttribute(f.attribute))) return f;
      const canon = canonicalDnValue(f.value);
      return canon === undefined || canon === f.value ? f : { ...f, value: canon };
    }
    default:
      return f;
  }
}

// ---------------------------------------------------------------------------------------
// Abstract evaluation per kind

/** Sets of possible three-valued results, as bits. */
export const CAN_TRUE = 1;
const CAN_FALSE = 2;
const CAN_UNDEF = 4;
const ANY = CAN_TRUE | CAN_FALSE | CAN_UNDEF;

interface KindFacts {
  /** Attributes whose values are the same on every entry of the kind (lower-case names). */
  readonly fixed: ReadonlyMap<string, readonly string[]>;
  /** Attributes whose values are one of a few lists, per entry (a group's objectClass depends on whether it has members). */
  readonly oneOf?: ReadonlyMap<string, readonly (readonly string[])[]>;
  /** When set, the complete list of attribute names an entry of the kind can have. */
  readonly closed?: ReadonlySet<string>;
}

const FACTS: Record<LeafKind, KindFacts> = {
  users: { fixed: new Map([['objectclass', USER_OBJECT_CLASSES], ['subschemasubentry', ['cn=subschema']]]) },
  groups: {
    fixed: new Map([['subschemasubentry', ['cn=subschema']]]),
    oneOf: new Map([['objectclass', [GROUP_OBJECT_CLASSES, EMPTY_GROUP_OBJECT_CLASSES]]]),
  },
  vgroups: {
    fixed: new Map([
      ['objectclass', VIRTUAL_GROUP_OBJECT_CLASSES],
      ['ak-superuser', ['false']],
      ['subschemasubentry', ['cn=subschema']],
    ]),
    closed: new Set(['cn', 'samaccountname', 'uid', 'gidnumber', 'member', 'objectclass', 'ak-superuser', 'entrydn', 'subschemasubentry']),
  },
};

function bit(r: FilterResult): number {
  return r === FilterResult.TRUE ? CAN_TRUE : r === FilterResult.FALSE ? CAN_FALSE : CAN_UNDEF;
}

function leafAttribute(f: Filter): string | undefined {
  switch (f.type) {
    case 'equalityMatch':
    case 'approxMatch':
    case 'greaterOrEqual':
    case 'lessOrEqual':
    case 'substrings':
    case 'present':
      return baseAttribute(f.attribute);
    case 'extensibleMatch':
      // Without a type it may match any attribute; with dnAttributes the DN's values count too.
      return f.attribute === undefined || f.dnAttributes ? undefined : baseAttribute(f.attribute);
    default:
      return undefined;
  }
}

function combine(a: number, b: number, op: (x: FilterResult, y: FilterResult) => FilterResult): number {
  let out = 0;
  for (const x of [FilterResult.TRUE, FilterResult.FALSE, FilterResult.UNDEFINED]) {
    if (!(a & bit(x))) continue;
    for (const y of [FilterResult.TRUE, FilterResult.FALSE, FilterResult.UNDEFINED]) {
      if (b & bit(y)) out |= bit(op(x, y));
    }
  }
  return out;
}

const and3 = (x: FilterResult, y: FilterResult): FilterResult => (x === FilterResult.FALSE || y === FilterResult.FALSE ? FilterResult.FALSE : x === FilterResult.UNDEFINED || y === FilterResult.UNDEFINED ? FilterResult.UNDEFINED : FilterResult.TRUE);
const or3 = (x: FilterResult, y: FilterResult): FilterResult => (x === FilterResult.TRUE || y === FilterResult.TRUE ? FilterResult.TRUE : x === FilterResult.UNDEFINED || y === FilterResult.UNDEFINED ? FilterResult.UNDEFINED : FilterResult.FALSE);

/** The set of results (CAN_TRUE | ...) the filter can have on entries of `kind`. */
export function possibleResults(f: Filter, kind: LeafKind): number {
  const facts = FACTS[kind];
  switch (f.type) {
    case 'and': {
      let acc = CAN_TRUE;
      for (const c of f.filters) {
        acc = combine(acc, possibleResults(c, kind), and3);
        if (acc === CAN_FALSE) break;
      }
      return acc;
    }
    case 'or': {
      let acc = CAN_FALSE;
      for (const c of f.filters) {
        acc = combine(acc, possibleResults(c, kind), or3);
        if (acc === CAN_TRUE) break;
      }
      return acc;
    }
    case 'not': {
      const r = possibleResults(f.filter, kind);
      return (r & CAN_TRUE ? CAN_FALSE : 0) | (r & CAN_FALSE ? CAN_TRUE : 0) | (r & CAN_UNDEF);
    }
    default: {
      const attr = leafAttribute(f);
      if (attr === undefined) return ANY;
      const fixed = facts.fixed.get(attr);
      if (fixed !== undefined) return bit(evaluateLeaf(f, attr, fixed));
      const variants = facts.oneOf?.get(attr);
      if (variants !== undefined) return variants.reduce((acc, values) => acc | bit(evaluateLeaf(f, attr, values)), 0);
      if (facts.closed && !facts.closed.has(attr)) return bit(evaluateLeaf(f, attr, undefined));
      return ANY;
    }
  }
}

function evaluateLeaf(f: Filter, attr: string, values: readonly string[] | undefined): FilterResult {
  const entry: FilterEntry = { get: (a) => (a === attr ? values : undefined), keys: () => (values === undefined ? [] : [attr]) };
  return compileFilter(f).evaluate(entry);
}

/** False when no entry of `kind` can match the filter. */
export function kindMayMatch(f: Filter, kind: LeafKind): boolean {
  return (possibleResults(f, kind) & CAN_TRUE) !== 0;
}

/** The AND-ed parts of a filter (nested ANDs flattened); a non-AND filter is its own only part. */
export function conjuncts(f: Filter): Filter[] {
  if (f.type !== 'and') return [f];
  return f.filters.flatMap(conjuncts);
}

// ---------------------------------------------------------------------------------------
// Index planning

/** Positions within a kind's section, ascending; 'all' = scan the section. */
export type Candidates = 'all' | readonly number[];

export interface IndexSource {
  /** Posting list for an equality test, or undefined when `attr` is not indexed. */
  lookup(kind: LeafKind, attr: string, assertion: string): readonly number[] | undefined;
}

export interface Plan {
  readonly candidates: Candidates;
  /** True when an index narrowed the candidates. */
  readonly usedIndex: boolean;
}

const ALL: Plan = { candidates: 'all', usedIndex: false };
const NONE: Plan = { candidates: [], usedIndex: false };

/** A superset of the positions of `kind` entries that can match `f`. */
export function planCandidates(f: Filter, kind: LeafKind, idx: IndexSource): Plan {
  const possible = possibleResults(f, kind);
  if (!(possible & CAN_TRUE)) return NONE;
  if (possible === CAN_TRUE) return ALL;
  switch (f.type) {
    case 'and': {
      let best: Plan | undefined;
      let second: Plan | undefined;
      for (const c of f.filters) {
        const p = planCandidates(c, kind, idx);
        if (p.candidates === 'all') continue;
        if (best === undefined || p.candidates.length < (best.candidates as readonly number[]).length) {
          second = best;
          best = p;
        } else if (second === undefined || p.candidates.length < (second.candidates as readonly number[]).length) {
          second = p;
        }
        if (p.candidates.length === 0) break;
      }
      if (best === undefined) return ALL;
      if (second === undefined || (best.candidates as readonly number[]).length <= 64) return best;
      return { candidates: intersect(best.candidates as readonly number[], second.candidates as readonly number[]), usedIndex: true };
    }
    case 'or': {
      const lists: (readonly number[])[] = [];
      let used = false;
      for (const c of f.filters) {
        const p = planCandidates(c, kind, idx);
        if (p.candidates === 'all') return ALL;
        if (p.candidates.length > 0) lists.push(p.candidates);
        used ||= p.usedIndex;
      }
      return { candidates: unionAll(lists), usedIndex: used };
    }
    case 'equalityMatch':
    case 'approxMatch': {
      const hit = idx.lookup(kind, baseAttribute(f.attribute), f.value);
      return hit === undefined ? ALL : { candidates: hit, usedIndex: true };
    }
    default:
      return ALL;
  }
}

function intersect(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      out.push(x);
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return out;
}

function unionAll(lists: readonly (readonly number[])[]): readonly number[] {
  if (lists.length === 0) return [];
  if (lists.length === 1) return lists[0]!;
  const set = new Set<number>();
  for (const l of lists) for (const x of l) set.add(x);
  return [...set].sort((x, y) => x - y);
}
