// The contract between the agent and a protocol listener. The agent knows no protocol: a
// listener plugin tells it where its providers are listed and how they look, and receives
// them on every successful refresh.
import type { z } from 'zod';
import type { OutpostConfig } from '../config/index.ts';
import type { Logger } from '../log.ts';
import type { CertificateStore } from './certificates.ts';
import type { CoreApi } from './core-api.ts';
import type { ApiGeneration } from './generation.ts';
import type { AgentMetrics } from './metrics.ts';
import type { Outpost, OutpostType, RootConfig } from './schemas.ts';

/** What a listener knows about one outpost that feeds it. */
export interface OutpostContext {
  /** The outpost object as of the last refresh. */
  readonly outpost: Outpost;
  /** The outpost API the core speaks, decided on each refresh (see generation.ts). */
  readonly generation: ApiGeneration;
  readonly rootConfig: RootConfig;
  readonly api: CoreApi;
  readonly certificates: CertificateStore;
  readonly logger: Logger;
  readonly metrics: AgentMetrics;
}

/** Process-wide things a listener is created with. */
export interface ListenerHost {
  readonly config: OutpostConfig;
  readonly logger: Logger;
  readonly metrics: AgentMetrics;
}

export interface Listener<P> {
  /**
   * A new provider list from one outpost. Throwing fails that refresh: the listener must then
   * keep serving its previous configuration.
   */
  apply(ctx: OutpostContext, providers: readonly P[]): Promise<void>;
  /** Called once, after the first successful `apply`: open sockets and serve. */
  start(): Promise<void>;
  /** Stop accepting, finish in-flight work until `deadline` aborts, release everything. */
  stop(deadline: AbortSignal): Promise<void>;
  /** authentik's PROVIDER_SPECIFIC websocket messages (proxy logout, RAC). */
  onProviderSpecific?(ctx: OutpostContext, args: Record<string, unknown>): void;
  /**
   * authentik ended a core session (websocket SESSION_END, 2025.8+). `sessionId` is authentik's
   * hashed session id: `sessionIdOf()` of the `authentik_session` cookie, the `sid` claim of
   * its ID tokens. End everything that session authorised; must not throw.
   */
  onSessionEnd?(ctx: OutpostContext, sessionId: string): void;
  /** Every `cache_timeout_flows` seconds (LDAP warms its bind flows). */
  warmUp?(ctx: OutpostContext): Promise<void>;
  /**
   * False while something the listener cannot serve correctly without is unreachable (the
   * proxy's shared session store): `/outpost.goauthentik.io/ready` then answers 503. Cheap, no I/O.
   */
  ready?(): boolean;
}

export interface ListenerPlugin<P = unknown> {
  readonly type: OutpostType;
  /** e.g. `/outposts/ldap/`; listed with pagination. */
  readonly providersPath: string;
  readonly providerSchema: z.ZodType<P>;
  readonly pageSize?: number;
  /** One listener per type per process, shared by every outpost of that type. */
  create(host: ListenerHost): Listener<P>;
}

/**
 * A listener this build carries, loaded when an outpost of its type first appears: a process
 * that serves RADIUS alone never loads (nor keeps in memory) the LDAP and proxy code.
 */
export interface LazyListenerPlugin {
  readonly type: OutpostType;
  load(): Promise<ListenerPlugin>;
}

export type ListenerSource = ListenerPlugin | LazyListenerPlugin;

/** Lazily loads each plugin, creates one listener per type and remembers whether it has started. */
export class ListenerSet {
  private readonly sources: ReadonlyMap<OutpostType, ListenerSource>;
  private readonly plugins = new Map<OutpostType, ListenerPlugin>();
  private readonly loading = new Map<OutpostType, Promise<ListenerPlugin>>();
  private readonly host: ListenerHost;
  private readonly instances = new Map<OutpostType, { listener: Listener<unknown>; started: Promise<void> | undefined }>();

  constructor(sources: readonly ListenerSource[], host: ListenerHost) {
    this.sources = new Map(sources.map((p) => [p.type, p]));
    for (const p of sources) if (!('load' in p)) this.plugins.set(p.type, p);
    this.host = host;
  }

  /** The plugin of `type`, loading it on first use; undefined when this build has none. */
  async load(type: OutpostType): Promise<ListenerPlugin | undefined> {
    const ready = this.plugins.get(type);
    if (ready) return ready;
    const source = this.sources.get(type);
    if (!source || !('load' in source)) return undefined;
    let pending = this.loading.get(type);
    if (!pending) {
      pending = source.load().then((plugin) => {
        this.plugins.set(type, plugin);
        return plugin;
      });
      // A failed import is retried by the next caller rather than cached.
      pending.catch(() => this.loading.delete(type));
      this.loading.set(type, pending);
    }
    return pending;
  }

  /** The plugin of `type` if it is loaded. */
  plugin(type: OutpostType): ListenerPlugin | undefined {
    return this.plugins.get(type);
  }

  get(type: OutpostType): Listener<unknown> {
    let entry = this.instances.get(type);
    if (!entry) {
      const plugin = this.plugins.get(type);
      if (!plugin) throw new Error(`no listener plugin for outpost type ${type}`);
      entry = { listener: plugin.create(this.host), started: undefined };
      this.instances.set(type, entry);
    }
    return entry.listener;
  }

  /** The listener of `type` if one was created (no creation). */
  find(type: OutpostType): Listener<unknown> | undefined {
    return this.instances.get(type)?.listener;
  }

  /** Starts the listener of `type` once; later calls share the first start. */
  ensureStarted(type: OutpostType): Promise<void> {
    const entry = this.instances.get(type);
    if (!entry) throw new Error(`listener ${type} was never created`);
    entry.started ??= entry.listener.start();
    return entry.started;
  }

  /** True unless a created listener says it is not ready. */
  ready(): boolean {
    for (const { listener } of this.instances.values()) if (listener.ready?.() === false) return false;
    return true;
  }

  async stopAll(deadline: AbortSignal): Promise<void> {
    await Promise.allSettled([...this.instances.values()].map((e) => e.listener.stop(deadline)));
  }
}
