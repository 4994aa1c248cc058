// Search over one provider's virtual tree with correct scope semantics (RFC 4511 §4.5.1.2 and
// the subordinates scope of draft-sermersheim-ldap-subordinate-scope), full filter evaluation
// on every candidate, size and time limits.
//
// The tree has a fixed shape: the base entry, three containers below it, and leaves (users,
// groups, virtual groups) below the containers. A search base resolves to one node of that
// shape (or to noSuchObject with the deepest existing entry as matchedDN), and each scope maps
// to whole sections or single positions, so no DN is parsed or compared per entry.
import { normalizeAttributeType, ResultCode, SearchScope, isWithin, type CompiledFilter, type Dn, type Filter } from '../protocol/index.ts';
import { kindMayMatch, LEAF_KINDS, planCandidates, type LeafKind } from './analysis.ts';
import type { DirectoryLayout } from './entries.ts';
import type { LdapEntry } from '../entry.ts';
import { nameKey } from './model.ts';
import type { DirectoryView } from './view.ts';

export type BaseNode =
  | { readonly kind: 'root' }
  | { readonly kind: 'container'; readonly leaf: LeafKind }
  | { readonly kind: 'leaf'; readonly leaf: LeafKind; readonly positions: readonly number[] }
  | { readonly kind: 'missing'; readonly matchedDN: string };

const CONTAINER_NAMES: ReadonlyMap<string, LeafKind> = new Map([
  ['users', 'users'],
  ['groups', 'groups'],
  ['virtual-groups', 'vgroups'],
]);

/** The RDN's value when it is a single AVA of `type` (after type normalisation). */
function singleValue(rdn: Dn[number] | undefined, type: string): string | undefined {
  if (rdn === undefined || rdn.length !== 1) return undefined;
  const ava = rdn[0]!;
  if (ava.raw !== undefined || normalizeAttributeType(ava.type) !== type) return undefined;
  return ava.value;
}

export type StructuralBase =
  | { readonly kind: 'root' }
  | { readonly kind: 'container'; readonly leaf: LeafKind }
  | { readonly kind: 'named'; readonly leaf: LeafKind; readonly name: string; readonly below: boolean }
  | { readonly kind: 'missing'; readonly matchedDN: string };

/**
 * Where a (parsed) search base lies in a provider's tree, from the DN alone: the base entry, a
 * container, a leaf name below a container (`below`: the base is deeper than that leaf), or
 * outside the tree.
 */
export function structuralBase(layout: DirectoryLayout, base: Dn): StructuralBase {
  if (!isWithin(base, layout.baseParsed)) return { kind: 'missing', matchedDN: '' };
  const depth = base.length - layout.baseParsed.length;
  if (depth === 0) return { kind: 'root' };
  const ou = singleValue(base[depth - 1], 'ou');
  const leaf = ou === undefined ? undefined : CONTAINER_NAMES.get(nameKey(ou));
  if (leaf === undefined) return { kind: 'missing', matchedDN: layout.baseEntryDn };
  if (depth === 1) return { kind: 'container', leaf };
  const name = singleValue(base[depth - 2], 'cn');
  if (name === undefined) return { kind: 'missing', matchedDN: leaf === 'users' ? layout.usersDn : leaf === 'groups' ? layout.groupsDn : layout.virtualGroupsDn };
  return { kind: 'named', leaf, name, below: depth > 2 };
}

/** Where a (parsed) search base lies in the view's tree. Names are compared as DN values (case-insensitive). */
export function resolveBase(view: DirectoryView, base: Dn): BaseNode {
  const s = structuralBase(view.layout, base);
  if (s.kind !== 'named') return s;
  const positions = view.findByName(s.leaf, s.name);
  if (positions.length === 0) return { kind: 'missing', matchedDN: view.containers[s.leaf].dn };
  if (s.below) return { kind: 'missing', matchedDN: view.entry(s.leaf, positions[0]!).dn };
  return { kind: 'leaf', leaf: s.leaf, positions };
}

