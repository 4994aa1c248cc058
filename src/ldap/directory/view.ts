// One provider's view of directory data: the entries of the virtual tree (built lazily, once,
// and reused: entries are immutable), DN strings shared between an entry and the values that
// point at it (member, memberOf), lookups by name for resolving a search base, and (cached
// mode) equality indexes built on first use.
import { DEFAULT_MATCHING_RULES, EncodedEntries, type EncodingBudget } from '../protocol/index.ts';
import type { IndexSource, LeafKind } from './analysis.ts';
import type { LdapEntry } from '../entry.ts';
import { buildBaseEntry, buildContainerEntry, buildGroupEntry, buildUserEntry, buildVirtualGroupEntry, groupDn, userDn, virtualGroupDn, type DirEntry, type DirectoryLayout, type MemberOfSource, type UserFacts } from './entries.ts';
import { memberOfGroups, nameKey, type DirGroup, type DirUser } from './model.ts';

/** What a view shows: which users and groups, and the relations between them. */
export interface ViewSource {
  readonly users: readonly DirUser[];
  readonly groups: readonly DirGroup[];
  /** The users in a group's `member` list. */
  members(g: DirGroup): readonly DirUser[];
  /** The child groups in a group's `member` list (after the users). */
  memberGroups(g: DirGroup): readonly DirGroup[];
  /** A group's `memberOf` list: its direct parents (authentik 2025.8+; never recursive). */
  groupMemberOf(g: DirGroup): readonly DirGroup[];
  /** A user's `memberOf` list. */
  memberOf(u: DirUser): readonly DirGroup[];
}

/** Everything in the data; memberOf direct or nested. */
export function fullSource(data: { readonly users: readonly DirUser[]; readonly groups: readonly DirGroup[] }, nested: boolean): ViewSource {
  return {
    users: data.users,
    groups: data.groups,
    members: (g) => g.members,
    memberGroups: (g) => g.children,
    groupMemberOf: (g) => g.parents,
    memberOf: (u) => memberOfGroups(u, nested),
  };
}

const NO_GROUPS: readonly DirGroup[] = Object.freeze([]);
const NO_USERS: readonly DirUser[] = Object.freeze([]);

/** Nothing at all: a user the core does not know, a base outside the provider's tree. */
export const EMPTY_SOURCE: ViewSource = {
  users: NO_USERS,
  groups: NO_GROUPS,
  members: () => NO_USERS,
  memberGroups: () => NO_GROUPS,
  groupMemberOf: () => NO_GROUPS,
  memberOf: () => NO_GROUPS,
};

/**
 * What a non-privileged user sees (authentik's behaviour): their own user and virtual group,
 * and the groups they are a direct member of, each listing only them as member. Their own
 * memberOf lists all their groups (and ancestors with the nested option). Group-to-group
 * relations are left out in the same way as other members: a group's member lists no child
 * groups and it has no memberOf (authentik would show both).
 */
export function selfSource(user: DirUser, nested: boolean): ViewSource {
  const self = [user];
  return {
    users: self,
    groups: user.groups,
    members: () => self,
    memberGroups: () => NO_GROUPS,
    groupMemberOf: () => NO_GROUPS,
    memberOf: (u) => memberOfGroups(u, nested),
  };
}

/** Attributes that get an equality index in cached mode (what clients filter on). */
export const INDEXED_ATTRIBUTES: ReadonlySet<string> = new Set(['cn', 'uid', 'samaccountname', 'mail', 'memberof', 'member', 'uidnumber', 'gidnumber', 'displayname']);

const INTEGER_ATTRIBUTES = DEFAULT_MATCHING_RULES.integer ?? new Set<string>();
const INTEGER_RE = /^\s*([+-]?\d+)\s*$/;
const WHITESPACE = /\s+/g;

/**
 * Index key of a value: equal under the attribute's equality rule implies equal keys (the key
 * is coarser: case and all whitespace dropped; integers canonical), so a posting list is a
 * superset of the matches and the full filter decides.
 */
export function indexKey(attr: string, value: string): string | undefined {
  if (INTEGER_ATTRIBUTES.has(attr)) {
    const m = INTEGER_RE.exec(value);
    if (m === null) return undefined;
    const n = Number(m[1]);
    return Number.isSafeInteger(n) ? String(n) : undefined;
  }
  return value.toLowerCase().replace(WHITESPACE, '');
}

