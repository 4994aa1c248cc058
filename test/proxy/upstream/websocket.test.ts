// proxyUpgrade with the `ws` package on both ends: frames both ways, closes propagate both ways,
// an upstream that is down, silent, refusing, or behind a self-signed TLS certificate.
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { connect, createServer as createNetServer, type Socket } from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { generateSelfSignedCertificate } from '../../../src/ldap/server/self-signed.ts';
import { proxyUpgrade, type UpgradeOptions, type UpgradeResult } from '../../../src/proxy/upstream/websocket.ts';
import { UpstreamError } from '../../../src/proxy/upstream/errors.ts';

async function listen(server: Server | HttpsServer | ReturnType<typeof createNetServer>): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

const waitFor = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

/** A TCP server that accepts connections, reads everything and never answers; counts the closes. */
async function startSilentUpstream(): Promise<{ server: ReturnType<typeof createNetServer>; port: number; held: Socket[]; readonly closed: number }> {
  const held: Socket[] = [];
  let closed = 0;
  const server = createNetServer((s) => {
    held.push(s);
    s.resume();
    s.on('close', () => closed++);
  });
  const port = await listen(server);
  return {
    server,
    port,
    held,
    get closed() {
      return closed;
    },
  };
}

/** Open a client; resolves open, or rejects with the unexpected status / error. */
function open(url: string, headers?: Record<string, string>): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      reject(Object.assign(new Error(`status ${res.statusCode}`), { status: res.statusCode, headers: res.headers }));
      res.resume();
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

