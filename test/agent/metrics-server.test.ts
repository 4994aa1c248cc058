// The metrics listener: ping, ready, /metrics, and a stop that no client can hold open.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { MetricsServer } from '../../src/agent/metrics-server.ts';
import { Registry } from '../../src/agent/prom.ts';
import { captureLogs } from '../support/logs.ts';

async function started(): Promise<{ server: MetricsServer; port: number }> {
  const server = new MetricsServer({ address: { host: '127.0.0.1', port: 0 }, registry: new Registry(), isReady: () => true, logger: captureLogs('info').logger });
  return { server, port: await server.start() };
}

async function client(port: number, send?: string): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await once(socket, 'connect');
  if (send !== undefined) socket.write(send);
  // Let the server accept it and read what was sent.
  await new Promise((r) => setTimeout(r, 50));
  return socket;
}

/** Resolves with how long `p` took, or rejects when it takes longer than `ms`. */
async function within(what: string, p: Promise<unknown>, ms: number): Promise<number> {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms)))]);
  clearTimeout(timer);
  return performance.now() - t0;
}

describe('metrics server', () => {
  it('answers ping and ready with 204', async () => {
    const { server, port } = await started();
    try {
      assert.equal((await fetch(`http://127.0.0.1:${port}/outpost.goauthentik.io/ping`)).status, 204);
      assert.equal((await fetch(`http://127.0.0.1:${port}/outpost.goauthentik.io/ready`)).status, 204);
    } finally {
      await server.stop();
    }
  });

  // server.close() also stops Node's header/request timeout checks: before, such a client held
  // the server, and with it the outpost's SIGTERM shutdown, open forever.
  for (const [what, send] of [['a connection that sent nothing', undefined], ['half a request', 'GET /metrics HTTP/1.1\r\nHost: x\r\n']] as const) {
    it(`stops within its grace period despite ${what}`, async () => {
      const { server, port } = await started();
      const socket = await client(port, send);
      try {
        await within('stop', server.stop(), 3000);
        await within('the client to be closed', socket.closed ? Promise.resolve() : once(socket, 'close'), 1000);
      } finally {
        socket.destroy();
      }
    });
  }

  it('closes an idle keep-alive connection at once', async () => {
    const { server, port } = await started();
    const socket = await client(port, 'GET /outpost.goauthentik.io/ping HTTP/1.1\r\nHost: x\r\n\r\n');
    try {
      const ms = await within('stop', server.stop(), 3000);
      assert.ok(ms < 500, `stop took ${ms} ms`);
    } finally {
      socket.destroy();
    }
  });
});
