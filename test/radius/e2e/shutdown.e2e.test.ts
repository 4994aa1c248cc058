// Shutdown with authentications in flight against a core that hangs: the listener stops at
// AUTHENTIK_OUTPOST__SHUTDOWN_TIMEOUT and aborts its calls to the core, so the process's
// shutdown (which closes the HTTP dispatcher, waiting for open requests) is not held up by
// them for as long as the core takes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../support/wait.ts';
import { PASSWORDS, UdpClient, accessRequest, flowRequests, startRadiusOutpost } from './support.ts';

const EXECUTOR = '/api/v3/flows/executor/';

describe('RADIUS shutdown with a hanging core', () => {
  it('stops within the shutdown timeout and aborts the in-flight flows', async () => {
    const o = await startRadiusOutpost({ env: { AUTHENTIK_OUTPOST__SHUTDOWN_TIMEOUT: '300ms', AUTHENTIK_RADIUS__REQUEST_TIMEOUT: '30s', AUTHENTIK_OUTPOST__FLOW_TIMEOUT: '30s' } });
    const udp = await UdpClient.open('127.0.0.2');
    try {
      o.core.admin.setFaults({ pathPrefix: EXECUTOR, latencyMs: 10_000 });
      const before = flowRequests(o.core).length;
      for (let i = 0; i < 3; i++) await udp.send(accessRequest({ user: 'alice', password: PASSWORDS.alice }).packet, o.port);
      // The flows have reached the core and hang there.
      await waitFor('flows at the core', () => flowRequests(o.core).length >= before + 3, 5000);
      const started = performance.now();
      await o.outpost.runtime.shutdown();
      const took = performance.now() - started;
      // 300 ms to wait, then the aborted requests end; without the abort, 10 s.
      assert.ok(took < 3000, `shutdown took ${Math.round(took)} ms`);
    } finally {
      await udp.close();
      await o.core.close();
    }
  });
});
