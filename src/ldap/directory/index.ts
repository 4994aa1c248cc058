// The LDAP directory: search over authentik's users and groups as a virtual tree, in both
// search modes, for one provider (`LdapDirectory`), and the outpost-level entry point
// (`searchOutpost`) that answers the root DSE and `cn=subschema` without a bind, refuses other
// anonymous searches with insufficientAccessRights (connection kept open), and routes to the
// provider with the longest matching base DN.
//
// Result codes (all fixes against authentik 2024.4, which sent 0 or closed the connection):
//   0 success · 3 timeLimitExceeded (with the entries found) · 4 sizeLimitExceeded (with the
//   first sizeLimit entries) · 32 noSuchObject + matchedDN for bases that do not exist (or that
//   the viewer may not see) · 34 invalidDNSyntax · 50 anonymous search · 52 unavailable / 1
//   operationsError when the core fails (direct mode, or cached mode before the first load) ·
//   53 unwillingToPerform for an invalid paged-results cookie · 2 protocolError for a
//   malformed paged-results control value.
import type { CoreApi } from '../../agent/core-api.ts';
import type { Logger } from '../../log.ts';
import { Deadline } from '../../net/deadline.ts';
import {
  compileFilter,
  ControlOid,
  decodePagedResultsValue,
  dnEquals,
  findControl,
  parseDn,
  ResultCode,
  SearchScope,
  SUBSCHEMA_DN,
  isWithin,
  type Control,
  type Dn,
  type SearchRequest,
} from '../protocol/index.ts';
import type { LdapEntry } from '../entry.ts';
import type { SearchOutcome } from '../server/handler.ts';
import type { LdapProviderConfig } from '../provider-config.ts';
import { prepareFilter } from './analysis.ts';
import { AbortedError, coreErrorResult } from './api.ts';
import { CACHED_PAGE_SIZE, defaultSnapshotRegistry, type SharedDirectory, type Snapshot, type SnapshotRegistry } from './cached.ts';
import { fetchForSearch, fetchSelfView, type DirectTrace } from './direct.ts';
import { buildRootDse, buildSubschemaEntry, makeLayout, type DirectoryLayout } from './entries.ts';
import { EMPTY_COOKIE, pagedControl, pagingSignature, PagingStore } from './paging.ts';
import { resolveBase, runTreeSearch, type TreeResult } from './tree.ts';
import { DirectoryView, EMPTY_SOURCE, selfSource } from './view.ts';

export { PagingStore, type PagingOptions } from './paging.ts';
export { SnapshotRegistry, defaultSnapshotRegistry, loadDirectory } from './cached.ts';
export { makeLayout, type DirectoryLayout, type DirEntry } from './entries.ts';
export type { DirectTrace } from './direct.ts';

/**
 * Who is searching. `all`: a privileged viewer (member of the provider's search group — the
 * bind layer decides). `self`: any other bound user, who sees the base entry, the containers,
 * their own user and virtual group and the groups they are a direct member of (each listing
 * only them as member) — authentik's restrictive behaviour. `anonymous`: not bound.
 */
export type Viewer = { readonly kind: 'anonymous' } | { readonly kind: 'all' } | { readonly kind: 'self'; readonly userPk: number };

export interface DirectorySearchContext {
  readonly viewer: Viewer;
  readonly request: SearchRequest;
  readonly controls: readonly Control[];
  /** The connection's paged-search state. */
  readonly paging: PagingStore;
  /** Aborted when the client abandons the search or the connection closes. */
  readonly signal?: AbortSignal | undefined;
}

export interface LdapDirectoryOptions {
  readonly provider: LdapProviderConfig;
  readonly api: CoreApi;
  /** memberOf also lists ancestor groups (through the groups' parents). Default false, as authentik. */
  readonly nestedMemberOf?: boolean;
  /**
   * Server-side size limit (entries per search; with paging, per paged search). 0 = none,
   * the default: authentik returns every entry, and clients that list all users without
   * paging must keep working. The client's sizeLimit applies too (the smaller wins).
   */
  readonly sizeLimit?: number;
  /** Server-side time limit in ms. 0 = none (default); the client's timeLimit applies too. */
  readonly timeLimitMs?: number;
  /** Core API page size (authentik's API has no maximum). Default 500. */
  readonly pageSize?: number;
  /** Cached mode: where snapshots are shared (default: process-wide). */
  readonly registry?: SnapshotRegistry;
  readonly logger?: Logger;
}