/** 32-bit FNV-1a of a key. Equal keys hash equally; a collision only adds candidates. */
export function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const POS_BITS = 2 ** 21;
/** Sections larger than this are not indexed (positions are packed into 21 bits). */
export const MAX_INDEXED_ENTRIES = POS_BITS - 1;

/**
 * An equality index as two parallel typed arrays sorted by (hash, position): 8 bytes per value
 * and no key strings kept, so indexing 100,000 users costs under a megabyte per attribute.
 * Lookup is a binary search; the positions of one hash are ascending.
 */
class ValueIndex {
  private readonly hashes: Uint32Array;
  private readonly positions: Uint32Array;

  constructor(pairs: Float64Array) {
    // Each pair is packed as hash * 2^21 + position (exact in a double), so a numeric sort
    // of the typed array orders by hash, then position.
    pairs.sort();
    let n = 0;
    const hashes = new Uint32Array(pairs.length);
    const positions = new Uint32Array(pairs.length);
    for (let i = 0; i < pairs.length; i++) {
      const v = pairs[i]!;
      if (i > 0 && v === pairs[i - 1]) continue;
      hashes[n] = Math.floor(v / POS_BITS);
      positions[n] = v % POS_BITS;
      n++;
    }
    this.hashes = hashes.slice(0, n);
    this.positions = positions.slice(0, n);
  }

