// The PROXY preamble in front of Node's own HTTP and HTTPS servers, over raw TCP from loopback:
// a trusted peer's v1/v2 header becomes the socket's peer (also under TLS, whose ClientHello
// follows the header), its absence changes nothing, an untrusted peer's header is the HTTP
// parser's problem (400), a broken or unfinished header closes the connection.
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { CidrMatcher } from '../../src/net/cidr.ts';
import { acceptProxyProtocol, type ProxyPreamble, type ProxyPreambleRefusal } from '../../src/net/proxy-preamble.ts';
import { encodeProxyHeader, PROXY_V2_SIGNATURE } from '../../src/net/proxy-protocol.ts';
import { generateSelfSignedCertificate } from '../../src/ldap/server/self-signed.ts';

const SOURCE = { address: '203.0.113.7', port: 40000 };
const DEST = { address: '198.51.100.1', port: 443 };
const GET = 'GET /who HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';

/** Answers with the peer the request's socket reports. */
function whoAmI(req: IncomingMessage, res: ServerResponse): void {
  res.end(`${req.socket.remoteAddress}:${req.socket.remotePort}`);
}

interface Listening {
  port: number;
  preamble: ProxyPreamble;
  refused: { reason: ProxyPreambleRefusal; peer: string }[];
  close(): Promise<void>;
}

