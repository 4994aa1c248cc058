// Which API the core speaks, and how often to refresh, from the outpost object alone.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { apiGeneration, refreshIntervalMs } from '../../src/agent/generation.ts';
import { outpostSchema, type Outpost } from '../../src/agent/schemas.ts';

const outpost = (extra: Record<string, unknown> = {}): Outpost =>
  outpostSchema.parse({ pk: '8a5e1f2c-3b4d-4e6f-8a9b-0c1d2e3f4a5b', name: 'o', type: 'ldap', config: {}, ...extra });

describe('API generation', () => {
  it('is 2024.4 for an outpost object without refresh_interval_s', () => {
    assert.equal(apiGeneration(outpost()), '2024.4');
  });
  it('is 2024.8 once the core sends refresh_interval_s, whatever its value', () => {
    assert.equal(apiGeneration(outpost({ refresh_interval_s: 300 })), '2024.8');
    assert.equal(apiGeneration(outpost({ refresh_interval_s: 0 })), '2024.8');
  });
  it('refuses a refresh_interval_s that is not a whole number (a broken core)', () => {
    assert.throws(() => outpost({ refresh_interval_s: 'soon' }));
    assert.throws(() => outpost({ refresh_interval_s: 1.5 }));
  });
});

describe('refresh interval', () => {
  it('is 300 s on authentik 2024.4 and where refresh_interval_s <= 0', () => {
    assert.equal(refreshIntervalMs(outpost()), 300_000);
    assert.equal(refreshIntervalMs(outpost({ refresh_interval_s: 0 })), 300_000);
    assert.equal(refreshIntervalMs(outpost({ refresh_interval_s: -5 })), 300_000);
  });
  it('follows refresh_interval_s, never below 30 s', () => {
    assert.equal(refreshIntervalMs(outpost({ refresh_interval_s: 90 })), 90_000);
    assert.equal(refreshIntervalMs(outpost({ refresh_interval_s: 10 })), 30_000);
    assert.equal(refreshIntervalMs(outpost({ refresh_interval_s: 30 })), 30_000);
    // Past setTimeout's limit Node fires after 1 ms: a huge value from the core must not loop.
    assert.equal(refreshIntervalMs(outpost({ refresh_interval_s: 1e12 })), 2 ** 31 - 1);
  });
});
