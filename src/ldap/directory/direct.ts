// search_mode: direct — every search reads what it needs from the core, pushing down only
// what provably keeps a SUPERSET of the matching entries; the full filter then decides
// locally, so results are exactly those of the cached mode on the same data.
//
// authentik pushed `(cn=v)` as `username=v` (exact, case-sensitive: `(cn=Alice)` missed
// `alice`), ignored some attributes, skipped whole fetches for some member filters, and sent
// unknown group names that made the core answer 400, which its paginator retried forever
// (ldap.md §5.1, §9 items 6–7). Here:
//
// - Names (`cn` of users, virtual groups and groups; the name in a search base DN) go to the
//   core's `search` parameter (DRF SearchFilter: every whitespace/comma-separated term must be
//   contained, case-insensitively, in one of username/name/email/... or group name). A term is
//   sent only when it is printable ASCII; it is split at `k`/`K` (the Kelvin sign U+212A
//   lower-cases to `k` in our filter but not in PostgreSQL's UPPER()) and, for substring
//   components, also at `i`/`I` (U+0130 lower-cases to `i` + U+0307). Each remaining piece is
//   then a substring of the username whenever the LDAP filter matches, so the core's answer is
//   a superset.
// - `memberOf=cn=<g>,ou=groups,<b>` on users: the group is looked up by name in the core's
//   group list and compared locally as a DN value (case-insensitive); no such group → no user
//   can match (no user request at all); exactly one → `groups_by_pk=<uuid>` (a pk that exists
//   cannot produce a 400); several, or the nested memberOf option → not pushed.
// - `member=cn=<u>,ou=users,<b>` on groups: the user is resolved the same way and pushed as
//   `members_by_pk`. `member=cn=<g>,ou=groups,<b>` (a child group, authentik 2025.8+) is
//   evaluated locally. A member/memberOf DN that points anywhere else proves the kind cannot match.
// - Groups are listed with `include_parents` and `include_children` (2024.8+ names the related
//   groups; 2024.4 ignores both). 2024.4 lists no children, so when the groups query was
//   narrowed, the whole group list (without users) is read too, to find each group's children.
// - Names are never sent as `username=` / `groups_by_name=` / `members_by_username=`.
// - A non-privileged viewer needs only `/core/users/<pk>/` (its groups come with it).
// - Every core error ends the search at once with an LDAP error (api.ts coreErrorResult).
import type { CoreApi, Query } from '../../agent/core-api.ts';
import { baseAttribute, parseDn, type Dn, type Filter } from '../protocol/index.ts';
import { conjuncts, kindMayMatch, type LeafKind } from './analysis.ts';
import { getUser, listGroups, listUsers, type ApiGroup, type ApiUser } from './api.ts';
import type { DirectoryLayout } from './entries.ts';
import { DataBuilder, nameKey, resolveGroups, type DirectoryData } from './model.ts';
import { structuralBase, type StructuralBase } from './tree.ts';
import { DirectoryView, EMPTY_SOURCE, fullSource, selfSource } from './view.ts';

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * `search` terms that every username (or group name) matching `value` contains, or undefined
 * when nothing safe can be sent. `substring`: the value is a substring component.
 */
export function searchTerms(value: string, substring: boolean): string[] | undefined {
  if (!PRINTABLE_ASCII.test(value)) return undefined;
  const split = substring ? /[\s,kKiI]+/ : /[\s,kK]+/;
  const terms = value.split(split).filter((t) => t !== '');
  return terms.length === 0 ? undefined : terms;
}

/** Terms of a substring filter: every component is contained in a matching name. */
function substringTerms(f: Extract<Filter, { type: 'substrings' }>): string[] | undefined {
  const out: string[] = [];
  for (const part of [f.initial, ...f.any, f.final]) {
    if (part === undefined) continue;
    const t = searchTerms(part, true);
    if (t) out.push(...t);
  }
  return out.length === 0 ? undefined : out;
}

interface KindPush {
  /** No entry of the kind can match. */
  impossible: boolean;
  terms: string[];
  /** memberOf group names (users) or member usernames (groups) to resolve to pks. */
  refs: string[];
}

/** The name in `value` when it is the DN `cn=<name>,<container of leaf>`, else undefined. */
function childName(value: string, layout: DirectoryLayout, leaf: LeafKind): string | undefined {
  let dn: Dn;
  try {
    dn = parseDn(value);
  } catch {
    return undefined;
  }
  const s = structuralBase(layout, dn);
  return s.kind === 'named' && !s.below && s.leaf === leaf ? s.name : undefined;
}

