// The healthcheck tells why it failed: which address refused, that nothing answered in time, or
// the status the ping answered with.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { healthcheck } from '../src/healthcheck.ts';

async function listen<T extends Server | HttpServer>(server: T): Promise<{ server: T; port: number }> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port };
}

describe('healthcheck', () => {
  it('is healthy when the ping answers 204, and HEADs the ping path', async () => {
    const seen: string[] = [];
    const { server, port } = await listen(createHttpServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers['user-agent']}`);
      res.writeHead(204).end();
    }));
    try {
      assert.deepEqual(await healthcheck({ host: '127.0.0.1', port }), { ok: true });
      assert.deepEqual(seen, ['HEAD /outpost.goauthentik.io/ping goauthentik.io/healthcheck']);
    } finally {
      server.close();
    }
  });

  it('names the URL and the status when the ping answers 503', async () => {
    const { server, port } = await listen(createHttpServer((_req, res) => res.writeHead(503).end()));
    try {
      assert.deepEqual(await healthcheck({ host: '127.0.0.1', port }), { ok: false, reason: `http://127.0.0.1:${port}/outpost.goauthentik.io/ping: HTTP 503 Service Unavailable` });
    } finally {
      server.close();
    }
  });

  it('says the connection was refused, and where (a wildcard address is probed on loopback)', async () => {
    // A port that was just free: nothing listens on it now.
    const { server, port } = await listen(createServer());
    server.close();
    await once(server, 'close');
    assert.deepEqual(await healthcheck({ host: '0.0.0.0', port }), { ok: false, reason: `http://127.0.0.1:${port}/outpost.goauthentik.io/ping: connection refused` });
  });

  it('gives up at its deadline when the listener accepts and never answers', async () => {
    const sockets: Socket[] = [];
    const { server, port } = await listen(createServer((s) => sockets.push(s)));
    try {
      const started = Date.now();
      assert.deepEqual(await healthcheck({ host: '127.0.0.1', port }, 300), { ok: false, reason: `http://127.0.0.1:${port}/outpost.goauthentik.io/ping: no answer within 300 ms` });
      assert.ok(Date.now() - started < 2000);
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  });
});
