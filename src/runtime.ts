// The composition root: one agent per token, one listener per type, one metrics server, one
// pool of connections to the core, and an orderly shutdown.
import { randomUUID } from 'node:crypto';
import type { HttpPool } from './net/pool.ts';
import type { OutpostConfig } from './config/index.ts';
import { named, SharedLevel, type Logger } from './log.ts';
import { userAgent } from './version.ts';
import { Agent } from './agent/agent.ts';
import type { BackoffPolicy } from './agent/backoff.ts';
import { CoreApi, createDispatcher } from './agent/core-api.ts';
import { CoreFailureLog } from './agent/core-failures.ts';
import { ListenerSet, type Listener, type ListenerPlugin, type ListenerSource } from './agent/listener.ts';
import type { OutpostType } from './agent/schemas.ts';
import { AgentMetrics } from './agent/metrics.ts';
import { MetricsServer } from './agent/metrics-server.ts';

/** How long past the shutdown timeout a listener's stop is waited for before shutdown goes on. */
export const LISTENER_STOP_GRACE_MS = 2000;

export interface RuntimeOptions {
  config: OutpostConfig;
  plugins: readonly ListenerSource[];
  logger: Logger;
  /** Tests shorten the websocket hello interval. */
  helloIntervalMs?: number;
  /** Tests lower the 30 s floor under `refresh_interval_s`. */
  minRefreshIntervalMs?: number;
  /** Tests shorten the websocket's reconnect backoff (backoff.test.ts checks the real one). */
  websocketBackoff?: BackoffPolicy;
  /**
   * False in a worker process (AUTHENTIK_WORKERS > 1): the primary serves the metrics listener
   * and asks this runtime for `ready()` and its metrics over IPC (src/cluster/).
   */
  metricsServer?: boolean;
}

export class Runtime {
  readonly agents: readonly Agent[];
  readonly metrics: AgentMetrics;
  readonly instanceUuid = randomUUID();
  private readonly opts: RuntimeOptions;
  private readonly dispatcher: HttpPool;
  private readonly listeners: ListenerSet;
  private readonly metricsServer: MetricsServer | undefined;
  private readonly logger: Logger;
  private stopping: Promise<void> | undefined;
  private _metricsPort = 0;

  constructor(opts: RuntimeOptions) {
    this.opts = opts;
    this.logger = named(opts.logger, 'runtime');
    this.metrics = new AgentMetrics();
    this.dispatcher = createDispatcher({ insecure: opts.config.insecure });
    // Listeners (one per type, shared by the outposts of that type) log through the root logger;
    // its level is the most verbose `log_level` the outposts ask for.
    this.listeners = new ListenerSet(opts.plugins, { config: opts.config, logger: opts.logger, metrics: this.metrics });
    const sharedLevel = new SharedLevel(opts.logger);
    this.agents = opts.config.tokens.map((token) => {
      // A child per agent: each outpost's `log_level` applies to its own lines.
      const logger = opts.logger.child({});
      const failures = new CoreFailureLog({ logger, metrics: this.metrics });
      return new Agent({
        config: opts.config,
        api: new CoreApi({ host: opts.config.host, token, userAgent: userAgent(), dispatcher: this.dispatcher, timeoutMs: opts.config.timing.apiTimeoutMs, failures }),
        listeners: this.listeners,
        metrics: this.metrics,
        logger,
        sharedLevel,
        failures,
        instanceUuid: this.instanceUuid,
        ...(opts.helloIntervalMs !== undefined ? { helloIntervalMs: opts.helloIntervalMs } : {}),
        ...(opts.minRefreshIntervalMs !== undefined ? { minRefreshIntervalMs: opts.minRefreshIntervalMs } : {}),
        ...(opts.websocketBackoff ? { websocketBackoff: opts.websocketBackoff } : {}),
      });
    });
    this.metricsServer =
      opts.metricsServer === false
        ? undefined
        : new MetricsServer({ address: opts.config.listen.metrics, registry: this.metrics.registry, isReady: () => this.ready(), logger: named(opts.logger, 'metrics') });
  }

  /** What `/outpost.goauthentik.io/ready` answers: every outpost serving (or skipped), every listener ready. */
  ready(): boolean {
    return this.agents.every((a) => a.state.phase === 'serving' || a.state.phase === 'skipped') && this.listeners.ready();
  }

  /** The listener serving outposts of `type`, once an agent created it (tests read its ports). */
  listener(type: OutpostType): Listener<unknown> | undefined {
    return this.listeners.find(type);
  }

  get metricsPort(): number {
    return this._metricsPort;
  }

  /** Opens the metrics server at once, then starts every agent; resolves when all are serving or skipped. */
  async start(): Promise<void> {
    if (this.metricsServer) this._metricsPort = await this.metricsServer.start();
    await Promise.all(this.agents.map((a) => a.start()));
  }

  refreshAll(reason: string): Promise<boolean[]> {
    return Promise.all(this.agents.map((a) => a.refresh(reason)));
  }

  /** Stop accepting, let in-flight work finish within the shutdown timeout, close everything. */
  shutdown(): Promise<void> {
    this.stopping ??= (async () => {
      const timeoutMs = this.opts.config.timing.shutdownTimeoutMs;
      const deadline = AbortSignal.timeout(timeoutMs);
      this.logger.info('shutting down');
      // A listener is asked to be done by the deadline; one that is not still must not keep the
      // process from exiting (a SIGTERM would hang until the orchestrator kills it).
      let overdue: NodeJS.Timeout | undefined;
      const stopped = await Promise.race([
        this.listeners.stopAll(deadline).then(() => true),
        new Promise<false>((resolve) => (overdue = setTimeout(() => resolve(false), timeoutMs + LISTENER_STOP_GRACE_MS))),
      ]);
      clearTimeout(overdue);
      if (!stopped) this.logger.warn({ timeout_ms: timeoutMs }, 'listeners did not stop within the shutdown timeout; stopping anyway');
      await Promise.allSettled(this.agents.map((a) => a.stop()));
      await this.metricsServer?.stop();
      await this.dispatcher.close();
      this.logger.info('stopped');
    })();
    return this.stopping;
  }
}
