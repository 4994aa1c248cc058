// The REST client's paging, validation and error mapping, against small local HTTP servers
// that answer the way a healthy, a broken and a hostile core would.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { z } from 'zod';
import { CoreApi, createDispatcher } from '../../src/agent/core-api.ts';
import { CoreError } from '../../src/agent/errors.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

async function serve(handler: Handler): Promise<{ server: Server; url: URL }> {
  const server = createServer((req, res) => handler(req, res, new URL(req.url ?? '/', 'http://x')));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return { server, url: new URL(`http://127.0.0.1:${port}`) };
}

const json = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
const page = (results: unknown[], next: number) => ({ pagination: { next, previous: 0, count: 0, current: 1, total_pages: 1, start_index: 0, end_index: 0 }, results });
const item = z.object({ pk: z.number(), name: z.string() });

describe('CoreApi', () => {
  const dispatcher = createDispatcher({ insecure: false });
  let handler: Handler = () => {};
  let server: Server;
  let api: CoreApi;
  const seen: URL[] = [];

  before(async () => {
    const s = await serve((req, res, url) => {
      seen.push(url);
      handler(req, res, url);
    });
    server = s.server;
    api = new CoreApi({ host: s.url, token: 'secret-token', userAgent: 'ua/1', dispatcher, timeoutMs: 500 });
  });
  after(async () => {
    server.close();
    await dispatcher.close();
  });

  it('walks every page with page and page_size until next is 0', async () => {
    seen.length = 0;
    handler = (_req, res, url) => {
      const p = Number(url.searchParams.get('page'));
      const size = Number(url.searchParams.get('page_size'));
      const all = Array.from({ length: 7 }, (_, i) => ({ pk: i + 1, name: `p${i + 1}`, extra: 'ignored' }));
      const slice = all.slice((p - 1) * size, p * size);
      json(res, 200, page(slice, p * size < all.length ? p + 1 : 0));
    };
    const got = await api.list('/outposts/ldap/', item, { pageSize: 3 });
    assert.deepEqual(got.map((g) => g.pk), [1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(got[0], { pk: 1, name: 'p1' }, 'unknown fields are dropped');
    assert.deepEqual(seen.map((u) => u.searchParams.get('page')), ['1', '2', '3']);
    assert.ok(seen.every((u) => u.pathname === '/api/v3/outposts/ldap/' && u.searchParams.get('page_size') === '3'));
  });

  it('stops when next does not move forward (a core that would page forever)', async () => {
    handler = (_req, res) => json(res, 200, page([{ pk: 1, name: 'a' }], 1));
    assert.deepEqual(await api.list('/x/', item), [{ pk: 1, name: 'a' }]);
  });

  it('fails the whole list on an error, without retrying the page in a loop', async () => {
    seen.length = 0;
    handler = (_req, res, url) => (url.searchParams.get('page') === '2' ? json(res, 500, { detail: 'boom' }) : json(res, 200, page([{ pk: 1, name: 'a' }], 2)));
    await assert.rejects(api.list('/x/', item), (e: unknown) => e instanceof CoreError && e.code === 'status' && e.status === 500 && /answered 500: boom/.test(e.message));
    assert.equal(seen.length, 2);
  });

  it('names a missing required field', async () => {
    handler = (_req, res) => json(res, 200, page([{ pk: 1 }], 0));
    await assert.rejects(api.list('/x/', item), (e: unknown) => e instanceof CoreError && e.code === 'invalid' && /results\.0\.name/.test(e.message));
  });

  it('reports a body that is not JSON', async () => {
    handler = (_req, res) => res.writeHead(200).end('<html>proxy error</html>');
    await assert.rejects(api.get('/x/', item), (e: unknown) => e instanceof CoreError && e.code === 'invalid' && /not JSON/.test(e.message));
  });

  it('times out a slow core', async () => {
    handler = (_req, res) => setTimeout(() => json(res, 200, { pk: 1, name: 'late' }), 2000);
    await assert.rejects(api.get('/x/', item), (e: unknown) => e instanceof CoreError && e.code === 'timeout' && /within 500 ms/.test(e.message));
  });

  it('maps a refused connection to a transport error', async () => {
    const { server: s, url } = await serve(() => {});
    s.close();
    await once(s, 'close');
    const down = new CoreApi({ host: url, token: 't', userAgent: 'ua', dispatcher, timeoutMs: 500 });
    await assert.rejects(down.get('/x/', item), (e: unknown) => e instanceof CoreError && e.code === 'transport' && /ECONNREFUSED/.test(e.message));
  });

  it('sends the bearer token and user agent, and never puts the token in an error', async () => {
    let auth = '';
    let ua = '';
    handler = (req, res) => {
      auth = req.headers.authorization ?? '';
      ua = req.headers['user-agent'] ?? '';
      json(res, 403, { detail: 'Token invalid/expired' });
    };
    await assert.rejects(api.get('/x/', item), (e: unknown) => e instanceof Error && !e.message.includes('secret-token') && /403: Token invalid\/expired/.test(e.message));
    assert.equal(auth, 'Bearer secret-token');
    assert.equal(ua, 'ua/1');
  });

  it('tells its failure sink when the core failed (a rejected token included), not when it answered', async () => {
    const reported: string[] = [];
    const watched = new CoreApi({ host: new URL(api.origin), token: 'secret-token', userAgent: 'ua/1', dispatcher, timeoutMs: 500, failures: { report: (f) => reported.push(f.cause) } });
    for (const [status, body] of [[403, { detail: 'Token invalid/expired' }], [404, { detail: 'Not found.' }], [503, { detail: 'down' }], [200, { unexpected: true }]] as const) {
      handler = (_req, res) => json(res, status, body);
      await assert.rejects(watched.get('/x/', item));
    }
    assert.deepEqual(reported, ['token_rejected', 'status', 'invalid'], 'the 404 is an answer');
  });

  it('never follows a redirect (the token stays with the core), and counts it as the core failing', async () => {
    const elsewhere: string[] = [];
    const { server: other, url: otherUrl } = await serve((req, res) => {
      elsewhere.push(req.headers.authorization ?? '(none)');
      json(res, 200, { pk: 1, name: 'phished' });
    });
    try {
      const reported: string[] = [];
      const watched = new CoreApi({ host: new URL(api.origin), token: 'secret-token', userAgent: 'ua/1', dispatcher, timeoutMs: 500, failures: { report: (f) => reported.push(f.cause) } });
      for (const status of [301, 302, 307, 308]) {
        handler = (_req, res) => res.writeHead(status, { location: `${otherUrl.origin}/api/v3/x/` }).end();
        await assert.rejects(watched.get('/x/', item), (e: unknown) => e instanceof CoreError && e.code === 'status' && e.status === status && !e.message.includes('secret-token'));
      }
      assert.deepEqual(elsewhere, []);
      assert.deepEqual(reported, ['status', 'status', 'status', 'status']);
    } finally {
      other.close();
    }
  });

  it('a caller\'s signal aborts a call as `aborted`, not `timeout`', async () => {
    handler = (_req, res) => setTimeout(() => json(res, 200, { pk: 1, name: 'late' }), 2000).unref();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(api.get('/x/', item, {}, ac.signal), (e: unknown) => e instanceof CoreError && e.code === 'aborted');
  });

  it('reuses pooled connections across calls', async () => {
    const ports = new Set<number>();
    handler = (req, res) => {
      ports.add(req.socket.remotePort ?? 0);
      json(res, 200, { pk: 1, name: 'a' });
    };
    for (let i = 0; i < 20; i++) await api.get('/x/', item);
    // Sequential calls may alternate between two sockets (undici frees one a tick after the
    // body ends); what matters is that 20 calls do not open 20 connections.
    assert.ok(ports.size <= 2, `${ports.size} connections for 20 calls`);
  });
});
