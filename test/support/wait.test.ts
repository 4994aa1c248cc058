import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './wait.ts';

describe('waitFor', () => {
  it('resolves with 0 or an empty string when that is what the poll returns', async () => {
    assert.equal(await waitFor('a count', () => 0, 200), 0);
    assert.equal(await waitFor('a text', () => '', 200), '');
  });

  it('polls again on undefined and false, and only on those', async () => {
    const answers = [undefined, false, undefined, 'done'];
    let calls = 0;
    assert.equal(await waitFor('the fourth answer', () => answers[calls++], 1000, 1), 'done');
    assert.equal(calls, 4);
  });

  it('resolves with true for a condition', async () => {
    let n = 3;
    assert.equal(await waitFor('n to reach 0', () => --n === 0, 1000, 1), true);
    assert.equal(n, 0);
  });

  it('fails on null instead of taking "nothing" for the result', async () => {
    // What `exec` returns while the log has no match yet.
    const poll = (() => /ready/.exec('starting')) as unknown as () => RegExpExecArray;
    await assert.rejects(waitFor('a ready line', poll, 500), (err: Error) => err instanceof TypeError && /returned null/.test(err.message));
  });

  it('times out on a poll that never settles', { timeout: 3000 }, async () => {
    const started = Date.now();
    await assert.rejects(waitFor('a hung call', () => new Promise<string>(() => {}), 200), /timed out after 200 ms waiting for a hung call/);
    assert.ok(Date.now() - started < 1000);
  });

  it('refuses a timeout that never expires', { timeout: 3000 }, async () => {
    for (const t of [Infinity, Number.NaN, 0, -1]) {
      await assert.rejects(waitFor('never', () => undefined, t), RangeError);
    }
  });

  it('quotes the last error in the timeout message', async () => {
    await assert.rejects(
      waitFor('a flaky probe', () => { throw new Error('ECONNREFUSED'); }, 100, 10),
      /timed out after 100 ms waiting for a flaky probe: Error: ECONNREFUSED/,
    );
  });
});
