// Test support for the directory: in-memory data in the core's API shapes, views over it, and
// searches through the pure tree search (no core, no network).
import { compileFilter, parseDn, parseFilter, type SearchRequest } from '../../../src/ldap/protocol/index.ts';
import type { LdapEntry } from '../../../src/ldap/entry.ts';
import type { ApiGroup, ApiUser } from '../../../src/ldap/directory/api.ts';
import { prepareFilter } from '../../../src/ldap/directory/analysis.ts';
import { makeLayout, type DirectoryLayout } from '../../../src/ldap/directory/entries.ts';
import { DataBuilder, type DirectoryData } from '../../../src/ldap/directory/model.ts';
import { resolveBase, runTreeSearch, type TreeResult } from '../../../src/ldap/directory/tree.ts';
import { DirectoryView, fullSource, selfSource } from '../../../src/ldap/directory/view.ts';
import { ldapProviderSchema, type LdapProviderConfig } from '../../../src/ldap/provider-config.ts';

export const BASE = 'DC=ldap,DC=goauthentik,DC=io';
export const B = 'dc=ldap,dc=goauthentik,dc=io';
export const TEST_SEED = new URL('../../../config/devcore-test.yaml', import.meta.url).pathname;

export function provider(overrides: Partial<LdapProviderConfig> = {}): LdapProviderConfig {
  return ldapProviderSchema.parse({ pk: 1, name: 'ldap', base_dn: BASE, bind_flow_slug: 'flow', application_slug: 'app', ...overrides });
}

export function layout(overrides: Partial<LdapProviderConfig> = {}): DirectoryLayout {
  return makeLayout(provider(overrides));
}

let uuidCounter = 0;
export function uuid(n = ++uuidCounter): string {
  const h = n.toString(16).padStart(12, '0');
  return `4a1b2c3d-0000-4000-8000-${h}`;
}

export function apiGroup(name: string, extra: Partial<ApiGroup> = {}): ApiGroup {
  return { pk: uuid(), name, is_superuser: false, parent: null, parents: null, attributes: {}, users: [], ...extra };
}

export function apiUser(pk: number, username: string, groups: readonly ApiGroup[] = [], extra: Partial<ApiUser> = {}): ApiUser {
  return {
    pk,
    username,
    name: `${username[0]?.toUpperCase() ?? ''}${username.slice(1)} Example`,
    email: `${username}@example.com`,
    is_active: true,
    is_superuser: false,
    uid: `uid-${pk}`,
    attributes: {},
    groups: groups.map((g) => g.pk),
    groups_obj: null,
    ...extra,
  };
}

/** Data the way the cached mode builds it (groups first, memberships from the users). */
export function data(groups: readonly ApiGroup[], users: readonly ApiUser[]): DirectoryData {
  const b = new DataBuilder({ membersFrom: 'users' });
  for (const g of groups) b.addGroup(g);
  for (const u of users) b.addUser(u);
  return b.finish();
}

export function fullView(d: DirectoryData, opts: { nested?: boolean; indexed?: boolean; layout?: DirectoryLayout } = {}): DirectoryView {
  return new DirectoryView(opts.layout ?? layout(), fullSource(d, opts.nested ?? false), { indexed: opts.indexed ?? true });
}

export function selfView(d: DirectoryData, pk: number, opts: { nested?: boolean } = {}): DirectoryView {
  const u = d.userByPk.get(pk);
  if (!u) throw new Error(`no user ${pk}`);
  return new DirectoryView(layout(), selfSource(u, opts.nested ?? false), { indexed: false });
}

export function treeSearch(view: DirectoryView, base: string, scope: number, filter: string, opts: { sizeLimit?: number; deadline?: number } = {}): TreeResult {
  const f = prepareFilter(parseFilter(filter));
  return runTreeSearch({
    view,
    base: resolveBase(view, parseDn(base)),
    scope,
    filter: f,
    compiled: compileFilter(f),
    sizeLimit: opts.sizeLimit ?? 0,
    deadline: opts.deadline,
  });
}

export function dns(entries: readonly LdapEntry[]): string[] {
  return entries.map((e) => e.dn);
}

/** Attribute values by name as sent on the wire (spelling kept), non-operational only unless asked. */
export function attrs(e: LdapEntry, opts: { operational?: boolean } = {}): Record<string, readonly string[]> {
  const out: Record<string, readonly string[]> = {};
  for (const a of e.attributes) if (opts.operational || !a.operational) out[a.type] = a.values;
  return out;
}

export function request(base: string, scope: 0 | 1 | 2 | 3, filter: string, extra: Partial<SearchRequest> = {}): SearchRequest {
  return { type: 'search', baseObject: base, scope, derefAliases: 0, sizeLimit: 0, timeLimit: 0, typesOnly: false, filter: parseFilter(filter), attributes: [], ...extra };
}

/** authentik's num_pk: the first five decimal digits of the UUID as a 128-bit integer. */
export function numPkReference(u: string): number {
  return Number(BigInt(`0x${u.replace(/-/g, '')}`).toString(10).slice(0, 5));
}
