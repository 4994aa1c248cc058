// Upgrade requests take the pipeline every request takes (routing, the outpost's endpoints,
// authentication with header auth, the same answers and access line); only proxy mode's last
// step relays the connection, bounded by the upstream response-head timeout.
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { startHarness, type Harness } from './harness.ts';

const ACTIVE = () => ({ status: 200, body: { active: true, sub: 'U1', preferred_username: 'alice', exp: Math.floor(Date.now() / 1000) + 300 } });
const INACTIVE = () => ({ status: 200, body: { active: false } });

/** Opens a websocket; what the client got: `open` and the first echo, or the refusal's status and headers. */
function tryWebSocket(h: Harness, path: string, headers: Record<string, string>): Promise<{ echoed?: string; status?: number; location?: string }> {
  const ws = new WebSocket(`${h.origin.replace('http:', 'ws:')}${path}`, { headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => ws.send('hello'));
    ws.once('message', (data) => {
      resolve({ echoed: String(data) });
      ws.close();
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0, ...(res.headers.location ? { location: res.headers.location } : {}) });
      res.resume();
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

/** A raw upgrade request; the whole answer once the outpost closes the connection. */
async function rawUpgrade(h: Harness, host: string, path: string): Promise<string> {
  const port = Number(new URL(h.origin).port);
  const c = connect(port, '127.0.0.1');
  c.on('error', () => {});
  c.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
  let text = '';
  c.setEncoding('latin1').on('data', (d: string) => (text += d));
  const timer = setTimeout(() => c.destroy(), 5000);
  await once(c, 'close');
  clearTimeout(timer);
  return text;
}

describe('upgrade requests through the pipeline', () => {
  let h: Harness;
  let silent: Server;
  const held: Socket[] = [];
  before(async () => {
    // Accepts, reads, never answers.
    silent = createServer((s) => {
      held.push(s);
      s.resume();
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const silentPort = (silent.address() as AddressInfo).port;
    h = await startHarness(
      [{}, { pk: 3, name: 'P3', external_host: 'https://silent.example.com', internal_host: `http://127.0.0.1:${silentPort}`, skip_path_regex: '^/', client_id: 'SilentClient00000000000000000000000000', cookie_secret: 'C4C4C4C4C4C4C4C4C4C4C4C4C4C4C4C4' }],
      { upstreamHeadersTimeoutMs: 300 },
    );
  });
  after(async () => {
    for (const s of held) s.destroy();
    silent?.close();
    await h?.close();
  });

  test('a websocket authenticated by a Bearer header (header auth) is relayed with the identity, and logged', async () => {
    h.introspect = ACTIVE;
    const r = await tryWebSocket(h, '/ws?x=1', { host: 'app.example.com', authorization: 'Bearer good-token' });
    assert.equal(r.echoed, 'alice:hello');
    const seen = h.upstreamSockets.at(-1)!;
    assert.equal(seen.headers['authorization'], undefined, 'the consumed credential is not forwarded');
    const line = h.lines.find((l) => l['event'] === '/ws' && l['status'] === 101);
    assert.ok(line, `an access line for the upgrade: ${JSON.stringify(h.lines.slice(-5))}`);
    assert.equal(line['user'], 'alice');
    assert.equal(line['host'], 'app.example.com');
  });

  test('without a login: the 302 to /start that any request gets; the upstream never sees it', async () => {
    const before = h.upstreamSockets.length;
    const r = await tryWebSocket(h, '/ws', { host: 'app.example.com' });
    assert.equal(r.status, 302);
    assert.ok(r.location?.startsWith('https://app.example.com/outpost.goauthentik.io/start?rd='), r.location);
    assert.equal(h.upstreamSockets.length, before);
  });

  test('a refused Authorization header: the 401 page; the core down: 503, never a redirect', async () => {
    h.introspect = INACTIVE;
    assert.equal((await tryWebSocket(h, '/ws', { host: 'app.example.com', authorization: 'Bearer bad-token' })).status, 401);
    h.introspect = () => ({ status: 503, body: { detail: 'down' } });
    try {
      assert.equal((await tryWebSocket(h, '/ws', { host: 'app.example.com', authorization: 'Bearer other-token' })).status, 503);
    } finally {
      h.introspect = INACTIVE;
    }
  });

  test("the outpost's own paths answer as without Upgrade (ping 204), and the connection is closed after", async () => {
    const text = await rawUpgrade(h, 'app.example.com', '/outpost.goauthentik.io/ping');
    assert.match(text, /^HTTP\/1\.1 204 /);
    assert.match(text, /\r\nConnection: close\r\n/i);
    const unknown = await rawUpgrade(h, 'nobody.example.com', '/ws');
    assert.match(unknown, /^HTTP\/1\.1 400 /);
  });

  test('a silent upstream: 502 once the upstream response-head timeout passes, and an error access line', async () => {
    const started = Date.now();
    const text = await rawUpgrade(h, 'silent.example.com', '/ws');
    const elapsed = Date.now() - started;
    assert.match(text, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
    assert.ok(elapsed >= 250 && elapsed < 4000, `answered after ${elapsed} ms`);
    const line = h.lines.find((l) => l['host'] === 'silent.example.com' && l['status'] === 502);
    assert.ok(line, 'an access line with the 502');
    assert.equal(line['level'], 'error');
  });
});
