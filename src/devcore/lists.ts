// Filtering, ordering and pagination of the users and groups lists, following authentik 2024.4's
// UsersFilter/GroupFilter (django-filter), DRF's SearchFilter and its page-number pagination.
import type { GroupRec, Store, UserRec } from './model.ts';
import { qsGet, qsGetAll, type QueryPairs } from './querystring.ts';
import { USER_TYPES } from './seed.ts';

export type FieldErrors = Record<string, string[]>;

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

function normUuid(v: string): string | null {
  const s = v.trim().replace(/^\{|\}$/g, '').toLowerCase();
  if (!UUID_RE.test(s)) return null;
  const h = s.replace(/-/g, '');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** django-filter's BooleanWidget: true/false/1/0 (any case); anything else means "no filter". */
function boolParam(q: QueryPairs, key: string): boolean | undefined {
  const v = qsGet(q, key)?.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  return undefined;
}

/** A CharFilter: an empty value means "no filter". */
function strParam(q: QueryPairs, key: string): string | undefined {
  const v = qsGet(q, key);
  return v === undefined || v === '' ? undefined : v;
}

const invalidChoice = (v: string) => `Select a valid choice. ${v} is not one of the available choices.`;
const invalidPk = (v: string) => `\u201c${v}\u201d is not a valid value.`;

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** `attributes={"key": value}`; nested keys use Django's `__` lookups. */
function parseAttributes(q: QueryPairs, nonField: string[]): Record<string, unknown> | undefined {
  const raw = strParam(q, 'attributes');
  if (raw === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    nonField.push('filter: failed to parse JSON');
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    nonField.push('filter: value must be key:value mapping');
    return undefined;
  }
  return value as Record<string, unknown>;
}

function attributesMatch(attrs: Record<string, unknown>, filter: Record<string, unknown>): boolean {
  for (const [key, want] of Object.entries(filter)) {
    let cur: unknown = attrs;
    for (const part of key.split('__')) {
      cur = typeof cur === 'object' && cur !== null ? (cur as Record<string, unknown>)[part] : undefined;
    }
    if (!deepEqual(cur, want)) return false;
  }
  return true;
}

/** DRF SearchFilter terms: split on whitespace and commas; every term must match some field. */
function searchTerms(q: QueryPairs): string[] {
  const s = qsGet(q, 'search');
  if (!s) return [];
  return s.replace(/\x00/g, '').replace(/,/g, ' ').split(/\s+/).filter(Boolean).map((t) => t.toLowerCase());
}

export type FilterResult<T> = { ok: true; items: readonly T[] } | { ok: false; errors: FieldErrors | string[] };

function compareBy<T>(get: (t: T) => string | number | boolean | null): (a: T, b: T) => number {
  return (a, b) => {
    const x = get(a);
    const y = get(b);
    if (x === y) return 0;
    if (x === null) return 1;
    if (y === null) return -1;
    return x < y ? -1 : 1;
  };
}

function applyOrdering<T>(items: T[], q: QueryPairs, fields: Record<string, (t: T) => string | number | boolean | null>): T[] {
  const raw = strParam(q, 'ordering');
  if (!raw) return items;
  const keys = raw
    .split(',')
    .map((k) => k.trim())
    .filter((k) => fields[k.replace(/^-/, '')] !== undefined);
  if (keys.length === 0) return items;
  const cmps = keys.map((k) => {
    const desc = k.startsWith('-');
    const c = compareBy(fields[k.replace(/^-/, '')] as (t: T) => string | number | boolean | null);
    return desc ? (a: T, b: T) => -c(a, b) : c;
  });
  return [...items].sort((a, b) => {
    for (const c of cmps) {
      const r = c(a, b);
      if (r !== 0) return r;
    }
    return 0;
  });
}

const LIST_KEYS = new Set(['page', 'page_size', 'include_groups', 'include_users', 'include_roles']);

/** A cache key for the filter part of a query (pagination and includes do not change the set). */
export function filterKey(q: QueryPairs): string {
  return q
    .filter(([k]) => !LIST_KEYS.has(k))
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
}

export function filterUsers(store: Store, q: QueryPairs): FilterResult<UserRec> {
  const errors: FieldErrors = {};
  const nonField: string[] = [];
  const groupSets: Set<string>[] = [];

  const byName = qsGetAll(q, 'groups_by_name');
  if (byName.length > 0) {
    const pks = new Set<string>();
    for (const n of byName) {
      const g = store.groupsByName.get(n);
      if (!g) {
        errors['groups_by_name'] = [invalidChoice(n)];
        break;
      }
      pks.add(g.pk);
    }
    groupSets.push(pks);
  }
  const byPk = qsGetAll(q, 'groups_by_pk');
  if (byPk.length > 0) {
    const pks = new Set<string>();
    for (const v of byPk) {
      const id = normUuid(v);
      if (!id) {
        errors['groups_by_pk'] = [invalidPk(v)];
        break;
      }
      if (!store.groups.has(id)) {
        errors['groups_by_pk'] = [invalidChoice(v)];
        break;
      }
      pks.add(id);
    }
    groupSets.push(pks);
  }
  let uuid: string | undefined;
  const rawUuid = strParam(q, 'uuid');
  if (rawUuid !== undefined) {
    const id = normUuid(rawUuid);
    if (!id) errors['uuid'] = ['Enter a valid UUID.'];
    else uuid = id;
  }
  const types = qsGetAll(q, 'type').filter((t) => t !== '');
  for (const t of types) {
    if (!(USER_TYPES as readonly string[]).includes(t)) {
      errors['type'] = [invalidChoice(t)];
      break;
    }
  }
  const attrs = parseAttributes(q, nonField);
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  if (nonField.length > 0) return { ok: false, errors: nonField };

  const username = strParam(q, 'username');
  const name = strParam(q, 'name');
  const email = strParam(q, 'email');
  const path = strParam(q, 'path');
  const pathStarts = strParam(q, 'path_startswith');
  const isActive = boolParam(q, 'is_active');
  const isSuper = boolParam(q, 'is_superuser');
  const terms = searchTerms(q);

  const all = store.sortedUsers();
  const filtered =
    username === undefined && name === undefined && email === undefined && path === undefined && pathStarts === undefined && isActive === undefined && isSuper === undefined && terms.length === 0 && groupSets.length === 0 && uuid === undefined && types.length === 0 && attrs === undefined
      ? all
      : all.filter((u) => {
          if (username !== undefined && u.username !== username) return false;
          if (name !== undefined && u.name !== name) return false;
          if (email !== undefined && u.email !== email) return false;
          if (path !== undefined && u.path !== path) return false;
          if (pathStarts !== undefined && !u.path.startsWith(pathStarts)) return false;
          if (isActive !== undefined && u.isActive !== isActive) return false;
          if (uuid !== undefined && store.userUuid(u) !== uuid) return false;
          if (types.length > 0 && !types.includes(u.type)) return false;
          if (isSuper !== undefined && !u.groups.some((pk) => store.groups.get(pk)?.isSuperuser === isSuper)) return false;
          for (const set of groupSets) if (!u.groups.some((pk) => set.has(pk))) return false;
          if (attrs !== undefined && !attributesMatch(u.attributes, attrs)) return false;
          if (terms.length > 0) {
            const hay = [u.username, u.name, String(u.isActive), u.email, store.userUuid(u), JSON.stringify(u.attributes)].map((s) => s.toLowerCase());
            if (!terms.every((t) => hay.some((h) => h.includes(t)))) return false;
          }
          return true;
        });
  const ordered = applyOrdering([...filtered], q, {
    username: (u) => u.username,
    name: (u) => u.name,
    email: (u) => u.email,
    pk: (u) => u.pk,
    is_active: (u) => u.isActive,
    last_login: (u) => u.lastLogin,
    path: (u) => u.path,
  });
  return { ok: true, items: strParam(q, 'ordering') ? ordered : filtered };
}

export function filterGroups(store: Store, q: QueryPairs): FilterResult<GroupRec> {
  const errors: FieldErrors = {};
  const nonField: string[] = [];
  const memberSets: Set<number>[] = [];

  const byUsername = qsGetAll(q, 'members_by_username');
  if (byUsername.length > 0) {
    const pks = new Set<number>();
    for (const n of byUsername) {
      const u = store.userByUsername(n);
      if (!u) {
        errors['members_by_username'] = [invalidChoice(n)];
        break;
      }
      pks.add(u.pk);
    }
    memberSets.push(pks);
  }
  const byPk = qsGetAll(q, 'members_by_pk');
  if (byPk.length > 0) {
    const pks = new Set<number>();
    for (const v of byPk) {
      if (!/^\s*\d+\s*$/.test(v)) {
        errors['members_by_pk'] = [invalidPk(v)];
        break;
      }
      const pk = Number(v);
      if (!store.users.has(pk)) {
        errors['members_by_pk'] = [invalidChoice(v.trim())];
        break;
      }
      pks.add(pk);
    }
    memberSets.push(pks);
  }
  const attrs = parseAttributes(q, nonField);
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  if (nonField.length > 0) return { ok: false, errors: nonField };

  const name = strParam(q, 'name');
  const isSuper = boolParam(q, 'is_superuser');
  const terms = searchTerms(q);
  const all = [...store.groups.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const filtered = all.filter((g) => {
    if (name !== undefined && g.name !== name) return false;
    if (isSuper !== undefined && g.isSuperuser !== isSuper) return false;
    for (const set of memberSets) if (![...set].some((pk) => g.members.has(pk))) return false;
    if (attrs !== undefined && !attributesMatch(g.attributes, attrs)) return false;
    if (terms.length > 0) {
      const hay = [g.name.toLowerCase(), String(g.isSuperuser)];
      if (!terms.every((t) => hay.some((h) => h.includes(t)))) return false;
    }
    return true;
  });
  return {
    ok: true,
    items: applyOrdering(filtered, q, { name: (g) => g.name, is_superuser: (g) => g.isSuperuser, pk: (g) => g.pk }),
  };
}

export interface Page<T> {
  number: number;
  perPage: number;
  count: number;
  items: readonly T[];
}

/**
 * DRF page-number pagination with authentik's defaults: `page_size` (default 100) and `page`
 * (default 1, `last` allowed). An out-of-range or malformed page is null (→ 404 "Invalid page.").
 */
export function paginate<T>(items: readonly T[], q: QueryPairs, defaultSize = 100): Page<T> | null {
  const sizeRaw = qsGet(q, 'page_size');
  let perPage = defaultSize;
  if (sizeRaw !== undefined && /^\s*\+?\d+\s*$/.test(sizeRaw) && Number(sizeRaw) > 0) perPage = Number(sizeRaw);
  const count = items.length;
  const pages = Math.max(1, Math.ceil(count / perPage));
  const pageRaw = qsGet(q, 'page') ?? '1';
  let number: number;
  if (pageRaw === 'last') number = pages;
  else if (/^\s*[+-]?\d+\s*$/.test(pageRaw)) number = Number(pageRaw);
  else return null;
  if (number < 1 || number > pages) return null;
  return { number, perPage, count, items: items.slice((number - 1) * perPage, number * perPage) };
}
