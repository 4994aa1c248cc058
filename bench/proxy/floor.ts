// The floor of any Node reverse proxy on this machine, run as its own process beside the
// outpost: node:http in front, one undici Pool dispatch streaming the answer back, and nothing
// else (no routing, session, identity headers, log line or metric). The gap between it and
// nginx is what Node costs; the gap between it and the outpost is what the outpost costs.
// Usage: node bench/proxy/floor.ts <listen port> <upstream port>
import { createServer } from 'node:http';
import { Pool, type Dispatcher } from 'undici';

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number);
if (!listenPort || !upstreamPort) throw new Error('usage: floor.ts <listen port> <upstream port>');
const pool = new Pool(`http://127.0.0.1:${upstreamPort}`, { connections: 64 });

createServer((req, res) => {
  const handler: Dispatcher.DispatchHandler = {
    onRequestStart() {},
    onResponseStart(_c, status, headers) {
      res.writeHead(status, headers as Record<string, string>);
    },
    onResponseData(c, chunk) {
      if (!res.write(chunk)) {
        c.pause();
        res.once('drain', () => c.resume());
      }
    },
    onResponseEnd() {
      res.end();
    },
    onResponseError() {
      if (res.headersSent) res.destroy();
      else res.writeHead(502).end();
    },
  };
  pool.dispatch({ path: req.url ?? '/', method: 'GET', headers: { host: req.headers.host ?? '' } }, handler);
}).listen(listenPort, '127.0.0.1');
