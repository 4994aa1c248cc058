// One agent per outpost token: finds its outpost, keeps the websocket, refreshes the provider
// list and feeds it to the listener of the outpost's type.
import { hostname } from 'node:os';
import { getFips, randomInt } from 'node:crypto';
import type { OutpostConfig } from '../config/index.ts';
import { named, toPinoLevel, type Logger, type SharedLevel } from '../log.ts';
import { AUTHENTIK_VERSION, buildHash } from '../version.ts';
import { CORE_BACKOFF, backoffDelay, sleep, type BackoffPolicy } from './backoff.ts';
import { CertificateStore } from './certificates.ts';
import type { CoreApi } from './core-api.ts';
import type { CoreFailureLog } from './core-failures.ts';
import { apiGeneration, DEFAULT_REFRESH_INTERVAL_MS, MAX_REFRESH_INTERVAL_MS, refreshIntervalMs, type ApiGeneration } from './generation.ts';
import type { ListenerSet, OutpostContext } from './listener.ts';
import type { AgentMetrics } from './metrics.ts';
import { outpostSchema, paginationSchema, rootConfigSchema, type Outpost, type RootConfig } from './schemas.ts';
import { ControlChannel } from './websocket.ts';

export type AgentState =
  | { phase: 'starting' }
  | { phase: 'skipped'; reason: string }
  | { phase: 'serving'; since: number }
  | { phase: 'stopped' };

export interface AgentOptions {
  config: OutpostConfig;
  api: CoreApi;
  listeners: ListenerSet;
  metrics: AgentMetrics;
  /** This agent's own logger: the outpost's `log_level` is set on it. */
  logger: Logger;
  /**
   * The level of the loggers this outpost shares with others (listeners, runtime): this agent
   * asks for its outpost's `log_level` there too (see `SharedLevel`).
   */
  sharedLevel?: SharedLevel;
  /** Where `api` reports the core failing; named after the outpost once it is found. */
  failures?: CoreFailureLog;
  /** Per-process instance id, sent in hellos (authentik's `uuid`). */
  instanceUuid: string;
  /** Overridable for tests: the websocket hello interval. */
  helloIntervalMs?: number;
  /** Overridable for tests: the floor under `refresh_interval_s` (authentik: 30 s). */
  minRefreshIntervalMs?: number;
  /** Overridable for tests: the websocket's reconnect backoff (default WEBSOCKET_BACKOFF). */
  websocketBackoff?: BackoffPolicy;
}

export class Agent {
  private readonly opts: AgentOptions;
  private readonly abort = new AbortController();
  private logger: Logger;
  private outpost: Outpost | undefined;
  private rootConfig: RootConfig | undefined;
  private context: OutpostContext | undefined;
  private channel: ControlChannel | undefined;
  private certificates: CertificateStore | undefined;
  private timers: NodeJS.Timeout[] = [];
  private refreshTimer: NodeJS.Timeout | undefined;
  /** The interval `refreshTimer` was armed with. */
  private refreshArmedMs = 0;
  private generation: ApiGeneration | undefined;
  private refreshing: Promise<boolean> | undefined;
  private refreshAgain = false;
  /** Refreshes failed in a row since serving began; the retry timer while there are some. */
  private failedRefreshes = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  /** A pushed refresh is waiting out its random offset; triggers meanwhile join it. */
  private triggerPending = false;
  private _state: AgentState = { phase: 'starting' };

  constructor(opts: AgentOptions) {
    this.opts = opts;
    this.logger = named(opts.logger, 'ak-api-controller');
  }

  get state(): AgentState {
    return this._state;
  }

  get outpostName(): string | undefined {
    return this.outpost?.name;
  }

