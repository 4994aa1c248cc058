// The flow histograms' `stage` label comes from the core: its series are bounded in number and
// in size, whatever the core sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentMetrics } from '../../src/agent/metrics.ts';
import { MAX_STAGE_LABELS, OTHER_STAGE, flowMetricsFrom } from '../../src/flow/metrics.ts';

function stages(text: string, metric: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(new RegExp(`^${metric}_count\\{[^}]*stage="([^"]*)"`, 'gm'))) out.add(m[1]!);
  return out;
}

test('authentik\'s components are labels as they are', async () => {
  const metrics = new AgentMetrics();
  const sink = flowMetricsFrom(metrics);
  sink.observeGet('f', 'ak-stage-identification', 0.01);
  sink.observePost('f', 'xak-flow-redirect', 0.02);
  const text = await metrics.registry.metrics();
  assert.deepEqual(stages(text, 'authentik_outpost_flow_timing_get_seconds'), new Set(['ak-stage-identification']));
  assert.deepEqual(stages(text, 'authentik_outpost_flow_timing_post_seconds'), new Set(['xak-flow-redirect']));
});

test('a core sending endless or huge component names does not grow the metrics without bound', async () => {
  const metrics = new AgentMetrics();
  // One sink per refresh, as the listeners make them: the bound holds across them.
  for (let refresh = 0; refresh < 5; refresh++) {
    const sink = flowMetricsFrom(metrics);
    for (let i = 0; i < 200; i++) sink.observePost('f', `ak-stage-made-up-${refresh}-${i}`, 0.01);
    sink.observePost('f', 'x'.repeat(100_000), 0.01);
    sink.observePost('f', 'Not A Component {"}', 0.01);
  }
  const seen = stages(await metrics.registry.metrics(), 'authentik_outpost_flow_timing_post_seconds');
  assert.ok(seen.size <= MAX_STAGE_LABELS + 1, `${seen.size} stage series`);
  assert.ok(seen.has(OTHER_STAGE));
  assert.ok([...seen].every((s) => s.length <= 64));
});