/** What the filter's AND-ed parts allow pushing down for one kind. */
export function pushdownFor(filter: Filter, kind: LeafKind, layout: DirectoryLayout): KindPush {
  const push: KindPush = { impossible: false, terms: [], refs: [] };
  for (const c of conjuncts(filter)) {
    if (c.type === 'equalityMatch' || c.type === 'substrings') {
      const attr = baseAttribute(c.attribute);
      const isName = attr === 'cn' || (kind === 'vgroups' && attr === 'samaccountname');
      if (isName) {
        const t = c.type === 'equalityMatch' ? searchTerms(c.value, false) : substringTerms(c);
        if (t) push.terms.push(...t);
        continue;
      }
      if (c.type !== 'equalityMatch') continue;
      // member/memberOf are built-in only (never custom), so their values are known DNs.
      if (attr === 'memberof' && kind !== 'groups') {
        if (kind === 'vgroups') {
          push.impossible = true;
          continue;
        }
        const name = childName(c.value, layout, 'groups');
        if (name !== undefined) push.refs.push(name);
        else push.impossible = true;
      } else if (attr === 'member' && kind !== 'users') {
        const name = childName(c.value, layout, 'users');
        if (name === undefined) {
          // A child group is a member of a group (not of a virtual group): checked locally.
          if (kind !== 'groups' || childName(c.value, layout, 'groups') === undefined) push.impossible = true;
        } else if (kind === 'groups') push.refs.push(name);
        else {
          const t = searchTerms(name, false);
          if (t) push.terms.push(...t);
        }
      }
    }
  }
  return push;
}

export interface DirectOptions {
  readonly api: CoreApi;
  readonly layout: DirectoryLayout;
  readonly nested: boolean;
  readonly pageSize: number;
  readonly signal?: AbortSignal | undefined;
}

/** Records what a direct search asked the core (for tests and debug logs). */
export interface DirectTrace {
  kinds: LeafKind[];
  calls: string[];
}

function kindsCovered(base: StructuralBase, scope: number): Set<LeafKind> {
  const below = scope !== 0;
  const deep = scope === 2 || scope === 3;
  const self = scope === 0 || scope === 2;
  switch (base.kind) {
    case 'root':
      return new Set(deep ? ['users', 'groups', 'vgroups'] : []);
    case 'container':
      return new Set(below ? [base.leaf] : []);
    case 'named':
      return new Set(self && !base.below ? [base.leaf] : []);
    case 'missing':
      return new Set();
  }
}

function addTerms(q: Query, terms: readonly string[]): void {
  if (terms.length > 0) q['search'] = [...new Set(terms)].join(' ');
}

