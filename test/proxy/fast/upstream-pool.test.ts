// The fast path's upstream pool: an idle connection is reused while fresh, never after idleMs,
// and closed by the pool's sweep even when nobody asks for it again; at most maxIdle wait. A
// connect that is never accepted ends at connectTimeoutMs and leaves nothing in the pool.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { once } from 'node:events';
import { UpstreamPool, type UpstreamAddress, type UpstreamConnection, type UpstreamSink } from '../../../src/proxy/fast/upstream-pool.ts';
import { startUnacceptingListener, type UnacceptingListener } from '../../support/unaccepting-listener.ts';
import { startLoopbackUpstream, type LoopbackUpstream } from './loopback-upstream.ts';

/** `p`, or a rejection once `ms` passed: a timeout that never fires fails the test instead of hanging it. */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

describe('UpstreamPool', () => {
  let upstream: LoopbackUpstream;
  let to: UpstreamAddress;
  before(async () => {
    upstream = await startLoopbackUpstream();
    to = upstream.to;
  });
  after(() => upstream.close());

  const connected = async (conn: { socket: Socket }) => {
    if (conn.socket.connecting) await once(conn.socket, 'connect');
  };
  const closedByPeer = (n: number) => new Promise<void>((resolve) => upstream.accepted[n]!.once('close', () => resolve()));

  it('reuses a fresh idle connection, and makes a new one when asked for a fresh one', async () => {
    const pool = new UpstreamPool({ idleMs: 10_000 });
    try {
      const a = pool.acquire(to);
      await connected(a);
      assert.equal(a.reused, false);
      pool.release(to, a);
      const b = pool.acquire(to);
      assert.equal(b, a);
      assert.equal(b.reused, true);
      pool.release(to, b);
      const c = pool.acquire(to, true);
      assert.notEqual(c, a);
      c.socket.destroy();
    } finally {
      pool.close();
    }
  });

  it('never hands out a connection idle for idleMs or more, and its sweep closes it unasked', async () => {
    const pool = new UpstreamPool({ idleMs: 100 });
    try {
      const first = upstream.accepted.length;
      const a = pool.acquire(to);
      await connected(a);
      pool.release(to, a);
      await new Promise((r) => setTimeout(r, 110));
      const b = pool.acquire(to);
      assert.notEqual(b, a, 'the stale connection was not reused');
      assert.equal(a.socket.destroyed, true);
      await connected(b);
      pool.release(to, b);
      // Nobody asks again: the sweep (every idleMs / 2) closes it within 1.5 × idleMs.
      const closed = closedByPeer(first + 1);
      const t0 = Date.now();
      await closed;
      assert.ok(Date.now() - t0 < 400, 'closed by the sweep');
    } finally {
      pool.close();
    }
  });

  it('keeps at most maxIdle per upstream and closes every idle connection on close()', async () => {
    const pool = new UpstreamPool({ idleMs: 10_000, maxIdle: 2 });
    const conns = [pool.acquire(to), pool.acquire(to), pool.acquire(to)];
    await Promise.all(conns.map(connected));
    for (const c of conns) pool.release(to, c);
    assert.deepEqual(
      conns.map((c) => c.socket.destroyed),
      [false, false, true],
    );
    pool.close();
    assert.ok(conns.every((c) => c.socket.destroyed));
  });

  describe('a connect that is never accepted', () => {
    let hung: UnacceptingListener;
    let nowhere: UpstreamAddress;
    before(async () => {
      hung = await startUnacceptingListener();
      nowhere = { host: hung.host, port: hung.port };
    });
    after(() => hung.close());

    /** A sink as an exchange's, hearing only the timeout (and whether the socket was still connecting then). */
    const timeoutOf = (conn: UpstreamConnection) =>
      new Promise<{ connecting: boolean }>((resolve) => {
        const sink: UpstreamSink = {
          data: () => {},
          end: () => {},
          error: () => {},
          close: () => {},
          timeout: () => resolve({ connecting: conn.socket.connecting }),
        };
        conn.sink = sink;
      });

    it('tells its holder of the timeout after connectTimeoutMs, still connecting; destroyed, it is not pooled again', async () => {
      const pool = new UpstreamPool({ idleMs: 10_000, connectTimeoutMs: 300 });
      try {
        const conn = pool.acquire(nowhere);
        assert.equal(conn.socket.connecting, true);
        const t0 = Date.now();
        const heard = await within(5_000, 'the connect timeout', timeoutOf(conn));
        assert.equal(heard.connecting, true, 'timed out before any connection was made');
        assert.ok(Date.now() - t0 >= 250, 'not before connectTimeoutMs');
        // What the exchange does with it: destroy, let go, and release (a no-op for a dead socket).
        conn.socket.destroy();
        conn.sink = undefined;
        pool.release(nowhere, conn);
        const next = pool.acquire(nowhere);
        assert.notEqual(next, conn, 'the dead connection was not kept');
        assert.equal(next.reused, false);
        next.socket.destroy();
      } finally {
        pool.close();
      }
    });

    /** A connect to `nowhere` that nobody holds, once it has closed. */
    const unheldConnectClosed = async (pool: UpstreamPool) => {
      const conn = pool.acquire(nowhere);
      await within(5_000, 'the close of an unheld connect', once(conn.socket, 'close'));
      return conn;
    };

    it('closes a connect nobody holds at connectTimeoutMs', async () => {
      const pool = new UpstreamPool({ idleMs: 10_000, connectTimeoutMs: 300 });
      try {
        const conn = await unheldConnectClosed(pool);
        assert.equal(conn.socket.destroyed, true);
      } finally {
        pool.close();
      }
    });

    it('still connects to, and pools connections of, a good upstream afterwards', async () => {
      const pool = new UpstreamPool({ idleMs: 10_000, connectTimeoutMs: 300 });
      try {
        await unheldConnectClosed(pool);
        const a = pool.acquire(to);
        await connected(a);
        pool.release(to, a);
        const b = pool.acquire(to);
        assert.equal(b, a);
        assert.equal(b.reused, true);
        b.socket.destroy();
      } finally {
        pool.close();
      }
    });
  });
});
