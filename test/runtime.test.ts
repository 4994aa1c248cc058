// The runtime's shutdown is bounded: a listener that does not stop by the deadline is logged and
// left behind, so that a SIGTERM always ends the process.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DevCore } from '../src/devcore/index.ts';
import { LISTENER_STOP_GRACE_MS } from '../src/runtime.ts';
import { RecordingListener, recordingPlugin } from './support/recording-listener.ts';
import { startCore, startOutpost, testConfig } from './support/outpost.ts';

/** A listener whose stop never finishes (a bug, or a connection it waits for without a bound). */
class StuckListener extends RecordingListener {
  override stop(): Promise<void> {
    this.stopped++;
    return new Promise(() => {});
  }
}

describe('runtime shutdown', () => {
  let core: DevCore;
  before(async () => {
    core = await startCore();
  });
  after(async () => {
    await core.close();
  });

  it('goes on past a listener that does not stop by the shutdown timeout, with one warning', async () => {
    const { plugin, recorder } = recordingPlugin('radius', '/outposts/radius/', new StuckListener());
    const outpost = await startOutpost(testConfig(core.url, ['test-radius-token'], { AUTHENTIK_OUTPOST__SHUTDOWN_TIMEOUT: '200ms' }), [plugin]);
    const t0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      outpost.runtime.shutdown(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('shutdown hung on the listener')), 200 + LISTENER_STOP_GRACE_MS + 3000))),
    ]);
    clearTimeout(timer);
    const ms = performance.now() - t0;
    assert.equal(recorder.stopped, 1);
    assert.ok(ms >= 200, `shutdown took ${ms} ms`);
    const warnings = outpost.logs.lines.filter((l) => /listeners did not stop within the shutdown timeout/.test(String(l['event'])));
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]?.['level'], 'warning');
    assert.ok(outpost.logs.has(/^stopped$/), 'the rest of the shutdown ran');
  });
});
