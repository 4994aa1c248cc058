// The directory's data in compact form: users and groups as small records (no raw API JSON),
// custom attributes pre-rendered once, repeated strings interned, memberships as object
// references. Both search modes build their entries from this; the cached mode keeps one
// `DirectoryData` per core (origin + token) and swaps it atomically on refresh.
import { normalizeDnValue } from '../protocol/index.ts';
import type { ApiGroup, ApiGroupMember, ApiRelatedGroup, ApiUser, ApiUserGroup } from './api.ts';
import { numPkOfUuid, renderCustomAttributes, idNumberAttribute, type Attr, type GroupFacts, type UserFacts } from './entries.ts';

export interface DirUser extends UserFacts {
  /** Direct groups (authentik's memberOf). */
  readonly groups: readonly DirGroup[];
  /** Position in `DirectoryData.users`; -1 for a member stub (a group's member not listed as a user). */
  readonly idx: number;
}

export interface DirGroup extends GroupFacts {
  /** Lower-case pks of the parent groups (one in authentik 2024.4, any number later). */
  readonly parentPks: readonly string[];
  /** The parents that are known, resolved. */
  parents: readonly DirGroup[];
  /** Lower-case pks of the child groups as the core lists them (2024.8+; none from 2024.4). */
  readonly childPks: readonly string[];
  /**
   * The direct child groups that are known, resolved (`finish`): the core's `children`, then
   * every known group that names this one as a parent (2024.4 lists no children).
   */
  children: readonly DirGroup[];
  /** Direct members. */
  readonly members: DirUser[];
  /** Position in `DirectoryData.groups`; -1 when the group is only known as some user's group. */
  idx: number;
}

export interface DirectoryData {
  /** Users listed in the directory, in core order. */
  readonly users: readonly DirUser[];
  /** Groups listed in the directory, in core order. */
  readonly groups: readonly DirGroup[];
  readonly userByPk: ReadonlyMap<number, DirUser>;
  readonly groupByPk: ReadonlyMap<string, DirGroup>;
  /** When the data was loaded (epoch ms). */
  readonly loadedAt: number;
}

const EMPTY_GROUPS: readonly DirGroup[] = Object.freeze([]);

/** Shares equal strings while one load runs (custom attribute keys and values repeat a lot). */
export class Interner {
  private readonly map = new Map<string, string>();
  readonly intern = (s: string): string => {
    if (s.length > 64) return s;
    const prev = this.map.get(s);
    if (prev !== undefined) return prev;
    this.map.set(s, s);
    return s;
  };
}

export interface BuildOptions {
  /**
   * cached: members of a group are derived from the users' `groups` (one source of truth, so
   * member and memberOf always agree). direct: members come from the group's `users_obj`.
   */
  readonly membersFrom: 'users' | 'groups';
}

/** Turns API pages into compact records. Add groups first, then users. */
export class DataBuilder {
  private readonly interner = new Interner();
  private readonly users: DirUser[] = [];
  private readonly groups: DirGroup[] = [];
  private readonly userByPk = new Map<number, DirUser>();
  /** Every group seen, listed or only referenced by a user. */
  private readonly groupByPk = new Map<string, DirGroup>();
  private readonly opts: BuildOptions;

  constructor(opts: BuildOptions) {
    this.opts = opts;
  }

  private makeGroup(g: ApiGroup | ApiUserGroup, idx: number): DirGroup {
    const i = this.interner.intern;
    return {
      pk: i(g.pk.toLowerCase()),
      numPk: g.num_pk ?? numPkOfUuid(g.pk),
      name: i(g.name),
      superuser: g.is_superuser === true,
      gidNumberAttr: idNumberAttribute(g.attributes, 'gidNumber'),
      custom: renderCustomAttributes(g.attributes, 'group', undefined, i),
      parentPks: parentPksOf(g),
      parents: EMPTY_GROUPS,
      childPks: 'children' in g ? lowerPks(g.children) : EMPTY_PKS,
      children: EMPTY_GROUPS,
      members: [],
      idx,
    };
  }

