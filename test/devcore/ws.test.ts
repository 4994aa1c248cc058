// The outpost websocket of the development core, with a real `ws` client.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { loadSeedFile, type DevCore } from '../../src/devcore/index.ts';
import { FlowClient, LDAP_TOKEN, PROXY_TOKEN, RADIUS_TOKEN, startTestCore, TEST_SEED } from './helpers.ts';

interface Client {
  ws: WebSocket;
  messages: unknown[];
  next(timeoutMs?: number): Promise<unknown>;
}

function wsUrl(core: DevCore, outpost: string, query = ''): string {
  return `${core.url.replace(/^http/, 'ws')}/ws/outpost/${core.admin.outpost(outpost).pk}/${query}`;
}

/** Connect; resolves with the client, or rejects with the HTTP status of a refused upgrade. */
function connect(url: string, token: string | undefined): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    const messages: unknown[] = [];
    const waiters: ((m: unknown) => void)[] = [];
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as unknown;
      const w = waiters.shift();
      if (w) w(m);
      else messages.push(m);
    });
    ws.once('unexpected-response', (_req, res) => {
      reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode }));
      ws.terminate();
    });
    ws.once('error', (err) => reject(err));
    ws.once('open', () =>
      resolve({
        ws,
        messages,
        next: (timeoutMs = 2000) =>
          messages.length > 0
            ? Promise.resolve(messages.shift())
            : new Promise((res, rej) => {
                const waiter = (m: unknown) => {
                  clearTimeout(t);
                  res(m);
                };
                const t = setTimeout(() => {
                  waiters.splice(waiters.indexOf(waiter), 1);
                  rej(new Error('no message'));
                }, timeoutMs);
                waiters.push(waiter);
              }),
      }),
    );
  });
}

async function refusedStatus(p: Promise<Client>): Promise<number> {
  try {
    const c = await p;
    c.ws.terminate();
    return 101;
  } catch (err) {
    return (err as { status?: number }).status ?? -1;
  }
}

