// The agent against the development core over real HTTP and websocket connections.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import type { DevCore } from '../../src/devcore/index.ts';
import { recordingPlugin } from '../support/recording-listener.ts';
import { startCore, startOutpost, testConfig, type TestOutpost } from '../support/outpost.ts';
import { waitFor } from '../support/wait.ts';

const RADIUS_TOKEN = 'test-radius-token';

/** The message of the error a line logged under `err`. */
function errMessage(line: Record<string, unknown>): string {
  return String((line['err'] as { message?: unknown } | undefined)?.message ?? '');
}
const LDAP_TOKEN = 'test-ldap-token';

describe('agent against the development core', () => {
  let core: DevCore;
  let outpost: TestOutpost;
  const { plugin, recorder } = recordingPlugin('radius', '/outposts/radius/');

  before(async () => {
    core = await startCore();
    outpost = await startOutpost(testConfig(core.url, [RADIUS_TOKEN]), [plugin], { helloIntervalMs: 300 });
  });
  after(async () => {
    await outpost.runtime.shutdown();
    await core.close();
  });

  it('starts as authentik does: instances, root config, websocket, providers; then serves', async () => {
    assert.equal(outpost.runtime.agents[0]?.state.phase, 'serving');
    assert.equal(recorder.started, 1);
    const first = recorder.applied[0];
    assert.ok(first, 'a provider list was applied');
    assert.equal(first.outpost, 'test-radius');
    assert.ok(first.providers.length >= 1);
    const paths = core.admin.requests().map((r) => `${r.method} ${r.path}`);
    const idx = (p: string) => paths.indexOf(p);
    assert.ok(idx('GET /api/v3/outposts/instances/') >= 0);
    assert.ok(idx('GET /api/v3/root/config/') > idx('GET /api/v3/outposts/instances/'));
    assert.ok(idx('GET /api/v3/outposts/radius/') > idx('GET /api/v3/root/config/'));
    const providersCall = core.admin.requests().find((r) => r.path === '/api/v3/outposts/radius/');
    assert.equal(providersCall?.query['page'], '1');
    assert.equal(providersCall?.headers['authorization'], `Bearer ${RADIUS_TOKEN}`);
    assert.match(providersCall?.headers['user-agent'] ?? '', /^goauthentik\.io\/outpost\/2026\.8\.6/);
  });

  it('says hello: the core records version, build hash, instance uuid and hostname', async () => {
    const state = await waitFor('hello in health', () => core.admin.health('test-radius').find((s) => s.uid === outpost.runtime.instanceUuid));
    assert.equal(state.version, '2026.8.6');
    assert.equal(state.build_hash, 'tagged');
    assert.equal(state.hostname, hostname());
  });

  it('keeps saying hello on its interval', async () => {
    const seen = () => Date.parse(core.admin.health('test-radius').find((s) => s.uid === outpost.runtime.instanceUuid)?.last_seen ?? '0');
    const before = seen();
    await waitFor('a later hello', () => seen() > before, 3000);
  });

  it('exports connection, info and last-update metrics, and answers ping', async () => {
    const ping = await fetch(`${outpost.metricsUrl}/outpost.goauthentik.io/ping`);
    assert.equal(ping.status, 204);
    const text = await waitFor('connection gauge 1', async () => {
      const t = await (await fetch(`${outpost.metricsUrl}/metrics`)).text();
      return /authentik_outpost_connection\{[^}]*outpost_name="test-radius"[^}]*\} 1/.test(t) ? t : undefined;
    });
    assert.match(text, /authentik_outpost_info\{outpost_name="test-radius",outpost_type="radius",uuid="[0-9a-f-]{36}",version="2026\.8\.6",build="tagged"\} 1/);
    const m = /authentik_outpost_last_update\{[^}]*outpost_name="test-radius"[^}]*\} ([0-9.e+]+)/.exec(text);
    assert.ok(m && Math.abs(Number(m[1]) - Date.now() / 1000) < 60, 'last_update is a recent unix time');
    const ready = await fetch(`${outpost.metricsUrl}/outpost.goauthentik.io/ready`);
    assert.equal(ready.status, 204);
  });

  it('applies a TRIGGER_UPDATE within a second', async () => {
    const count = recorder.applied.length;
    const started = Date.now();
    core.admin.updateProvider('test-radius-provider', { shared_secret: 'rotated-secret' });
    const applied = await waitFor('refresh after trigger', () => recorder.applied.length > count && recorder.last(), 1000);
    assert.ok(Date.now() - started < 1000);
    assert.equal(applied.providers.find((p) => p.name === 'test-radius-provider')?.['shared_secret'], 'rotated-secret');
  });

  it('routes PROVIDER_SPECIFIC messages to the listener', async () => {
    core.admin.pushToOutpost('test-radius', { instruction: 3, args: { type: 'event.provider.specific', sub_type: 'logout', session_id: 'abc' } });
    const got = await waitFor('provider specific', () => recorder.providerSpecific.find((a) => a['session_id'] === 'abc'));
    assert.equal(got['sub_type'], 'logout');
  });

  it('ignores malformed and unknown websocket messages and stays connected', async () => {
    core.admin.pushToOutpost('test-radius', { instruction: 'nope' });
    core.admin.pushToOutpost('test-radius', { instruction: 99, args: {} });
    const before = core.admin.websocketConnections('test-radius').length;
    const count = recorder.applied.length;
    core.admin.pushToOutpost('test-radius', { instruction: 2, args: {} });
    await waitFor('refresh after the bad messages', () => recorder.applied.length > count);
    assert.equal(core.admin.websocketConnections('test-radius').length, before);
  });

  /** Refreshes done because the websocket came back (the configuration is read at once). */
  const reconnectRefreshes = () => outpost.logs.lines.filter((l) => l['event'] === 'refreshed configuration' && l['reason'] === 'reconnect').length;

  it('reconnects with attempt=N after the websocket drops', async () => {
    const refreshes = reconnectRefreshes();
    const before = core.admin.websocketConnections('test-radius').length;
    core.admin.dropWebsockets('test-radius');
    const conns = await waitFor('reconnect', () => {
      const c = core.admin.websocketConnections('test-radius');
      return c.length > before ? c : undefined;
    }, 5000);
    assert.match(conns.at(-1)?.query ?? '', /(^|&)attempt=1(&|$)/);
    await waitFor('hello after reconnect', () => core.admin.health('test-radius').some((s) => s.uid === outpost.runtime.instanceUuid));
    await waitFor('the refresh after the reconnect', () => reconnectRefreshes() > refreshes);
  });

  it('backs off while upgrades are refused, then reconnects', async () => {
    const refreshes = reconnectRefreshes();
    core.admin.refuseWebsockets(true);
    const before = core.admin.websocketConnections('test-radius').length;
    core.admin.dropWebsockets('test-radius');
    await new Promise((r) => setTimeout(r, 3500));
    // attempts at about 1 s and 2 s later (3 s in all): refused, so none recorded as connected
    assert.equal(core.admin.websocketConnections('test-radius').length, before);
    core.admin.refuseWebsockets(false);
    const conns = await waitFor('reconnect after refusals', () => {
      const c = core.admin.websocketConnections('test-radius');
      return c.length > before ? c : undefined;
    }, 8000);
    const attempt = Number(/attempt=(\d+)/.exec(conns.at(-1)?.query ?? '')?.[1]);
    assert.ok(attempt >= 2, `attempt ${attempt} counts the refused tries`);
    // Before the next test reads the configuration: the reconnect's refresh has landed.
    await waitFor('the refresh after the reconnect', () => reconnectRefreshes() > refreshes);
  });

  it('keeps the last good configuration when a refresh fails', async () => {
    const good = recorder.last();
    core.admin.setFaults({ pathPrefix: '/api/v3/outposts/radius/', failStatus: 500, failCount: 1000 });
    try {
      const [ok] = await outpost.runtime.refreshAll('test');
      assert.equal(ok, false);
      assert.equal(recorder.last(), good, 'no new configuration was applied');
      assert.ok(outpost.logs.lines.some((l) => /refresh failed; keeping the last good configuration/.test(String(l['event'])) && /answered 500/.test(errMessage(l))));
    } finally {
      core.admin.clearFaults();
    }
    const [ok] = await outpost.runtime.refreshAll('test');
    assert.equal(ok, true);
  });

  it('survives a core that answers garbage or times out', async () => {
    core.admin.setFaults({ pathPrefix: '/api/v3/outposts/instances/', garbage: true, failCount: 1000 });
    try {
      const [ok] = await outpost.runtime.refreshAll('test');
      assert.equal(ok, false);
      assert.ok(outpost.logs.lines.some((l) => /not JSON|unexpected response/.test(errMessage(l))));
    } finally {
      core.admin.clearFaults();
    }
    core.admin.setFaults({ latencyMs: 3000, pathPrefix: '/api/v3/outposts/radius/' });
    try {
      const [ok] = await outpost.runtime.refreshAll('test');
      assert.equal(ok, false);
      assert.ok(outpost.logs.lines.some((l) => /did not answer within 2000 ms/.test(errMessage(l))));
    } finally {
      core.admin.clearFaults();
    }
    assert.deepEqual(await outpost.runtime.refreshAll('test'), [true]);
  });

  it('applies the outpost\'s log_level from authentik on refresh', async () => {
    const debugLines = () => outpost.logs.lines.filter((l) => l['level'] === 'debug' && l['outpost'] === 'test-radius').length;
    core.admin.updateOutpost('test-radius', { config: { log_level: 'warning' } });
    await waitFor('quiet after log_level warning', async () => {
      await outpost.runtime.refreshAll('test');
      const before = debugLines();
      await outpost.runtime.refreshAll('test');
      return debugLines() === before;
    });
    core.admin.updateOutpost('test-radius', { config: { log_level: 'debug' } });
    const before = debugLines();
    await outpost.runtime.refreshAll('test');
    await outpost.runtime.refreshAll('test');
    assert.ok(debugLines() > before, 'debug lines again after log_level debug');
  });

  it('never writes the token to its logs', () => {
    assert.ok(outpost.logs.raw.length > 10);
    for (const line of outpost.logs.raw) assert.ok(!line.includes(RADIUS_TOKEN), line);
  });
});

