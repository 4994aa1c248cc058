// Never blame the password for a fault of the core: whatever the core does wrong during a bind
// (an answer that is not JSON, JSON of the wrong shape, a revoked outpost token), the client
// gets `unavailable` (52), never `invalidCredentials` (49) or a pass; the outpost says why in one
// line a minute and counts it. A client that goes away mid-bind is not a failed login either.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TOKEN_REJECTED_EVENT } from '../../../src/agent/core-failures.ts';
import { waitFor } from '../../support/wait.ts';
import { RawClient } from '../server/support.ts';
import { AUTHENTIK_VERSIONS, PASSWORDS, U, auth, checkAccessPath, metricValue, metricsText, run, startLdapOutpost, type LdapOutpost } from './support.ts';

const WRONG = 'definitely-Wrong-pw-7731';
const EXECUTOR = '/api/v3/flows/executor/';
/** devcore answers `{"detail": "devcore: injected fault (status 200)"}`: JSON, but not what was asked for. */
const WRONG_SHAPE = { failStatus: 200 } as const;
const INVALID_EVENT = 'authentik answered with a body that is not what was asked for';

for (const authentikVersion of AUTHENTIK_VERSIONS) describe(`LDAP binds while the core misbehaves (authentik ${authentikVersion})`, { concurrency: 1 }, () => {
  let o: LdapOutpost;
  const whoami = (user: string, password = PASSWORDS[user]) => run('ldapwhoami', ['-H', o.url, ...auth(user, password)]);
  const metric = async (name: string, labels: Record<string, string>) => metricValue(await metricsText(o.metricsUrl), name, labels);
  const apiErrors = (kind: string) => metric('authentik_outpost_api_errors_total', { outpost_name: 'test-ldap', kind });
  const rejected = (reason: string) => metric('authentik_outpost_ldap_requests_rejected', { type: 'bind', reason });
  const lines = (event: string) => o.outpost.logs.lines.filter((l) => l['event'] === event);

  before(async () => {
    o = await startLdapOutpost({ authentikVersion });
  });
  after(async () => {
    await o?.stop();
  });
  afterEach(() => o.core.admin.clearFaults());

  it('a flow answered with a body that is not JSON → 52 for the right and a wrong password; one line naming the cause', async () => {
    const invalid0 = await apiErrors('invalid');
    o.core.admin.setFaults({ pathPrefix: EXECUTOR, garbage: true });
    for (const password of [PASSWORDS['alice'], WRONG, PASSWORDS['alice']]) {
      const r = await whoami('alice', password);
      assert.equal(r.code, 52, `${r.stdout}${r.stderr}`);
    }
    assert.equal(await apiErrors('invalid'), invalid0 + 3);
    const said = lines(INVALID_EVENT);
    assert.equal(said.length, 1, 'one line a minute, not one per bind');
    assert.equal(said[0]?.['level'], 'warning');
    assert.equal(said[0]?.['cause'], 'invalid');
    assert.match(String((said[0]?.['err'] as { message?: string } | undefined)?.message), /not JSON/);
    o.core.admin.clearFaults();
    assert.equal((await whoami('alice')).code, 0, 'binds again once the core answers');
  });

  it('a flow answered with JSON of the wrong shape → 52, never 49', async () => {
    const invalid0 = await apiErrors('invalid');
    o.core.admin.setFaults({ pathPrefix: EXECUTOR, ...WRONG_SHAPE });
    const r = await whoami('alice');
    assert.equal(r.code, 52, `${r.stdout}${r.stderr}`);
    assert.ok((await apiErrors('invalid')) > invalid0);
  });

  it('the access check or users/me answered with a body that is not JSON, or of the wrong shape → 52 (not 1)', async () => {
    for (const path of [checkAccessPath(authentikVersion), '/api/v3/core/users/me/']) {
      for (const fault of [{ garbage: true }, WRONG_SHAPE]) {
        o.core.admin.setFaults({ pathPrefix: path, failCount: 1, ...fault });
        const r = await whoami('alice');
        assert.equal(r.code, 52, `${path} ${JSON.stringify(fault)}: ${r.stdout}${r.stderr}`);
        o.core.admin.clearFaults();
      }
    }
    assert.equal((await whoami('alice')).code, 0);
  });

  it('a revoked outpost token (403 on every call) → 52, one error line saying so, counted; binds again once it is accepted', async () => {
    const token0 = await apiErrors('token_rejected');
    const lines0 = lines(TOKEN_REJECTED_EVENT).length;
    o.core.admin.setFaults({ failStatus: 403 });
    const r = await whoami('alice');
    assert.equal(r.code, 52, `${r.stdout}${r.stderr}`);
    const [ok] = await o.outpost.runtime.refreshAll('test');
    assert.equal(ok, false);
    const said = lines(TOKEN_REJECTED_EVENT).slice(lines0);
    assert.equal(said.length, 1);
    assert.equal(said[0]?.['level'], 'error');
    assert.equal(said[0]?.['outpost'], 'test-ldap');
    assert.ok((await apiErrors('token_rejected')) > token0);
    o.core.admin.clearFaults();
    assert.equal((await whoami('alice')).code, 0);
  });

  it('a client that closes its connection mid-bind is not a failed login (client_gone, never flow_error or 49)', async () => {
    // A bind cannot be abandoned (RFC 4511 §4.11): closing the connection is how a client gives up.
    const flowError0 = await rejected('flow_error');
    const invalid0 = await rejected('invalid_credentials');
    const since = o.outpost.logs.lines.length;
    o.core.admin.setFaults({ pathPrefix: EXECUTOR, latencyMs: 1000 });
    const client = await RawClient.connect(o.ldapPort);
    client.send(1, { type: 'bind', version: 3, name: U('alice'), authentication: { method: 'simple', password: Buffer.from(PASSWORDS['alice']!) } });
    await new Promise((r) => setTimeout(r, 200));
    const closed = performance.now();
    client.socket.destroy();
    const aliceLines = () => o.outpost.logs.lines.slice(since).filter((l) => l['bindDN'] === U('alice'));
    await waitFor('the bind to end', () => aliceLines().some((l) => l['reason'] === 'client_gone' || /client went away/.test(String(l['event']))), 3000);
    assert.ok(performance.now() - closed < 900, 'the flow stopped when the client went away, not when the core answered');
    for (const l of aliceLines()) {
      assert.notEqual(l['result'], 49, JSON.stringify(l));
      assert.notEqual(l['reason'], 'flow_error', JSON.stringify(l));
    }
    assert.equal(await rejected('flow_error'), flowError0, 'not counted as flow_error');
    assert.equal(await rejected('invalid_credentials'), invalid0);
  });
});
