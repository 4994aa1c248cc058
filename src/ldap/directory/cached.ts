// search_mode: cached — one snapshot of the whole directory per core (API origin + token), not
// per provider: two cached providers of an outpost share it (authentik kept a full copy of the
// raw API objects per provider). A snapshot is loaded with large pages, converted page by page
// into compact records (model.ts), and swapped in atomically when complete: searches never see
// a half-loaded directory, and a failed refresh keeps the last good snapshot. Provider views
// (entries for one base DN and number bases) hang off the snapshot and are built on first use;
// after a refresh, the indexes the previous views had built are rebuilt before the swap, so the
// first search after a refresh does not pay for them.
import type { CoreApi } from '../../agent/core-api.ts';
import type { Logger } from '../../log.ts';
import { eachGroupPage, eachUserPage } from './api.ts';
import type { DirectoryLayout } from './entries.ts';
import { DataBuilder, type DirectoryData } from './model.ts';
import { DirectoryView, fullSource } from './view.ts';

/**
 * authentik's API has no max_page_size (DRF page-number pagination without a cap), so large
 * pages are accepted; 500 keeps each response (and its parse) moderate.
 */
export const CACHED_PAGE_SIZE = 500;

export class Snapshot {
  readonly data: DirectoryData;
  private readonly views = new Map<string, DirectoryView>();
  constructor(data: DirectoryData) {
    this.data = data;
  }

  /** The view of this snapshot for a provider layout (shared by providers with the same layout). */
  view(layout: DirectoryLayout, nested: boolean): DirectoryView {
    const key = viewKey(layout, nested);
    let v = this.views.get(key);
    if (v === undefined) {
      v = new DirectoryView(layout, fullSource(this.data, nested), { indexed: true });
      this.views.set(key, v);
    }
    return v;
  }

  /** Views built so far, with their keys (to warm the next snapshot like this one). */
  builtViews(): { layout: DirectoryLayout; nested: boolean; indexes: string[] }[] {
    return [...this.views.entries()].map(([k, v]) => ({ layout: v.layout, nested: k.endsWith('|nested'), indexes: v.builtIndexes() }));
  }
}

function viewKey(layout: DirectoryLayout, nested: boolean): string {
  return `${layout.baseEntryDn}|${layout.uidStartNumber}|${layout.gidStartNumber}|${nested ? 'nested' : 'direct'}`;
}

export interface LoadOptions {
  readonly pageSize?: number;
  readonly signal?: AbortSignal;
}

/** Reads the whole directory: all groups, then all users (whose `groups` decide membership both ways). */
export async function loadDirectory(api: CoreApi, opts: LoadOptions = {}): Promise<DirectoryData> {
  const pageSize = opts.pageSize ?? CACHED_PAGE_SIZE;
  const b = new DataBuilder({ membersFrom: 'users' });
  await eachGroupPage(api, { include_users: false }, pageSize, (groups) => {
    for (const g of groups) b.addGroup(g);
  }, opts.signal);
  await eachUserPage(api, { include_groups: false }, pageSize, (users) => {
    for (const u of users) b.addUser({ ...u, groups_obj: null });
  }, opts.signal);
  return b.finish();
}

/** The shared cache of one core. Obtain it from a `SnapshotRegistry`. */
export class SharedDirectory {
  readonly key: string;
  readonly api: CoreApi;
  private readonly pageSize: number;
  private readonly logger: Logger | undefined;
  private current: Snapshot | undefined;
  private loading: Promise<Snapshot> | undefined;
  /** Number of providers using it. */
  refs = 0;
  /** Completed loads (for tests and logs). */
  loads = 0;

  constructor(key: string, api: CoreApi, opts: { pageSize?: number; logger?: Logger | undefined } = {}) {
    this.key = key;
    this.api = api;
    this.pageSize = opts.pageSize ?? CACHED_PAGE_SIZE;
    this.logger = opts.logger;
  }

  /** The current snapshot, if one was loaded. */
  get snapshot(): Snapshot | undefined {
    return this.current;
  }

  /** The current snapshot, loading the first one when there is none. */
  async ensure(): Promise<Snapshot> {
    return this.current ?? this.refresh();
  }

  /**
   * Loads a new snapshot and swaps it in. Concurrent calls share one load. On failure the
   * previous snapshot stays and the error is thrown.
   */
  refresh(): Promise<Snapshot> {
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async load(): Promise<Snapshot> {
    const started = performance.now();
    let data: DirectoryData;
    try {
      data = await loadDirectory(this.api, { pageSize: this.pageSize });
    } catch (err) {
      this.logger?.warn({ err: (err as Error).message, kept: this.current !== undefined }, 'LDAP directory refresh failed; keeping the previous snapshot');
      throw err;
    }
    const next = new Snapshot(data);
    // Build what the previous snapshot's searches used, before anyone can see the new one.
    for (const v of this.current?.builtViews() ?? []) next.view(v.layout, v.nested).warm(v.indexes);
    this.current = next;
    this.loads++;
    this.logger?.debug({ users: data.users.length, groups: data.groups.length, took_ms: Math.round(performance.now() - started) }, 'LDAP directory snapshot loaded');
    return next;
  }
}

/** Shares one `SharedDirectory` per core (origin + token) among cached providers. */
export class SnapshotRegistry {
  private readonly dirs = new Map<string, SharedDirectory>();

  acquire(api: CoreApi, opts: { pageSize?: number; logger?: Logger | undefined } = {}): SharedDirectory {
    const key = `${api.origin}\u0000${api.token}`;
    let d = this.dirs.get(key);
    if (d === undefined) {
      d = new SharedDirectory(key, api, opts);
      this.dirs.set(key, d);
    }
    d.refs++;
    return d;
  }

  release(d: SharedDirectory): void {
    d.refs--;
    if (d.refs <= 0 && this.dirs.get(d.key) === d) this.dirs.delete(d.key);
  }

  get size(): number {
    return this.dirs.size;
  }
}

/** The process-wide registry (the default for `LdapDirectory`). */
export const defaultSnapshotRegistry = new SnapshotRegistry();