/** The data a privileged direct search needs, fetched with safe pushdown. */
export async function fetchForSearch(o: DirectOptions, base: Dn, scope: number, filter: Filter, trace?: DirectTrace): Promise<DirectoryView> {
  const { api, layout, pageSize, signal } = o;
  const sb = structuralBase(layout, base);
  const covered = kindsCovered(sb, scope);
  const kinds = new Set([...covered].filter((k) => kindMayMatch(filter, k)));
  const pushes = new Map<LeafKind, KindPush>();
  if (sb.kind === 'named') {
    // The named entry must be looked up even when the filter cannot match it (absent →
    // noSuchObject, present → success), and only by its name: filter pushdown could hide it.
    kinds.add(sb.leaf);
    pushes.set(sb.leaf, { impossible: false, terms: searchTerms(sb.name, false) ?? [], refs: [] });
  } else {
    for (const k of kinds) {
      const p = pushdownFor(filter, k, layout);
      if (p.impossible) kinds.delete(k);
      else pushes.set(k, p);
    }
  }
  const note = (what: string) => trace?.calls.push(what);
  if (trace) trace.kinds = [...kinds];

  // Resolve memberOf group names (users) and member usernames (groups) to pks.
  let groupPk: string | undefined;
  const usersPush = pushes.get('users');
  if (usersPush && usersPush.refs.length > 0 && !o.nested) {
    for (const name of usersPush.refs) {
      const q: Query = { include_users: false };
      addTerms(q, searchTerms(name, false) ?? []);
      note(`groups ${JSON.stringify(q)}`);
      const found = (await listGroups(api, q, pageSize, signal)).filter((g) => nameKey(g.name) === nameKey(name));
      if (found.length === 0) {
        kinds.delete('users');
        pushes.delete('users');
        break;
      }
      if (found.length === 1) groupPk ??= found[0]!.pk;
    }
  }
  let memberPk: number | undefined;
  const groupsPush = pushes.get('groups');
  if (groupsPush && groupsPush.refs.length > 0) {
    for (const name of groupsPush.refs) {
      const terms = searchTerms(name, false);
      if (terms === undefined) continue;
      const q: Query = { include_groups: false };
      addTerms(q, terms);
      note(`users ${JSON.stringify(q)}`);
      const found = (await listUsers(api, q, pageSize, signal)).filter((u) => nameKey(u.username) === nameKey(name));
      if (found.length === 0) {
        kinds.delete('groups');
        pushes.delete('groups');
        break;
      }
      if (found.length === 1) memberPk ??= found[0]!.pk;
    }
  }

  const needUsers = kinds.has('users') || kinds.has('vgroups');
  const needGroups = kinds.has('groups');
  const needParents = o.nested && kinds.has('users');

  let userQuery: Query | undefined;
  if (needUsers) {
    userQuery = { include_groups: true };
    const u = pushes.get('users');
    const v = pushes.get('vgroups');
    if (u && v) {
      // One request serves both: only what both kinds imply.
      const vt = new Set(v.terms);
      addTerms(userQuery, u.terms.filter((t) => vt.has(t)));
    } else {
      addTerms(userQuery, (u ?? v)!.terms);
      if (u && groupPk !== undefined) userQuery['groups_by_pk'] = groupPk;
    }
  }
  let groupQuery: Query | undefined;
  if (needGroups || needParents) {
    groupQuery = needGroups ? { include_users: true, include_parents: true, include_children: true } : { include_users: false };
    if (needGroups && !needParents) {
      addTerms(groupQuery, pushes.get('groups')!.terms);
      if (memberPk !== undefined) groupQuery['members_by_pk'] = memberPk;
    }
  }

  const [users, groups] = await Promise.all([
    userQuery ? (note(`users ${JSON.stringify(userQuery)}`), listUsers(api, userQuery, pageSize, signal)) : Promise.resolve([] as ApiUser[]),
    groupQuery ? (note(`groups ${JSON.stringify(groupQuery)}`), listGroups(api, groupQuery, pageSize, signal)) : Promise.resolve([] as ApiGroup[]),
  ]);
  const b = new DataBuilder({ membersFrom: 'groups' });
  for (const g of groups) b.addGroup(g);
  const narrowed = groupQuery !== undefined && (groupQuery['search'] !== undefined || groupQuery['members_by_pk'] !== undefined);
  if (needGroups && narrowed && groups.some((g) => g.children === undefined)) {
    // 2024.4 names no children: the groups naming a listed group as parent are its children.
    const q: Query = { include_users: false };
    note(`groups ${JSON.stringify(q)}`);
    for (const g of await listGroups(api, q, pageSize, signal)) b.addHierarchyGroup(g);
  }
  for (const u of users) b.addUser(u);
  const data = b.finish();
  return new DirectoryView(layout, fullSource(data, o.nested), { indexed: false });
}

/**
 * A non-privileged viewer's view from the core: `/core/users/<pk>/` (groups included), plus
 * the group list when the nested memberOf option needs parents, or when the core did not
 * include the user's groups (then `members_by_pk=<pk>`). `snapshot` supplies known groups (the
 * cached snapshot) instead of fetching them.
 */
export async function fetchSelfView(o: DirectOptions, userPk: number, snapshot?: DirectoryData): Promise<DirectoryView> {
  const { api, layout, pageSize, signal } = o;
  const user = await getUser(api, userPk, signal);
  if (user === undefined) return new DirectoryView(layout, EMPTY_SOURCE, { indexed: false });
  const b = new DataBuilder({ membersFrom: 'groups' });
  if (o.nested && snapshot === undefined) for (const g of await listGroups(api, { include_users: false }, pageSize, signal)) b.addGroup(g);
  let u = user;
  if (!u.groups_obj) {
    const own = await listGroups(api, { include_users: false, members_by_pk: userPk }, pageSize, signal);
    u = { ...u, groups_obj: own.map((g) => ({ pk: g.pk, num_pk: g.num_pk, name: g.name, is_superuser: g.is_superuser, parent: g.parent, parents: g.parents, attributes: g.attributes })) };
  }
  const rec = b.addUser(u);
  b.finish();
  if (o.nested && snapshot !== undefined) {
    // The snapshot's copy of each group knows its parents (a 2024.8+ user's groups name none).
    for (const g of rec.groups) if (g.parents.length === 0) g.parents = snapshot.groupByPk.get(g.pk)?.parents ?? resolveGroups(g.parentPks, snapshot.groupByPk);
  }
  return new DirectoryView(layout, selfSource(rec, o.nested), { indexed: false });
}
