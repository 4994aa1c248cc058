// Worker → primary messages are input too: a metrics answer is used only when every metric and
// sample has the shape prom-client's aggregation and exposition rely on.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Histogram, Registry } from '../../src/agent/prom.ts';
import { isMessage, type MetricsResponse } from '../../src/cluster/protocol.ts';

async function realMetrics(): Promise<unknown[]> {
  const registry = new Registry();
  new Counter({ name: 'c_total', help: 'a counter', labelNames: ['kind'], registers: [registry] }).inc({ kind: 'x' });
  new Histogram({ name: 'h_seconds', help: 'a histogram', buckets: [0.1, 1], registers: [registry] }).observe(0.5);
  // Through JSON, as over IPC.
  return JSON.parse(JSON.stringify(await registry.getMetricsAsJSON())) as unknown[];
}

const answer = (metrics: unknown): unknown => ({ type: 'outpost:metrics', id: 1, metrics });

describe('cluster metrics answers', () => {
  it('accepts what a worker\'s registry sends', async () => {
    assert.equal(isMessage<MetricsResponse>(answer(await realMetrics()), 'outpost:metrics'), true);
  });

  it('refuses names that would break the exposition text, unknown aggregators, and values that are not numbers', async () => {
    const base = (await realMetrics())[0] as Record<string, unknown>;
    const sample = (base['values'] as Record<string, unknown>[])[0]!;
    const bad: unknown[] = [
      { ...base, name: 'c_total 1\nevil_metric' },
      { ...base, aggregator: 'constructor' },
      { ...base, values: [{ ...sample, value: '1' }] },
      { ...base, values: [{ ...sample, labels: { 'bad label': 'x' } }] },
      { ...base, values: [{ ...sample, labels: { kind: { nested: true } } }] },
      { ...base, help: 42 },
    ];
    for (const m of bad) assert.equal(isMessage<MetricsResponse>(answer([m]), 'outpost:metrics'), false, JSON.stringify(m));
    assert.equal(isMessage<MetricsResponse>(answer('not a list'), 'outpost:metrics'), false);
  });

  it('refuses a type prom-client would print unescaped, and names its aggregation cannot register', async () => {
    const base = (await realMetrics())[0] as Record<string, unknown>;
    const bad: unknown[] = [
      { ...base, type: 'gauge\ninjected_metric 1' },
      { ...base, type: 'untyped' },
      { ...base, type: 42 },
      ...['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'].map((name) => ({ ...base, name })),
    ];
    for (const m of bad) assert.equal(isMessage<MetricsResponse>(answer([m]), 'outpost:metrics'), false, JSON.stringify(m));
    for (const type of ['counter', 'gauge', 'histogram', 'summary']) {
      assert.equal(isMessage<MetricsResponse>(answer([{ ...base, type }]), 'outpost:metrics'), true, type);
    }
  });

  it('refuses answers past their bounds: metrics, values per metric, labels per value, lengths', async () => {
    const base = (await realMetrics())[0] as Record<string, unknown>;
    const sample = (base['values'] as Record<string, unknown>[])[0]!;
    const ok = (metrics: unknown[]) => isMessage<MetricsResponse>(answer(metrics), 'outpost:metrics');
    const labels = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`l${i}`, 'x']));
    // At each bound: accepted.
    assert.equal(ok(Array.from({ length: 1000 }, () => base)), true);
    assert.equal(ok([{ ...base, values: Array.from({ length: 100_000 }, () => sample) }]), true);
    assert.equal(ok([{ ...base, values: [{ ...sample, labels: labels(32) }] }]), true);
    assert.equal(ok([{ ...base, help: 'h'.repeat(4096) }]), true);
    assert.equal(ok([{ ...base, name: 'n'.repeat(1024), values: [{ ...sample, metricName: 'm'.repeat(1024), labels: { ['k'.repeat(1024)]: 'v'.repeat(1024) } }] }]), true);
    // One past: refused.
    assert.equal(ok(Array.from({ length: 1001 }, () => base)), false);
    assert.equal(ok([{ ...base, values: Array.from({ length: 100_001 }, () => sample) }]), false);
    assert.equal(ok([{ ...base, values: [{ ...sample, labels: labels(33) }] }]), false);
    assert.equal(ok([{ ...base, help: 'h'.repeat(4097) }]), false);
    assert.equal(ok([{ ...base, name: 'n'.repeat(1025) }]), false);
    assert.equal(ok([{ ...base, values: [{ ...sample, metricName: 'm'.repeat(1025) }] }]), false);
    assert.equal(ok([{ ...base, values: [{ ...sample, labels: { ['k'.repeat(1025)]: 'v' } }] }]), false);
    assert.equal(ok([{ ...base, values: [{ ...sample, labels: { kind: 'v'.repeat(1025) } }] }]), false);
  });
});