async function serve(server: Server, trusted: string[], timeoutMs = 300): Promise<Listening> {
  const refused: Listening['refused'] = [];
  const preamble = acceptProxyProtocol(server, { trusted: CidrMatcher.of(trusted), timeoutMs, onRefused: (reason, peer) => refused.push({ reason, peer }) });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    preamble,
    refused,
    close: () =>
      new Promise<void>((resolve) => {
        preamble.destroyPending();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Resolves when the socket closes, reset or not (`once` would reject on the reset's error). */
function closed(socket: Socket): Promise<void> {
  socket.on('error', () => {});
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

/** Writes each chunk (a small pause between them), returns everything read until the server closes. */
async function exchange(port: number, chunks: (string | Buffer)[], gapMs = 0): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const received: Buffer[] = [];
  socket.on('data', (d: Buffer) => received.push(d));
  const ended = closed(socket);
  for (const c of chunks) {
    socket.write(c);
    if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
  }
  await ended;
  return Buffer.concat(received).toString('latin1');
}

function bodyOf(response: string): string {
  return response.slice(response.indexOf('\r\n\r\n') + 4);
}

describe('PROXY preamble on an HTTP server', () => {
  let trusted: Listening;
  let untrusted: Listening;
  before(async () => {
    trusted = await serve(createServer(whoAmI), ['127.0.0.0/8', '::1/128']);
    untrusted = await serve(createServer(whoAmI), ['192.0.2.0/24']);
  });
  after(async () => {
    await trusted?.close();
    await untrusted?.close();
  });

  test('a v1 header from a trusted peer makes its source the peer', async () => {
    const r = await exchange(trusted.port, [encodeProxyHeader(1, SOURCE, DEST), GET]);
    assert.match(r, /^HTTP\/1\.1 200/);
    assert.equal(bodyOf(r), '203.0.113.7:40000');
  });

  test('a v2 header in the same packet as the request, IPv6 too', async () => {
    const v6 = { address: '2001:db8::7', port: 5555 };
    const r = await exchange(trusted.port, [Buffer.concat([encodeProxyHeader(2, v6, { address: '2001:db8::1', port: 80 }), Buffer.from(GET)])]);
    assert.equal(bodyOf(r), '2001:db8::7:5555');
  });

  test('a header arriving byte by byte is still read', async () => {
    const bytes = [...encodeProxyHeader(2, SOURCE, DEST)].map((b) => Buffer.from([b]));
    const r = await exchange(trusted.port, [...bytes, GET], 2);
    assert.equal(bodyOf(r), '203.0.113.7:40000');
  });

  test('without a header a trusted peer is served as itself, keep-alive included', async () => {
    const twice = 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n' + GET;
    const r = await exchange(trusted.port, [twice]);
    const bodies = r.split('HTTP/1.1 200').slice(1);
    assert.equal(bodies.length, 2);
    for (const b of bodies) assert.match(b, /127\.0\.0\.1:\d+$/);
  });

  test('the second request of a proxied keep-alive connection keeps the proxied peer', async () => {
    const r = await exchange(trusted.port, [encodeProxyHeader(1, SOURCE, DEST), 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n', GET], 20);
    assert.equal((r.match(/203\.0\.113\.7:40000/g) ?? []).length, 2);
  });

  test('v2 LOCAL (a health check of the proxy itself) keeps the real peer', async () => {
    const local = Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00])]);
    const r = await exchange(trusted.port, [local, GET]);
    assert.match(bodyOf(r), /^127\.0\.0\.1:/);
  });

  test('a header from an untrusted peer is not read: the HTTP parser answers 400', async () => {
    const r = await exchange(untrusted.port, [encodeProxyHeader(1, SOURCE, DEST), GET]);
    assert.match(r, /^HTTP\/1\.1 400/);
    assert.doesNotMatch(r, /203\.0\.113\.7/);
    assert.equal(untrusted.refused.length, 0);
  });

  test('an untrusted peer without a header is served at once', async () => {
    const r = await exchange(untrusted.port, [GET]);
    assert.match(bodyOf(r), /^127\.0\.0\.1:/);
  });

  test('a malformed header closes the connection without an answer', async () => {
    const r = await exchange(trusted.port, ['PROXY TCP4 not-an-ip 198.51.100.1 1 2\r\n', GET]);
    assert.equal(r, '');
    assert.equal(trusted.refused.at(-1)?.reason, 'invalid');
  });

  test('a header started and not finished in time closes the connection', async () => {
    const socket = connect(trusted.port, '127.0.0.1');
    const ended = closed(socket);
    await once(socket, 'connect');
    socket.write('PROXY TCP4 203.0.113.7');
    const started = Date.now();
    await ended;
    assert.ok(Date.now() - started >= 250, 'closed at the deadline, not before');
    assert.equal(trusted.refused.at(-1)?.reason, 'timeout');
  });

  test('a trusted peer silent past the deadline is handed to HTTP as it is', async () => {
    const r = await exchange(trusted.port, [Buffer.alloc(0), GET], 400);
    assert.match(bodyOf(r), /^127\.0\.0\.1:/);
  });

  test('destroyPending ends the sockets still in their preamble', async () => {
    const socket = connect(trusted.port, '127.0.0.1');
    const ended = closed(socket);
    await once(socket, 'connect');
    socket.write('PRO');
    for (let i = 0; i < 50 && trusted.preamble.pending === 0; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(trusted.preamble.pending, 1);
    trusted.preamble.destroyPending();
    await ended;
    assert.equal(trusted.preamble.pending, 0);
  });
});

describe('PROXY preamble on an HTTPS server', () => {
  let served: Listening;
  before(async () => {
    const cert = await generateSelfSignedCertificate();
    served = await serve(createHttpsServer({ cert: cert.certPem, key: cert.keyPem, minVersion: 'TLSv1.2' }, whoAmI) as unknown as Server, ['127.0.0.0/8']);
  });
  after(() => served?.close());

  async function tlsGet(header: Buffer | undefined): Promise<string> {
    const raw: Socket = connect(served.port, '127.0.0.1');
    await once(raw, 'connect');
    if (header) raw.write(header);
    const tls = tlsConnect({ socket: raw, rejectUnauthorized: false, servername: 'app.test' });
    const ended = closed(tls);
    await once(tls, 'secureConnect');
    tls.write(GET);
    const chunks: Buffer[] = [];
    tls.on('data', (d: Buffer) => chunks.push(d));
    await ended;
    return Buffer.concat(chunks).toString('latin1');
  }

  test('the header comes before the ClientHello; the TLS socket reports its source', async () => {
    assert.equal(bodyOf(await tlsGet(encodeProxyHeader(1, SOURCE, DEST))), '203.0.113.7:40000');
    assert.equal(bodyOf(await tlsGet(encodeProxyHeader(2, SOURCE, DEST))), '203.0.113.7:40000');
  });

  test('TLS without a header from a trusted peer', async () => {
    assert.match(bodyOf(await tlsGet(undefined)), /^127\.0\.0\.1:/);
  });
});
