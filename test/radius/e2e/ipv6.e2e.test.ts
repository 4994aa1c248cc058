// IPv6 and dual-stack listeners: radclient over ::1, the default wildcard address serving both
// families (as authentik's Go listener does), IPv4-mapped sources matched as IPv4, and each
// family matched only by its own ranges. Against a core of each API generation.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RadiusCode } from '../../../src/radius/protocol/index.ts';
import { waitFor } from '../../support/wait.ts';
import { AUTHENTIK_VERSIONS, DROPPED, PASSWORDS, PROVIDER, SECRET, UdpClient, accessRequest, assertReply, checkReply, flowRequests, radclient, startRadiusOutpost, type RadiusOutpost } from './support.ts';

const ALICE = `User-Name=alice,User-Password=${PASSWORDS.alice}`;

// The outposts (three per generation) run side by side; the tests against each one run in order.
describe('RADIUS over IPv6', { concurrency: true }, () => {
  for (const authentikVersion of AUTHENTIK_VERSIONS) {
    describe(`authentik ${authentikVersion}`, { concurrency: true }, () => {
      describe('listening on [::1]:0', { concurrency: 1 }, () => {
        let o: RadiusOutpost;
        before(async () => {
          o = await startRadiusOutpost({ authentikVersion, listen: '[::1]:0' });
        });
        after(() => o?.stop());

        it('radclient -6 over ::1 → Access-Accept; authentik sees ::1 as the client', async () => {
          assert.equal(o.target, `[::1]:${o.port}`);
          const since = o.core.admin.requests().length;
          const r = await radclient(o.target, 'auth', SECRET, ALICE, { args: ['-6'] });
          assertReply(r, 'Access-Accept');
          assert.match(r.stdout, /from \[?::1\]?:\d+/);
          const reqs = flowRequests(o.core, since);
          assert.ok(reqs.length > 0);
          for (const x of reqs) assert.equal(x.headers['x-authentik-remote-ip'], '::1');
        });

        it('a wrong password over IPv6 → Access-Reject', async () => {
          assertReply(await radclient(o.target, 'auth', SECRET, `User-Name=alice,User-Password=nope`, { args: ['-6'] }), 'Access-Reject');
        });
      });

      describe('listening on the default wildcard 0.0.0.0 (port 0)', { concurrency: 1 }, () => {
        let o: RadiusOutpost;
        before(async () => {
          o = await startRadiusOutpost({ authentikVersion, listen: '0.0.0.0:0', sendTo: '127.0.0.1' });
        });
        after(() => o?.stop());

        it('serves IPv4 and IPv6 clients on the same port', async () => {
          assertReply(await radclient(`127.0.0.1:${o.port}`, 'auth', SECRET, ALICE), 'Access-Accept');
          assertReply(await radclient(`[::1]:${o.port}`, 'auth', SECRET, ALICE, { args: ['-6'] }), 'Access-Accept');
        });
      });

      describe('listening dual-stack on [::]:0', { concurrency: 1 }, () => {
        let o: RadiusOutpost;
        let v4: UdpClient;
        let v6: UdpClient;
        before(async () => {
          o = await startRadiusOutpost({ authentikVersion, listen: '[::]:0', sendTo: '::1' });
          v4 = await UdpClient.open('127.0.0.1');
          v6 = await UdpClient.open('::1');
        });
        after(async () => {
          await v4?.close();
          await v6?.close();
          await o?.stop();
        });

        it('an IPv4 client (seen as ::ffff:127.0.0.1) matches 127.0.0.0/8 and is reported as 127.0.0.1', async () => {
          const since = o.core.admin.requests().length;
          const req = accessRequest({ user: 'alice', password: PASSWORDS.alice });
          assert.equal(checkReply(await v4.exchange(req.packet, o.port, '127.0.0.1'), req).code, RadiusCode.accessAccept);
          for (const x of flowRequests(o.core, since)) assert.equal(x.headers['x-authentik-remote-ip'], '127.0.0.1');
          assertReply(await radclient(`127.0.0.1:${o.port}`, 'auth', SECRET, ALICE), 'Access-Accept');
        });

        it('::/0 never admits an IPv4 client, 0.0.0.0/0 never an IPv6 one', async () => {
          const attempt = async (client: UdpClient, host: string): Promise<'answered' | 'dropped'> => {
            const before = await o.metric(DROPPED, { reason: 'unknown_client' });
            const req = accessRequest({ user: 'alice', password: PASSWORDS.alice });
            await client.send(req.packet, o.port, host);
            const { reply } = await waitFor('a reply or a drop', async () => {
              const got = client.take();
              if (got) return { reply: got };
              return (await o.metric(DROPPED, { reason: 'unknown_client' })) > before ? { reply: undefined } : undefined;
            });
            if (reply) {
              checkReply(reply, req);
              return 'answered';
            }
            assert.equal(await client.next(200), undefined, 'dropped: no reply follows');
            return 'dropped';
          };
          try {
            o.core.admin.updateProvider(PROVIDER, { client_networks: '::/0' });
            await o.refresh();
            assert.equal(await attempt(v6, '::1'), 'answered');
            assert.equal(await attempt(v4, '127.0.0.1'), 'dropped');
            const warned = o.outpost.logs.lines.filter((l) => l['event'] === 'No matching prefixes found').map((l) => l['ip']);
            assert.deepEqual(warned, ['127.0.0.1'], 'the IPv4 client is logged as 127.0.0.1, not ::ffff:127.0.0.1');
            o.core.admin.updateProvider(PROVIDER, { client_networks: '0.0.0.0/0' });
            await o.refresh();
            assert.equal(await attempt(v4, '127.0.0.1'), 'answered');
            assert.equal(await attempt(v6, '::1'), 'dropped');
          } finally {
            o.core.admin.updateProvider(PROVIDER, { client_networks: '127.0.0.0/8, ::1/128' });
            await o.refresh();
          }
        });
      });
    });
  }
});
