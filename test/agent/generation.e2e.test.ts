// The agent against the development core in either authentik generation: which API it decides
// on, how often it refreshes, and where SESSION_END goes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { recordingPlugin } from '../support/recording-listener.ts';
import { AUTHENTIK_VERSIONS, startCore, startOutpost, testConfig } from '../support/outpost.ts';
import { waitFor } from '../support/wait.ts';

const RADIUS_TOKEN = 'test-radius-token';
const EXPECTED = { '2024.4': '2024.4', '2026.8': '2024.8' } as const;

for (const authentikVersion of AUTHENTIK_VERSIONS) {
  describe(`agent generation (authentik ${authentikVersion})`, () => {
    it(`speaks the ${EXPECTED[authentikVersion]} API, decided from the outpost object and logged once`, async () => {
      const core = await startCore({ authentikVersion });
      const { plugin, recorder } = recordingPlugin('radius', '/outposts/radius/');
      const outpost = await startOutpost(testConfig(core.url, [RADIUS_TOKEN]), [plugin]);
      try {
        await outpost.runtime.refreshAll('test');
        await outpost.runtime.refreshAll('test');
        assert.ok(recorder.applied.length >= 3);
        for (const a of recorder.applied) assert.equal(a.generation, EXPECTED[authentikVersion]);
        const lines = outpost.logs.lines.filter((l) => /^speaking the authentik/.test(String(l['event'])));
        assert.equal(lines.length, 1, 'logged once, not per refresh');
        assert.equal(lines[0]?.['generation'], EXPECTED[authentikVersion]);
      } finally {
        await outpost.runtime.shutdown();
        await core.close();
      }
    });
  });
}

describe('agent refresh interval (authentik 2026.8)', () => {
  const intervalRefreshes = (lines: readonly Record<string, unknown>[]) => lines.filter((l) => l['event'] === 'refreshed configuration' && l['reason'] === 'interval').length;

  it('follows the outpost\'s refresh_interval_s, and a change applies at once', async () => {
    const core = await startCore({ authentikVersion: '2026.8' });
    const { plugin } = recordingPlugin('radius', '/outposts/radius/');
    // The 30 s floor is lowered so the test runs in seconds; the floor itself has a unit test.
    const outpost = await startOutpost(testConfig(core.url, [RADIUS_TOKEN]), [plugin], { minRefreshIntervalMs: 0 });
    try {
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(intervalRefreshes(outpost.logs.lines), 0, 'the seed\'s 300 s: no interval refresh yet');
      core.admin.updateOutpost('test-radius', { refresh_interval_s: 1 });
      await waitFor('two interval refreshes', () => intervalRefreshes(outpost.logs.lines) >= 2, 4000);
    } finally {
      await outpost.runtime.shutdown();
      await core.close();
    }
  });

  it('AUTHENTIK_OUTPOST__REFRESH_INTERVAL, when set, wins over refresh_interval_s', async () => {
    const core = await startCore({ authentikVersion: '2026.8' });
    core.admin.updateOutpost('test-radius', { refresh_interval_s: 1 });
    const { plugin } = recordingPlugin('radius', '/outposts/radius/');
    const outpost = await startOutpost(testConfig(core.url, [RADIUS_TOKEN], { AUTHENTIK_OUTPOST__REFRESH_INTERVAL: '1h' }), [plugin], { minRefreshIntervalMs: 0 });
    try {
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal(intervalRefreshes(outpost.logs.lines), 0);
    } finally {
      await outpost.runtime.shutdown();
      await core.close();
    }
  });
});

describe('SESSION_END (authentik 2026.8)', () => {
  it('reaches the listener of the outpost with the session id authentik sent', async () => {
    const core = await startCore({ authentikVersion: '2026.8' });
    const { plugin, recorder } = recordingPlugin('radius', '/outposts/radius/');
    const outpost = await startOutpost(testConfig(core.url, [RADIUS_TOKEN]), [plugin]);
    try {
      await waitFor('websocket', () => core.admin.websocketConnections('test-radius').some((c) => c.closedAt === undefined));
      core.admin.pushToOutpost('test-radius', { instruction: 4, args: { session_id: 'f'.repeat(64) } });
      const got = await waitFor('session end', () => recorder.sessionEnds[0]);
      assert.deepEqual(got, { outpost: 'test-radius', sessionId: 'f'.repeat(64) });
    } finally {
      await outpost.runtime.shutdown();
      await core.close();
    }
  });
});
