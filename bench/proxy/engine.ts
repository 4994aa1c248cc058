// A ceiling for the fast path: its engine (src/proxy/fast/: the front reading heads, the
// exchange, the upstream pool) with a handler that does nothing of an outpost's own work (no
// routing, session, identity headers, access line or metrics): a fixed upstream request. The
// gap between it and the relay (relay.ts) is the engine's; between it and the outpost, the
// per-request work of an authenticated request.
// Usage: node bench/proxy/engine.ts <listen port> <upstream port>
import { createServer } from 'node:http';
import { exchange } from '../../src/proxy/fast/exchange.ts';
import { installFastPath } from '../../src/proxy/fast/front.ts';
import { UpstreamPool } from '../../src/proxy/fast/upstream-pool.ts';

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number);
if (!listenPort || !upstreamPort) throw new Error('usage: engine.ts <listen port> <upstream port>');
const pool = new UpstreamPool();
const to = { host: '127.0.0.1', port: upstreamPort };
const server = createServer((_req, res) => res.writeHead(500).end());
const date = new Date().toUTCString();

installFastPath(server, {
  maxHeaderBytes: 32 * 1024,
  headersTimeoutMs: 60_000,
  keepAliveTimeoutMs: 120_000,
  stopping: () => false,
  handler: {
    async serve(req): Promise<'done'> {
      const upstream = pool.acquire(to);
      const r = await exchange({
        client: req.socket,
        upstream,
        origin: `http://127.0.0.1:${upstreamPort}`,
        method: req.head.method,
        request: `${req.head.method} ${req.head.target} HTTP/1.1\r\nhost: app.example.com\r\nx-authentik-username: alice\r\nconnection: keep-alive\r\n\r\n`,
        closeAfter: req.closeAfter,
        keepAliveSeconds: 120,
        date: () => date,
        headersTimeoutMs: 60_000,
        bodyTimeoutMs: 60_000,
      });
      if (r.reusable) pool.release(to, upstream);
      return 'done';
    },
  },
});
server.listen(listenPort, '127.0.0.1');