/** One provider's directory. Create one per provider; call `close()` when the provider goes away. */
export class LdapDirectory {
  readonly provider: LdapProviderConfig;
  readonly layout: DirectoryLayout;
  readonly mode: 'direct' | 'cached';
  readonly nestedMemberOf: boolean;
  private readonly api: CoreApi;
  private readonly sizeLimit: number;
  private readonly timeLimitMs: number;
  private readonly pageSize: number;
  private readonly registry: SnapshotRegistry;
  private shared: SharedDirectory | undefined;
  /** This provider's view of the current snapshot (looked up once per snapshot, not per search). */
  private fullView: { readonly snapshot: Snapshot; readonly view: DirectoryView } | undefined;
  /** Direct mode: what the last search asked the core (tests, debugging). */
  lastTrace: DirectTrace | undefined;

  /** Throws `DnError` when the provider's base DN does not parse. */
  constructor(opts: LdapDirectoryOptions) {
    this.provider = opts.provider;
    this.layout = makeLayout(opts.provider);
    this.mode = opts.provider.search_mode;
    this.nestedMemberOf = opts.nestedMemberOf ?? false;
    this.api = opts.api;
    this.sizeLimit = Math.max(0, opts.sizeLimit ?? 0);
    this.timeLimitMs = Math.max(0, opts.timeLimitMs ?? 0);
    this.pageSize = opts.pageSize ?? CACHED_PAGE_SIZE;
    this.registry = opts.registry ?? defaultSnapshotRegistry;
    if (this.mode === 'cached') this.shared = this.registry.acquire(this.api, { pageSize: this.pageSize, logger: opts.logger });
  }

  /** Cached mode: the shared snapshot holder (undefined in direct mode or after close). */
  get cache(): SharedDirectory | undefined {
    return this.shared;
  }

  /**
   * Cached mode: loads a fresh snapshot and swaps it in (shared with the other providers of
   * the same core; concurrent refreshes share one load). Throws when the load fails; the
   * previous snapshot stays in use. Direct mode: nothing to do.
   */
  async refresh(): Promise<void> {
    if (this.shared) await this.shared.refresh();
  }

  /** Cached mode: loads the first snapshot unless one exists. */
  async start(): Promise<void> {
    if (this.shared) await this.shared.ensure();
  }

  close(): void {
    if (this.shared) this.registry.release(this.shared);
    this.shared = undefined;
    this.fullView = undefined;
  }

  /** `parsedBase`: the request's base DN, when the caller has parsed it already. */
  async search(ctx: DirectorySearchContext, parsedBase?: Dn): Promise<SearchOutcome> {
    const { request, viewer } = ctx;
    const pagedCtl = findControl(ctx.controls, ControlOid.pagedResults);
    const finish = (o: SearchOutcome): SearchOutcome => (pagedCtl && !o.controls ? { ...o, controls: [pagedControl(0, EMPTY_COOKIE)] } : o);
    if (viewer.kind === 'anonymous') return finish(fail(ResultCode.insufficientAccessRights, 'anonymous search is not allowed; bind first'));
    let base: Dn;
    try {
      base = parsedBase ?? parseDn(request.baseObject);
    } catch (err) {
      return finish(fail(ResultCode.invalidDNSyntax, `invalid base DN: ${(err as Error).message}`));
    }
    let paged: { size: number; cookie: Buffer } | undefined;
    if (pagedCtl) {
      try {
        paged = decodePagedResultsValue(pagedCtl.value);
      } catch {
        return finish(fail(ResultCode.protocolError, 'malformed paged results control'));
      }
    }
    const signature = paged ? `${this.layout.base}\u0000${viewer.kind === 'self' ? `self:${viewer.userPk}` : 'all'}\u0000${pagingSignature(request)}` : '';
    if (paged && paged.cookie.length > 0) return this.continuePaged(ctx.paging, paged, signature);
    if (paged && paged.size === 0) return finish({ result: { resultCode: ResultCode.success }, entries: [] });

    const limit = minPositive(request.sizeLimit, this.sizeLimit);
    const timeMs = minPositive(request.timeLimit * 1000, this.timeLimitMs);
    const deadline = timeMs > 0 ? performance.now() + timeMs : undefined;
    const filter = prepareFilter(request.filter);

    // A loaded snapshot answers at once: no core call to bound by the deadline or the signal.
    const ready = ctx.signal?.aborted ? undefined : this.readyView(viewer, base);
    const view = ready !== undefined ? { view: ready } : await this.withDeadline((signal) => this.viewFor(viewer, base, request.scope, filter, signal), deadline, ctx.signal);
    if (view === 'timeout') return finish(fail(ResultCode.timeLimitExceeded, 'time limit exceeded while reading the directory'));
    if (view === 'aborted') return finish(fail(ResultCode.other, 'search abandoned'));
    if ('error' in view) return finish({ result: view.error, entries: [] });
    if (deadline !== undefined && performance.now() > deadline) return finish(fail(ResultCode.timeLimitExceeded, 'time limit exceeded'));

    const tree = runTreeSearch({
      view: view.view,
      base: resolveBase(view.view, base),
      scope: request.scope,
      filter,
      compiled: compileFilter(filter),
      sizeLimit: limit,
      deadline,
      signal: ctx.signal,
    });
    if (!paged || (limit > 0 && paged.size >= limit)) return finish(outcome(tree));
    return this.firstPage(ctx.paging, paged.size, signature, tree);
  }

