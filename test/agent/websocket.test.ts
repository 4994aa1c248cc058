// The control channel against a bare websocket server: the URL authentik's outposts use, close
// code 1012, and SESSION_END.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { ControlChannel, type ControlChannelOptions } from '../../src/agent/websocket.ts';
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
  /** While set, called with every new server-side connection (after the ACK handler is set). */
  let onConnection: ((socket: WebSocket) => void) | undefined;

  before(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    port = (wss.address() as AddressInfo).port;
    wss.on('connection', (socket, req) => {
      upgrades.push({ url: req.url ?? '', at: Date.now(), socket });
      // ACK every hello, as authentik does.
      socket.on('message', () => {
        if (!silent && socket.readyState === socket.OPEN) socket.send(JSON.stringify({ instruction: 0, args: {} }));
      });
      onConnection?.(socket);
    });
  });
  after(async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });

  function channel(events: { sessionEnds: string[]; reconnects?: number[] }, hostQuery = '', helloIntervalMs?: number, extra: Partial<ControlChannelOptions> = {}) {
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
      ...extra,
    });
    return { ch, logs };
  }

  /**
   * Starts `ch` and, once it is connected, runs `body` with the server's side of that connection
   * and the number of upgrades before it; closes the channel after, whatever happened.
   */
  async function whileConnected(ch: ControlChannel, body: (up: Upgrade, before: number) => Promise<void>): Promise<void> {
    const before = upgrades.length;
    ch.start();
    try {
      const up = await waitFor('upgrade', () => upgrades[before]);
      await waitFor('connected', () => ch.isConnected);
      await body(up, before);
    } finally {
      await ch.close();
    }
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
    const { ch, logs } = channel({ sessionEnds: [] });
    await whileConnected(ch, async (first, before) => {
      const closedAt = Date.now();
      first.socket.close(1012, 'service restart');
      const second = await waitFor('reconnect', () => upgrades[before + 1], 3000);
      // The backoff after any other close starts at about a second.
      assert.ok(second.at - closedAt < 500, `reconnected after ${second.at - closedAt} ms`);
      assert.equal(new URL(second.url, 'http://x').searchParams.get('attempt'), '1');
      assert.ok(logs.lines.some((l) => /restarting this websocket's worker/.test(String(l['event']))));
    });
  });

  it('backs off after another close code; says at info how long it was down, and tells the agent', async () => {
    const events = { sessionEnds: [] as string[], reconnects: [] as number[] };
    const { ch, logs } = channel(events);
    await whileConnected(ch, async (first, before) => {
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
    });
  });

  it('hands SESSION_END to the agent, and ignores one without a session_id', async () => {
    const events = { sessionEnds: [] as string[] };
    const { ch, logs } = channel(events);
    await whileConnected(ch, async (up) => {
      up.socket.send(JSON.stringify({ instruction: 4, args: {} }));
      up.socket.send(JSON.stringify({ instruction: 4, args: { session_id: 'a'.repeat(64) } }));
      await waitFor('session end', () => events.sessionEnds.length === 1);
      assert.deepEqual(events.sessionEnds, ['a'.repeat(64)]);
      assert.ok(logs.lines.some((l) => /SESSION_END message without a session_id/.test(String(l['event']))));
    });
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
  it('never follows a redirect of the upgrade: the token does not go to another origin', async () => {
    const elsewhere: string[] = [];
    const other = createServer((req, res) => {
      elsewhere.push(req.headers.authorization ?? '(none)');
      res.writeHead(404).end();
    });
    other.listen(0, '127.0.0.1');
    await once(other, 'listening');
    const redirecting = createServer((_req, res) => res.writeHead(302, { location: `http://127.0.0.1:${(other.address() as AddressInfo).port}/ws/outpost/x/` }).end());
    redirecting.listen(0, '127.0.0.1');
    await once(redirecting, 'listening');
    const logs = captureLogs('debug');
    const ch = new ControlChannel({
      host: new URL(`http://127.0.0.1:${(redirecting.address() as AddressInfo).port}/`),
      outpostPk: '8a5e1f2c-3b4d-4e6f-8a9b-0c1d2e3f4a5b',
      instanceUuid: '0d6f3c1e-2b4a-4c8d-9e7f-1a2b3c4d5e6f',
      token: 'secret-token',
      userAgent: 'test',
      insecure: false,
      hello: () => ({}),
      onTriggerUpdate: () => {},
      onProviderSpecific: () => {},
      onSessionEnd: () => {},
      onConnectionChange: () => {},
      logger: logs.logger,
    });
    ch.start();
    try {
      const line = await waitFor('the refusal', () => logs.lines.find((l) => l['event'] === 'authentik refused the websocket upgrade'));
      assert.equal(line['status'], 302);
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(elsewhere, []);
      assert.ok(!logs.raw.join('\n').includes('secret-token'));
    } finally {
      await ch.close();
      other.close();
      redirecting.close();
    }
  });

  it('a handler that throws is logged and ignored: the process and the channel stay up', async () => {
    const events = { sessionEnds: [] as string[] };
    const { ch, logs } = channel(events, '', undefined, {
      onProviderSpecific: () => {
        throw new Error('listener bug');
      },
    });
    await whileConnected(ch, async (up) => {
      up.socket.send(JSON.stringify({ instruction: 3, args: { sub_type: 'logout', session_id: 'x' } }));
      up.socket.send(JSON.stringify({ instruction: 4, args: { session_id: 'b'.repeat(64) } }));
      await waitFor('the next message handled', () => events.sessionEnds.length === 1);
      const line = logs.lines.find((l) => l['event'] === 'handling a websocket message failed; ignored');
      assert.equal(line?.['level'], 'warning');
      assert.equal(line?.['instruction'], 3);
      assert.match(String((line?.['err'] as { message?: string } | undefined)?.message), /listener bug/);
      assert.ok(ch.isConnected);
    });
  });

  it('a flood of malformed messages gives one warning, not one per message', async () => {
    const events = { sessionEnds: [] as string[] };
    const { ch, logs } = channel(events);
    await whileConnected(ch, async (up) => {
      for (let i = 0; i < 50; i++) up.socket.send(i % 2 === 0 ? `not json ${i}` : JSON.stringify({ instruction: 'two', args: [] }));
      up.socket.send(JSON.stringify({ instruction: 4, args: { session_id: 'c'.repeat(64) } }));
      await waitFor('the valid message after them', () => events.sessionEnds.length === 1);
      assert.equal(logs.lines.filter((l) => l['event'] === 'ignoring a malformed websocket message').length, 1);
      assert.ok(ch.isConnected, 'garbage does not drop the channel');
    });
  });

  it('an oversized frame closes the connection with one warning that says why, then it reconnects', async () => {
    const { ch, logs } = channel({ sessionEnds: [] });
    await whileConnected(ch, async (up, before) => {
      up.socket.send(JSON.stringify({ instruction: 3, args: { blob: 'x'.repeat(2 * 1024 * 1024) } }));
      const line = await waitFor('the close line', () => logs.lines.find((l) => l['event'] === 'websocket to authentik closed; reconnecting'));
      assert.equal(line['level'], 'warning');
      assert.match(String((line['err'] as { message?: string } | undefined)?.message), /max payload size exceeded/i);
      await waitFor('reconnect', () => upgrades[before + 1], 5000);
    });
  });

  it('backs off from a core that drops every connection right after the upgrade (the backoff is not reset by a connection that did not last)', async () => {
    const before = upgrades.length;
    onConnection = (socket) => socket.close(1011, 'go away');
    const { ch } = channel({ sessionEnds: [] }, '', undefined, { backoff: { initialMs: 100, maxMs: 5000, jitter: 0 } });
    ch.start();
    try {
      await waitFor('four upgrades', () => upgrades.length >= before + 4, 5000);
      const at = upgrades.slice(before, before + 4).map((u) => u.at);
      const gaps = at.slice(1).map((t, i) => t - at[i]!);
      // 100, 200, 400 ms; with the backoff reset at every open it was 100, 100, 100.
      assert.ok(gaps[2]! >= 300 && gaps[2]! > gaps[0]! * 2, `gaps ${gaps.join(', ')} ms`);
    } finally {
      onConnection = undefined;
      await ch.close();
    }
  });

  it('close code 1012 on every new connection is backed off from, not a reconnect loop', async () => {
    const before = upgrades.length;
    onConnection = (socket) => socket.close(1012, 'service restart');
    const { ch } = channel({ sessionEnds: [] }, '', undefined, { backoff: { initialMs: 100, maxMs: 5000, jitter: 0 } });
    ch.start();
    try {
      await new Promise((r) => setTimeout(r, 1500));
      const n = upgrades.length - before;
      // The first 1012 is followed at once; then 200, 400, 800 ms. Without a bound: hundreds.
      assert.ok(n >= 3 && n <= 6, `${n} upgrades in 1.5 s`);
    } finally {
      onConnection = undefined;
      await ch.close();
    }
  });
});