describe('agent start-up while the core is down', () => {
  it('retries with backoff, then serves once the core is up', async () => {
    const core = await startCore();
    const { plugin, recorder } = recordingPlugin('radius', '/outposts/radius/');
    await core.admin.stopListening();
    const outpost = await startOutpost(testConfig(core.url, [RADIUS_TOKEN]), [plugin], { await: false });
    try {
      await waitFor('a retry log line', () => outpost.logs.lines.filter((l) => /failed to fetch outpost; retrying/.test(String(l['event']))).length >= 2, 5000);
      assert.equal(outpost.runtime.agents[0]?.state.phase, 'starting');
      assert.equal(recorder.started, 0, 'no listener starts before its first configuration');
      const ready = await fetch(`${outpost.metricsUrl}/outpost.goauthentik.io/ready`);
      assert.equal(ready.status, 503);
      await core.admin.startListening();
      await waitFor('serving', () => outpost.runtime.agents[0]?.state.phase === 'serving', 15_000);
      assert.equal(recorder.started, 1);
      const attempts = outpost.logs.lines.filter((l) => /failed to fetch outpost; retrying/.test(String(l['event']))).map((l) => Number(l['attempt']));
      assert.deepEqual(attempts, attempts.map((_, i) => i + 1), 'one log line per attempt');
    } finally {
      await outpost.runtime.shutdown();
      await core.close();
    }
  });
});

describe('several outposts in one process', () => {
  it('runs one agent per token and skips a type without a listener', async () => {
    const core = await startCore();
    const { plugin, recorder } = recordingPlugin('radius', '/outposts/radius/');
    const outpost = await startOutpost(testConfig(core.url, [RADIUS_TOKEN, LDAP_TOKEN]), [plugin]);
    try {
      const phases = outpost.runtime.agents.map((a) => a.state.phase);
      assert.deepEqual(phases, ['serving', 'skipped']);
      assert.ok(outpost.logs.lines.some((l) => /skipping outpost: this build has no ldap listener yet/.test(String(l['event']))));
      assert.deepEqual(new Set(recorder.applied.map((a) => a.outpost)), new Set(['test-radius']));
      const ready = await fetch(`${outpost.metricsUrl}/outpost.goauthentik.io/ready`);
      assert.equal(ready.status, 204);
    } finally {
      await outpost.runtime.shutdown();
      await core.close();
    }
  });
});