  private firstPage(store: PagingStore, size: number, signature: string, tree: TreeResult): SearchOutcome {
    const code = tree.resultCode;
    const pageable = code === ResultCode.success || code === ResultCode.sizeLimitExceeded || code === ResultCode.timeLimitExceeded;
    if (!pageable || tree.entries.length <= size) {
      return { ...outcome(tree), controls: [pagedControl(tree.entries.length, EMPTY_COOKIE)] };
    }
    const cookie = store.save({ signature, entries: tree.entries, offset: size, finalCode: code, finalMessage: tree.diagnosticMessage });
    return { result: { resultCode: ResultCode.success }, entries: tree.entries.slice(0, size), controls: [pagedControl(tree.entries.length, cookie)] };
  }

  private continuePaged(store: PagingStore, paged: { size: number; cookie: Buffer }, signature: string): SearchOutcome {
    const invalid = (msg: string): SearchOutcome => ({ ...fail(ResultCode.unwillingToPerform, msg), controls: [pagedControl(0, EMPTY_COOKIE)] });
    const st = store.get(paged.cookie);
    if (st === undefined) return invalid('paged results cookie is invalid or old');
    store.delete(paged.cookie);
    if (st.signature !== signature) return invalid('paged results cookie does not belong to this search request');
    const total = st.entries.length;
    if (paged.size === 0) return { result: { resultCode: ResultCode.success }, entries: [], controls: [pagedControl(total, EMPTY_COOKIE)] };
    const page = st.entries.slice(st.offset, st.offset + paged.size);
    const offset = st.offset + page.length;
    if (offset >= total) {
      const result = st.finalMessage === undefined ? { resultCode: st.finalCode } : { resultCode: st.finalCode, diagnosticMessage: st.finalMessage };
      return { result, entries: page, controls: [pagedControl(total, EMPTY_COOKIE)] };
    }
    const cookie = store.save({ ...st, offset });
    return { result: { resultCode: ResultCode.success }, entries: page, controls: [pagedControl(total, cookie)] };
  }

  /** The view when it needs no core call (cached mode, snapshot loaded, viewer in it); else undefined. */
  private readyView(viewer: Viewer, base: Dn): DirectoryView | undefined {
    const snap = this.shared?.snapshot;
    if (snap === undefined || viewer.kind === 'anonymous' || !isWithin(base, this.layout.baseParsed)) return undefined;
    if (viewer.kind === 'all') {
      if (this.fullView?.snapshot !== snap) this.fullView = { snapshot: snap, view: snap.view(this.layout, this.nestedMemberOf) };
      return this.fullView.view;
    }
    const user = snap.data.userByPk.get(viewer.userPk);
    return user === undefined ? undefined : new DirectoryView(this.layout, selfSource(user, this.nestedMemberOf), { indexed: false });
  }

