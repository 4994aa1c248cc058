// The keep-alive connections towards the authentik core, shared by every agent, flow attempt
// and OIDC call of the process: one node:http agent and one node:https agent. Node's own HTTP
// client, not undici, on purpose: undici costs about 17 MB of memory at rest, which an outpost
// serving LDAP or RADIUS alone should not pay (the proxy listener loads undici for its
// upstreams only when a proxy outpost is served).
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';

export interface HttpPoolOptions {
  /** `AUTHENTIK_INSECURE`: do not verify the core's TLS certificate. */
  insecure?: boolean;
  /** Sockets per origin; flows and API calls share them. Default 64. */
  connections?: number;
  /** An idle socket is closed after this, ms. Default 30 s. */
  keepAliveMs?: number;
}

export class HttpPool {
  private readonly http: HttpAgent;
  private readonly https: HttpsAgent;

  constructor(opts: HttpPoolOptions = {}) {
    const common = { keepAlive: true, maxSockets: opts.connections ?? 64, maxFreeSockets: opts.connections ?? 64, timeout: opts.keepAliveMs ?? 30_000, scheduling: 'lifo' as const };
    this.http = new HttpAgent(common);
    this.https = new HttpsAgent({ ...common, rejectUnauthorized: opts.insecure !== true });
  }

  /** The agent for `url`'s scheme. */
  agentFor(url: URL): HttpAgent {
    return url.protocol === 'https:' ? this.https : this.http;
  }

  /** Close every socket; requests in flight fail with a transport error. */
  close(): Promise<void> {
    this.http.destroy();
    this.https.destroy();
    return Promise.resolve();
  }
}
