// The metrics listener every outpost type has: ping for health checks, Prometheus text, and
// a readiness answer that says whether every outpost has its first configuration (and every
// listener what it depends on, such as the proxy's shared session store).
import { createServer, type Server } from 'node:http';
import type { Registry } from './prom.ts';
import type { Logger } from '../log.ts';
import type { ListenAddress } from '../config/index.ts';
import { closeServer, listen } from './net.ts';

export const PING_PATH = '/outpost.goauthentik.io/ping';
export const READY_PATH = '/outpost.goauthentik.io/ready';

export interface MetricsServerOptions {
  address: ListenAddress;
  /** A Registry, or the primary's aggregate of its workers' (src/cluster/primary.ts). */
  registry: Pick<Registry, 'metrics' | 'contentType'>;
  isReady: () => boolean;
  logger: Logger;
}

export class MetricsServer {
  private readonly server: Server;
  private readonly opts: MetricsServerOptions;

  constructor(opts: MetricsServerOptions) {
    this.opts = opts;
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (path === PING_PATH) {
        res.writeHead(204).end();
      } else if (path === READY_PATH) {
        const ready = opts.isReady();
        res.writeHead(ready ? 204 : 503).end();
      } else if (path === '/metrics') {
        opts.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
          (err: unknown) => {
            opts.logger.error({ error: String(err) }, 'failed to render metrics');
            res.writeHead(500).end();
          },
        );
      } else {
        res.writeHead(404).end();
      }
    });
    this.server.keepAliveTimeout = 5_000;
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 10_000;
  }

  /** Resolves with the bound port (useful with port 0). */
  async start(): Promise<number> {
    const port = await listen(this.server, this.opts.address);
    this.opts.logger.info({ listen: `${this.opts.address.host}:${port}` }, 'Starting Metrics server');
    return port;
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }
}