describe('outpost websocket', () => {
  let core: DevCore;
  before(async () => {
    core = await startTestCore({ seed: { ...loadSeedFile(TEST_SEED), outpost_state_ttl_seconds: 0.5 } });
  });
  after(() => core.close());

  it('refuses upgrades without a token, with an unknown token, for another outpost, or an unknown path', async () => {
    assert.equal(await refusedStatus(connect(wsUrl(core, 'test-radius'), undefined)), 403);
    assert.equal(await refusedStatus(connect(wsUrl(core, 'test-radius'), 'nope')), 403);
    assert.equal(await refusedStatus(connect(wsUrl(core, 'test-radius'), LDAP_TOKEN)), 403);
    assert.equal(await refusedStatus(connect(`${core.url.replace(/^http/, 'ws')}/ws/nothing/`, RADIUS_TOKEN)), 404);
  });

  it('records hellos as health state (with a TTL) and answers each with an ACK', async () => {
    const c = await connect(wsUrl(core, 'test-radius', '?attempt=2'), RADIUS_TOKEN);
    const conns = core.admin.websocketConnections('test-radius');
    assert.equal(conns.at(-1)?.query, 'attempt=2');
    assert.equal(conns.at(-1)?.closedAt, undefined);
    c.ws.send(JSON.stringify({ instruction: 1, args: { version: '2024.4.3', buildHash: 'tagged', uuid: 'instance-1', hostname: 'host-1' } }));
    assert.deepEqual(await c.next(), { instruction: 0, args: {} });
    const [state] = core.admin.health('test-radius');
    assert.equal(state?.uid, 'instance-1');
    assert.equal(state?.version, '2024.4.3');
    assert.equal(state?.version_should, '2024.4.3');
    assert.equal(state?.version_outdated, false);
    assert.equal(state?.build_hash, 'tagged');
    assert.equal(state?.hostname, 'host-1');
    assert.ok(Math.abs(Date.parse(state?.last_seen ?? '') - Date.now()) < 2000);

    // ACKs and garbage are ignored; the connection stays usable.
    c.ws.send(JSON.stringify({ instruction: 0, args: {} }));
    c.ws.send('not json');
    c.ws.send(JSON.stringify({ instruction: 1, args: { version: '2023.10.1' } }));
    assert.deepEqual(await c.next(), { instruction: 0, args: {} });
    const byConn = core.admin.health('test-radius').find((s) => s.uid !== 'instance-1');
    assert.ok(byConn?.uid.startsWith('specific.'), 'without uuid the channel name is the uid');
    assert.equal(byConn?.version_outdated, false, 'no build hash is not the server\'s: never outdated (authentik\'s rule)');
    c.ws.send(JSON.stringify({ instruction: 1, args: { version: '2023.10.1', buildHash: 'tagged' } }));
    assert.deepEqual(await c.next(), { instruction: 0, args: {} });
    assert.equal(core.admin.health('test-radius').find((s) => s.uid === byConn?.uid)?.version_outdated, true, 'same build, lower version');

    await sleep(700);
    assert.deepEqual(core.admin.health('test-radius'), [], 'states expire after the TTL');
    c.ws.close(1000);
    await once(c.ws, 'close');
  });

  it('push, TRIGGER_UPDATE on changes, and drop without a close frame', async () => {
    const c = await connect(wsUrl(core, 'test-radius'), RADIUS_TOKEN);
    const ldap = await connect(wsUrl(core, 'test-ldap'), LDAP_TOKEN);
    assert.equal(core.admin.pushToOutpost('test-radius', { instruction: 3, args: { type: 'event.provider.specific', sub_type: 'logout', session_id: 'abc' } }), 1);
    assert.deepEqual(await c.next(), { instruction: 3, args: { type: 'event.provider.specific', sub_type: 'logout', session_id: 'abc' } });

    core.admin.updateProvider('test-radius-provider', { shared_secret: 'rotated' });
    assert.deepEqual(await c.next(), { instruction: 2, args: {} });
    await assert.rejects(ldap.next(200), /no message/, 'only the affected outpost is told about its provider');
    core.admin.addUser({ username: 'newcomer', password: 'x', groups: ['vpn'] });
    assert.deepEqual(await c.next(), { instruction: 2, args: {} });
    assert.deepEqual(await ldap.next(), { instruction: 2, args: {} });

    const closed = once(c.ws, 'close');
    assert.equal(core.admin.dropWebsockets('test-radius'), 1);
    const [code] = (await closed) as [number];
    assert.equal(code, 1006, 'no close frame');
    assert.ok(core.admin.websocketConnections('test-radius').every((x) => x.closedAt !== undefined));
    assert.equal(ldap.ws.readyState, WebSocket.OPEN);
    ldap.ws.terminate();
  });

  it('refuses upgrades with 503 while told to, then accepts again', async () => {
    core.admin.refuseWebsockets(true);
    assert.equal(await refusedStatus(connect(wsUrl(core, 'test-radius', '?attempt=1'), RADIUS_TOKEN)), 503);
    core.admin.refuseWebsockets(false);
    const c = await connect(wsUrl(core, 'test-radius', '?attempt=2'), RADIUS_TOKEN);
    c.ws.terminate();
  });

  it('a logout sends the proxy outposts a provider-specific logout naming the hash of the session key', async () => {
    const proxy = await connect(wsUrl(core, 'test-proxy'), PROXY_TOKEN);
    const f = new FlowClient(core.url);
    const url = '/api/v3/flows/executor/id-embedded-flow/';
    await f.get(url);
    let res = await f.post(url, { component: 'ak-stage-identification', uid_field: 'alice', password: 'alice-password' });
    while (res.status === 302) res = await f.get(url);
    const sid = core.admin.listSessions().find((s) => s.username === 'alice' && s.authenticated)?.session_key;
    await f.get('/api/v3/flows/executor/default-invalidation-flow/');
    const hashed = createHash('sha256').update(sid ?? '', 'ascii').digest('hex');
    assert.deepEqual(await proxy.next(), { instruction: 3, args: { type: 'event.provider.specific', sub_type: 'logout', session_id: hashed } });
    proxy.ws.terminate();
  });

  it('close() terminates open websockets', async () => {
    const other = await startTestCore();
    const c = await connect(wsUrl(other, 'test-ldap'), LDAP_TOKEN);
    const closed = once(c.ws, 'close');
    await other.close();
    await closed;
  });
});
