// Message-Authenticator policies (BlastRADIUS, CVE-2024-3596), as FreeRADIUS 3.2.5 has them:
// AUTHENTIK_RADIUS__REQUIRE_MESSAGE_AUTHENTICATOR = yes | no | auto (default) with
// per-provider overrides, AUTHENTIK_RADIUS__LIMIT_PROXY_STATE = yes | no | auto (default), and
// an invalid Message-Authenticator always dropped. authentik 2024.4 has none of this (it
// neither checks nor sends Message-Authenticator): every behaviour here is a deliberate
// hardening. Each outpost gets its own core; they run side by side. Clients are told apart
// by their source address (radclient's Packet-Src-IP-Address), as `auto` remembers clients.
// `auto` learns only from Access-Requests without EAP-Message, as FreeRADIUS 3.2 does: a
// Status-Server or an EAP request must carry a Message-Authenticator anyway, and once made
// every NAS behind the address that sends PAP without one unreachable. Against a core of each
// API generation.
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

        it('the drop says why and since when: the time the client first sent MA in an Access-Request', async () => {
          // 127.0.0.2 sent MA in the test before.
          const learned = o.get().outpost.logs.lines.find((l) => l['ip'] === '127.0.0.2' && typeof l['since'] === 'string' && l['level'] === 'info');
          assert.ok(learned, 'learning it was logged');
          assert.match(String(learned['event']), /sent a Message-Authenticator in an Access-Request: its Access-Requests must carry one from now on/);
          const drop = o.get().outpost.logs.lines.find((l) => l['reason'] === 'missing_message_authenticator' && l['ip'] === '127.0.0.2');
          assert.ok(drop);
          assert.equal(drop['event'], `Message-Authenticator required for 127.0.0.2 since ${String(learned['since'])}, when it first sent one in an Access-Request`);
          assert.equal(drop['since'], learned['since']);
        });

        it('a Status-Server (which must carry MA) does not make MA required: status, then PAP without MA, as the README shows', async () => {
          assertReply(await radclient(o.get().target, 'status', SECRET, 'Message-Authenticator=0x00' + from('127.0.0.8')), 'Access-Accept');
          assertReply(await radclient(o.get().target, 'auth', SECRET, ALICE + from('127.0.0.8')), 'Access-Accept');
          assertReply(await radclient(o.get().target, 'auth', SECRET, ALICE + from('127.0.0.8')), 'Access-Accept');
        });

        it('nor does an EAP request (which must carry MA): EAP, then PAP without MA', async () => {
          const eap = `User-Name=alice,EAP-Message=0x0201000a01616c696365,Message-Authenticator=0x00${from('127.0.0.9')}`;
          assertReply(await radclient(o.get().target, 'auth', SECRET, eap), 'Access-Reject');
          assertReply(await radclient(o.get().target, 'auth', SECRET, ALICE + from('127.0.0.9')), 'Access-Accept');
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
        // The provider is exempt from the default `auto`; limit_proxy_state stays auto. Two
        // overrides name no provider: one not at all, one in the wrong case.
        const o = outpost(authentikVersion, { AUTHENTIK_RADIUS__REQUIRE_MESSAGE_AUTHENTICATOR: 'auto, test-radius-provider=no, vpn-provider=yes, Test-Radius-Provider=yes' });

        it('an override naming no provider gets one warning naming it (once, refreshes included)', async () => {
          await o.get().refresh();
          await o.get().refresh();
          const warnings = o.get().outpost.logs.lines.filter((l) => l['level'] === 'warning' && l['option'] === 'AUTHENTIK_RADIUS__REQUIRE_MESSAGE_AUTHENTICATOR');
          assert.deepEqual(warnings.map((l) => l['provider']).sort(), ['Test-Radius-Provider', 'vpn-provider']);
          const vpn = warnings.find((l) => l['provider'] === 'vpn-provider')!;
          assert.equal(vpn['event'], 'no RADIUS provider is named "vpn-provider": its Message-Authenticator setting applies to nothing');
          assert.equal(warnings.find((l) => l['provider'] === 'Test-Radius-Provider')!['similar'], 'test-radius-provider', 'a near miss is pointed out');
        });

        it('the override applies: after MA, requests without MA are still answered', async () => {
          assertReply(await radclient(o.get().target, 'auth', SECRET, WITH_MA + from('127.0.0.6')), 'Access-Accept');
          assertReply(await radclient(o.get().target, 'auth', SECRET, ALICE + from('127.0.0.6')), 'Access-Accept');
        });

        it('limit_proxy_state auto learns from Access-Requests only: a Status-Server with MA does not make Proxy-State need one', async () => {
          assertReply(await radclient(o.get().target, 'status', SECRET, 'Message-Authenticator=0x00' + from('127.0.0.10')), 'Access-Accept');
          assertReply(await radclient(o.get().target, 'auth', SECRET, `${ALICE},Proxy-State=0x01` + from('127.0.0.10')), 'Access-Accept');
        });

        it('limit_proxy_state auto: once a client sent MA, Proxy-State without MA is dropped', async () => {
          // Before any MA: Proxy-State without MA is fine (a legacy proxy).
          assertReply(await radclient(o.get().target, 'auth', SECRET, `${ALICE},Proxy-State=0x01` + from('127.0.0.7')), 'Access-Accept');
          assertReply(await radclient(o.get().target, 'auth', SECRET, `${WITH_MA},Proxy-State=0x01` + from('127.0.0.7')), 'Access-Accept');
          const before = await o.get().metric(DROPPED, { reason: 'proxy_state_without_message_authenticator' });
          assertNoReply(await radclient(o.get().target, 'auth', SECRET, `${ALICE},Proxy-State=0x01` + from('127.0.0.7'), { noReply: true }));
          assert.equal(await o.get().metric(DROPPED, { reason: 'proxy_state_without_message_authenticator' }), before + 1);
          const drop = o.get().outpost.logs.lines.find((l) => l['reason'] === 'proxy_state_without_message_authenticator' && l['ip'] === '127.0.0.7');
          assert.match(String(drop?.['event']), /^Proxy-State without Message-Authenticator dropped for 127\.0\.0\.7: required since \S+, when it first sent one in an Access-Request$/);
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