  /**
   * Finds the outpost and serves it. Resolves once the first configuration is applied (or the
   * outpost is skipped); while the core is down it keeps retrying with backoff.
   */
  async start(): Promise<AgentState> {
    const signal = this.abort.signal;
    const outpost = await this.retry('fetch outpost', () => this.fetchOutpost());
    const root = await this.retry('fetch root config', () => this.opts.api.get('/root/config/', rootConfigSchema));
    if (!outpost || !root) return this._state;
    this.outpost = outpost;
    this.rootConfig = root;
    this.logger = named(this.opts.logger, 'ak-api-controller', { outpost: outpost.name });
    this.opts.failures?.setOutpost(outpost.name);

    const plugin = await this.opts.listeners.load(outpost.type);
    if (!plugin) {
      const reason = `this build has no ${outpost.type} listener yet`;
      this.logger.warn({ outpost_type: outpost.type }, `skipping outpost: ${reason}`);
      this._state = { phase: 'skipped', reason };
      return this._state;
    }

    const labels = this.labels();
    this.opts.metrics.info.set(labels, 1);
    this.certificates = new CertificateStore(this.opts.api, named(this.opts.logger, 'crypto', { outpost: outpost.name }));
    this.openChannel(outpost);

    for (let attempt = 1; !signal.aborted; attempt++) {
      if (await this.refresh('start-up')) break;
      await sleep(backoffDelay(attempt, CORE_BACKOFF), signal);
    }
    if (signal.aborted) return this._state;
    await this.opts.listeners.ensureStarted(outpost.type);
    this._state = { phase: 'serving', since: Date.now() };

    this.scheduleRefresh();
    this.scheduleWarmUp();
    return this._state;
  }