describe('proxyUpgrade', () => {
  let upstreamHttp: Server;
  let wss: WebSocketServer;
  let upstreamPort = 0;
  let proxy: Server;
  let proxyPort = 0;
  let target: URL;
  let extra: Partial<UpgradeOptions> = {};
  let results: UpgradeResult[] = [];
  let errors: UpstreamError[] = [];
  let upstreamRequests: IncomingMessage[] = [];
  let onUpstream: (ws: WebSocket) => void = () => {};
  let refuse = false;
  // Upgraded sockets are no longer the server's: closeAllConnections does not see them.
  const upgraded = new Set<import('node:stream').Duplex>();

  before(async () => {
    upstreamHttp = createServer();
    wss = new WebSocketServer({
      server: upstreamHttp,
      verifyClient: (_info, cb) => (refuse ? cb(false, 401, 'Unauthorized') : cb(true)),
    });
    wss.on('connection', (ws, req) => {
      upstreamRequests.push(req);
      onUpstream(ws);
    });
    upstreamPort = await listen(upstreamHttp);
    proxy = createServer((_req, res) => res.end('not an upgrade'));
    proxy.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
      upgraded.add(socket);
      socket.once('close', () => upgraded.delete(socket));
      proxyUpgrade({ req, socket, head, target, headers: req.headers, handshakeTimeoutMs: 2000, ...extra }).then(
        (r) => results.push(r),
        (e: unknown) => {
          assert.ok(e instanceof UpstreamError, String(e));
          errors.push(e);
        },
      );
    });
    proxyPort = await listen(proxy);
  });
  beforeEach(() => {
    target = new URL(`http://127.0.0.1:${upstreamPort}/ignored`);
    extra = {};
    results = [];
    errors = [];
    upstreamRequests = [];
    onUpstream = () => {};
    refuse = false;
  });
  after(() => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    upstreamHttp.closeAllConnections();
    upstreamHttp.close();
    proxy.closeAllConnections();
    for (const s of upgraded) s.destroy();
    proxy.close();
  });

  it('carries text and binary frames both ways, with the path, Host and X-Forwarded-* of a plain request', async () => {
    onUpstream = (ws) => ws.on('message', (data, isBinary) => ws.send(isBinary ? Buffer.concat([Buffer.from('echo:'), data as Buffer]) : `echo:${String(data)}`));
    const ws = await open(`ws://127.0.0.1:${proxyPort}/socket?room=1`, { host: 'app.example.com', 'x-forwarded-for': '203.0.113.9' });
    const replies: Array<{ data: Buffer; isBinary: boolean }> = [];
    ws.on('message', (data, isBinary) => replies.push({ data: data as Buffer, isBinary }));
    ws.send('hello');
    const big = Buffer.alloc(1024 * 1024, 9);
    ws.send(big);
    await waitFor(() => replies.length === 2);
    assert.equal(replies[0]!.isBinary, false);
    assert.equal(replies[0]!.data.toString(), 'echo:hello');
    assert.equal(replies[1]!.isBinary, true);
    assert.equal(replies[1]!.data.length, big.length + 5);
    const req = upstreamRequests[0]!;
    assert.equal(req.url, '/socket?room=1');
    assert.equal(req.headers.host, 'app.example.com');
    assert.equal(req.headers['x-forwarded-host'], 'app.example.com');
    assert.equal(req.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
    assert.equal(results[0]?.status, 101);
    ws.close();
    await results[0]!.closed;
  });

  it("passes the client's close to the upstream, and both sockets close", async () => {
    let upstreamClose: number | undefined;
    onUpstream = (ws) => ws.on('close', (code) => (upstreamClose = code));
    const ws = await open(`ws://127.0.0.1:${proxyPort}/`);
    await waitFor(() => results.length === 1);
    ws.close(4001, 'bye');
    await waitFor(() => upstreamClose !== undefined);
    assert.equal(upstreamClose, 4001);
    await results[0]!.closed;
  });

  it("passes the upstream's close to the client", async () => {
    onUpstream = (ws) => setTimeout(() => ws.close(4002, 'server says bye'), 50);
    const ws = await open(`ws://127.0.0.1:${proxyPort}/`);
    const [code, reason] = (await once(ws, 'close')) as [number, Buffer];
    assert.equal(code, 4002);
    assert.equal(reason.toString(), 'server says bye');
    await results[0]!.closed;
  });

  it('closes the client when the upstream connection drops without a close frame', async () => {
    onUpstream = (ws) => setTimeout(() => ws.terminate(), 50);
    const ws = await open(`ws://127.0.0.1:${proxyPort}/`);
    const [code] = (await once(ws, 'close')) as [number];
    assert.equal(code, 1006);
    await results[0]!.closed;
  });

  it('answers 502 and ends the client socket when the upstream is down', async () => {
    const s = createNetServer();
    const port = await listen(s);
    await new Promise((r) => s.close(r));
    target = new URL(`http://127.0.0.1:${port}`);
    const err = (await open(`ws://127.0.0.1:${proxyPort}/`).then(
      () => assert.fail('opened'),
      (e: unknown) => e,
    )) as { status?: number; headers?: Record<string, string> };
    assert.equal(err.status, 502);
    assert.equal(err.headers?.['x-powered-by'], 'goauthentik.io');
    await waitFor(() => errors.length === 1);
    assert.equal(errors[0]!.code, 'upstream_unreachable');
  });

  it('ends a raw client socket after the 502 when the upstream is down', async () => {
    const s = createNetServer();
    const port = await listen(s);
    await new Promise((r) => s.close(r));
    target = new URL(`http://127.0.0.1:${port}`);
    const raw = connect(proxyPort, '127.0.0.1');
    raw.write('GET /ws HTTP/1.1\r\nHost: app\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
    let text = '';
    raw.setEncoding('latin1');
    raw.on('data', (c: string) => (text += c));
    await once(raw, 'end');
    assert.match(text, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
    assert.match(text, /Connection: close/);
    assert.match(text, /Error proxying to upstream server/);
    raw.destroy();
  });

  it('answers 502 (upstream_timeout) when the upstream never answers the upgrade', async () => {
    const silent = await startSilentUpstream();
    target = new URL(`http://127.0.0.1:${silent.port}`);
    extra = { handshakeTimeoutMs: 150 };
    const err = (await open(`ws://127.0.0.1:${proxyPort}/`).catch((e: unknown) => e)) as { status?: number };
    assert.equal(err.status, 502);
    assert.equal(errors[0]?.code, 'upstream_timeout');
    await waitFor(() => silent.closed === 1);
    silent.server.close();
  });

  it("passes an upstream's refusal (401) through with Connection: close", async () => {
    refuse = true;
    const err = (await open(`ws://127.0.0.1:${proxyPort}/`).catch((e: unknown) => e)) as { status?: number; headers?: Record<string, string> };
    assert.equal(err.status, 401);
    assert.equal(err.headers?.connection, 'close');
    assert.equal(err.headers?.['x-powered-by'], 'goauthentik.io');
    await waitFor(() => results.length === 1);
    assert.equal(results[0]!.status, 401);
    await results[0]!.closed;
  });

  it('closes the upstream when the client goes away during the handshake', async () => {
    const silent = await startSilentUpstream();
    target = new URL(`http://127.0.0.1:${silent.port}`);
    const ws = new WebSocket(`ws://127.0.0.1:${proxyPort}/`);
    ws.on('error', () => {});
    await waitFor(() => silent.held.length === 1);
    ws.terminate();
    await waitFor(() => silent.closed === 1);
    await waitFor(() => errors.length === 1);
    assert.equal(errors[0]!.code, 'client_aborted');
    silent.server.close();
  });

  describe('a wss upstream with a self-signed certificate', () => {
    let tlsHttp: HttpsServer;
    let tlsWss: WebSocketServer;
    let tlsPort = 0;
    before(async () => {
      const cert = await generateSelfSignedCertificate();
      tlsHttp = createHttpsServer({ cert: cert.certPem, key: cert.keyPem });
      tlsWss = new WebSocketServer({ server: tlsHttp });
      tlsWss.on('connection', (ws) => ws.on('message', (d) => ws.send(`tls:${String(d)}`)));
      tlsPort = await listen(tlsHttp);
    });
    after(() => {
      for (const c of tlsWss.clients) c.terminate();
      tlsWss.close();
      tlsHttp.closeAllConnections();
      tlsHttp.close();
    });

    it('works with validation off', async () => {
      target = new URL(`https://127.0.0.1:${tlsPort}`);
      extra = { tls: { rejectUnauthorized: false } };
      const ws = await open(`ws://127.0.0.1:${proxyPort}/`);
      ws.send('ping');
      const [data] = (await once(ws, 'message')) as [Buffer];
      assert.equal(data.toString(), 'tls:ping');
      ws.close();
      await results[0]!.closed;
    });

    it('is refused with validation on (502)', async () => {
      target = new URL(`https://127.0.0.1:${tlsPort}`);
      extra = { tls: { rejectUnauthorized: true } };
      const err = (await open(`ws://127.0.0.1:${proxyPort}/`).catch((e: unknown) => e)) as { status?: number };
      assert.equal(err.status, 502);
      assert.equal(errors[0]?.code, 'upstream_unreachable');
    });
  });
});
