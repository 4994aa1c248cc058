import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CORE_BACKOFF, WEBSOCKET_BACKOFF, backoffDelay, sleep } from '../../src/agent/backoff.ts';

describe('backoff', () => {
  it('doubles from 1 s and caps at 300 s for the websocket, as authentik does', () => {
    const noJitter = () => 0;
    const seq = Array.from({ length: 12 }, (_, i) => backoffDelay(i + 1, WEBSOCKET_BACKOFF, noJitter) / 1000);
    assert.deepEqual(seq, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
  });

  it('jitters downwards only, within the policy fraction', () => {
    for (let attempt = 1; attempt < 40; attempt++) {
      const nominal = backoffDelay(attempt, CORE_BACKOFF, () => 0);
      const low = backoffDelay(attempt, CORE_BACKOFF, () => 0.999999);
      assert.ok(low <= nominal && low >= nominal * (1 - CORE_BACKOFF.jitter) - 1, `attempt ${attempt}`);
      assert.ok(nominal <= CORE_BACKOFF.maxMs);
    }
  });

  it('never returns 0 or a negative delay, even for silly attempts', () => {
    assert.ok(backoffDelay(0, CORE_BACKOFF) >= 1);
    assert.ok(backoffDelay(-5, CORE_BACKOFF) >= 1);
    assert.equal(backoffDelay(10_000, CORE_BACKOFF, () => 0), CORE_BACKOFF.maxMs);
  });

  it('sleep ends early when aborted', async () => {
    const ac = new AbortController();
    const started = performance.now();
    const p = sleep(10_000, ac.signal);
    ac.abort();
    await p;
    assert.ok(performance.now() - started < 1000);
  });
});
