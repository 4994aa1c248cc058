// Flow timings reach the agent's Prometheus histograms, in seconds, labelled by flow and stage.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AgentMetrics } from '../../src/agent/metrics.ts';
import { CoreApi, createDispatcher } from '../../src/agent/core-api.ts';
import { createFlowExecutor, flowMetricsFrom, LDAP_PARAMS } from '../../src/flow/index.ts';
import type { DevCore } from '../../src/devcore/index.ts';
import { userAgent } from '../../src/version.ts';
import { captureLogs } from '../support/logs.ts';
import { startCore } from '../support/outpost.ts';

describe('flow metrics', () => {
  let core: DevCore;
  const dispatcher = createDispatcher({ insecure: false });
  before(async () => {
    core = await startCore();
  });
  after(async () => {
    await core.close();
    await dispatcher.close();
  });

  it('observes the GET and each POST of a flow', async () => {
    const metrics = new AgentMetrics();
    const api = new CoreApi({ host: new URL(core.url), token: 'test-ldap-token', userAgent: userAgent(), dispatcher, timeoutMs: 5000 });
    const outcome = await createFlowExecutor({ core: api, logger: captureLogs().logger, metrics: flowMetricsFrom(metrics) }, { clientIp: '127.0.0.1' }).run({
      flowSlug: 'id-password-flow',
      params: LDAP_PARAMS,
      answers: { username: 'alice', password: 'alice-password' },
    });
    assert.equal(outcome.kind, 'passed');
    const text = await metrics.registry.metrics();
    assert.match(text, /authentik_outpost_flow_timing_get_seconds_count\{flow="id-password-flow",stage="ak-stage-identification"\} 1/);
    assert.match(text, /authentik_outpost_flow_timing_post_seconds_count\{flow="id-password-flow",stage="xak-flow-redirect"\} [1-9]/);
    const sum = /authentik_outpost_flow_timing_get_seconds_sum\{[^}]*\} ([0-9.e-]+)/.exec(text);
    assert.ok(sum && Number(sum[1]) > 0 && Number(sum[1]) < 5, 'durations are in seconds');
  });
});