  /** A group from the groups list (listed in the directory). */
  addGroup(g: ApiGroup): DirGroup {
    const pk = g.pk.toLowerCase();
    const prev = this.groupByPk.get(pk);
    if (prev && prev.idx >= 0) return prev;
    const rec = this.makeGroup(g, this.groups.length);
    if (prev) {
      // Known from a user's groups_obj: keep that object (users point at it), list it.
      Object.assign(prev, { ...rec, members: prev.members, idx: this.groups.length });
      this.groups.push(prev);
      this.addMembers(prev, g);
      this.addRelated(g);
      return prev;
    }
    this.groups.push(rec);
    this.groupByPk.set(pk, rec);
    this.addMembers(rec, g);
    this.addRelated(g);
    return rec;
  }

  /**
   * A group known only for the hierarchy (not listed): its parents tell `finish` whose child
   * it is. 2024.4 lists no children, so a narrowed groups query is completed with this.
   */
  addHierarchyGroup(g: ApiGroup): void {
    const pk = g.pk.toLowerCase();
    const prev = this.groupByPk.get(pk);
    if (prev === undefined) this.groupByPk.set(pk, this.makeGroup(g, -1));
    else if (prev.idx < 0 && prev.parentPks.length === 0) Object.assign(prev, { parentPks: parentPksOf(g) });
  }

  /** Names of the parents and children a group's list entry carries (`parents_obj`, `children_obj`; 2024.4's `parent_name`). */
  private addRelated(g: ApiGroup): void {
    const related = (r: ApiRelatedGroup): void => {
      const pk = r.pk.toLowerCase();
      if (!this.groupByPk.has(pk)) this.groupByPk.set(pk, this.makeGroup({ ...r, parent: null, parents: null }, -1));
    };
    for (const r of g.parents_obj ?? []) related(r);
    for (const r of g.children_obj ?? []) related(r);
    if (g.parent !== null && typeof g.parent_name === 'string') related({ pk: g.parent, name: g.parent_name, is_superuser: false, attributes: null });
  }

  private addMembers(rec: DirGroup, g: ApiGroup): void {
    if (this.opts.membersFrom !== 'groups' || !g.users_obj) return;
    for (const m of g.users_obj) rec.members.push(this.memberStub(m));
  }

  private memberStub(m: ApiGroupMember): DirUser {
    const i = this.interner.intern;
    return {
      pk: m.pk,
      username: i(m.username),
      name: m.name ?? '',
      email: m.email ?? '',
      active: m.is_active === true,
      superuser: false,
      uid: m.uid,
      uidNumberAttr: idNumberAttribute(m.attributes, 'uidNumber'),
      gidNumberAttr: idNumberAttribute(m.attributes, 'gidNumber'),
      custom: [],
      groups: EMPTY_GROUPS,
      idx: -1,
    };
  }

  private groupRef(pk: string, obj: ApiUserGroup | undefined): DirGroup | undefined {
    const key = pk.toLowerCase();
    const known = this.groupByPk.get(key);
    if (known) return known;
    if (!obj) return undefined;
    const rec = this.makeGroup(obj, -1);
    this.groupByPk.set(key, rec);
    return rec;
  }

  /**
   * A user from the users list. Its groups come from `groups_obj` when present (direct mode),
   * otherwise from `groups` (pks) resolved against the groups added before (cached mode;
   * unknown pks, e.g. a group created between the two list calls, are dropped).
   */
  addUser(u: ApiUser, opts: { listed?: boolean } = {}): DirUser {
    const i = this.interner.intern;
    const groups: DirGroup[] = [];
    if (u.groups_obj) {
      for (const g of u.groups_obj) {
        const ref = this.groupRef(g.pk, g);
        if (ref && !groups.includes(ref)) groups.push(ref);
      }
    } else {
      for (const pk of u.groups ?? []) {
        const ref = this.groupRef(pk, undefined);
        if (ref && !groups.includes(ref)) groups.push(ref);
      }
    }
    const listed = opts.listed !== false;
    const rec: DirUser = {
      pk: u.pk,
      username: u.username,
      name: u.name ?? '',
      email: u.email ?? '',
      active: u.is_active === true,
      superuser: u.is_superuser === true,
      uid: u.uid,
      uidNumberAttr: idNumberAttribute(u.attributes, 'uidNumber'),
      gidNumberAttr: idNumberAttribute(u.attributes, 'gidNumber'),
      custom: renderCustomAttributes(u.attributes, 'user', u.username, i),
      // An exact-size copy: a grown array keeps ~17 slots of capacity (x100,000 users).
      groups: groups.length === 0 ? EMPTY_GROUPS : groups.slice(),
      idx: listed ? this.users.length : -1,
    };
    if (listed) {
      if (this.userByPk.has(u.pk)) return this.userByPk.get(u.pk)!;
      this.users.push(rec);
      this.userByPk.set(u.pk, rec);
      if (this.opts.membersFrom === 'users') for (const g of groups) g.members.push(rec);
    }
    return rec;
  }

