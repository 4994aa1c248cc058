// An exchange's bytes for the client are its own: the upstream connections' reads share one
// buffer (onread), so whatever waits in a slow client's queue must have been copied out of it.
// An upstream that never accepts the connection fails the exchange at the pool's connect
// timeout, as the slow path's does (upstream_timeout, 502, nothing written to the client).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { exchange, type ExchangeOptions } from '../../../src/proxy/fast/exchange.ts';
import { UpstreamPool, type UpstreamAddress, type UpstreamConnection } from '../../../src/proxy/fast/upstream-pool.ts';
import { UpstreamError } from '../../../src/proxy/upstream/errors.ts';
import { startUnacceptingListener, type UnacceptingListener } from '../../support/unaccepting-listener.ts';
import { mutateBytes, prng } from '../../support/random.ts';
import { startLoopbackUpstream, type LoopbackUpstream } from './loopback-upstream.ts';
import { nodeRead } from './node-parser.ts';

const SIZE = 1024 * 1024;
/** Every byte depends on its position and on the response (`seed`): an overwritten byte shows. */
const body = (seed: number) => Buffer.from(Array.from({ length: SIZE }, (_, i) => 0x21 + ((i * 7 + seed * 13 + (i >> 11)) % 90)));

/** A client that keeps every chunk it is given, uncopied, and drains slowly (its writes queue). */
class SlowClient extends Writable {
  readonly kept: Buffer[] = [];
  constructor() {
    super({ highWaterMark: 16 * 1024 });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.kept.push(chunk);
    setTimeout(cb, 1);
  }
}

