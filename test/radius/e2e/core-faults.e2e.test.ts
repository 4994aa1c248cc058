// Never reject a user for a fault of the core: whatever the core does wrong during an
// Access-Request (an answer that is not JSON, JSON of the wrong shape, a revoked outpost token),
// the request gets no answer at all, so the NAS retries or fails over to another server; the
// outpost says why in one line a minute and counts it.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TOKEN_REJECTED_EVENT } from '../../../src/agent/core-failures.ts';
import { RadiusCode, decodePacket } from '../../../src/radius/protocol/index.ts';
import { waitFor } from '../../support/wait.ts';
import { AUTHENTIK_VERSIONS, DROPPED, OUTPOST_NAME, PASSWORDS, REJECTED, UdpClient, accessRequest, startRadiusOutpost, type AuthentikVersion, type RadiusOutpost } from './support.ts';

const WRONG_PASSWORD = 'Wr0ng-Pa55word-xyzzy';
const EXECUTOR = '/api/v3/flows/executor/';
/** devcore answers `{"detail": "devcore: injected fault (status 200)"}`: JSON, but not what was asked for. */
const WRONG_SHAPE = { failStatus: 200 } as const;
const INVALID_EVENT = 'authentik answered with a body that is not what was asked for';

describe('RADIUS while the core misbehaves', { concurrency: true }, () => {
  for (const authentikVersion of AUTHENTIK_VERSIONS) describe(`authentik ${authentikVersion}`, { concurrency: 1 }, () => suite(authentikVersion));
});

function suite(authentikVersion: AuthentikVersion): void {
  let o: RadiusOutpost;
  let udp: UdpClient;
  const apiErrors = (kind: string) => o.metric('authentik_outpost_api_errors_total', { outpost_name: OUTPOST_NAME, kind });
  const lines = (event: string) => o.outpost.logs.lines.filter((l) => l['event'] === event);

  before(async () => {
    o = await startRadiusOutpost({ authentikVersion, env: { AUTHENTIK_RADIUS__REQUIRE_MESSAGE_AUTHENTICATOR: 'no', AUTHENTIK_RADIUS__LIMIT_PROXY_STATE: 'no' } });
    udp = await UdpClient.open();
  });
  after(async () => {
    await udp?.close();
    await o?.stop();
  });
  afterEach(() => o.core.admin.clearFaults());

  /** Sends alice's Access-Request and expects it dropped as core_unavailable: no reply, no reject. */
  async function expectDropped(password: string, what: string): Promise<void> {
    const dropped0 = await o.metric(DROPPED, { reason: 'core_unavailable' });
    const rejected0 = await o.metric(REJECTED);
    const req = accessRequest({ user: 'alice', password });
    await udp.send(req.packet, o.port);
    await waitFor(`the drop (${what})`, async () => (await o.metric(DROPPED, { reason: 'core_unavailable' })) === dropped0 + 1);
    assert.equal(await udp.next(150), undefined, `no reply (${what})`);
    assert.equal(await o.metric(REJECTED), rejected0, `no Access-Reject counted (${what})`);
  }

  async function expectAccepted(): Promise<void> {
    const req = accessRequest({ user: 'alice', password: PASSWORDS.alice });
    const reply = await udp.exchange(req.packet, o.port);
    const d = reply && decodePacket(reply);
    assert.ok(d && d.ok && d.packet.code === RadiusCode.accessAccept, 'accepted once the core answers');
  }

  it('a flow answered with a body that is not JSON → no reply, for the right and a wrong password; one line naming the cause', async () => {
    const invalid0 = await apiErrors('invalid');
    o.core.admin.setFaults({ pathPrefix: EXECUTOR, garbage: true });
    await expectDropped(PASSWORDS.alice, 'right password');
    await expectDropped(WRONG_PASSWORD, 'wrong password');
    await expectDropped(PASSWORDS.alice, 'right password again');
    assert.equal(await apiErrors('invalid'), invalid0 + 3);
    const said = lines(INVALID_EVENT);
    assert.equal(said.length, 1, 'one line a minute, not one per request');
    assert.equal(said[0]?.['outpost'], OUTPOST_NAME);
    assert.match(String((said[0]?.['err'] as { message?: string } | undefined)?.message), /not JSON/);
    o.core.admin.clearFaults();
    await expectAccepted();
  });

  it('a flow answered with JSON of the wrong shape → no reply', async () => {
    o.core.admin.setFaults({ pathPrefix: EXECUTOR, ...WRONG_SHAPE });
    await expectDropped(PASSWORDS.alice, 'wrong shape');
  });

  it('the access check answered with a body that is not JSON, or of the wrong shape → no reply (not an Access-Reject)', async () => {
    for (const fault of [{ garbage: true }, WRONG_SHAPE]) {
      o.core.admin.setFaults({ pathPrefix: o.checkAccessPath, failCount: 1, ...fault });
      await expectDropped(PASSWORDS.alice, `${o.checkAccessPath} ${JSON.stringify(fault)}`);
      o.core.admin.clearFaults();
    }
    await expectAccepted();
  });

  it('a revoked outpost token (403 on every call) → no reply, one error line saying so, counted', async () => {
    const token0 = await apiErrors('token_rejected');
    const lines0 = lines(TOKEN_REJECTED_EVENT).length;
    o.core.admin.setFaults({ failStatus: 403 });
    await expectDropped(PASSWORDS.alice, 'revoked token');
    const [ok] = await o.outpost.runtime.refreshAll('test');
    assert.equal(ok, false);
    const said = lines(TOKEN_REJECTED_EVENT).slice(lines0);
    assert.equal(said.length, 1);
    assert.equal(said[0]?.['level'], 'error');
    assert.ok((await apiErrors('token_rejected')) > token0);
    o.core.admin.clearFaults();
    await expectAccepted();
  });
}
