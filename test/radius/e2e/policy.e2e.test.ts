// Message-Authenticator policies (BlastRADIUS, CVE-2024-3596), as FreeRADIUS 3.2.5 has them:
// AUTHENTIK_RADIUS__REQUIRE_MESSAGE_AUTHENTICATOR = yes | no | auto (default) with
// per-provider overrides, AUTHENTIK_RADIUS__LIMIT_PROXY_STATE = yes | no | auto (default), and
// an invalid Message-Authenticator always dropped. authentik 2024.4 has none of this (it
// neither checks nor sends Message-Authenticator): every behaviour here is a deliberate
// hardening. Each outpost gets its own core; they run side by side. Clients are told apart
// by their source address (radclient's Packet-Src-IP-Address), as `auto` remembers clients.
// Against a core of each API generation.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RadiusCode } from '../../../src/radius/protocol/index.ts';
import { waitFor } from '../../support/wait.ts';
import { AUTHENTIK_VERSIONS, DROPPED, PASSWORDS, SECRET, UdpClient, accessRequest, assertNoReply, assertReply, checkReply, radclient, startRadiusOutpost, type AuthentikVersion, type RadiusOutpost } from './support.ts';

const ALICE = `User-Name=alice,User-Password=${PASSWORDS.alice}`;
const WITH_MA = `${ALICE},Message-Authenticator=0x00`;
const from = (ip: string) => `,Packet-Src-IP-Address=${ip}`;

function outpost(authentikVersion: AuthentikVersion, env: NodeJS.ProcessEnv): { get: () => RadiusOutpost } {
  let o: RadiusOutpost | undefined;
  before(async () => {
    o = await startRadiusOutpost({ authentikVersion, env });
  });
  after(async () => {
    await o?.stop();
  });
  return { get: () => o! };
}

