// An exchange's bytes for the client are its own: the upstream connections' reads share one
// buffer (onread), so whatever waits in a slow client's queue must have been copied out of it.
// An upstream that never accepts the connection fails the exchange at the pool's connect
// timeout, as the slow path's does (upstream_timeout, 502, nothing written to the client).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { exchange, type ExchangeOptions } from '../../../src/proxy/fast/exchange.ts';
import { UpstreamPool, type UpstreamAddress } from '../../../src/proxy/fast/upstream-pool.ts';
import { UpstreamError } from '../../../src/proxy/upstream/errors.ts';
import { startUnacceptingListener, type UnacceptingListener } from '../../support/unaccepting-listener.ts';

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
  let server: Server;
  const sockets: Socket[] = [];
  let to: UpstreamAddress;
  before(async () => {
    server = createServer((s) => {
      sockets.push(s);
      s.on('error', () => {});
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
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const a = server.address();
    if (a === null || typeof a === 'string') throw new Error('no port');
    to = { host: '127.0.0.1', port: a.port };
  });
  after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });

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
