// The `log_level` authentik sets for an outpost reaches the listeners' loggers, not only the
// agent's; with several outposts in one process the listeners log at the most verbose level any
// of them asks for, while each agent keeps its own outpost's level.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ListenerPlugin } from '../../src/agent/listener.ts';
import type { DevCore } from '../../src/devcore/index.ts';
import { ldapPlugin, type LdapListener } from '../../src/ldap/listener.ts';
import { radiusPlugin, type RadiusListener } from '../../src/radius/listener.ts';
import { auth } from '../ldap/e2e/support.ts';
import { run } from '../ldap/server/support.ts';
import { SECRET, UdpClient, accessRequest } from '../radius/e2e/support.ts';
import { startCore, startOutpost, testConfig, type TestOutpost } from '../support/outpost.ts';

describe('log_level from authentik, with an LDAP and a RADIUS outpost in one process', { concurrency: 1 }, () => {
  let core: DevCore;
  let outpost: TestOutpost;
  let udp: UdpClient;
  let ldapUrl = '';
  let radiusPort = 0;

  before(async () => {
    core = await startCore();
    const config = testConfig(core.url, ['test-ldap-token', 'test-radius-token'], {
      AUTHENTIK_LISTEN__LDAP: '127.0.0.1:0',
      AUTHENTIK_LISTEN__LDAPS: '127.0.0.1:0',
      AUTHENTIK_LISTEN__RADIUS: '127.0.0.1:0',
      AUTHENTIK_RADIUS__REQUIRE_MESSAGE_AUTHENTICATOR: 'no',
    });
    // The root logger captures everything at debug, as AUTHENTIK_LOG_LEVEL=debug would.
    outpost = await startOutpost(config, [ldapPlugin as ListenerPlugin, radiusPlugin as ListenerPlugin]);
    ldapUrl = `ldap://127.0.0.1:${(outpost.runtime.listener('ldap') as LdapListener).ports.ldapPort}`;
    radiusPort = (outpost.runtime.listener('radius') as RadiusListener).port;
    udp = await UdpClient.open();
  });
  after(async () => {
    await udp?.close();
    await outpost?.runtime.shutdown();
    await core?.close();
  });

  /** The events logged while `fn` runs. */
  async function logged(fn: () => Promise<void>): Promise<Record<string, unknown>[]> {
    const since = outpost.logs.lines.length;
    await fn();
    return outpost.logs.lines.slice(since);
  }

  /** A refresh of both outposts, an LDAP bind and a RADIUS request. */
  async function traffic(): Promise<void> {
    assert.deepEqual(await outpost.runtime.refreshAll('test'), [true, true]);
    assert.equal((await run('ldapwhoami', ['-H', ldapUrl, ...auth('alice')])).code, 0);
    const req = accessRequest({ user: 'alice', password: 'alice-password', secret: SECRET });
    assert.ok(await udp.exchange(req.packet, radiusPort), 'the RADIUS request was answered');
  }

  const has = (lines: Record<string, unknown>[], logger: string, event: string) => lines.some((l) => l['logger'] === logger && l['event'] === event);

  it('both outposts at warning: the listeners are quiet too (info and debug lines gone)', async () => {
    core.admin.updateOutpost('test-ldap', { config: { log_level: 'warning' } });
    core.admin.updateOutpost('test-radius', { config: { log_level: 'warning' } });
    await outpost.runtime.refreshAll('test');
    const lines = await logged(traffic);
    assert.equal(has(lines, 'authentik.outpost.ldap', 'applied LDAP providers'), false, 'LDAP listener debug');
    assert.equal(has(lines, 'authentik.outpost.ldap', 'Bind request'), false, 'LDAP listener info');
    assert.equal(has(lines, 'authentik.outpost.radius', 'Radius Request'), false, 'RADIUS listener info');
    assert.deepEqual(lines.filter((l) => l['level'] === 'debug' || l['level'] === 'info'), []);
  });

  it('one outpost at debug: the shared listeners log at debug; the other outpost\'s own lines stay at warning', async () => {
    core.admin.updateOutpost('test-radius', { config: { log_level: 'debug' } });
    await outpost.runtime.refreshAll('test');
    const lines = await logged(traffic);
    assert.ok(has(lines, 'authentik.outpost.ldap', 'applied LDAP providers'), 'LDAP listener debug');
    assert.ok(has(lines, 'authentik.outpost.ldap', 'Bind request'), 'LDAP listener info');
    assert.ok(has(lines, 'authentik.outpost.radius', 'Radius Request'), 'RADIUS listener info');
    assert.ok(lines.some((l) => l['event'] === 'refreshed configuration' && l['outpost'] === 'test-radius'), 'the debug outpost\'s agent');
    assert.equal(lines.some((l) => l['event'] === 'refreshed configuration' && l['outpost'] === 'test-ldap'), false, 'the warning outpost\'s agent stays quiet');
  });

  it('back at warning for both: quiet again', async () => {
    core.admin.updateOutpost('test-radius', { config: { log_level: 'warning' } });
    await outpost.runtime.refreshAll('test');
    const lines = await logged(traffic);
    assert.deepEqual(lines.filter((l) => l['level'] === 'debug' || l['level'] === 'info'), []);
  });
});
