// The core goes away and comes back: the websocket returns soon after the core does and the
// configuration is read again at once; a failed refresh is retried until one succeeds; a
// revoked outpost token says so once, at error, and counts.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TOKEN_REJECTED_EVENT } from '../../src/agent/core-failures.ts';
import type { DevCore } from '../../src/devcore/index.ts';
import { metricValue, metricsText } from '../support/metrics.ts';
import { recordingPlugin } from '../support/recording-listener.ts';
import { startCore, startOutpost, testConfig, type TestOutpost } from '../support/outpost.ts';
import { waitFor } from '../support/wait.ts';

const TOKEN = 'test-radius-token';
const PROVIDERS = '/api/v3/outposts/radius/';
/** Short waits so the test does not sit through real ones (backoff.test.ts checks the real cap). */
const FAST_BACKOFF = { initialMs: 100, maxMs: 400, jitter: 0.2 };

describe('agent: the core goes away and comes back', { concurrency: 1 }, () => {
  let core: DevCore;
  let outpost: TestOutpost;
  const { plugin, recorder } = recordingPlugin('radius', '/outposts/radius/');
  const events = (re: RegExp) => outpost.logs.lines.filter((l) => re.test(String(l['event'])));

  before(async () => {
    core = await startCore();
    outpost = await startOutpost(testConfig(core.url, [TOKEN]), [plugin], { helloIntervalMs: 300, websocketBackoff: FAST_BACKOFF });
    await waitFor('the websocket', () => core.admin.websocketConnections('test-radius').some((c) => c.closedAt === undefined));
    // Connected once the core acknowledged a hello: the first test watches the gauge fall.
    await waitFor('the connection gauge at 1', async () => /authentik_outpost_connection\{[^}]*\} 1/.test(await metricsText(outpost.metricsUrl)));
  });
  after(async () => {
    await outpost?.runtime.shutdown();
    await core?.close();
  });
  afterEach(() => core.admin.clearFaults());

  it('the websocket is back soon after the core, says how long it was down, and the configuration is read at once', async () => {
    const applied = recorder.applied.length;
    await core.admin.stopListening();
    await waitFor('the connection gauge at 0', async () => /authentik_outpost_connection\{[^}]*\} 0/.test(await metricsText(outpost.metricsUrl)));
    // Long enough for the backoff to reach its cap.
    await new Promise((r) => setTimeout(r, 1500));
    // /ready stays 204: the outpost keeps serving what it can; pulling it out of a load balancer
    // would not bring the core back.
    assert.equal((await fetch(`${outpost.metricsUrl}/outpost.goauthentik.io/ready`)).status, 204);
    assert.equal(recorder.applied.length, applied, 'nothing applied while the core was away');
    const back = performance.now();
    await core.admin.startListening();
    const line = await waitFor('the reconnect line', () => events(/^websocket to authentik reconnected$/)[0], 3000);
    const took = performance.now() - back;
    assert.ok(took < FAST_BACKOFF.maxMs + 600, `reconnected ${Math.round(took)} ms after the core came back`);
    assert.equal(line['level'], 'info');
    assert.ok(Number(line['down_s']) >= 1.5, `down_s ${String(line['down_s'])}`);
    // The refresh interval is minutes away: only the reconnect can have read the configuration.
    await waitFor('a refresh after the reconnect', () => recorder.applied.length > applied, 2000);
    assert.ok(outpost.logs.lines.some((l) => l['event'] === 'refreshed configuration' && l['reason'] === 'reconnect'));
  });

  it('a failed refresh is retried with backoff until one succeeds, not left to the next interval', async () => {
    const applied = recorder.applied.length;
    const calls = () => core.admin.requests().filter((r) => r.path === PROVIDERS).length;
    const before = calls();
    // The next two listings fail; the third (the second retry, about 1 s + 2 s later) succeeds.
    core.admin.setFaults({ pathPrefix: PROVIDERS, failStatus: 503, failCount: 2 });
    const [ok] = await outpost.runtime.refreshAll('test');
    assert.equal(ok, false);
    await waitFor('the configuration after the retries', () => recorder.applied.length > applied, 6000);
    assert.equal(calls() - before, 3, 'the failed refresh and two retries');
    const again = events(/^refreshed configuration again after failed refreshes$/).at(-1);
    assert.equal(again?.['failed'], 2);
    // Retries stop once one succeeded.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(calls() - before, 3);
  });

  it('a revoked token (403 on every call): one error line that says so, a metric, retries; fine once it is accepted again', async () => {
    const kind = async () => metricValue(await metricsText(outpost.metricsUrl), 'authentik_outpost_api_errors_total', { outpost_name: 'test-radius', kind: 'token_rejected' });
    const rejected0 = await kind();
    const lines0 = events(new RegExp(`^${TOKEN_REJECTED_EVENT}$`)).length;
    const calls = () => core.admin.requests().filter((r) => r.path === '/api/v3/outposts/instances/').length;
    const before = calls();
    core.admin.setFaults({ failStatus: 403 });
    const [ok] = await outpost.runtime.refreshAll('test');
    assert.equal(ok, false);
    // The first failure and two retries (about 1 s and 2 s later).
    await waitFor('two retries', () => calls() - before >= 3, 6000);
    const lines = events(new RegExp(`^${TOKEN_REJECTED_EVENT}$`)).slice(lines0);
    assert.equal(lines.length, 1, 'one line, not one per retry');
    assert.equal(lines[0]?.['level'], 'error');
    assert.equal(lines[0]?.['status'], 403);
    assert.equal(lines[0]?.['outpost'], 'test-radius');
    assert.ok((await kind()) >= rejected0 + 3, 'every rejected call counts');
    core.admin.clearFaults();
    const applied = recorder.applied.length;
    await waitFor('the configuration once the token is accepted', () => recorder.applied.length > applied, 8000);
    assert.equal(outpost.runtime.agents[0]?.state.phase, 'serving');
  });
});
