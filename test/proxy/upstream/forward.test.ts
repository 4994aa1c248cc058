// forwardRequest against a local upstream on port 0, through a small proxy server that calls it
// the way the listener will: headers in and out, streaming without buffering, backpressure,
// failures before and after the response head, a connect that is never accepted, client
// aborts, TLS upstreams.
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateSelfSignedCertificate } from '../../../src/ldap/server/self-signed.ts';
import { forwardRequest, type ForwardOptions, type ForwardResult } from '../../../src/proxy/upstream/forward.ts';
import { renderBadGateway } from '../../../src/proxy/upstream/bad-gateway.ts';
import { UpstreamDispatchers } from '../../../src/proxy/upstream/dispatchers.ts';
import { UpstreamError } from '../../../src/proxy/upstream/errors.ts';
import { startUnacceptingListener } from '../../support/unaccepting-listener.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const MB = 1024 * 1024;

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

async function closedPort(): Promise<number> {
  const s = createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

interface ClientResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** One request to the proxy; resolves with the whole answer, rejects when the connection breaks. */
function call(port: number, path: string, opts: { method?: string; headers?: OutgoingHttpHeaders; body?: Buffer } = {}): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    const r = httpRequest({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => (res.complete ? resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }) : reject(new Error('incomplete response'))));
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('aborted')));
    });
    r.on('error', reject);
    r.end(opts.body);
  });
}

