// A burst of TRIGGER_UPDATE messages (authentik sends one per saved object) waits one random
// offset and makes one refresh, not one refresh attempt per message over the offset window.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DevCore } from '../../src/devcore/index.ts';
import { recordingPlugin } from '../support/recording-listener.ts';
import { startCore, startOutpost, testConfig, type TestOutpost } from '../support/outpost.ts';
import { waitFor } from '../support/wait.ts';

const PROVIDERS = '/api/v3/outposts/radius/';

describe('agent: pushed refreshes', () => {
  let core: DevCore;
  let outpost: TestOutpost;
  const { plugin, recorder } = recordingPlugin('radius', '/outposts/radius/');

  before(async () => {
    core = await startCore();
    outpost = await startOutpost(testConfig(core.url, ['test-radius-token'], { AUTHENTIK_OUTPOST__RELOAD_OFFSET_MAX: '500ms' }), [plugin]);
    await waitFor('the websocket', () => core.admin.websocketConnections('test-radius').some((c) => c.closedAt === undefined));
  });
  after(async () => {
    await outpost?.runtime.shutdown();
    await core?.close();
  });

  it('a burst of triggers within the offset window is one refresh', async () => {
    const fetches = () => core.admin.requests().filter((r) => r.path === PROVIDERS).length;
    const applied = recorder.applied.length;
    const before = fetches();
    core.admin.updateProvider('test-radius-provider', { shared_secret: 'burst-secret' });
    for (let i = 0; i < 200; i++) core.admin.pushToOutpost('test-radius', { instruction: 2, args: {} });
    await waitFor('the refresh', () => recorder.applied.length > applied, 3000);
    // Everything the triggers announced is read by that one refresh.
    assert.equal((recorder.last()?.providers[0] as { shared_secret?: string } | undefined)?.shared_secret, 'burst-secret');
    // Past the offset window: nothing more comes of the burst.
    await new Promise((r) => setTimeout(r, 1200));
    const made = fetches() - before;
    assert.ok(made >= 1 && made <= 2, `${made} provider list fetches for one burst`);
    const lines = outpost.logs.lines.filter((l) => l['event'] === 'update triggered by authentik').length;
    assert.ok(lines <= 2, `${lines} triggers armed`);
  });

  it('a trigger after the refresh is refreshed again', async () => {
    const applied = recorder.applied.length;
    core.admin.updateProvider('test-radius-provider', { shared_secret: 'later-secret' });
    core.admin.pushToOutpost('test-radius', { instruction: 2, args: {} });
    await waitFor('the second refresh', () => recorder.applied.length > applied, 3000);
    assert.equal((recorder.last()?.providers[0] as { shared_secret?: string } | undefined)?.shared_secret, 'later-secret');
  });
});