  private async viewFor(viewer: Viewer, base: Dn, scope: number, filter: SearchRequest['filter'], signal: AbortSignal): Promise<DirectoryView> {
    const direct = { api: this.api, layout: this.layout, nested: this.nestedMemberOf, pageSize: this.pageSize, signal };
    // A base outside this provider's tree needs no data (noSuchObject).
    if (!isWithin(base, this.layout.baseParsed)) return new DirectoryView(this.layout, EMPTY_SOURCE, { indexed: false });
    if (this.shared) {
      const snap = await this.shared.ensure();
      if (viewer.kind !== 'self') return snap.view(this.layout, this.nestedMemberOf);
      const user = snap.data.userByPk.get(viewer.userPk);
      // A user created after the last refresh: read them from the core rather than failing.
      if (user === undefined) return fetchSelfView(direct, viewer.userPk, snap.data);
      return new DirectoryView(this.layout, selfSource(user, this.nestedMemberOf), { indexed: false });
    }
    if (viewer.kind === 'self') return fetchSelfView(direct, viewer.userPk);
    const trace: DirectTrace = { kinds: [], calls: [] };
    this.lastTrace = trace;
    return fetchForSearch(direct, base, scope, filter, trace);
  }

  private async withDeadline<T>(run: (signal: AbortSignal) => Promise<T>, deadline: number | undefined, outer: AbortSignal | undefined): Promise<{ view: T } | { error: { resultCode: number; diagnosticMessage: string } } | 'timeout' | 'aborted'> {
    const ms = deadline === undefined ? undefined : Math.max(0, deadline - performance.now());
    // A client's timeLimit can be 2^31-1 s (`ldapsearch -l max`): Deadline sets no timer past
    // what setTimeout can wait.
    const d = new Deadline(ms, outer);
    // The deadline's own signal, dropped with it: no listener to remove.
    const stop = new Promise<'timeout' | 'aborted'>((resolve) => {
      const onStop = (): void => resolve(d.expired ? 'timeout' : 'aborted');
      if (d.signal.aborted) onStop();
      else d.signal.addEventListener('abort', onStop, { once: true });
    });
    try {
      return await Promise.race([
        run(d.signal).then(
          (view) => ({ view }),
          (err: unknown) => (err instanceof AbortedError ? ('aborted' as const) : { error: coreErrorResult(err) }),
        ),
        stop,
      ]);
    } finally {
      d.dispose();
    }
  }
}

function minPositive(a: number, b: number): number {
  if (a > 0 && b > 0) return Math.min(a, b);
  return a > 0 ? a : b > 0 ? b : 0;
}

function fail(resultCode: number, diagnosticMessage: string, matchedDN?: string): SearchOutcome {
  return { result: matchedDN === undefined ? { resultCode, diagnosticMessage } : { resultCode, matchedDN, diagnosticMessage }, entries: [] };
}

function outcome(t: TreeResult): SearchOutcome {
  const result: { resultCode: number; matchedDN?: string; diagnosticMessage?: string } = { resultCode: t.resultCode };
  if (t.matchedDN !== undefined) result.matchedDN = t.matchedDN;
  if (t.diagnosticMessage !== undefined) result.diagnosticMessage = t.diagnosticMessage;
  return { result, entries: t.entries };
}

// ---------------------------------------------------------------------------------------
// Outpost level

/**
 * The provider whose base DN is the longest (most RDNs) that equals or is an ancestor of the
 * search base, compared as DNs (case-insensitive, normalised). Ties go to the first provider
 * in the list. Providers whose base DN does not parse are skipped. Undefined when none
 * matches or the base DN does not parse.
 */
export function routeSearch<P extends { readonly base_dn: string }>(baseDn: string | Dn, providers: readonly P[]): P | undefined {
  let base: Dn;
  try {
    base = typeof baseDn === 'string' ? parseDn(baseDn) : baseDn;
  } catch {
    return undefined;
  }
  let best: P | undefined;
  let bestLen = -1;
  for (const p of providers) {
    let pb: Dn;
    try {
      pb = parseDn(p.base_dn);
    } catch {
      continue;
    }
    if (pb.length > bestLen && isWithin(base, pb)) {
      best = p;
      bestLen = pb.length;
    }
  }
  return best;
}