const waitFor = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('forwardRequest', () => {
  const dispatchers = new UpstreamDispatchers();
  let upstream: Server;
  let upstreamPort = 0;
  let handler: Handler = (_req, res) => res.end('ok');
  let proxy: Server;
  let proxyPort = 0;
  let target: URL;
  let validateTls = true;
  let extra: Partial<ForwardOptions> = {};
  let results: ForwardResult[] = [];
  let errors: UpstreamError[] = [];

  before(async () => {
    upstream = createServer((req, res) => handler(req, res));
    upstreamPort = await listen(upstream);
    proxy = createServer((req, res) => {
      forwardRequest({
        req,
        res,
        target,
        headers: req.headers,
        dispatcher: dispatchers.get(target, validateTls),
        bodyTimeoutMs: 5000,
        headersTimeoutMs: 5000,
        ...extra,
      }).then(
        (r) => results.push(r),
        (e: unknown) => {
          assert.ok(e instanceof UpstreamError, String(e));
          errors.push(e);
          if (!e.responseStarted && e.code !== 'client_aborted') renderBadGateway(res);
        },
      );
    });
    proxyPort = await listen(proxy);
  });
  beforeEach(() => {
    target = new URL(`http://127.0.0.1:${upstreamPort}/ignored/path`);
    validateTls = true;
    extra = {};
    results = [];
    errors = [];
  });
  after(async () => {
    upstream.closeAllConnections();
    upstream.close();
    proxy.closeAllConnections();
    proxy.close();
    await dispatchers.close(true);
  });

  it('keeps the client Host, path and query, appends X-Forwarded-For, sets X-Forwarded-Host, drops hop-by-hop request headers', async () => {
    let seen: IncomingMessage | undefined;
    handler = (req, res) => {
      seen = req;
      res.end();
    };
    const r = await call(proxyPort, '/a/b?x=1&y=%20', {
      headers: {
        host: 'app.example.com',
        connection: 'keep-alive, x-private',
        'x-private': 'secret',
        'keep-alive': 'timeout=5',
        'proxy-authorization': 'Basic Zm9vOmJhcg==',
        te: 'trailers',
        'x-forwarded-for': '203.0.113.9',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'https',
        authorization: 'Bearer abc',
      },
    });
    assert.equal(r.status, 200);
    assert.ok(seen);
    assert.equal(seen.url, '/a/b?x=1&y=%20');
    assert.equal(seen.headers.host, 'app.example.com');
    assert.equal(seen.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
    assert.equal(seen.headers['x-forwarded-host'], 'app.example.com');
    assert.equal(seen.headers['x-forwarded-proto'], 'https', 'passed through when the caller sets none (authentik 2024.x)');
    assert.equal(seen.headers.authorization, 'Bearer abc');
    for (const h of ['x-private', 'keep-alive', 'proxy-authorization', 'te']) assert.equal(seen.headers[h], undefined, h);
  });

  it('sets X-Forwarded-Proto when the caller asks and uses the caller-given client address', async () => {
    let seen: IncomingMessage | undefined;
    handler = (req, res) => {
      seen = req;
      res.end();
    };
    extra = { forwardedProto: 'http', clientIp: '198.51.100.7' };
    await call(proxyPort, '/', { headers: { 'x-forwarded-proto': 'https' } });
    assert.equal(seen?.headers['x-forwarded-proto'], 'http');
    assert.equal(seen?.headers['x-forwarded-for'], '198.51.100.7');
  });

  it('drops hop-by-hop response headers, keeps repeated ones, and overwrites X-Powered-By', async () => {
    handler = (_req, res) => {
      res.setHeader('connection', 'x-upstream-hop');
      res.setHeader('x-upstream-hop', '1');
      res.setHeader('keep-alive', 'timeout=99');
      res.setHeader('x-powered-by', 'Express');
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.writeHead(201, 'Made It');
      res.end('created');
    };
    const r = await call(proxyPort, '/');
    assert.equal(r.status, 201);
    assert.equal(r.body.toString(), 'created');
    assert.equal(r.headers['x-powered-by'], 'goauthentik.io');
    assert.equal(r.headers['x-upstream-hop'], undefined);
    assert.notEqual(r.headers['keep-alive'], 'timeout=99');
    assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(results[0]?.status, 201);
    assert.ok(results[0]!.durationMs >= results[0]!.headersMs);
  });

  it('streams 50 MB up and back down without holding it (digest equal, memory reported)', async () => {
    handler = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
    };
    const total = 50 * MB;
    const chunk = Buffer.alloc(64 * 1024);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31) & 0xff;
    const sent = createHash('sha256');
    const got = createHash('sha256');
    let received = 0;
    global.gc?.();
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    await new Promise<void>((resolve, reject) => {
      const r = httpRequest({ host: '127.0.0.1', port: proxyPort, path: '/echo', method: 'POST', agent: false, headers: { 'content-type': 'application/octet-stream' } }, (res) => {
        assert.equal(res.statusCode, 200);
        res.on('data', (c: Buffer) => {
          received += c.length;
          got.update(c);
        });
        res.on('end', resolve);
        res.on('error', reject);
      });
      r.on('error', reject);
      let written = 0;
      const pump = () => {
        while (written < total) {
          written += chunk.length;
          sent.update(chunk);
          if (!r.write(chunk)) return void r.once('drain', pump);
        }
        r.end();
      };
      pump();
    });
    clearInterval(sampler);
    assert.equal(received, total);
    assert.equal(got.digest('hex'), sent.digest('hex'));
    // Client, proxy and upstream share this process: the growth covers all three.
    console.log(`# 50 MB echo through the proxy: RSS ${(rss0 / MB).toFixed(1)} MB → peak ${(peak / MB).toFixed(1)} MB (+${((peak - rss0) / MB).toFixed(1)} MB, client+proxy+upstream in one process)`);
  });

  it('pauses the upstream while the client does not read (backpressure), then delivers everything', async () => {
    const total = 200 * MB;
    let written = 0;
    let upstreamDone = false;
    handler = (_req, res) => {
      res.writeHead(200, { 'content-length': total });
      const chunk = Buffer.alloc(256 * 1024, 7);
      const pump = () => {
        while (written < total) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end(() => (upstreamDone = true));
      };
      pump();
    };
    let received = 0;
    const done = new Promise<void>((resolve, reject) => {
      const r = httpRequest({ host: '127.0.0.1', port: proxyPort, path: '/big', agent: false }, (res) => {
        res.pause();
        (async () => {
          // Wait until the upstream stops making progress: it is held back by the paused client.
          let last = -1;
          while (written !== last) {
            last = written;
            await new Promise((r) => setTimeout(r, 300));
          }
          console.log(`# upstream stalled after ${(written / MB).toFixed(1)} MB of ${total / MB} MB while the client did not read`);
          assert.ok(written < 64 * MB, `the upstream wrote ${written} bytes into a non-reading client`);
          res.on('data', (c: Buffer) => (received += c.length));
          res.on('end', resolve);
          res.resume();
        })().catch(reject);
      });
      r.on('error', reject);
      r.end();
    });
    await done;
    assert.equal(received, total);
    await waitFor(() => upstreamDone);
  });

  it('answers 502 with the HTML page when the upstream is down, and the caller gets upstream_unreachable', async () => {
    target = new URL(`http://127.0.0.1:${await closedPort()}`);
    const r = await call(proxyPort, '/');
    assert.equal(r.status, 502);
    assert.match(r.headers['content-type'] ?? '', /text\/html/);
    assert.match(r.body.toString(), /<title>Bad Gateway<\/title>/);
    assert.match(r.body.toString(), /Error proxying to upstream server/);
    assert.equal(errors[0]?.code, 'upstream_unreachable');
    assert.equal(errors[0]?.responseStarted, false);
  });

  it('answers 502 (upstream_timeout) when the upstream never sends a head', async () => {
    const held: ServerResponse[] = [];
    handler = (_req, res) => void held.push(res);
    extra = { headersTimeoutMs: 200 };
    const r = await call(proxyPort, '/slow');
    assert.equal(r.status, 502);
    assert.equal(errors[0]?.code, 'upstream_timeout');
    for (const res of held) res.destroy();
  });

  it('answers 502 (upstream_timeout) at the connect timeout when the upstream never accepts the connection, then serves others as before', async () => {
    const hung = await startUnacceptingListener();
    const short = new UpstreamDispatchers({ connectTimeoutMs: 300 });
    try {
      target = new URL(`http://${hung.host}:${hung.port}`);
      // The head's timeout is far longer: only the connect timeout can end this in time.
      extra = { dispatcher: short.get(target, true), headersTimeoutMs: 5_000 };
      const r = await Promise.race([call(proxyPort, '/'), sleep(4_000, undefined, { ref: false })]);
      assert.ok(r !== undefined, 'answered within 4 s');
      assert.equal(r.status, 502);
      assert.match(r.body.toString(), /Error proxying to upstream server/);
      assert.equal(errors[0]?.code, 'upstream_timeout');
      assert.equal(errors[0]?.status, 502);
      assert.equal(errors[0]?.responseStarted, false);
      assert.equal((errors[0]?.cause as { code?: string } | undefined)?.code, 'UND_ERR_CONNECT_TIMEOUT');
      assert.match(errors[0]?.message ?? '', /did not accept the connection in time/);

      target = new URL(`http://127.0.0.1:${upstreamPort}`);
      extra = { dispatcher: short.get(target, true) };
      handler = (_req, res) => res.end('fine');
      const ok = await call(proxyPort, '/');
      assert.equal(ok.status, 200);
      assert.equal(ok.body.toString(), 'fine');
    } finally {
      await short.close(true);
      await hung.close();
    }
  });

  it('destroys the client connection when the upstream resets mid-body (no truncated response looks complete)', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-length': MB });
      res.write(Buffer.alloc(100 * 1024));
      setTimeout(() => res.socket?.destroy(), 50);
    };
    await assert.rejects(call(proxyPort, '/reset'));
    await waitFor(() => errors.length === 1);
    assert.equal(errors[0]?.code, 'upstream_reset');
    assert.equal(errors[0]?.responseStarted, true);
  });

  it('destroys the client connection when a chunked upstream response is cut', async () => {
    handler = (_req, res) => {
      res.writeHead(200);
      res.write('part one');
      setTimeout(() => res.socket?.destroy(), 50);
    };
    await assert.rejects(call(proxyPort, '/reset-chunked'));
    await waitFor(() => errors.length === 1);
    assert.equal(errors[0]?.code, 'upstream_reset');
  });

  it('aborts the upstream request when the client goes away before the head', async () => {
    let upstreamClosed = false;
    let upstreamGotIt = false;
    handler = (req, res) => {
      upstreamGotIt = true;
      res.on('close', () => (upstreamClosed = !res.writableFinished));
      void req;
    };
    const r = httpRequest({ host: '127.0.0.1', port: proxyPort, path: '/hang', agent: false });
    r.on('error', () => {});
    r.end();
    await waitFor(() => upstreamGotIt);
    r.destroy();
    await waitFor(() => upstreamClosed);
    await waitFor(() => errors.length === 1);
    assert.equal(errors[0]?.code, 'client_aborted');
  });

  it('aborts the upstream request when the client goes away mid-body, also while paused', async () => {
    let upstreamClosed = false;
    handler = (_req, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024);
      const pump = () => {
        while (!res.destroyed) if (!res.write(chunk)) return void res.once('drain', pump);
      };
      res.on('close', () => (upstreamClosed = true));
      pump();
    };
    await new Promise<void>((resolve, reject) => {
      const r = httpRequest({ host: '127.0.0.1', port: proxyPort, path: '/endless', agent: false }, (res) => {
        res.pause();
        setTimeout(() => {
          r.destroy();
          resolve();
        }, 200);
      });
      r.on('error', () => {});
      r.on('timeout', reject);
      r.end();
    });
    await waitFor(() => upstreamClosed);
    await waitFor(() => errors.length === 1);
    assert.equal(errors[0]?.code, 'client_aborted');
    assert.equal(errors[0]?.responseStarted, true);
  });

  it("aborts the upstream request when the caller's signal aborts", async () => {
    let upstreamClosed = false;
    handler = (_req, res) => void res.on('close', () => (upstreamClosed = true));
    const ac = new AbortController();
    extra = { signal: ac.signal };
    const p = call(proxyPort, '/cancel').catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    ac.abort();
    await waitFor(() => upstreamClosed);
    await waitFor(() => errors.length === 1);
    assert.equal(errors[0]?.code, 'client_aborted');
    // The caller's own error path decides what the client gets; here: nothing was rendered.
    proxy.closeAllConnections();
    await p;
  });

  it('forwards a HEAD and a 204 without a body', async () => {
    handler = (req, res) => {
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'content-length': 1234 });
        res.end();
      } else {
        res.writeHead(204);
        res.end();
      }
    };
    const head = await call(proxyPort, '/', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], '1234');
    assert.equal(head.body.length, 0);
    const none = await call(proxyPort, '/', { method: 'DELETE' });
    assert.equal(none.status, 204);
  });

  it('forwards a body with Content-Length as is', async () => {
    let got = '';
    let length: string | undefined;
    handler = (req, res) => {
      length = req.headers['content-length'];
      req.setEncoding('utf8');
      req.on('data', (c: string) => (got += c));
      req.on('end', () => res.end('thanks'));
    };
    const r = await call(proxyPort, '/form', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from('a=1&b=2') });
    assert.equal(r.status, 200);
    assert.equal(got, 'a=1&b=2');
    assert.equal(length, '7');
  });

  it("passes on an upstream's early answer while the request body is still coming", async () => {
    handler = (_req, res) => {
      res.writeHead(413, { connection: 'close' });
      res.end('too large');
    };
    const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: proxyPort, path: '/upload', method: 'POST', agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          resolve({ status: res.statusCode!, body });
          req.destroy();
        });
      });
      req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
      req.write(Buffer.alloc(64 * 1024)); // and never end it
    });
    assert.equal(r.status, 413);
    assert.equal(r.body, 'too large');
  });

  it('cuts the client when the upstream body idles past bodyTimeoutMs, but not while the client is the slow one', async () => {
    const held: ServerResponse[] = [];
    handler = (_req, res) => {
      res.writeHead(200);
      res.write('first');
      held.push(res); // then nothing
    };
    extra = { bodyTimeoutMs: 300 };
    await assert.rejects(call(proxyPort, '/idle'));
    await waitFor(() => errors.length === 1);
    assert.equal(errors[0]?.code, 'upstream_reset');
    for (const res of held) res.destroy();

    // A client that does not read for 3x the body timeout: the upstream is paused, not timed out.
    const total = 64 * MB;
    handler = (_req, res) => {
      res.writeHead(200, { 'content-length': total });
      const chunk = Buffer.alloc(256 * 1024);
      let written = 0;
      const pump = () => {
        while (written < total) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    };
    const received = await new Promise<number>((resolve, reject) => {
      const r = httpRequest({ host: '127.0.0.1', port: proxyPort, path: '/slow-reader', agent: false }, (res) => {
        res.pause();
        let n = 0;
        setTimeout(() => {
          res.on('data', (c: Buffer) => (n += c.length));
          res.on('end', () => resolve(n));
          res.on('aborted', () => reject(new Error('aborted')));
          res.resume();
        }, 900);
      });
      r.on('error', reject);
      r.end();
    });
    assert.equal(received, total);
  });

  it('keeps one dispatcher per (origin, validation)', () => {
    const d = new UpstreamDispatchers();
    const a = d.get(new URL('https://a.internal:8443/x'), true);
    assert.equal(d.get(new URL('https://a.internal:8443/y'), true), a);
    assert.notEqual(d.get(new URL('https://a.internal:8443/'), false), a);
    assert.notEqual(d.get(new URL('https://b.internal:8443/'), true), a);
    assert.equal(d.size, 3);
    return d.close();
  });

  describe('a TLS upstream with a self-signed certificate', () => {
    let tlsUpstream: ReturnType<typeof createHttpsServer>;
    let tlsPort = 0;
    before(async () => {
      const cert = await generateSelfSignedCertificate();
      tlsUpstream = createHttpsServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => res.end(`tls ${req.headers.host}`));
      tlsUpstream.listen(0, '127.0.0.1');
      await once(tlsUpstream, 'listening');
      tlsPort = (tlsUpstream.address() as AddressInfo).port;
    });
    after(() => {
      tlsUpstream.closeAllConnections();
      tlsUpstream.close();
    });

    it('is reached with validation off', async () => {
      target = new URL(`https://127.0.0.1:${tlsPort}`);
      validateTls = false;
      const r = await call(proxyPort, '/', { headers: { host: 'app.example.com' } });
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), 'tls app.example.com');
    });

    it('is refused with validation on (502, upstream_unreachable)', async () => {
      target = new URL(`https://127.0.0.1:${tlsPort}`);
      validateTls = true;
      const r = await call(proxyPort, '/');
      assert.equal(r.status, 502);
      assert.equal(errors[0]?.code, 'upstream_unreachable');
    });
  });
});
