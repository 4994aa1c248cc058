// The control channel against a bare websocket server: the URL authentik's outposts use, close
// code 1012, and SESSION_END.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { ControlChannel } from '../../src/agent/websocket.ts';
import { captureLogs } from '../support/logs.ts';
import { waitFor } from '../support/wait.ts';

interface Upgrade {
  url: string;
  at: number;
  socket: WebSocket;
}

describe('control channel', () => {
  let wss: WebSocketServer;
  let port = 0;
  const upgrades: Upgrade[] = [];
  /** While set, the server reads hellos and answers nothing: a dead path that keeps the TCP up. */
  let silent = false;

  before(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    port = (wss.address() as AddressInfo).port;
    wss.on('connection', (socket, req) => {
      upgrades.push({ url: req.url ?? '', at: Date.now(), socket });
      // ACK every hello, as authentik does.
      socket.on('message', () => {
        if (!silent) socket.send(JSON.stringify({ instruction: 0, args: {} }));
      });
    });
  });
  after(async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });

  function channel(events: { sessionEnds: string[]; reconnects?: number[] }, hostQuery = '', helloIntervalMs?: number) {
    const logs = captureLogs('debug');
    const ch = new ControlChannel({
      host: new URL(`http://127.0.0.1:${port}/${hostQuery}`),
      outpostPk: '8a5e1f2c-3b4d-4e6f-8a9b-0c1d2e3f4a5b',
      instanceUuid: '0d6f3c1e-2b4a-4c8d-9e7f-1a2b3c4d5e6f',
      token: 'secret-token',
      userAgent: 'test',
      insecure: false,
      hello: () => ({ version: 'x' }),
      onTriggerUpdate: () => {},
      onProviderSpecific: () => {},
      onSessionEnd: (id) => events.sessionEnds.push(id),
      onReconnect: (downMs) => events.reconnects?.push(downMs),
      onConnectionChange: () => {},
      logger: logs.logger,
      ...(helloIntervalMs !== undefined ? { helloIntervalMs } : {}),
    });
    return { ch, logs };
  }

  it('connects to /ws/outpost/<pk>/ with AUTHENTIK_HOST\'s query and instance_uuid, and no attempt on the first connect', async () => {
    const before = upgrades.length;
    const { ch } = channel({ sessionEnds: [] }, '?foo=bar');
    ch.start();
    try {
      const u = await waitFor('upgrade', () => upgrades[before]);
      const url = new URL(u.url, 'http://x');
      assert.equal(url.pathname, '/ws/outpost/8a5e1f2c-3b4d-4e6f-8a9b-0c1d2e3f4a5b/');
      assert.equal(url.searchParams.get('foo'), 'bar');
      assert.equal(url.searchParams.get('instance_uuid'), '0d6f3c1e-2b4a-4c8d-9e7f-1a2b3c4d5e6f');
      assert.equal(url.searchParams.get('attempt'), null);
    } finally {
      await ch.close();
    }
  });

  it('reconnects at once after close code 1012 (a server worker recycling), with attempt=1', async () => {
    const before = upgrades.length;
    const { ch, logs } = channel({ sessionEnds: [] });
    ch.start();
    try {
      const first = await waitFor('first upgrade', () => upgrades[before]);
      await waitFor('connected', () => ch.isConnected);
      const closedAt = Date.now();
      first.socket.close(1012, 'service restart');
      const second = await waitFor('reconnect', () => upgrades[before + 1], 3000);
      // The backoff after any other close starts at about a second.
      assert.ok(second.at - closedAt < 500, `reconnected after ${second.at - closedAt} ms`);
      assert.equal(new URL(second.url, 'http://x').searchParams.get('attempt'), '1');
      assert.ok(logs.lines.some((l) => /restarting this websocket's worker/.test(String(l['event']))));
    } finally {
      await ch.close();
    }
  });

  it('backs off after another close code; says at info how long it was down, and tells the agent', async () => {
    const before = upgrades.length;
    const events = { sessionEnds: [] as string[], reconnects: [] as number[] };
    const { ch, logs } = channel(events);
    ch.start();
    try {
      const first = await waitFor('first upgrade', () => upgrades[before]);
      await waitFor('connected', () => ch.isConnected);
      assert.deepEqual(events.reconnects, [], 'the first connect is not a reconnect');
      const closedAt = Date.now();
      first.socket.close(1011, 'internal error');
      const second = await waitFor('reconnect', () => upgrades[before + 1], 5000);
      assert.ok(second.at - closedAt >= 800, `reconnected after ${second.at - closedAt} ms`);
      await waitFor('the agent told', () => events.reconnects.length === 1);
      assert.ok(events.reconnects[0]! >= 700, `down ${events.reconnects[0]} ms`);
      const line = logs.lines.find((l) => l['event'] === 'websocket to authentik reconnected');
      assert.equal(line?.['level'], 'info');
      assert.ok(Number(line?.['down_s']) >= 0.7, String(line?.['down_s']));
      assert.equal(line?.['attempts'], 1);
    } finally {
      await ch.close();
    }
  });

  it('hands SESSION_END to the agent, and ignores one without a session_id', async () => {
    const before = upgrades.length;
    const events = { sessionEnds: [] as string[] };
    const { ch, logs } = channel(events);
    ch.start();
    try {
      const up = await waitFor('upgrade', () => upgrades[before]);
      await waitFor('connected', () => ch.isConnected);
      up.socket.send(JSON.stringify({ instruction: 4, args: {} }));
      up.socket.send(JSON.stringify({ instruction: 4, args: { session_id: 'a'.repeat(64) } }));
      await waitFor('session end', () => events.sessionEnds.length === 1);
      assert.deepEqual(events.sessionEnds, ['a'.repeat(64)]);
      assert.ok(logs.lines.some((l) => /SESSION_END message without a session_id/.test(String(l['event']))));
    } finally {
      await ch.close();
    }
  });

  it('drops and reconnects a websocket that stops acknowledging hellos (three intervals of silence)', async () => {
    const before = upgrades.length;
    const { ch, logs } = channel({ sessionEnds: [] }, '', 100);
    ch.start();
    try {
      const first = await waitFor('first upgrade', () => upgrades[before]);
      await waitFor('connected', () => ch.isConnected);
      silent = true;
      const dropped = await waitFor('dropped by the outpost', () => first.socket.readyState === first.socket.CLOSED, 3000);
      assert.ok(dropped);
      assert.ok(logs.lines.some((l) => /no answer from authentik over the websocket/.test(String(l['event']))));
      silent = false;
      await waitFor('reconnected', () => upgrades[before + 1], 5000);
    } finally {
      silent = false;
      await ch.close();
    }
  });
});