  get(key: string): readonly number[] {
    const h = hashKey(key);
    const hs = this.hashes;
    let lo = 0;
    let hi = hs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (hs[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    const out: number[] = [];
    for (let i = lo; i < hs.length && hs[i] === h; i++) out.push(this.positions[i]!);
    return out;
  }

  get bytes(): number {
    return this.hashes.byteLength + this.positions.byteLength;
  }
}

/**
 * Encoded bytes a view keeps at most, all sections together: a user entry of the demo directory
 * takes about 850 bytes, a virtual group 600, so 64 MiB holds some 45,000 users with their
 * virtual groups (or 75,000 users alone). Entries past it are encoded per request: the budget
 * bounds what a very large directory holds twice (records and their encoding).
 */
const MAX_ENCODED_BYTES = 64 * 1024 * 1024;

export interface ViewOptions {
  readonly indexed: boolean;
}

export class DirectoryView implements IndexSource, MemberOfSource {
  readonly layout: DirectoryLayout;
  readonly source: ViewSource;
  readonly indexed: boolean;
  readonly baseEntry: DirEntry;
  readonly containers: Readonly<Record<LeafKind, DirEntry>>;
  private readonly groupEntries: (DirEntry | undefined)[];
  private readonly userDns: (string | undefined)[];
  private readonly groupDns = new Map<DirGroup, string>();
  private readonly indexes = new Map<string, ValueIndex>();
  /** Cached mode: each section's entries as encoded when first sent (see `keptEncodings`). */
  private readonly encodings = new Map<LeafKind, EncodedEntries>();
  private readonly encodingBudget: EncodingBudget = { remaining: MAX_ENCODED_BYTES };
  /** Index lookups served, per kind and attribute (for tests and metrics). */
  readonly indexHits = new Map<string, number>();

  constructor(layout: DirectoryLayout, source: ViewSource, opts: ViewOptions) {
    this.layout = layout;
    this.source = source;
    this.indexed = opts.indexed;
    this.baseEntry = buildBaseEntry(layout);
    this.containers = {
      users: buildContainerEntry(layout, 'users'),
      groups: buildContainerEntry(layout, 'groups'),
      vgroups: buildContainerEntry(layout, 'virtual-groups'),
    };
    this.groupEntries = new Array(source.groups.length);
    this.userDns = new Array(source.users.length);
  }

  count(kind: LeafKind): number {
    return kind === 'groups' ? this.source.groups.length : this.source.users.length;
  }

  userDnOf(u: DirUser, pos?: number): string {
    const i = pos ?? (this.source.users[u.idx] === u ? u.idx : -1);
    if (i < 0) return userDn(this.layout, u.username);
    let dn = this.userDns[i];
    if (dn === undefined) {
      dn = userDn(this.layout, u.username);
      this.userDns[i] = dn;
    }
    return dn;
  }

  /** A user's memberOf values (MemberOfSource of this view's user entries, all built from its DirUsers). */
  memberOfDns(u: UserFacts): readonly string[] {
    return this.source.memberOf(u as DirUser).map((g) => this.groupDnOf(g));
  }

  groupDnOf(g: DirGroup): string {
    let dn = this.groupDns.get(g);
    if (dn === undefined) {
      dn = groupDn(this.layout, g.name);
      this.groupDns.set(g, dn);
    }
    return dn;
  }

  /**
   * The entry at `pos` of a section. Groups are built once and kept (few, and their member
   * lists are large); users and virtual groups are light objects computed from the compact
   * record on each call (see UserEntry), so nothing proportional to the directory is kept.
   */
  entry(kind: LeafKind, pos: number): LdapEntry {
    if (kind === 'groups') {
      const hit = this.groupEntries[pos];
      if (hit !== undefined) return hit;
      const g = this.source.groups[pos]!;
      const members = this.source.members(g).map((u) => this.userDnOf(u));
      for (const c of this.source.memberGroups(g)) members.push(this.groupDnOf(c));
      const e = buildGroupEntry(this.layout, g, this.groupDnOf(g), members, this.source.groupMemberOf(g).map((p) => this.groupDnOf(p)));
      if (this.indexed) e.keptIn(this.keptEncodings(kind), pos);
      this.groupEntries[pos] = e;
      return e;
    }
    const u = this.source.users[pos]!;
    const dn = this.userDnOf(u, pos);
    const e = kind === 'users' ? buildUserEntry(this.layout, u, dn, this) : buildVirtualGroupEntry(this.layout, u, virtualGroupDn(this.layout, u.username), dn);
    return this.indexed ? e.keptIn(this.keptEncodings(kind), pos) : e;
  }

  /**
   * The encodings of a section's entries (cached mode: a snapshot's view, whose entries never
   * change; a refresh brings a new view). Made when an entry of the section is first sent.
   */
  private keptEncodings(kind: LeafKind): EncodedEntries {
    let store = this.encodings.get(kind);
    if (store === undefined) {
      store = new EncodedEntries(this.count(kind), this.encodingBudget);
      this.encodings.set(kind, store);
    }
    return store;
  }

  /** Bytes held by kept encodings (tests and memory reports). */
  get encodedBytes(): number {
    let n = 0;
    for (const store of this.encodings.values()) n += store.size;
    return n;
  }

  /** Positions of the entries of `kind` whose RDN value (the name) equals `value` (DN comparison). */
  findByName(kind: LeafKind, value: string): readonly number[] {
    const key = nameKey(value);
    const nameAt = (i: number) => (kind === 'groups' ? this.source.groups[i]!.name : this.source.users[i]!.username);
    const candidates = this.lookup(kind, 'cn', value);
    const out: number[] = [];
    if (candidates !== undefined) {
      for (const i of candidates) if (nameKey(nameAt(i)) === key) out.push(i);
      return out;
    }
    const n = this.count(kind);
    for (let i = 0; i < n; i++) if (nameKey(nameAt(i)) === key) out.push(i);
    return out;
  }

  lookup(kind: LeafKind, attr: string, assertion: string): readonly number[] | undefined {
    if (!this.indexed || !INDEXED_ATTRIBUTES.has(attr)) return undefined;
    const name = `${kind}:${attr}`;
    this.indexHits.set(name, (this.indexHits.get(name) ?? 0) + 1);
    const key = indexKey(attr, assertion);
    if (key === undefined) return [];
    return this.index(kind, attr)?.get(key);
  }

  private index(kind: LeafKind, attr: string): ValueIndex | undefined {
    const name = `${kind}:${attr}`;
    let idx = this.indexes.get(name);
    if (idx === undefined) {
      const n = this.count(kind);
      if (n > MAX_INDEXED_ENTRIES) return undefined;
      let pairs = new Float64Array(n + 16);
      let len = 0;
      for (let i = 0; i < n; i++) {
        const values = this.entry(kind, i).get(attr);
        if (values === undefined) continue;
        for (const v of values) {
          const key = indexKey(attr, v);
          if (key === undefined) continue;
          if (len === pairs.length) {
            const grown = new Float64Array(pairs.length * 2);
            grown.set(pairs);
            pairs = grown;
          }
          pairs[len++] = hashKey(key) * POS_BITS + i;
        }
      }
      idx = new ValueIndex(pairs.subarray(0, len));
      this.indexes.set(name, idx);
    }
    return idx;
  }

  /** Builds the given indexes now (e.g. before a refreshed snapshot is swapped in). */
  warm(names: Iterable<string>): void {
    for (const name of names) {
      const [kind, attr] = name.split(':') as [LeafKind, string];
      this.index(kind, attr);
    }
  }

  /** Names (`kind:attr`) of the indexes built so far. */
  builtIndexes(): string[] {
    return [...this.indexes.keys()];
  }
}