/** The root DSE for these providers' base DNs (lower-cased, canonical; duplicates removed). */
export function rootDse(providers: readonly { readonly base_dn: string }[]): LdapEntry {
  const bases: string[] = [];
  for (const p of providers) {
    try {
      const b = makeLayout({ base_dn: p.base_dn, uid_start_number: 0, gid_start_number: 0 }).base;
      if (!bases.includes(b)) bases.push(b);
    } catch {
      // an unparsable base DN names no context
    }
  }
  return buildRootDse(bases);
}

/** The `cn=subschema` entry. */
export function subschemaEntry(): LdapEntry {
  return buildSubschemaEntry();
}

export interface OutpostSearchContext {
  readonly request: SearchRequest;
  readonly controls: readonly Control[];
  readonly paging: PagingStore;
  readonly signal?: AbortSignal | undefined;
  /**
   * The viewer for the directory the search was routed to: `anonymous` when the connection is
   * not bound; for a bound connection, `all` or `self` as the bind layer decides for that
   * provider (e.g. the search group of the provider the user bound to).
   */
  viewerFor(directory: LdapDirectory): Viewer;
  /** True when the connection is bound (the root DSE and subschema need no bind either way). */
  readonly bound: boolean;
}

/**
 * A search on the outpost: base `""` with scope base → the root DSE (other scopes → no
 * entries); `cn=subschema` → the schema entry (scope base or subtree); both readable without
 * a bind. Anything else needs a bind (50 otherwise) and goes to the provider with the longest
 * matching base DN (32 noSuchObject when none).
 */
export function searchOutpost(ctx: OutpostSearchContext, directories: readonly LdapDirectory[]): Promise<SearchOutcome> {
  const { request } = ctx;
  const pagedCtl = findControl(ctx.controls, ControlOid.pagedResults);
  const finish = (o: SearchOutcome): Promise<SearchOutcome> => Promise.resolve(pagedCtl && !o.controls ? { ...o, controls: [pagedControl(0, EMPTY_COOKIE)] } : o);
  let base: Dn;
  try {
    base = parseDn(request.baseObject);
  } catch (err) {
    return finish(fail(ResultCode.invalidDNSyntax, `invalid base DN: ${(err as Error).message}`));
  }
  if (base.length === 0) {
    if (request.scope !== SearchScope.baseObject) return finish({ result: { resultCode: ResultCode.success }, entries: [] });
    const dse = rootDse(directories.map((d) => d.provider));
    return finish({ result: { resultCode: ResultCode.success }, entries: matchesRequest(request, dse) ? [dse] : [] });
  }
  if (base.length === 1 && dnEquals(base, SUBSCHEMA_PARSED)) {
    const entry = subschemaEntry();
    const includesBase = request.scope === SearchScope.baseObject || request.scope === SearchScope.wholeSubtree;
    return finish({ result: { resultCode: ResultCode.success }, entries: includesBase && matchesRequest(request, entry) ? [entry] : [] });
  }
  if (!ctx.bound) return finish(fail(ResultCode.insufficientAccessRights, 'anonymous search is not allowed; bind first'));
  const dir = directoryFor(base, directories);
  if (dir === undefined) return finish(fail(ResultCode.noSuchObject, 'no provider serves this base DN', ''));
  return dir.search({ viewer: ctx.viewerFor(dir), request, controls: ctx.controls, paging: ctx.paging, signal: ctx.signal }, base);
}

const SUBSCHEMA_PARSED = parseDn(SUBSCHEMA_DN);

function matchesRequest(request: SearchRequest, entry: LdapEntry): boolean {
  return compileFilter(prepareFilter(request.filter)).matches(entry);
}

/** `routeSearch` over the directories themselves (their base DNs are parsed once, with their layout). */
function directoryFor(base: Dn, directories: readonly LdapDirectory[]): LdapDirectory | undefined {
  let best: LdapDirectory | undefined;
  let bestLen = -1;
  for (const d of directories) {
    const pb = d.layout.baseParsed;
    if (pb.length > bestLen && isWithin(base, pb)) {
      best = d;
      bestLen = pb.length;
    }
  }
  return best;
}