  /**
   * Fetch the outpost and its providers and apply them. Concurrent calls are coalesced: a
   * refresh asked for while one runs makes exactly one more run afterwards. Returns whether the
   * (last) refresh succeeded; on failure the listener keeps its previous configuration and,
   * once serving, the refresh is retried with backoff until one succeeds.
   */
  refresh(reason: string): Promise<boolean> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    const run = async (): Promise<boolean> => {
      let ok = false;
      do {
        this.refreshAgain = false;
        ok = await this.refreshOnce(reason);
      } while (this.refreshAgain && !this.abort.signal.aborted);
      // In the same tick as the last check of refreshAgain: a refresh asked for from here on
      // starts a run of its own instead of joining one that has already decided to end.
      this.refreshing = undefined;
      this.afterRefresh(ok);
      return ok;
    };
    this.refreshing = run();
    return this.refreshing;
  }

  /**
   * A failed refresh is retried with CORE_BACKOFF until one succeeds, rather than left until the
   * next interval (minutes) or trigger: a core back from an outage is read again within seconds.
   * Start-up retries on its own.
   */
  private afterRefresh(ok: boolean): void {
    if (ok) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      if (this.failedRefreshes > 0) this.logger.info({ failed: this.failedRefreshes }, 'refreshed configuration again after failed refreshes');
      this.failedRefreshes = 0;
      return;
    }
    if (this._state.phase !== 'serving' || this.abort.signal.aborted) return;
    this.failedRefreshes++;
    // A retry is already armed (this was a trigger or an interval refresh in between): keep it.
    if (this.retryTimer) return;
    const delay = backoffDelay(this.failedRefreshes, CORE_BACKOFF);
    this.logger.debug({ failed: this.failedRefreshes, retry_in_s: Math.round(delay / 100) / 10 }, 'will retry the refresh');
    const timer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.refresh('retry');
    }, delay);
    timer.unref();
    this.retryTimer = timer;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    clearTimeout(this.refreshTimer);
    clearTimeout(this.retryTimer);
    this.opts.sharedLevel?.withdraw(this);
    await this.channel?.close();
    if (this.outpost) this.opts.metrics.connection.set(this.connectionLabels(), 0);
    this._state = { phase: 'stopped' };
  }

  private async refreshOnce(reason: string): Promise<boolean> {
    const outpost = this.outpost;
    const plugin = outpost && this.opts.listeners.plugin(outpost.type);
    if (!outpost || !plugin || !this.certificates || !this.rootConfig) return false;
    const started = performance.now();
    try {
      const fresh = await this.fetchOutpost();
      if (fresh.pk !== outpost.pk) throw new Error(`the token now belongs to another outpost (${fresh.name})`);
      this.outpost = fresh;
      this.applyLogLevel(fresh);
      const generation = this.noteGeneration(fresh);
      const providers = await this.opts.api.list(plugin.providersPath, plugin.providerSchema, { pageSize: plugin.pageSize ?? 100 });
      const ctx: OutpostContext = {
        outpost: fresh,
        generation,
        rootConfig: this.rootConfig,
        api: this.opts.api,
        certificates: this.certificates,
        logger: this.opts.logger.child({ outpost: fresh.name }),
        metrics: this.opts.metrics,
      };
      await this.opts.listeners.get(fresh.type).apply(ctx, providers);
      this.context = ctx;
      // A changed refresh_interval_s applies now, not after the interval armed before it.
      if (this.refreshTimer && this.refreshIntervalMs() !== this.refreshArmedMs) this.scheduleRefresh();
      this.opts.metrics.lastUpdate.set(this.labels(), Date.now() / 1000);
      this.logger.debug({ reason, providers: providers.length, took_ms: Math.round(performance.now() - started) }, 'refreshed configuration');
      return true;
    } catch (err) {
      const keeping = this.context ? 'keeping the last good configuration' : 'no configuration yet';
      this.logger.warn({ reason, err }, `refresh failed; ${keeping}`);
      return false;
    }
  }

  /** The API generation of this refresh; logged once, and again only when it changes (an upgrade). */
  private noteGeneration(outpost: Outpost): ApiGeneration {
    const generation = apiGeneration(outpost);
    if (generation !== this.generation) {
      const api = generation === '2024.4' ? 'authentik 2024.4 API (search group, application access check)' : 'authentik 2024.8+ API (outpost check_access, RBAC search permission, RADIUS property mappings)';
      this.logger.info({ generation, previous: this.generation }, `speaking the ${api}`);
      this.generation = generation;
    }
    return generation;
  }

  /**
   * The periodic refresh: `AUTHENTIK_OUTPOST__REFRESH_INTERVAL` when set, else the outpost's
   * `refresh_interval_s` as of the last refresh (read again before every wait, as authentik does).
   */
  private scheduleRefresh(): void {
    clearTimeout(this.refreshTimer);
    if (this.abort.signal.aborted) return;
    const ms = this.refreshIntervalMs();
    this.refreshArmedMs = ms;
    const timer = setTimeout(() => {
      void this.refresh('interval').finally(() => {
        // A refresh that changed the interval has already re-armed the timer.
        if (this.refreshTimer === timer) this.scheduleRefresh();
      });
    }, ms);
    timer.unref();
    this.refreshTimer = timer;
  }

  private refreshIntervalMs(): number {
    const fixed = this.opts.config.timing.refreshIntervalMs;
    if (fixed !== undefined) return fixed;
    return this.outpost ? refreshIntervalMs(this.outpost, this.opts.minRefreshIntervalMs) : DEFAULT_REFRESH_INTERVAL_MS;
  }

  private async fetchOutpost(): Promise<Outpost> {
    const page = await this.opts.api.get('/outposts/instances/', paginationSchema(outpostSchema));
    const first = page.results[0];
    if (!first) throw new Error('no outpost found for this token (is it an outpost token, and is the outpost saved?)');
    // A superuser token sees every outpost; authentik then silently takes the first by name.
    if (page.results.length > 1) this.logger.warn({ count: page.results.length, chosen: first.name }, 'token sees several outposts; use the outpost\'s own token');
    return first;
  }

  /** Retries `fn` with capped backoff until it works or the agent stops (then undefined). */
  private async retry<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (this.abort.signal.aborted) return undefined;
        const delay = backoffDelay(attempt, CORE_BACKOFF);
        this.logger.warn({ attempt, retry_in_s: Math.round(delay / 100) / 10, err }, `failed to ${what}; retrying`);
        await sleep(delay, this.abort.signal);
        if (this.abort.signal.aborted) return undefined;
      }
    }
  }

  private openChannel(outpost: Outpost): void {
    const { config, api } = this.opts;
    // 0 until the core acknowledges a hello: an alert on the gauge sees the outpost at once.
    this.opts.metrics.connection.set(this.connectionLabels(), 0);
    this.channel = new ControlChannel({
      host: config.host,
      outpostPk: outpost.pk,
      instanceUuid: this.opts.instanceUuid,
      token: api.token,
      userAgent: api.userAgent,
      insecure: config.insecure,
      logger: this.logger,
      ...(this.opts.helloIntervalMs !== undefined ? { helloIntervalMs: this.opts.helloIntervalMs } : {}),
      ...(this.opts.websocketBackoff ? { backoff: this.opts.websocketBackoff } : {}),
      hello: () => helloArgs(this.opts.instanceUuid),
      onConnectionChange: (up) => this.opts.metrics.connection.set(this.connectionLabels(), up ? 1 : 0),
      // Updates pushed while the channel was down were missed: read the configuration now.
      onReconnect: () => {
        if (this._state.phase === 'serving') void this.refresh('reconnect');
      },
      onTriggerUpdate: () => {
        // The refresh a waiting trigger starts reads what later ones announced: they join it.
        // A burst of triggers (many objects saved at once) is one refresh, not one per message
        // spread over the offset window, and a core sending them without end arms one timer.
        if (this.triggerPending) return;
        this.triggerPending = true;
        // Replicas wait a random offset so they do not all reload at the same instant.
        const max = config.timing.reloadOffsetMaxMs;
        const offset = max > 0 ? randomInt(0, max + 1) : 0;
        this.logger.debug({ offset_ms: offset }, 'update triggered by authentik');
        void sleep(offset, this.abort.signal).then(() => {
          this.triggerPending = false;
          if (!this.abort.signal.aborted) void this.refresh('trigger');
        });
      },
      onProviderSpecific: (args) => {
        const listener = this.opts.listeners.get(outpost.type);
        if (this.context && listener.onProviderSpecific) listener.onProviderSpecific(this.context, args);
      },
      onSessionEnd: (sessionId) => {
        const listener = this.opts.listeners.get(outpost.type);
        // The id is a hash, not a secret, but long: a prefix is enough to follow it in logs.
        this.logger.info({ session: sessionId.slice(0, 12) }, 'authentik ended a session');
        if (this.context && listener.onSessionEnd) listener.onSessionEnd(this.context, sessionId);
      },
    });
    this.channel.start();
  }

  private scheduleWarmUp(): void {
    const outpost = this.outpost;
    if (!outpost) return;
    const listener = this.opts.listeners.get(outpost.type);
    if (!listener.warmUp) return;
    const run = () => {
      if (this.context) void listener.warmUp?.(this.context).catch((err: unknown) => this.logger.debug({ err }, 'flow warm-up failed'));
    };
    run();
    // authentik's ticker blocks on 0; we treat 0 (and a negative value) as "every 5 minutes".
    // The core's number is bounded both ways: a timer outside 1 ms..2^31-1 ms fires every 1 ms.
    const asked = this.rootConfig?.cache_timeout_flows ?? 0;
    const seconds = asked > 0 ? asked : 300;
    this.every(Math.min(MAX_REFRESH_INTERVAL_MS, Math.max(1_000, seconds * 1000)), run);
  }

  /**
   * The outpost's `log_level`: this agent's lines at that level, and the shared loggers (the
   * listeners') at the most verbose level any outpost asks for.
   */
  private applyLogLevel(outpost: Outpost): void {
    // The embedded outpost's level belongs to the server; authentik skips it too.
    if (outpost.managed === 'goauthentik.io/outposts/embedded') return;
    const asked = outpost.config.log_level;
    const level = toPinoLevel(typeof asked === 'string' ? asked : 'info');
    this.opts.logger.level = level;
    this.opts.sharedLevel?.ask(this, level);
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
  }

  private labels() {
    return {
      outpost_name: this.outpost?.name ?? '',
      outpost_type: this.outpost?.type ?? '',
      uuid: this.opts.instanceUuid,
      version: AUTHENTIK_VERSION,
      build: buildHash(),
    };
  }

  private connectionLabels() {
    return { outpost_name: this.outpost?.name ?? '', outpost_type: this.outpost?.type ?? '', uuid: this.opts.instanceUuid };
  }
}

/**
 * The hello authentik reads (2024.6+): `version` and `buildHash` decide "outdated"; the rest is
 * shown in the outpost's health. This is Node, not Go: `golangVersion` says which Node.
 */
export function helloArgs(instanceUuid: string): Record<string, unknown> {
  return {
    version: AUTHENTIK_VERSION,
    buildHash: buildHash(),
    uuid: instanceUuid,
    hostname: hostname(),
    golangVersion: `node ${process.version}`,
    opensslEnabled: true,
    opensslVersion: process.versions.openssl,
    fipsEnabled: getFips() === 1,
  };
}