// The outposts (four per generation) run side by side; the tests against each one run in order.
describe('Message-Authenticator policies', { concurrency: true }, () => {
  for (const authentikVersion of AUTHENTIK_VERSIONS) {
    describe(`authentik ${authentikVersion}`, { concurrency: true }, () => {
      describe('REQUIRE_MESSAGE_AUTHENTICATOR=yes', { concurrency: 1 }, () => {
        const o = outpost(authentikVersion, { AUTHENTIK_RADIUS__REQUIRE_MESSAGE_AUTHENTICATOR: 'yes' });

        it('an Access-Request without MA gets no reply and is counted; with MA it is answered', async () => {
          const before = await o.get().metric(DROPPED, { reason: 'missing_message_authenticator' });
          assertNoReply(await radclient(o.get().target, 'auth', SECRET, ALICE, { noReply: true }));
          assert.equal(await o.get().metric(DROPPED, { reason: 'missing_message_authenticator' }), before + 1);
          assertReply(await radclient(o.get().target, 'auth', SECRET, WITH_MA), 'Access-Accept');
          assertReply(await radclient(o.get().target, 'auth', SECRET, `User-Name=alice,User-Password=nope,Message-Authenticator=0x00`), 'Access-Reject');
        });

        it('Status-Server with MA is still answered', async () => {
          assertReply(await radclient(o.get().target, 'status', SECRET, 'Message-Authenticator=0x00'), 'Access-Accept');
        });
      });

      describe('REQUIRE_MESSAGE_AUTHENTICATOR=auto (the default)', { concurrency: 1 }, () => {
        const o = outpost(authentikVersion, {});

        it('a client that never sent MA is served without it', async () => {
          for (let i = 0; i < 2; i++) assertReply(await radclient(o.get().target, 'auth', SECRET, ALICE + from('127.0.0.3')), 'Access-Accept');
        });

        it('once a client sent MA, its requests without MA are dropped (other clients unaffected)', async () => {
          assertReply(await radclient(o.get().target, 'auth', SECRET, ALICE + from('127.0.0.2')), 'Access-Accept');
          assertReply(await radclient(o.get().target, 'auth', SECRET, WITH_MA + from('127.0.0.2')), 'Access-Accept');
          const before = await o.get().metric(DROPPED, { reason: 'missing_message_authenticator' });
          const [dropped, other] = await Promise.all([
            radclient(o.get().target, 'auth', SECRET, ALICE + from('127.0.0.2'), { noReply: true }),
            radclient(o.get().target, 'auth', SECRET, ALICE + from('127.0.0.4')),
          ]);
          assertNoReply(dropped);
          assertReply(other, 'Access-Accept');
          assert.equal(await o.get().metric(DROPPED, { reason: 'missing_message_authenticator' }), before + 1);
          assertReply(await radclient(o.get().target, 'auth', SECRET, WITH_MA + from('127.0.0.2')), 'Access-Accept');
        });

        it('an invalid MA gets no reply, is counted and logged, and does not mark the client', async () => {
          const udp = await UdpClient.open('127.0.0.5');
          try {
            const before = await o.get().metric(DROPPED, { reason: 'bad_message_authenticator' });
            const req = accessRequest({ user: 'alice', password: PASSWORDS.alice, messageAuthenticator: true });
            assert.equal(req.packet[20], 80, 'MA first');
            const bad = Buffer.from(req.packet);
            bad[22] = bad[22]! ^ 0x01; // one bit of the MA value
            await udp.send(bad, o.get().port);
            // The drop is decided on receipt; once counted, a reply would already be on its way.
            await waitFor('the drop', async () => (await o.get().metric(DROPPED, { reason: 'bad_message_authenticator' })) === before + 1);
            assert.equal(await udp.next(300), undefined, 'no reply');
            assert.ok(o.get().outpost.logs.lines.some((l) => l['event'] === 'Invalid message authenticator' && l['ip'] === '127.0.0.5'));
            // The same request with its MA intact is answered; one without MA too (an invalid MA
            // does not count as "this client sends MA").
            const plain = accessRequest({ user: 'alice', password: PASSWORDS.alice });
            assert.equal(checkReply(await udp.exchange(plain.packet, o.get().port), plain).code, RadiusCode.accessAccept);
            assert.equal(checkReply(await udp.exchange(req.packet, o.get().port), req).code, RadiusCode.accessAccept);
          } finally {
            await udp.close();
          }
        });
      });

      describe('per-provider override, and LIMIT_PROXY_STATE=auto', { concurrency: 1 }, () => {
        // The provider is exempt from the default `auto`; limit_proxy_state stays auto.
        const o = outpost(authentikVersion, { AUTHENTIK_RADIUS__REQUIRE_MESSAGE_AUTHENTICATOR: 'auto, test-radius-provider=no' });

        it('the override applies: after MA, requests without MA are still answered', async () => {
          assertReply(await radclient(o.get().target, 'auth', SECRET, WITH_MA + from('127.0.0.6')), 'Access-Accept');
          assertReply(await radclient(o.get().target, 'auth', SECRET, ALICE + from('127.0.0.6')), 'Access-Accept');
        });

        it('limit_proxy_state auto: once a client sent MA, Proxy-State without MA is dropped', async () => {
          // Before any MA: Proxy-State without MA is fine (a legacy proxy).
          assertReply(await radclient(o.get().target, 'auth', SECRET, `${ALICE},Proxy-State=0x01` + from('127.0.0.7')), 'Access-Accept');
          assertReply(await radclient(o.get().target, 'auth', SECRET, `${WITH_MA},Proxy-State=0x01` + from('127.0.0.7')), 'Access-Accept');
          const before = await o.get().metric(DROPPED, { reason: 'proxy_state_without_message_authenticator' });
          assertNoReply(await radclient(o.get().target, 'auth', SECRET, `${ALICE},Proxy-State=0x01` + from('127.0.0.7'), { noReply: true }));
          assert.equal(await o.get().metric(DROPPED, { reason: 'proxy_state_without_message_authenticator' }), before + 1);
          assertReply(await radclient(o.get().target, 'auth', SECRET, ALICE + from('127.0.0.7')), 'Access-Accept');
        });
      });

      describe('REQUIRE_MESSAGE_AUTHENTICATOR=no, LIMIT_PROXY_STATE=yes', { concurrency: 1 }, () => {
        const o = outpost(authentikVersion, { AUTHENTIK_RADIUS__REQUIRE_MESSAGE_AUTHENTICATOR: 'no', AUTHENTIK_RADIUS__LIMIT_PROXY_STATE: 'yes' });

        it('Proxy-State without MA is dropped; without Proxy-State, or with MA, it is answered', async () => {
          const before = await o.get().metric(DROPPED, { reason: 'proxy_state_without_message_authenticator' });
          assertNoReply(await radclient(o.get().target, 'auth', SECRET, `${ALICE},Proxy-State=0x01`, { noReply: true }));
          assert.equal(await o.get().metric(DROPPED, { reason: 'proxy_state_without_message_authenticator' }), before + 1);
          assertReply(await radclient(o.get().target, 'auth', SECRET, ALICE), 'Access-Accept');
          const r = await radclient(o.get().target, 'auth', SECRET, `${WITH_MA},Proxy-State=0x01`);
          assertReply(r, 'Access-Accept');
          assert.deepEqual(r.attributes.slice(1), [['Proxy-State', '0x01']]);
        });
      });
    });
  }
});
