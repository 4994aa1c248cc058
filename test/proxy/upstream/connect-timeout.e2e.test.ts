// An upstream that never accepts the connection, through the whole outpost: the fast path
// (fast/upstream-pool.ts) and the slow path (undici, upstream/dispatchers.ts) each give up at
// their connect timeout (both 10 s by default, not configurable) and answer a logged-in user alike:
// authentik's 502 page with the detail, an access line at error, `upstream_timeout` in the warn
// line, the upstream histogram observed. Two outposts on the same core seed, one with
// AUTHENTIK_PROXY__FAST_PATH=false; the requests run side by side, about 10 s in all.
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'undici';
import type { SeedDocument } from '../../../src/devcore/seed.ts';
import { browserLogin, call, Jar, startProxyStack, type ProxyStack } from '../e2e/support.ts';
import type { Reply } from '../support/client.ts';
import { startUnacceptingListener, type UnacceptingListener } from '../../support/unaccepting-listener.ts';

const APP = 'https://app.example.com';
const HOST = 'app.example.com';
type Path = 'fast' | 'slow';

async function metric(stack: ProxyStack, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${stack.outpost.metricsUrl}/metrics`)).text();
  const m = pattern.exec(text);
  return m ? Number(m[1]) : 0;
}

describe('an upstream that never accepts the connection, through the outpost', () => {
  let hung: UnacceptingListener;
  const stacks: Partial<Record<Path, ProxyStack>> = {};
  const jars: Record<Path, Jar> = { fast: new Jar(), slow: new Jar() };
  const stack = (k: Path): ProxyStack => stacks[k]!;

  before(async () => {
    hung = await startUnacceptingListener();
    const edit = (doc: SeedDocument) => {
      for (const p of doc.providers ?? []) if (p.type === 'proxy' && p.name === 'p1-proxy') p.internal_host = `http://${hung.host}:${hung.port}`;
    };
    stacks.fast = await startProxyStack({ authentikVersion: '2026.8', edit });
    stacks.slow = await startProxyStack({ authentikVersion: '2026.8', edit, env: { AUTHENTIK_PROXY__FAST_PATH: 'false' } });
    for (const k of ['fast', 'slow'] as const) {
      const done = await browserLogin(stack(k), `${APP}/`, jars[k], new Jar());
      assert.equal(done.status, 302, done.body);
    }
  });
  after(async () => {
    await stacks.fast?.close();
    await stacks.slow?.close();
    await hung?.close();
  });

  const get = async (k: Path, path: string): Promise<Reply> => {
    const client = new Client(`http://127.0.0.1:${stack(k).httpPort}`);
    try {
      return await call(`http://127.0.0.1:${stack(k).httpPort}`, path, { host: HOST, jar: jars[k], dispatcher: client });
    } finally {
      await client.close();
    }
  };

  test('both paths answer the 502 page at the connect timeout, log upstream_timeout and observe the upstream time', async () => {
    const origin = `http://${hung.host}:${hung.port}`;
    const histogram = new RegExp(`^authentik_outpost_proxy_upstream_response_duration_seconds_count\\{[^}]*upstream_host="${hung.host.replaceAll('.', '\\.')}:${hung.port}"[^}]*\\} (\\d+)`, 'm');
    const fastServed = /^authentik_outpost_proxy_fast_path_requests_total (\d+)/m;
    const before = { fast: await metric(stack('fast'), histogram), slow: await metric(stack('slow'), histogram), served: await metric(stack('fast'), fastServed) };

    // 10 s connect timeouts, side by side; a path that hangs fails here rather than at the runner's timeout.
    const replies = await Promise.race([Promise.all([get('fast', '/never-accepted'), get('slow', '/never-accepted')]), sleep(30_000, undefined, { ref: false })]);
    assert.ok(replies !== undefined, 'both answered within 30 s');
    const [fast, slow] = replies;

    assert.equal(await metric(stack('fast'), fastServed), before.served + 1, 'the fast outpost served it on its fast path');
    for (const [k, r] of [['fast', fast], ['slow', slow]] as const) {
      assert.equal(r.status, 502, k);
      assert.match(String(r.headers['content-type']), /^text\/html/, k);
      assert.ok(r.body.includes(`Error proxying to upstream server: ${origin} did not accept the connection in time`), `${k}: ${r.body}`);
      const lines = stack(k).outpost.logs.lines;
      const access = lines.findLast((l) => l['event'] === '/never-accepted');
      assert.equal(access?.['status'], 502, k);
      assert.equal(access?.['level'], 'error', k);
      assert.equal(access?.['size'], Buffer.byteLength(r.body), k);
      const warn = lines.findLast((l) => l['event'] === 'failed to proxy to backend');
      assert.equal(warn?.['code'], 'upstream_timeout', `${k}: ${JSON.stringify(warn)}`);
      assert.equal(warn?.['upstream'], origin, k);
      assert.equal(await metric(stack(k), histogram), before[k] + 1, `${k}: the upstream histogram saw the attempt`);
    }
    assert.equal(fast.body, slow.body, 'the same page on both paths');
  });
});