describe('fast-path exchange', () => {
  let upstream: LoopbackUpstream;
  let to: UpstreamAddress;
  before(async () => {
    upstream = await startLoopbackUpstream((s) => {
      s.on('data', (d: Buffer) => {
        if (d.toString('latin1').startsWith('GET /late ')) {
          setTimeout(() => s.write('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nlate'), 700);
          return;
        }
        if (d.toString('latin1').startsWith('GET /stall ')) {
          // A first part of the body (one read), then silence.
          s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${SIZE}\r\n\r\n`);
          s.write(body(0).subarray(0, 40_000));
          return;
        }
        const seed = Number(/^GET \/(\d+)/.exec(d.toString('latin1'))?.[1] ?? 0);
        s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${SIZE}\r\n\r\n`);
        const b = body(seed);
        for (let i = 0; i < SIZE; i += 10_000) s.write(b.subarray(i, i + 10_000));
      });
    });
    to = upstream.to;
  });
  after(() => upstream.close());

  it('an upstream that stalls after a slow client caught up still times out', async () => {
    const pool = new UpstreamPool();
    try {
      // Takes each chunk only after 300 ms: the upstream is paused longer than its body timeout.
      const client = new Writable({ highWaterMark: 16 * 1024, write: (_c, _e, cb) => void setTimeout(cb, 300) });
      const outcome = exchange({
        client: client as unknown as Socket,
        upstream: pool.acquire(to),
        origin: `http://127.0.0.1:${to.port}`,
        method: 'GET',
        request: 'GET /stall HTTP/1.1\r\nhost: x\r\n\r\n',
        closeAfter: false,
        keepAliveSeconds: 5,
        date: () => 'Thu, 01 Jan 1970 00:00:00 GMT',
        headersTimeoutMs: 5_000,
        bodyTimeoutMs: 100,
      }).then(
        () => 'completed',
        (err: Error) => err.message,
      );
      const verdict = await Promise.race([outcome, sleep(5_000, 'still waiting after 5 s', { ref: false })]);
      assert.match(String(verdict), /no data for 100 ms/);
      client.destroy();
    } finally {
      pool.close();
    }
  });

  it('what waits for slow clients is not overwritten by other connections\' reads', async () => {
    const pool = new UpstreamPool();
    try {
      const run = async (seed: number) => {
        const client = new SlowClient();
        const result = await exchange({
          client: client as unknown as Socket,
          upstream: pool.acquire(to),
          origin: `http://127.0.0.1:${to.port}`,
          method: 'GET',
          request: `GET /${seed} HTTP/1.1\r\nhost: x\r\n\r\n`,
          closeAfter: false,
          keepAliveSeconds: 5,
          date: () => 'Thu, 01 Jan 1970 00:00:00 GMT',
          headersTimeoutMs: 5_000,
          bodyTimeoutMs: 5_000,
        });
        await new Promise<void>((resolve) => client.end(resolve));
        const all = Buffer.concat(client.kept);
        return { result, body: all.subarray(all.indexOf('\r\n\r\n') + 4) };
      };
      const done = await Promise.all([1, 2, 3].map(run));
      done.forEach(({ result, body: got }, i) => {
        assert.equal(result.status, 200);
        assert.equal(result.size, SIZE);
        assert.ok(got.equals(body(i + 1)), `response ${i + 1} arrived as the upstream sent it`);
      });
    } finally {
      pool.close();
    }
  });

  describe('an upstream that never accepts the connection', () => {
    let hung: UnacceptingListener;
    before(async () => {
      hung = await startUnacceptingListener();
    });
    after(() => hung.close());

    /** A client socket that records what it is given. */
    const recordingClient = () => {
      const written: Buffer[] = [];
      const client = new Writable({ write: (c: Buffer, _e, cb) => void (written.push(c), cb()) });
      return { client, written };
    };
    const options = (o: Pick<ExchangeOptions, 'client' | 'upstream' | 'origin'> & { path: string; headersTimeoutMs?: number }): ExchangeOptions => ({
      method: 'GET',
      request: `GET ${o.path} HTTP/1.1\r\nhost: x\r\n\r\n`,
      closeAfter: false,
      keepAliveSeconds: 5,
      date: () => 'Thu, 01 Jan 1970 00:00:00 GMT',
      bodyTimeoutMs: 5_000,
      ...o,
      headersTimeoutMs: o.headersTimeoutMs ?? 5_000,
    });

    it('rejects upstream_timeout (502, before the response) at the connect timeout, writes nothing, and destroys the connection', async () => {
      const pool = new UpstreamPool({ connectTimeoutMs: 300 });
      try {
        const { client, written } = recordingClient();
        const upstream = pool.acquire({ host: hung.host, port: hung.port });
        const origin = `http://${hung.host}:${hung.port}`;
        // The head's timeout is far longer: only the connect timeout can end this in time.
        const outcome = exchange(options({ client: client as unknown as Socket, upstream, origin, path: '/' })).then(
          () => 'completed',
          (err: unknown) => err,
        );
        // An unref'd deadline: a test that passes does not wait for it.
        const verdict = await Promise.race([outcome, sleep(4_000, 'still waiting after 4 s', { ref: false })]);
        assert.ok(verdict instanceof UpstreamError, String(verdict));
        assert.equal(verdict.code, 'upstream_timeout');
        assert.equal(verdict.status, 502);
        assert.equal(verdict.responseStarted, false);
        assert.equal(verdict.upstream, origin);
        assert.match(verdict.message, /did not accept the connection in time/);
        assert.equal(written.length, 0, 'nothing reached the client (the caller sends the 502 page)');
        assert.equal(upstream.socket.destroyed, true, 'the half-open connect is gone');
        assert.equal(upstream.sink, undefined);
        client.destroy();

        // The pool serves a good upstream as before.
        const good = recordingClient();
        const result = await exchange(options({ client: good.client as unknown as Socket, upstream: pool.acquire(to), origin: `http://127.0.0.1:${to.port}`, path: '/7' }));
        assert.equal(result.status, 200);
        assert.equal(result.size, SIZE);
      } finally {
        pool.close();
      }
    });

    it('once connected, the head has its own timeout: the connect timeout no longer runs', async () => {
      const pool = new UpstreamPool({ connectTimeoutMs: 300 });
      try {
        const { client, written } = recordingClient();
        // Answers after 700 ms: a connect timer left armed would have failed it at 300.
        const result = await exchange(options({ client: client as unknown as Socket, upstream: pool.acquire(to), origin: `http://127.0.0.1:${to.port}`, path: '/late' }));
        assert.equal(result.status, 200);
        assert.match(Buffer.concat(written).toString('latin1'), /late$/);
      } finally {
        pool.close();
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Driven byte by byte through a stand-in upstream connection (the sink interface the pool gives
// an exchange), the client's bytes read back with Node's own parser, as a client reads them.

/** A stand-in for the pool's connection: the exchange's sink is fed by hand. */
function fakeUpstream(): { conn: UpstreamConnection; socket: EventEmitter & { destroyed: boolean } } {
  const socket = Object.assign(new EventEmitter(), {
    connecting: false,
    destroyed: false,
    write: () => true,
    pause: () => {},
    resume: () => {},
    destroy() {
      this.destroyed = true;
    },
  });
  const conn = { socket, reused: false, sink: undefined, setTimeoutMs: () => {}, restartTimeout: () => {} } as unknown as UpstreamConnection;
  return { conn, socket };
}

/** A client that records what it is given. */
function recorder(): EventEmitter & { destroyed: boolean; out: Buffer[]; write(b: Buffer): boolean; destroy(): void } {
  return Object.assign(new EventEmitter(), {
    destroyed: false,
    out: [] as Buffer[],
    write(b: Buffer) {
      this.out.push(Buffer.from(b));
      return true;
    },
    destroy() {
      this.destroyed = true;
    },
  });
}

/**
 * One exchange fed `reads` (then the upstream's end, when `eof`; then the connection's close,
 * when `close`); what it settled with and what the client got.
 */
async function drive(reads: readonly string[], opts: { method?: 'GET' | 'HEAD'; eof?: boolean; close?: boolean } = {}) {
  const { conn, socket } = fakeUpstream();
  const client = recorder();
  const outcome = exchange({
    client: client as unknown as Socket,
    upstream: conn,
    origin: 'http://upstream',
    method: opts.method ?? 'GET',
    request: 'GET / HTTP/1.1\r\nhost: x\r\n\r\n',
    closeAfter: false,
    keepAliveSeconds: 5,
    date: () => 'Thu, 01 Jan 1970 00:00:00 GMT',
    headersTimeoutMs: 5_000,
    bodyTimeoutMs: 5_000,
  }).then(
    (r) => r,
    (err: Error) => err,
  );
  for (const r of reads) conn.sink?.data(Buffer.from(r, 'latin1'));
  if (opts.eof) conn.sink?.end();
  if (opts.close) conn.sink?.close();
  const result = await Promise.race([outcome, sleep(1_000, new Error('not settled'), { ref: false })]);
  return { result, out: Buffer.concat(client.out), clientDestroyed: client.destroyed, upstreamDestroyed: socket.destroyed };
}

describe('fast-path exchange: what the client reads', () => {
  it('an interim answer whose head began in an earlier read and ends with a read: the answer after it is read as the answer', async () => {
    const { result, out } = await drive(['HTTP/1.1 103 Ea', 'rly Hints\r\nlink: </a.css>; rel=preload\r\n\r\n', 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok']);
    assert.ok(!(result instanceof Error), String(result));
    assert.equal(result.status, 200);
    assert.equal(result.reusable, true);
    const read = nodeRead('response', out);
    assert.equal(read.error, undefined);
    assert.equal(read.messages.length, 1);
    assert.equal(read.messages[0]!.body, 'ok');
  });

  it('an interim answer\'s bytes are never read again as part of the answer (a body that looks like a head stays a body)', async () => {
    // A body the upstream's application filled (with what a user wrote, say) that reads as a head.
    const inner = 'HTTP/1.1 200 OK\r\nx-made-from: the body\r\ncontent-length: 0\r\n\r\n';
    const { result, out } = await drive(['HTTP/1.1 103 Early', ' Hints\r\n\r\n', `HTTP/1.1 200 OK\r\ncontent-length: ${inner.length}\r\n\r\n${inner}`]);
    assert.ok(!(result instanceof Error), String(result));
    const read = nodeRead('response', out);
    assert.equal(read.messages.length, 1);
    assert.ok(!read.messages[0]!.headers.includes('x-made-from'), 'no answer made of the body');
    assert.equal(read.messages[0]!.body, inner);
    assert.equal(read.consumed, out.length);
  });

  it('one Content-Length reaches the client, the one the body was framed by, whatever the upstream repeated or listed in Connection', async () => {
    for (const [fields, body] of [
      [['Content-Length: 2', 'Content-Length: 02'], 'ok'],
      [['Content-Length: 2', 'Content-Length: 2'], 'ok'],
      // A Connection listing would otherwise remove it: the client would read to the close, and
      // take the next answers on the connection as this body.
      [['Connection: content-length', 'Content-Length: 2'], 'ok'],
      [['Connection: keep-alive, Content-Length', 'Content-Length: 2'], 'ok'],
    ] as const) {
      const { result, out } = await drive([`HTTP/1.1 200 OK\r\n${fields.join('\r\n')}\r\n\r\n${body}`]);
      assert.ok(!(result instanceof Error), `${fields}: ${String(result)}`);
      const text = out.toString('latin1');
      assert.equal(text.match(/^content-length:/gim)?.length, 1, text);
      const read = nodeRead('response', out);
      assert.equal(read.error, undefined, `${fields}: ${read.error}`);
      assert.deepEqual(
        read.messages.map((m) => ({ body: m.body, complete: m.complete, keepAlive: m.keepAlive })),
        [{ body, complete: true, keepAlive: true }],
        `${fields}`,
      );
    }
  });

  it('a HEAD answer keeps its Content-Length when usable, and drops one the client could not read', async () => {
    const usable = await drive(['HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nContent-Length: 1234\r\n\r\n'], { method: 'HEAD' });
    assert.match(usable.out.toString('latin1'), /\r\ncontent-length: 1234\r\n/);
    assert.equal(usable.out.toString('latin1').match(/content-length/g)?.length, 1);
    for (const bad of ['Content-Length: 12 34', 'Content-Length: 1\r\nContent-Length: 2', 'Content-Length: -1']) {
      const { result, out } = await drive([`HTTP/1.1 200 OK\r\n${bad}\r\n\r\n`], { method: 'HEAD' });
      assert.ok(!(result instanceof Error), String(result));
      assert.doesNotMatch(out.toString('latin1'), /content-length/i, bad);
      const read = nodeRead('response', out, { method: 'HEAD' });
      assert.equal(read.error, undefined, bad);
      assert.equal(read.messages[0]?.complete, true);
    }
  });
});

describe('fuzz (seeded): mutated upstream answers against Node\'s parser', () => {
  const ANSWERS = [
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhelloEXTRA',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX: y\r\n\r\n5;a=b\r\nhello\r\n0\r\nT: v\r\n\r\nEXTRA',
    'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close',
    'HTTP/1.1 204 No Content\r\nX: 1\r\n\r\n',
    'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n',
    'HTTP/1.1 103 Early\r\nLink: x\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok',
    'HTTP/1.1 200 OK\r\nConnection: content-length\r\nContent-Length: 2\r\n\r\nok',
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok',
  ];
  const SPECIAL = [0x0d, 0x0a, 0x20, 0x09, 0x3a, 0x00, 0x7f, 0xe9, 0x2c, 0x3b, 0x30, 0x31, 0x46, 0x22, 0x2d];
  const mutate = (src: Buffer, rnd: () => number) => mutateBytes(src, rnd, SPECIAL);

  it('the client reads one whole answer, with the body Node reads from the upstream; a connection is reused only after exactly one answer', async () => {
    const rnd = prng(0xfa57);
    let answered = 0;
    for (let i = 0; i < 6_000; i++) {
      const base = Buffer.from(ANSWERS[i % ANSWERS.length]!, 'latin1');
      const m = i < ANSWERS.length * 2 ? base : mutate(base, rnd);
      const method = rnd() < 0.2 ? 'HEAD' : 'GET';
      const eof = rnd() < 0.5;
      // Three reads, cut anywhere.
      const a = Math.floor(rnd() * (m.length + 1));
      const b = a + Math.floor(rnd() * (m.length - a + 1));
      const reads = [m.subarray(0, a), m.subarray(a, b), m.subarray(b)].map((x) => x.toString('latin1')).filter((x) => x !== '');
      const { result, out, clientDestroyed, upstreamDestroyed } = await drive(reads, { method, eof, close: true });
      const what = `${method} ${JSON.stringify(reads)}${eof ? ' EOF' : ''}`;
      const upstream = nodeRead('response', m, { method, eof });
      if (result instanceof Error) {
        assert.equal(upstreamDestroyed, true, what);
        if (out.length > 0) assert.equal(clientDestroyed, true, `${what}: a cut answer must not look whole`);
        continue;
      }
      answered++;
      const client = nodeRead('response', out, { method });
      // Relayed as it came, a chunk extension Node's strict parser refuses is refused by the
      // client as it would be from the upstream: never an answer made unreadable by the relay.
      if (client.error !== undefined) {
        assert.notEqual(upstream.error, undefined, `${what}: the client cannot read ${JSON.stringify(out.toString('latin1'))}`);
        continue;
      }
      assert.equal(client.messages.length, 1, what);
      assert.equal(client.messages[0]!.complete, true, what);
      assert.equal(client.consumed, out.length, `${what}: bytes after the answer`);
      const final = upstream.messages.filter((x) => (x.status ?? 0) >= 200);
      // Node's client is stricter on some heads (a repeated Content-Length): compare where it reads one.
      if (upstream.error === undefined || final[0]?.complete === true) {
        assert.equal(final[0]?.status, result.status, what);
        assert.equal(client.messages[0]!.body, final[0]?.body, what);
      }
      if (result.reusable) {
        assert.equal(upstreamDestroyed, false, what);
        const exact = nodeRead('response', m, { method });
        if (exact.error === undefined) {
          assert.equal(exact.messages.filter((x) => (x.status ?? 0) >= 200).length, 1, what);
          assert.equal(exact.consumed, m.length, `${what}: reused with bytes left`);
        }
      }
    }
    assert.ok(answered > 1_000, `${answered} answered`);
  });
});

describe('fast-path exchange: an upstream that sends a body where none belongs', () => {
  let upstream: LoopbackUpstream;
  let to: UpstreamAddress;
  before(async () => {
    // Answers a HEAD (or a GET of /nocontent-*) with its head, then, a moment later and in its own
    // write, the body it should not send: bytes that read as a whole answer. Every other GET is
    // answered after 100 ms.
    upstream = await startLoopbackUpstream((s) => {
      s.on('data', (d: Buffer) => {
        const [method, path] = d.toString('latin1').split(' ', 2) as [string, string];
        const forged = 'HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nforged';
        if (method === 'HEAD') {
          s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${forged.length}\r\n\r\n`);
          setTimeout(() => s.write(forged), 50);
        } else if (path.startsWith('/nocontent-')) {
          s.write(`HTTP/1.1 ${path.slice(11)}\r\ncontent-length: ${forged.length}\r\n\r\n`);
          setTimeout(() => s.write(forged), 50);
        } else {
          setTimeout(() => s.write('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nreal'), 100);
        }
      });
    });
    to = upstream.to;
  });
  after(() => upstream.close());

  /** One request through the pool as the fast path makes it (a reusable connection goes back). */
  const request = async (pool: UpstreamPool, method: 'GET' | 'HEAD', path: string) => {
    const client = recorder();
    const conn = pool.acquire(to);
    const result = await exchange({
      client: client as unknown as Socket,
      upstream: conn,
      origin: `http://127.0.0.1:${to.port}`,
      method,
      request: `${method} ${path} HTTP/1.1\r\nhost: x\r\n\r\n`,
      closeAfter: false,
      keepAliveSeconds: 5,
      date: () => 'Thu, 01 Jan 1970 00:00:00 GMT',
      headersTimeoutMs: 5_000,
      bodyTimeoutMs: 5_000,
    });
    if (result.reusable) pool.release(to, conn);
    return { result, text: Buffer.concat(client.out).toString('latin1') };
  };

  for (const [method, path] of [['HEAD', '/page'], ['GET', '/nocontent-204 No Content'], ['GET', '/nocontent-304 Not Modified']] as const) {
    it(`the connection of a ${method === 'HEAD' ? 'HEAD' : path.slice(11, 14)} (with a Content-Length) is not reused: the next request never reads that body as its answer`, async () => {
      const pool = new UpstreamPool();
      try {
        const first = await request(pool, method, path);
        const next = await request(pool, 'GET', '/next');
        assert.equal(next.result.status, 200);
        assert.match(next.text, /\r\n\r\nreal$/, next.text);
        assert.equal(first.result.reusable, false);
      } finally {
        pool.close();
      }
    });
  }

  it('a 204 or 304 without content fields keeps its connection', async () => {
    for (const fields of ['', 'Content-Length: 0\r\n']) {
      const { result } = await drive([`HTTP/1.1 204 No Content\r\n${fields}\r\n`]);
      assert.ok(!(result instanceof Error));
      assert.equal(result.reusable, true, fields);
    }
    const { result } = await drive(['HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n']);
    assert.ok(!(result instanceof Error));
    assert.equal(result.reusable, false);
  });
});