export interface TreeSearch {
  readonly view: DirectoryView;
  readonly base: BaseNode;
  readonly scope: number;
  /** The prepared filter (analysis.ts prepareFilter) and its compiled form. */
  readonly filter: Filter;
  readonly compiled: CompiledFilter;
  /** Stop after this many entries; one more match means sizeLimitExceeded. 0 = no limit. */
  readonly sizeLimit: number;
  /** performance.now() deadline, or undefined. */
  readonly deadline: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface TreeResult {
  readonly resultCode: number;
  readonly matchedDN?: string;
  readonly diagnosticMessage?: string;
  readonly entries: LdapEntry[];
}

/** Which parts of the tree a scope covers from a base node. */
export interface Coverage {
  readonly base: boolean;
  readonly containers: ReadonlySet<LeafKind>;
  /** Per leaf kind: the whole section, some positions, or nothing. */
  readonly leaves: ReadonlyMap<LeafKind, 'all' | readonly number[]>;
}

const NO_KINDS: ReadonlySet<LeafKind> = new Set();
const ALL_KINDS: ReadonlySet<LeafKind> = new Set(LEAF_KINDS);

export function coverage(base: BaseNode, scope: number): Coverage {
  const self = scope === SearchScope.baseObject || scope === SearchScope.wholeSubtree;
  const below = scope !== SearchScope.baseObject;
  const deep = scope === SearchScope.wholeSubtree || scope === SearchScope.subordinateSubtree;
  switch (base.kind) {
    case 'missing':
      return { base: false, containers: NO_KINDS, leaves: new Map() };
    case 'root':
      return {
        base: self,
        containers: below ? ALL_KINDS : NO_KINDS,
        leaves: deep ? new Map(LEAF_KINDS.map((k) => [k, 'all' as const])) : new Map(),
      };
    case 'container':
      return { base: false, containers: self ? new Set([base.leaf]) : NO_KINDS, leaves: below ? new Map([[base.leaf, 'all' as const]]) : new Map() };
    case 'leaf':
      return { base: false, containers: NO_KINDS, leaves: self ? new Map([[base.leaf, base.positions]]) : new Map() };
  }
}

/** Leaf kinds the search may return entries of (scope and filter permitting). */
export function neededKinds(base: BaseNode, scope: number, filter: Filter): Set<LeafKind> {
  const cov = coverage(base, scope);
  const out = new Set<LeafKind>();
  for (const [k, range] of cov.leaves) {
    if (range !== 'all' && range.length === 0) continue;
    if (kindMayMatch(filter, k)) out.add(k);
  }
  return out;
}

const CHECK_EVERY = 512;

export function runTreeSearch(s: TreeSearch): TreeResult {
  if (s.base.kind === 'missing') {
    return { resultCode: ResultCode.noSuchObject, matchedDN: s.base.matchedDN, diagnosticMessage: 'no such entry', entries: [] };
  }
  const cov = coverage(s.base, s.scope);
  const out: LdapEntry[] = [];
  const limit = s.sizeLimit > 0 ? s.sizeLimit : Infinity;
  let checked = 0;
  let stop: TreeResult | undefined;

  /** Adds the entry when it matches; false when the search must stop. */
  const consider = (e: LdapEntry): boolean => {
    if (++checked % CHECK_EVERY === 0) {
      if (s.signal?.aborted) {
        stop = { resultCode: ResultCode.other, diagnosticMessage: 'search abandoned', entries: out };
        return false;
      }
      if (s.deadline !== undefined && performance.now() > s.deadline) {
        stop = { resultCode: ResultCode.timeLimitExceeded, diagnosticMessage: 'time limit exceeded', entries: out };
        return false;
      }
    }
    if (!s.compiled.matches(e)) return true;
    if (out.length >= limit) {
      stop = { resultCode: ResultCode.sizeLimitExceeded, diagnosticMessage: 'size limit exceeded', entries: out };
      return false;
    }
    out.push(e);
    return true;
  };

  const view = s.view;
  if (cov.base && !consider(view.baseEntry)) return stop!;
  for (const kind of LEAF_KINDS) {
    if (cov.containers.has(kind) && !consider(view.containers[kind])) return stop!;
    const range = cov.leaves.get(kind);
    if (range === undefined) continue;
    if (range !== 'all') {
      for (const pos of range) if (!consider(view.entry(kind, pos))) return stop!;
      continue;
    }
    const plan = planCandidates(s.filter, kind, view);
    if (plan.candidates === 'all') {
      const n = view.count(kind);
      for (let i = 0; i < n; i++) if (!consider(view.entry(kind, i))) return stop!;
    } else {
      for (const pos of plan.candidates) if (!consider(view.entry(kind, pos))) return stop!;
    }
  }
  return { resultCode: ResultCode.success, entries: out };
}
