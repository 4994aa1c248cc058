// The proxy's metrics as the primary of several workers exports them (prom-client's aggregation).
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { AggregatorRegistry } from 'prom-client';
import { Registry } from '../../src/agent/prom.ts';
import { ProxyMetrics } from '../../src/proxy/metrics.ts';

describe('proxy metrics across workers', () => {
  it('session_store_up is the lowest of the workers (0 when one is down), requests are summed', async () => {
    const workers = [1, 0].map((up) => {
      const registry = new Registry();
      const m = new ProxyMetrics(registry);
      m.sessionStoreUp.set({ backend: 'redis' }, up);
      m.fastPath.inc(2);
      return registry;
    });
    const text = await AggregatorRegistry.aggregate(await Promise.all(workers.map((r) => r.getMetricsAsJSON()))).metrics();
    assert.match(text, /^authentik_outpost_proxy_session_store_up\{backend="redis"\} 0$/m);
    assert.match(text, /^authentik_outpost_proxy_fast_path_requests_total 4$/m);
  });
});
