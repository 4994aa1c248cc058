import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CORE_BACKOFF, WEBSOCKET_BACKOFF, backoffDelay, sleep } from '../../src/agent/backoff.ts';
import { HANDSHAKE_TIMEOUT_MS } from '../../src/agent/websocket.ts';
import { prng } from '../support/random.ts';

describe('backoff', () => {
  it('doubles from 1 s and caps at 20 s for the websocket (authentik: 300 s)', () => {
    const noJitter = () => 0;
    const seq = Array.from({ length: 12 }, (_, i) => backoffDelay(i + 1, WEBSOCKET_BACKOFF, noJitter) / 1000);
    assert.deepEqual(seq, [1, 2, 4, 8, 16, 20, 20, 20, 20, 20, 20, 20]);
  });

  it('the websocket is back within 30 s of the core\'s return, however long the outage', () => {
    // Worst case: the core returns just as a wait begins (the longest wait), or just after an
    // attempt began that hangs until the handshake timeout and is then followed by a wait.
    const rand = prng(20260830);
    let longest = 0;
    for (let attempt = 1; attempt <= 10_000; attempt++) longest = Math.max(longest, backoffDelay(attempt, WEBSOCKET_BACKOFF, rand));
    assert.ok(longest <= WEBSOCKET_BACKOFF.maxMs, `${longest} ms`);
    assert.ok(longest + HANDSHAKE_TIMEOUT_MS <= 30_000, `a hung attempt and the longest wait take ${longest + HANDSHAKE_TIMEOUT_MS} ms`);
    // The jitter still spreads replicas: the capped waits are not all the same.
    const capped = Array.from({ length: 50 }, () => backoffDelay(100, WEBSOCKET_BACKOFF, rand));
    assert.ok(new Set(capped).size > 10);
    assert.ok(Math.min(...capped) >= WEBSOCKET_BACKOFF.maxMs * (1 - WEBSOCKET_BACKOFF.jitter) - 1);
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
