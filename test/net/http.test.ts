// The HTTP exchange helper against a small local server: each way an exchange can fail has its
// own code, and a caller's abort is never filed as a timeout.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { HttpPool } from '../../src/net/pool.ts';
import { CoreError } from '../../src/agent/errors.ts';
import { exchange, HttpError, type ExchangeRequest, type HttpErrorCode } from '../../src/net/http.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

describe('exchange', () => {
  const dispatcher = new HttpPool({ connections: 4 });
  let server: Server;
  let origin = '';
  let handler: Handler = (_req, res) => res.end('{}');

  before(async () => {
    server = createServer((req, res) => handler(req, res));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    server.close();
    await dispatcher.close();
  });

  const call = (path: string, extra: Partial<ExchangeRequest> = {}) =>
    exchange({ url: new URL(path, origin), method: 'GET', headers: { accept: 'application/json' }, dispatcher, timeoutMs: 500, ...extra });

  async function failsWith(p: Promise<unknown>, code: HttpErrorCode, message?: RegExp): Promise<HttpError> {
    const err = await p.then(
      () => assert.fail(`expected an HttpError ${code}`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof HttpError, String(err));
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return err;
  }

  it('answers a 2xx with its body, headers and JSON', async () => {
    handler = (req, res) => res.writeHead(200, { 'content-type': 'application/json', 'x-seen': req.headers['accept'] ?? '' }).end('{"a":1}');
    const res = await call('/ok/?q=1');
    assert.equal(res.status, 200);
    assert.equal(res.ok, true);
    assert.equal(res.path, '/ok/');
    assert.equal(res.headers['x-seen'], 'application/json');
    assert.deepEqual(res.json(), { a: 1 });
  });

  it('resolves for any status; json() turns a non-2xx into `status` with the core\'s detail', async () => {
    handler = (_req, res) => res.writeHead(503, { 'content-type': 'application/json' }).end('{"detail":"maintenance"}');
    const res = await call('/down/');
    assert.equal(res.status, 503);
    assert.equal(res.ok, false);
    const err = await failsWith(Promise.resolve().then(() => res.json()), 'status', /GET \/down\/ answered 503: maintenance/);
    assert.equal(err.status, 503);
  });

  it('a 200 whose body is not JSON is `invalid`', async () => {
    handler = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('<html>proxy error</html>');
    const res = await call('/garbage/');
    await failsWith(Promise.resolve().then(() => res.json()), 'invalid', /not JSON/);
  });

  it('a body above the bound is `too_large`, declared or streamed', async () => {
    handler = (_req, res) => res.writeHead(200, { 'content-length': '5000' }).end('x'.repeat(5000));
    await failsWith(call('/declared/', { maxBodyBytes: 1000 }), 'too_large', /5000 bytes/);
    handler = (_req, res) => {
      res.writeHead(200);
      for (let i = 0; i < 10; i++) res.write('y'.repeat(500));
      res.end();
    };
    await failsWith(call('/streamed/', { maxBodyBytes: 1000 }), 'too_large', /more than 1000 bytes/);
  });

  it('its own deadline is `timeout`, covering a body that trickles', async () => {
    handler = (_req, res) => setTimeout(() => res.end('{}'), 2000).unref();
    const t0 = performance.now();
    await failsWith(call('/slow/', { timeoutMs: 150 }), 'timeout', /did not answer within 150 ms/);
    assert.ok(performance.now() - t0 < 1000);
    handler = (_req, res) => {
      res.writeHead(200);
      res.write('{"a":');
      setTimeout(() => res.end('1}'), 2000).unref();
    };
    await failsWith(call('/trickle/', { timeoutMs: 150 }), 'timeout');
  });

  it('the caller\'s abort is `aborted`, never `timeout`, before the answer and during the body', async () => {
    handler = (_req, res) => setTimeout(() => res.end('{}'), 2000).unref();
    const before = new AbortController();
    setTimeout(() => before.abort(new DOMException('gone', 'TimeoutError')), 50);
    // Even an abort whose reason is a TimeoutError is the caller's, not the exchange's deadline.
    await failsWith(call('/abort/', { signal: before.signal, timeoutMs: 1000 }), 'aborted');
    handler = (_req, res) => {
      res.writeHead(200);
      res.write('{"a":');
      setTimeout(() => res.end('1}'), 2000).unref();
    };
    const during = new AbortController();
    setTimeout(() => during.abort(), 50);
    await failsWith(call('/abort-body/', { signal: during.signal, timeoutMs: 1000 }), 'aborted');
    const already = new AbortController();
    already.abort();
    await failsWith(call('/abort-early/', { signal: already.signal }), 'aborted');
  });

  it('a refused connection is `transport`, naming the cause', async () => {
    const s = createServer();
    s.listen(0, '127.0.0.1');
    await once(s, 'listening');
    const port = (s.address() as AddressInfo).port;
    s.close();
    await once(s, 'close');
    await failsWith(exchange({ url: new URL(`http://127.0.0.1:${port}/x/`), method: 'GET', headers: {}, dispatcher, timeoutMs: 500 }), 'transport', /ECONNREFUSED/);
  });

  it('throws the caller\'s error class (the agent\'s CoreError), with the path but not the query', async () => {
    handler = (_req, res) => res.writeHead(500).end('{"detail":"boom"}');
    const res = await call('/api/v3/x/?token=secret', { errorClass: CoreError });
    let thrown: unknown;
    try {
      res.json();
    } catch (err) {
      thrown = err;
    }
    assert.ok(thrown instanceof CoreError);
    assert.equal(thrown.code, 'status');
    assert.equal(thrown.path, '/api/v3/x/');
    assert.ok(!thrown.message.includes('secret'));
    handler = (_req, res) => setTimeout(() => res.end('{}'), 2000).unref();
    const late = await failsWith(call('/y/', { timeoutMs: 100, errorClass: CoreError }), 'timeout');
    assert.ok(late instanceof CoreError);
  });

  it('POSTs its body', async () => {
    handler = (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => res.writeHead(200).end(JSON.stringify({ method: req.method, body: Buffer.concat(chunks).toString() })));
    };
    const res = await call('/post/', { method: 'POST', body: '{"x":1}', headers: { 'content-type': 'application/json' } });
    assert.deepEqual(res.json(), { method: 'POST', body: '{"x":1}' });
  });
});
