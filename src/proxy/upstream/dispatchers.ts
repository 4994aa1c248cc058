// One undici Agent per (upstream origin, TLS validation), kept across requests: keep-alive
// pooling as Go's transport does, and `internal_host_ssl_validation=false` as
// `rejectUnauthorized: false`. SNI is the upstream's host name (undici's default), while the
// `Host` header stays the client's (spec §8.2).
import { Agent, type Dispatcher } from 'undici';

export interface UpstreamDispatcherOptions {
  /** Connect timeout in ms (undici's default is 10 s). */
  connectTimeoutMs?: number;
  /** Idle keep-alive sockets are closed after this (undici's default is 4 s). */
  keepAliveTimeoutMs?: number;
  /** Per-origin connection cap; default unlimited like Go's transport. */
  connections?: number;
}

export class UpstreamDispatchers {
  private readonly agents = new Map<string, Agent>();

  private readonly opts: UpstreamDispatcherOptions;

  constructor(opts: UpstreamDispatcherOptions = {}) {
    this.opts = opts;
  }

  private static key(origin: string, validateTls: boolean): string {
    return `${validateTls ? 'v' : 'n'}|${origin}`;
  }

  /** The dispatcher for `target`'s origin with that validation setting (created once). */
  get(target: URL, validateTls: boolean): Dispatcher {
    const key = UpstreamDispatchers.key(target.origin, validateTls);
    let agent = this.agents.get(key);
    if (!agent) {
      agent = new Agent({
        connect: { rejectUnauthorized: validateTls, ...(this.opts.connectTimeoutMs !== undefined ? { timeout: this.opts.connectTimeoutMs } : {}) },
        ...(this.opts.keepAliveTimeoutMs !== undefined ? { keepAliveTimeout: this.opts.keepAliveTimeoutMs } : {}),
        ...(this.opts.connections !== undefined ? { connections: this.opts.connections } : {}),
      });
      this.agents.set(key, agent);
    }
    return agent;
  }

  get size(): number {
    return this.agents.size;
  }

  /**
   * Close the agents of origins not in `keep` (after a config change in `apply()`). In-flight
   * requests on them finish first (undici's `close`).
   */
  async retain(keep: Iterable<{ target: URL; validateTls: boolean }>): Promise<void> {
    const wanted = new Set<string>();
    for (const k of keep) wanted.add(UpstreamDispatchers.key(k.target.origin, k.validateTls));
    const closing: Promise<void>[] = [];
    for (const [key, agent] of this.agents) {
      if (wanted.has(key)) continue;
      this.agents.delete(key);
      closing.push(agent.close());
    }
    await Promise.all(closing);
  }

  /** Close every agent; `destroy` aborts in-flight requests instead of waiting for them. */
  async close(destroy = false): Promise<void> {
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((a) => (destroy ? a.destroy() : a.close())));
  }
}
