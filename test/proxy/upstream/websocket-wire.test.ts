// proxyUpgrade on the wire: raw clients and scripted upstreams on 127.0.0.1, to say exactly what
// each side sends. The client's upgrade request (token lists, other upgrades, bodies), the
// upstream's 101 (strict, bounded), refusals (relayed as one framed answer, never a tunnel),
// early bytes both ways, and how the two connections close together.
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { proxyUpgrade, type UpgradeOptions, type UpgradeResult } from '../../../src/proxy/upstream/websocket.ts';
import { UpstreamError } from '../../../src/proxy/upstream/errors.ts';

async function listen(server: Server | NetServer): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(5);
  }
}

async function within<T>(p: Promise<T>, what: string, ms = 3000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';
/** A websocket upgrade request; `fields` are extra header lines, each ending in CRLF. */
const upgradeRequest = (fields = 'Connection: Upgrade\r\nUpgrade: websocket\r\n') =>
  `GET /ws HTTP/1.1\r\nHost: app.example.com\r\n${fields}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\n\r\n`;
const SWITCH = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${ACCEPT}\r\n\r\n`;
/** What the client gets for SWITCH. */
const CLIENT_SWITCH = `HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: ${ACCEPT}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nX-Powered-By: goauthentik.io\r\n\r\n`;

/** One connection the scripted upstream accepted. */
interface UpstreamConn {
  readonly socket: Socket;
  /** Everything received so far, latin1. */
  text: string;
  ended: boolean;
  closed: boolean;
}

/** A raw client of the proxy. */
interface RawClient {
  readonly socket: Socket;
  text: string;
  bytes: number;
  ended: boolean;
  closed: boolean;
}

describe('proxyUpgrade on the wire', () => {
  let proxy: Server;
  let proxyPort = 0;
  let upstream: NetServer;
  let upstreamPort = 0;
  let conns: UpstreamConn[] = [];
  let onConn: (c: UpstreamConn) => void = () => {};
  let extra: Partial<UpgradeOptions> = {};
  let results: UpgradeResult[] = [];
  let errors: UpstreamError[] = [];
  const opened = new Set<Duplex>();

  function rawClient(request: string | Buffer): RawClient {
    const socket = connect(proxyPort, '127.0.0.1');
    opened.add(socket);
    const c: RawClient = { socket, text: '', bytes: 0, ended: false, closed: false };
    socket.on('data', (d: Buffer) => {
      c.text += d.toString('latin1');
      c.bytes += d.length;
    });
    socket.on('end', () => (c.ended = true));
    socket.on('close', () => (c.closed = true));
    socket.on('error', () => {});
    socket.write(request);
    return c;
  }

  /**
   * Resolves once the proxy has closed its end of `c` for good: a FIN came, and then what the
   * upstream writes is refused (a reset), which a mere half-close would still take.
   */
  async function upstreamDropped(c: UpstreamConn | undefined): Promise<void> {
    await waitFor(() => c?.ended === true, 'a FIN from the proxy');
    await waitFor(() => {
      if (!c!.closed) c!.socket.write('?');
      return c!.closed;
    }, 'the proxy to refuse bytes');
  }

  /** Resolves with the first connection's text once it holds a whole request head. */
  async function requestHead(): Promise<UpstreamConn> {
    await waitFor(() => conns[0]?.text.includes('\r\n\r\n') === true, 'the upstream got the request head');
    return conns[0]!;
  }

  before(async () => {
    // allowHalfOpen: the upstream closes only when told to, so the proxy's own closing is seen.
    upstream = createNetServer({ allowHalfOpen: true }, (socket) => {
      opened.add(socket);
      const c: UpstreamConn = { socket, text: '', ended: false, closed: false };
      conns.push(c);
      socket.on('data', (d: Buffer) => (c.text += d.toString('latin1')));
      socket.on('end', () => (c.ended = true));
      socket.on('close', () => (c.closed = true));
      socket.on('error', () => {});
      onConn(c);
    });
    upstreamPort = await listen(upstream);
    proxy = createServer((_req, res) => res.end('not an upgrade'));
    proxy.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      opened.add(socket);
      const target = new URL(`http://127.0.0.1:${upstreamPort}`);
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
    conns = [];
    onConn = () => {};
    extra = {};
    results = [];
    errors = [];
  });
  afterEach(() => {
    for (const s of opened) s.destroy();
    opened.clear();
  });
  after(() => {
    proxy.closeAllConnections();
    proxy.close();
    upstream.close();
  });

  /** The upstream answers `answer` once the request head is in. */
  function answerWith(answer: string | Buffer): void {
    onConn = (c) => {
      const check = () => {
        if (!c.text.includes('\r\n\r\n')) return;
        c.socket.off('data', check);
        c.socket.write(typeof answer === 'string' ? Buffer.from(answer, 'latin1') : answer);
      };
      c.socket.on('data', check);
    };
  }

  describe("the client's request", () => {
    it('reads Connection and Upgrade as token lists over several lines, any case; the upstream gets exactly Connection: Upgrade, Upgrade: websocket', async () => {
      answerWith(SWITCH);
      const client = rawClient(upgradeRequest('Connection: keep-alive\r\nConnection: , UPGRADE ,\r\nUpgrade: foo/1, WebSocket\r\n'));
      await waitFor(() => client.text.includes('\r\n\r\n'), 'the 101');
      assert.match(client.text, /^HTTP\/1\.1 101 /);
      const head = conns[0]!.text.toLowerCase();
      assert.deepEqual(head.match(/^connection:.*$/gm), ['connection: upgrade']);
      assert.deepEqual(head.match(/^upgrade:.*$/gm), ['upgrade: websocket']);
    });

    it('sends an upgrade other than websocket upstream as a plain request (no Upgrade, Connection: close) and relays the answer', async () => {
      answerWith('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello');
      const client = rawClient('GET /page HTTP/1.1\r\nHost: app.example.com\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n');
      await waitFor(() => client.ended, 'the answer and the end');
      const head = (await requestHead()).text.toLowerCase();
      assert.doesNotMatch(head, /^upgrade:/m);
      assert.doesNotMatch(head, /^http2-settings:/m);
      assert.match(head, /^connection: close\r$/m);
      assert.match(client.text, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(client.text, /\r\nConnection: close\r\n/);
      assert.ok(client.text.endsWith('\r\n\r\nhello'), client.text);
      assert.equal(results[0]?.status, 200);
    });

    it('answers a plain request that gets a 101 anyway with 502', async () => {
      answerWith(SWITCH);
      const client = rawClient('GET /page HTTP/1.1\r\nHost: app.example.com\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
      await waitFor(() => client.ended, 'the 502');
      assert.match(client.text, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
      await upstreamDropped(conns[0]);
    });

    it('answers 400 to an upgrade request with a body, and never connects upstream', async () => {
      const client = rawClient(`GET /ws HTTP/1.1\r\nHost: app\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 5\r\n\r\nhello`);
      await waitFor(() => client.ended, 'the 400');
      assert.match(client.text, /^HTTP\/1\.1 400 Bad Request\r\n/);
      assert.equal(results[0]?.status, 400);
      await sleep(50);
      assert.equal(conns.length, 0);
    });
  });

  describe("the upstream's 101", () => {
    const bad: Array<[string, string]> = [
      ['HTTP/1.0', 'HTTP/1.0 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'],
      ['a four-digit status', 'HTTP/1.1 1010 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'],
      ['another protocol', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n'],
      ['websocket among others', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket, h2c\r\nConnection: Upgrade\r\n\r\n'],
      ['no Upgrade', 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n'],
      ['no Connection', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n'],
      ['Connection without upgrade', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: keep-alive, upgraded\r\n\r\n'],
      ['obs-fold', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-A: a\r\n folded\r\n\r\n'],
      ['a bare LF', 'HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\nConnection: Upgrade\n\n'],
      ['a bare LF in a value', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-A: a\nb\r\n\r\n'],
      ['a NUL', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-A: a\0b\r\n\r\n'],
      ['a space in a name', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nBad Name: x\r\n\r\n'],
      ['a space before the colon', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade : websocket\r\nConnection: Upgrade\r\n\r\n'],
      ['a line without a colon', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nnonsense\r\n\r\n'],
    ];
    for (const [what, answer] of bad) {
      it(`with ${what}: the client gets 502 and the upstream socket is destroyed`, async () => {
        answerWith(answer);
        const client = rawClient(upgradeRequest());
        await waitFor(() => client.ended, 'the 502');
        assert.match(client.text, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
        assert.doesNotMatch(client.text, /101/);
        await upstreamDropped(conns[0]);
        assert.equal(errors[0]?.code, 'upstream_unreachable');
      });
    }

    it('is accepted with no reason phrase, tokens in any case and among others, several Connection lines; the client gets the upgrade pair normalised', async () => {
      answerWith(`HTTP/1.1 101\r\nupgrade:  WebSocket \r\nconnection: keep-alive\r\nConnection: , Upgrade\r\nSec-WebSocket-Accept: ${ACCEPT}\r\nX-Powered-By: app\r\n\r\n`);
      const client = rawClient(upgradeRequest());
      await waitFor(() => client.text.includes('\r\n\r\n'), 'the 101');
      assert.equal(
        client.text,
        `HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: ${ACCEPT}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nX-Powered-By: goauthentik.io\r\n\r\n`,
      );
      assert.equal(results[0]?.status, 101);
    });

    it("is bounded by Node's maxHeaderSize (16 KiB): just under is relayed, just over is a 502 at once", async () => {
      const filler = (n: number) => `X-Fill: ${'a'.repeat(n)}\r\n`;
      const sized = (total: number) => {
        const base = SWITCH.length + filler(0).length;
        return SWITCH.replace('\r\n\r\n', `\r\n${filler(total - base)}\r\n`);
      };
      assert.equal(sized(16 * 1024).length, 16 * 1024);
      answerWith(sized(16 * 1024));
      const ok = rawClient(upgradeRequest());
      await waitFor(() => ok.text.includes('\r\n\r\n'), 'the 101');
      assert.match(ok.text, /^HTTP\/1\.1 101 /);
      ok.socket.destroy();

      conns = [];
      answerWith(sized(16 * 1024 + 1));
      const started = Date.now();
      const over = rawClient(upgradeRequest());
      await waitFor(() => over.ended, 'the 502');
      assert.match(over.text, /^HTTP\/1\.1 502 /);
      assert.ok(Date.now() - started < 1000);
      assert.match(errors.at(-1)?.message ?? '', /too large/);
    });

    it('comes after interim answers (100, 103), which the client does not see', async () => {
      answerWith(`HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n${SWITCH}`);
      const client = rawClient(upgradeRequest());
      await waitFor(() => client.text.includes('\r\n\r\n'), 'the 101');
      assert.match(client.text, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
      assert.doesNotMatch(client.text, /Early|Link/);
    });

    it('passes bytes that came in the same read as the 101 head (early frames) to the client', async () => {
      answerWith(`${SWITCH}\x81\x05early`);
      const client = rawClient(upgradeRequest());
      await waitFor(() => client.text.endsWith('\x81\x05early'), 'the early frame');
      assert.equal(client.text, `${CLIENT_SWITCH}\x81\x05early`);
    });

    it("holds the client's bytes sent after its request head until the 101, then passes them on in order", async () => {
      const client = rawClient(`${upgradeRequest()}FRAME-1`);
      const c = await requestHead();
      await sleep(100);
      client.socket.write('FRAME-2');
      await sleep(50);
      assert.ok(c.text.endsWith('\r\n\r\n'), `before the 101 the upstream got: ${JSON.stringify(c.text.slice(-40))}`);
      c.socket.write(SWITCH);
      await waitFor(() => c.text.endsWith('FRAME-1FRAME-2'), 'the held bytes');
      client.socket.write('FRAME-3');
      await waitFor(() => c.text.endsWith('FRAME-1FRAME-2FRAME-3'), 'the relayed bytes');
    });
  });

  describe('a refusal (an answer other than 101)', () => {
    it('is relayed as one answer and never a tunnel: bytes the client sent after its request never reach the upstream', async () => {
      answerWith('HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\nKeep-Alive: timeout=5\r\n\r\nnope');
      const smuggled = 'GET /admin HTTP/1.1\r\nHost: app.example.com\r\nX-authentik-username: akadmin\r\n\r\n';
      const client = rawClient(`${upgradeRequest()}${smuggled}`);
      await waitFor(() => client.ended, 'the answer and the end');
      client.socket.write(smuggled);
      await sleep(100);
      assert.match(client.text, /^HTTP\/1\.1 404 Not Found\r\n/);
      assert.ok(client.text.endsWith('\r\n\r\nnope'), client.text);
      assert.doesNotMatch(client.text, /Keep-Alive/i);
      assert.equal(conns.length, 1);
      assert.doesNotMatch(conns[0]!.text, /admin/);
      await upstreamDropped(conns[0]);
      assert.equal(results[0]?.status, 404);
      await within(results[0]!.closed, 'both sockets closed');
    });

    it('is cut at its Content-Length: what the upstream sends after it never reaches the client', async () => {
      answerWith('HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\nWWW-Authenticate: Basic\r\n\r\ndenyHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi');
      const client = rawClient(upgradeRequest());
      await waitFor(() => client.ended, 'the end');
      // Names come lower-cased, as on the slow path (undici's).
      assert.equal(client.text, 'HTTP/1.1 401 Unauthorized\r\ncontent-length: 4\r\nwww-authenticate: Basic\r\nConnection: close\r\nX-Powered-By: goauthentik.io\r\n\r\ndeny');
    });

    it('is relayed chunked to its last chunk, then both connections close although the upstream keeps its own open', async () => {
      const body = '4\r\nnope\r\n0\r\nX-Trailer: t\r\n\r\n';
      answerWith(`HTTP/1.1 426 Upgrade Required\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n${body}`);
      const client = rawClient(upgradeRequest());
      await waitFor(() => client.ended, 'the end');
      assert.equal(client.text, `HTTP/1.1 426 Upgrade Required\r\ntransfer-encoding: chunked\r\nConnection: close\r\nX-Powered-By: goauthentik.io\r\n\r\n${body}`);
      await upstreamDropped(conns[0]);
    });

    it('without framing is relayed until the upstream closes', async () => {
      onConn = (c) => c.socket.on('data', () => c.text.includes('\r\n\r\n') && c.socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n\r\nno entry'));
      const client = rawClient(upgradeRequest());
      await waitFor(() => client.ended, 'the end');
      assert.equal(client.text, 'HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\nConnection: close\r\nX-Powered-By: goauthentik.io\r\n\r\nno entry');
    });

    const malformed: Array<[string, string]> = [
      ['Transfer-Encoding with Content-Length', 'HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n4\r\nnope\r\n0\r\n\r\n'],
      ['two Content-Lengths', 'HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nnope!'],
      ['obs-fold', 'HTTP/1.1 404 Not Found\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n'],
      ['HTTP/2 in the status line', 'HTTP/2 404 Not Found\r\nContent-Length: 0\r\n\r\n'],
      ['a NUL', 'HTTP/1.1 404 Not Found\r\nX-A: a\0\r\nContent-Length: 0\r\n\r\n'],
    ];
    for (const [what, answer] of malformed) {
      it(`with ${what}: the client gets 502, nothing of it`, async () => {
        answerWith(answer);
        const client = rawClient(upgradeRequest());
        await waitFor(() => client.ended, 'the 502');
        assert.match(client.text, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
        assert.doesNotMatch(client.text, /404|nope/);
        await upstreamDropped(conns[0]);
      });
    }

    it('whose chunked body is misframed: the client connection is cut there, nothing after it relayed', async () => {
      answerWith('HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n');
      const client = rawClient(upgradeRequest());
      const c = await requestHead();
      await waitFor(() => client.text.includes('\r\n\r\n'), 'the head');
      c.socket.write('4\r\nnope\r\nzz\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi');
      await waitFor(() => client.closed, 'the cut');
      assert.equal(client.text, 'HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\nConnection: close\r\nX-Powered-By: goauthentik.io\r\n\r\n');
      await upstreamDropped(c);
    });
  });

  describe('timeouts and closing', () => {
    it('answers 502 when the upstream starts a head and never finishes it', async () => {
      extra = { handshakeTimeoutMs: 150 };
      answerWith('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n');
      const client = rawClient(upgradeRequest());
      await waitFor(() => client.ended, 'the 502');
      assert.match(client.text, /^HTTP\/1\.1 502 /);
      assert.equal(errors[0]?.code, 'upstream_timeout');
      await upstreamDropped(conns[0]);
    });

    it("passes the client's half-close after the 101 to the upstream and closes the client; all is closed once the upstream closes", async () => {
      answerWith(SWITCH);
      onConn = ((write) => (c: UpstreamConn) => {
        write(c);
        c.socket.once('end', () => c.socket.end());
      })(onConn);
      const client = rawClient(upgradeRequest());
      await waitFor(() => results.length === 1, 'the 101');
      client.socket.end();
      await waitFor(() => client.closed, 'the client closed');
      await within(results[0]!.closed, 'both proxy sockets closed', 1000);
      assert.equal(conns[0]!.ended, true);
    });

    it('drops an upstream that never closes after the client ended, 5 s later at the latest', async () => {
      answerWith(SWITCH);
      const client = rawClient(upgradeRequest());
      await waitFor(() => results.length === 1, 'the 101');
      client.socket.end();
      await waitFor(() => client.closed, 'the client closed');
      await within(results[0]!.closed, 'both proxy sockets closed', 8000);
      await upstreamDropped(conns[0]);
    });

    it('delivers all the upstream sent before its end to a slow client, then closes both', async () => {
      // More than the loopback's socket buffers hold: the relay runs under backpressure.
      const big = Buffer.alloc(32 * 1024 * 1024, 0x61);
      answerWith(Buffer.concat([Buffer.from(SWITCH, 'latin1'), big]));
      onConn = ((write) => (c: UpstreamConn) => {
        write(c);
        c.socket.once('drain', () => c.socket.end());
      })(onConn);
      const client = rawClient(upgradeRequest());
      // A slow reader: nothing for 300 ms, then at most 512 KiB every 5 ms.
      client.socket.pause();
      await sleep(300);
      let budget = 0;
      client.socket.on('data', (d: Buffer) => {
        budget -= d.length;
        if (budget <= 0) client.socket.pause();
      });
      const reader = setInterval(() => {
        budget = 512 * 1024;
        client.socket.resume();
      }, 5);
      try {
        await waitFor(() => client.closed, 'the client closed', 30_000);
      } finally {
        clearInterval(reader);
      }
      assert.equal(client.bytes, CLIENT_SWITCH.length + big.length);
      assert.equal(client.ended, true);
      await within(results[0]!.closed, 'both proxy sockets closed');
    });

    it('closes the upstream at once when the client connection drops after the 101', async () => {
      answerWith(SWITCH);
      const client = rawClient(upgradeRequest());
      await waitFor(() => results.length === 1, 'the 101');
      client.socket.resetAndDestroy();
      await upstreamDropped(conns[0]);
      await within(results[0]!.closed, 'both proxy sockets closed');
    });
  });
});
