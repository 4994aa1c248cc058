import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { Deadline, MAX_TIMER_MS } from '../../src/net/deadline.ts';

describe('Deadline', () => {
  it('aborts when its time runs out, and says so', async () => {
    const d = new Deadline(20);
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(d.signal.aborted, true);
    assert.equal(d.expired, true);
    assert.equal((d.signal.reason as DOMException).name, 'TimeoutError');
    d.dispose();
  });

  it('follows its parent, without counting that as its own expiry', () => {
    const parent = new AbortController();
    const d = new Deadline(10_000, parent.signal);
    parent.abort(new Error('caller gave up'));
    assert.equal(d.signal.aborted, true);
    assert.equal(d.expired, false);
    d.dispose();
    const already = new Deadline(10_000, parent.signal);
    assert.equal(already.signal.aborted, true, 'an already aborted parent aborts at once');
    already.dispose();
  });

  it('leaves no timer and no parent listener behind once disposed', async () => {
    const parent = new AbortController();
    const deadlines = Array.from({ length: 1000 }, () => new Deadline(30, parent.signal));
    assert.equal(getEventListeners(parent.signal, 'abort').length, 1000);
    for (const d of deadlines) d.dispose();
    assert.equal(getEventListeners(parent.signal, 'abort').length, 0, 'the parent keeps no listener (nothing pins the deadlines)');
    await new Promise((r) => setTimeout(r, 60));
    parent.abort();
    assert.ok(deadlines.every((d) => !d.signal.aborted && !d.expired), 'a disposed deadline neither fires nor follows its parent');
  });
});

describe('Deadline beyond what a timer can wait', () => {
  it('sets no timer (Node would fire it after 1 ms)', async () => {
    const d = new Deadline(MAX_TIMER_MS + 1);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(d.signal.aborted, false);
    d.dispose();
  });
});
