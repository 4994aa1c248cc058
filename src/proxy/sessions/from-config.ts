// The session store the configuration asks for: the memory store (one process, the default), or
// a shared store (PostgreSQL, Redis) behind the short local cache. For a shared store this also
// owns what an operator sees of it: the connection at start and the retries after, the health
// gauge, the error counter and one rate-limited log line instead of one per request.
import type { SessionStoreConfig } from '../../config/index.ts';
import { backoffDelay, CORE_BACKOFF, sleep } from '../../agent/backoff.ts';
import { named, type Logger } from '../../log.ts';
import { LogLimiter } from '../../net/log-limiter.ts';
import type { ProxyMetrics } from '../metrics.ts';
import { CachedSessionStore, type SessionOperation } from './cached.ts';
import { MemorySessionStore } from './memory.ts';
import { PostgresSessionStore } from './postgres.ts';
import { RedisSessionStore } from './redis.ts';
import type { SharedSessionStore } from './shared.ts';
import type { SessionStore } from './store.ts';

/** One log line per kind of store trouble per this window. */
const LOG_WINDOW_MS = 30_000;

export interface ProxySessions {
  /** What the handlers read and write. */
  readonly store: SessionStore;
  readonly backend: SessionStoreConfig['backend'];
  /**
   * Connect a shared store (create or migrate its schema). The first attempt is awaited; when it
   * fails, one line says so and the attempts go on in the background (the outpost serves, fails
   * closed, and reports not ready until the store answers). Never rejects.
   */
  start(): Promise<void>;
  /** False while a shared store does not answer (readiness). */
  ready(): boolean;
  close(): Promise<void>;
}

export interface SessionsDeps {
  readonly logger: Logger;
  readonly metrics: ProxyMetrics;
  /** The memory store's bound. */
  readonly maxSessions: number;
}

export function sessionsFromConfig(config: SessionStoreConfig, deps: SessionsDeps): ProxySessions {
  if (config.backend === 'memory') {
    deps.metrics.sessionStoreUp.set({ backend: 'memory' }, 1);
    const store = new MemorySessionStore({ maxEntries: deps.maxSessions });
    return { store, backend: 'memory', start: async () => {}, ready: () => true, close: () => store.close() };
  }
  return new SharedSessions(config, deps);
}

class SharedSessions implements ProxySessions {
  readonly store: CachedSessionStore;
  readonly backend: 'postgres' | 'redis';
  private readonly shared: SharedSessionStore;
  private readonly log: Logger;
  private readonly limiter = new LogLimiter({ windowMs: LOG_WINDOW_MS, maxKeys: 16 });
  private readonly stopper = new AbortController();
  private connecting: Promise<void> | undefined;
  /** Health changes are news only once connected: until then the start attempts speak. */
  private connected = false;

  constructor(config: Extract<SessionStoreConfig, { backend: 'postgres' | 'redis' }>, deps: SessionsDeps) {
    this.backend = config.backend;
    this.log = named(deps.logger, 'proxyv2.sessions', { backend: config.backend });
    const opts = { url: config.url, logger: this.log, opTimeoutMs: config.timeoutMs };
    this.shared = config.backend === 'postgres' ? new PostgresSessionStore(opts) : new RedisSessionStore(opts);
    const labels = { backend: config.backend };
    deps.metrics.sessionStoreUp.set(labels, 0);
    this.shared.onHealth((up) => {
      deps.metrics.sessionStoreUp.set(labels, up ? 1 : 0);
      if (!this.connected) return;
      if (up) this.logLimited('up', (suppressed) => this.log.info({ suppressed }, 'session store reachable again'));
      else this.logLimited('down', (suppressed) => this.log.error({ suppressed }, 'session store unreachable: requests are answered as without a session (302 to login or 401) and /ready is 503 until it is back'));
    });
    this.store = new CachedSessionStore(this.shared, {
      logger: this.log,
      onError: (operation, err) => this.failed(operation, err, deps.metrics),
    });
  }

  start(): Promise<void> {
    this.connecting ??= this.connect();
    return this.connecting;
  }

  ready(): boolean {
    return this.shared.up;
  }

  async close(): Promise<void> {
    this.stopper.abort();
    await this.store.close();
  }

  private failed(operation: SessionOperation, err: unknown, metrics: ProxyMetrics): void {
    metrics.sessionStoreErrors.inc({ backend: this.backend, operation });
    this.logLimited('error', (suppressed) => this.log.error({ operation, err: { message: (err as Error)?.message ?? String(err) }, suppressed }, 'session store operation failed'));
  }

  private logLimited(key: string, write: (suppressed: number) => void): void {
    const d = this.limiter.check(key);
    if (d.log) write(d.suppressed);
  }

  /** The first attempt, awaited; then the rest in the background. */
  private async connect(): Promise<void> {
    if (await this.attempt(1)) return;
    void (async () => {
      for (let n = 2; !this.stopper.signal.aborted; n++) {
        await sleep(backoffDelay(n - 1, CORE_BACKOFF), this.stopper.signal);
        if (this.stopper.signal.aborted || (await this.attempt(n))) return;
      }
    })();
  }

  private async attempt(n: number): Promise<boolean> {
    try {
      await this.shared.start();
      this.connected = true;
      if (n === 1) this.log.info('session store connected');
      else this.log.info({ attempts: n }, 'session store connected after retrying');
      return true;
    } catch (err) {
      const message = (err as Error)?.message ?? String(err);
      if (n === 1) this.log.error({ err: { message } }, 'session store unreachable at start; retrying in the background. Until it answers, requests have no session (302 to login or 401) and /ready is 503');
      else this.logLimited('start', (suppressed) => this.log.warn({ err: { message }, attempts: n, suppressed }, 'session store still unreachable; retrying'));
      return false;
    }
  }
}
