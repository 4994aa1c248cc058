// What the directory reads from the core: `/api/v3/core/users/` and `/api/v3/core/groups/`
// (2024.4 and 2024.8+ shapes, see src/devcore/serialize.ts), validated at the boundary. Only the fields the
// directory uses are kept; unknown fields are dropped. Paging is done here, page by page, so a
// caller can turn each page into compact records without holding every raw object at once.
import { z } from 'zod';
import type { CoreApi, Query } from '../../agent/core-api.ts';
import { CoreError } from '../../agent/errors.ts';
import { coreFailure } from '../../flow/index.ts';
import { paginationSchema } from '../../agent/schemas.ts';
import { ResultCode } from '../protocol/index.ts';

const attributesSchema = z.record(z.string(), z.unknown()).nullable().catch(null).default(null);

/**
 * A group's parents: one (`parent`) in authentik 2024.4; a list (`parents`) in later groups
 * lists, whose users' groups carry none (the groups list has them).
 */
const parentFields = {
  parent: z.string().nullable().default(null),
  parent_name: z.string().nullable().optional(),
  parents: z.array(z.string()).nullable().default(null),
};

/** 2024.8+'s RelatedGroup (an entry of `parents_obj` / `children_obj`, sent on `include_parents` / `include_children`). */
const apiRelatedGroupSchema = z.object({
  pk: z.string(),
  name: z.string(),
  is_superuser: z.boolean().nullable().default(false),
  attributes: attributesSchema,
});
export type ApiRelatedGroup = z.output<typeof apiRelatedGroupSchema>;

export const apiUserGroupSchema = z.object({
  pk: z.string(),
  num_pk: z.number().int().optional(),
  name: z.string(),
  is_superuser: z.boolean().nullable().default(false),
  ...parentFields,
  attributes: attributesSchema,
});
export type ApiUserGroup = z.output<typeof apiUserGroupSchema>;

export const apiUserSchema = z.object({
  pk: z.number().int(),
  username: z.string(),
  name: z.string().nullable().default(''),
  // authentik: a missing email is one empty value; a missing is_active is false.
  email: z.string().nullable().default(''),
  is_active: z.boolean().nullable().default(false),
  is_superuser: z.boolean().nullable().default(false),
  uid: z.string().default(''),
  attributes: attributesSchema,
  groups: z.array(z.string()).nullable().default([]),
  groups_obj: z.array(apiUserGroupSchema).nullable().optional(),
});
export type ApiUser = z.output<typeof apiUserSchema>;

export const apiGroupMemberSchema = apiUserSchema.pick({ pk: true, username: true, name: true, email: true, is_active: true, uid: true, attributes: true });
export type ApiGroupMember = z.output<typeof apiGroupMemberSchema>;

export const apiGroupSchema = z.object({
  pk: z.string(),
  num_pk: z.number().int().optional(),
  name: z.string(),
  is_superuser: z.boolean().nullable().default(false),
  ...parentFields,
  attributes: attributesSchema,
  users: z.array(z.number().int()).nullable().default([]),
  users_obj: z.array(apiGroupMemberSchema).nullable().optional(),
  // 2024.8+ only: child pks always, parents_obj / children_obj on request. Absent (undefined)
  // from 2024.4, which names only the single `parent` (and `parent_name`).
  children: z.array(z.string()).nullable().optional(),
  parents_obj: z.array(apiRelatedGroupSchema).nullable().optional(),
  children_obj: z.array(apiRelatedGroupSchema).nullable().optional(),
});
export type ApiGroup = z.output<typeof apiGroupSchema>;

const userPageSchema = paginationSchema(apiUserSchema);
const groupPageSchema = paginationSchema(apiGroupSchema);

export const USERS_PATH = '/core/users/';
export const GROUPS_PATH = '/core/groups/';

/** Thrown when a search is abandoned or its connection closes while the core is being read. */
export class AbortedError extends Error {
  override readonly name = 'AbortedError';
}

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError('search abandoned');
}

/** A hostile or broken core must not keep us paging forever. */
const MAX_PAGES = 100_000;

async function eachPage<T>(api: CoreApi, path: string, schema: z.ZodType<{ pagination: { next: number }; results: T[] }>, query: Query, pageSize: number, onPage: (items: T[]) => void, signal: AbortSignal | undefined): Promise<void> {
  for (let page = 1, n = 0; n < MAX_PAGES; n++) {
    checkAbort(signal);
    const res = await api.get(path, schema, { ...query, page, page_size: pageSize });
    checkAbort(signal);
    onPage(res.results);
    const next = res.pagination.next;
    if (!(next > page)) return;
    page = next;
  }
  throw new CoreError('invalid', path, `pagination of ${path} did not end`);
}

export function eachUserPage(api: CoreApi, query: Query, pageSize: number, onPage: (users: ApiUser[]) => void, signal?: AbortSignal): Promise<void> {
  return eachPage(api, USERS_PATH, userPageSchema as never, query, pageSize, onPage, signal);
}

export function eachGroupPage(api: CoreApi, query: Query, pageSize: number, onPage: (groups: ApiGroup[]) => void, signal?: AbortSignal): Promise<void> {
  return eachPage(api, GROUPS_PATH, groupPageSchema as never, query, pageSize, onPage, signal);
}

export async function listUsers(api: CoreApi, query: Query, pageSize: number, signal?: AbortSignal): Promise<ApiUser[]> {
  const out: ApiUser[] = [];
  await eachUserPage(api, query, pageSize, (items) => out.push(...items), signal);
  return out;
}

export async function listGroups(api: CoreApi, query: Query, pageSize: number, signal?: AbortSignal): Promise<ApiGroup[]> {
  const out: ApiGroup[] = [];
  await eachGroupPage(api, query, pageSize, (items) => out.push(...items), signal);
  return out;
}

/** `/core/users/<pk>/`; undefined when the core answers 404 (the user is gone). */
export async function getUser(api: CoreApi, pk: number, signal?: AbortSignal): Promise<ApiUser | undefined> {
  checkAbort(signal);
  try {
    const u = await api.get(`${USERS_PATH}${pk}/`, apiUserSchema);
    checkAbort(signal);
    return u;
  } catch (err) {
    if (err instanceof CoreError && err.code === 'status' && err.status === 404) return undefined;
    throw err;
  }
}

/**
 * The LDAP answer to a failed core call: the core failing (unreachable, slow, 5xx, a body we
 * cannot read, a rejected token; the one predicate every listener uses) is `unavailable` (52),
 * which clients such as sssd treat as "try again / another server"; any other answer (a 4xx)
 * is `operationsError` (1). Never retried here: the client gets its answer at once.
 */
export function coreErrorResult(err: unknown): { resultCode: number; diagnosticMessage: string } {
  if (err instanceof CoreError) {
    const unavailable = coreFailure(err, 'api') !== undefined;
    // A transport error's text names where the core is (`connect ECONNREFUSED 10.0.0.5:9443`,
    // `getaddrinfo ENOTFOUND authentik.internal`): not for LDAP clients. The outpost logs it.
    const detail = err.code === 'transport' ? `cannot reach the core for ${err.path}` : err.message;
    return { resultCode: unavailable ? ResultCode.unavailable : ResultCode.operationsError, diagnosticMessage: `authentik core: ${detail}` };
  }
  return { resultCode: ResultCode.operationsError, diagnosticMessage: `directory error: ${(err as Error)?.message ?? String(err)}` };
}