  finish(loadedAt: number = Date.now()): DirectoryData {
    for (const g of this.groupByPk.values()) g.parents = resolveGroups(g.parentPks, this.groupByPk);
    // Each group's children by the parents they name; a group is in a list once (its parentPks has no repeats).
    const derived = new Map<DirGroup, DirGroup[]>();
    for (const g of this.groupByPk.values()) {
      for (const p of g.parents) {
        const list = derived.get(p);
        if (list === undefined) derived.set(p, [g]);
        else list.push(g);
      }
    }
    for (const g of this.groupByPk.values()) {
      const fromCore = resolveGroups(g.childPks, this.groupByPk);
      const named = derived.get(g);
      if (named === undefined) {
        g.children = fromCore;
        continue;
      }
      // A Set: from 2024.8 both lists name every child, and a group may have thousands.
      const listed = new Set(fromCore);
      const fromParents = named.filter((c) => !listed.has(c));
      if (fromParents.length === 0) g.children = fromCore;
      else g.children = [...fromCore, ...fromParents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))];
    }
    return { users: this.users, groups: this.groups, userByPk: this.userByPk, groupByPk: this.groupByPk, loadedAt };
  }
}

/** `parent` and `parents` of an API group as one list of lower-case pks, without repeats. */
function parentPksOf(g: ApiGroup | ApiUserGroup): readonly string[] {
  if (g.parent === null && (g.parents === null || g.parents.length === 0)) return EMPTY_PKS;
  const pks = new Set<string>();
  if (g.parent !== null) pks.add(g.parent.toLowerCase());
  for (const p of g.parents ?? []) pks.add(p.toLowerCase());
  return [...pks];
}
const EMPTY_PKS: readonly string[] = Object.freeze([]);

function lowerPks(pks: readonly string[] | null | undefined): readonly string[] {
  if (!pks || pks.length === 0) return EMPTY_PKS;
  return [...new Set(pks.map((p) => p.toLowerCase()))];
}

/** The groups of `pks` that `byPk` knows, in order. */
export function resolveGroups(pks: readonly string[], byPk: ReadonlyMap<string, DirGroup>): readonly DirGroup[] {
  if (pks.length === 0) return EMPTY_GROUPS;
  const out = pks.flatMap((pk) => byPk.get(pk) ?? []);
  return out.length === 0 ? EMPTY_GROUPS : out;
}

/**
 * A user's groups for memberOf: the direct groups (authentik), or with `nested` also every
 * ancestor through the parents, depth first from each direct group (each group once; cycles
 * and unknown parents end the walk).
 */
export function memberOfGroups(user: DirUser, nested: boolean): readonly DirGroup[] {
  if (!nested) return user.groups;
  let extra: DirGroup[] | undefined;
  const seen = new Set<DirGroup>(user.groups);
  // An explicit stack: a deep hierarchy must not exhaust the call stack.
  const stack: DirGroup[] = [];
  const pushParents = (g: DirGroup): void => {
    for (let i = g.parents.length - 1; i >= 0; i--) stack.push(g.parents[i]!);
  };
  for (const g of user.groups) {
    pushParents(g);
    for (let p = stack.pop(); p !== undefined; p = stack.pop()) {
      if (seen.has(p)) continue;
      seen.add(p);
      (extra ??= []).push(p);
      pushParents(p);
    }
  }
  return extra === undefined ? user.groups : [...user.groups, ...extra];
}

/** caseIgnore comparison key of a naming value (as DN comparison does it). */
export function nameKey(value: string): string {
  return normalizeDnValue(value);
}

export type { Attr };
