// A second, independent client: requests encoded by the npm `radius` package
// (retailnext/node-radius), sent over dgram, replies checked with its `verify_response`
// (Response Authenticator, and the reply's Message-Authenticator when the request had one)
// and decoded with its `decode`. Against a core of each API generation.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import radius from 'radius';
import { totpCode } from '../../../src/devcore/index.ts';
import { AUTHENTIK_VERSIONS, BOB_TOTP_SECRET, PASSWORDS, SECRET, UdpClient, startRadiusOutpost, type AuthentikVersion, type RadiusOutpost } from './support.ts';

interface Exchange {
  request: Buffer;
  response: Buffer;
  decoded: radius.RadiusPacket;
}

// Each generation's outpost and core run side by side; the tests against each run in order.
describe('the RADIUS outpost', { concurrency: true }, () => {
  for (const authentikVersion of AUTHENTIK_VERSIONS) describe(`authentik ${authentikVersion}`, { concurrency: 1 }, () => suite(authentikVersion));
});

function suite(authentikVersion: AuthentikVersion): void {
  let o: RadiusOutpost;
  let udp: UdpClient;
  let nextId = 0;

  before(async () => {
    o = await startRadiusOutpost({ authentikVersion, beforeStart: (core) => core.admin.addMember('vpn', 'bob') });
    udp = await UdpClient.open();
  });
  after(async () => {
    await udp?.close();
    await o?.stop();
  });

  async function send(code: string, attributes: [string, string | Buffer][], secret = SECRET, addMa = true, client = udp): Promise<Exchange> {
    const request = radius.encode({ code, secret, identifier: nextId++ & 0xff, attributes, add_message_authenticator: addMa });
    const response = await client.exchange(request, o.port);
    assert.ok(response, `a reply to ${code}`);
    // verify_response writes into the buffer while checking: give it a copy.
    assert.equal(radius.verify_response({ request, response: Buffer.from(response), secret }), true, 'node-radius verifies the reply');
    const decoded = radius.decode({ packet: response, secret });
    assert.equal(decoded.identifier, request[1]);
    assert.equal(response[20], 80, 'Message-Authenticator is the first attribute');
    return { request, response, decoded };
  }

  describe('node-radius as the client', () => {
    it('Access-Accept for alice, with a Message-Authenticator node-radius accepts', async () => {
      const { decoded } = await send('Access-Request', [['User-Name', 'alice'], ['User-Password', PASSWORDS.alice], ['NAS-IP-Address', '192.0.2.10']]);
      assert.equal(decoded.code, 'Access-Accept');
      assert.ok(Buffer.isBuffer(decoded.attributes['Message-Authenticator']));
    });

    it('Access-Reject for a wrong password and for a user outside the application', async () => {
      assert.equal((await send('Access-Request', [['User-Name', 'alice'], ['User-Password', 'definitely-wrong']])).decoded.code, 'Access-Reject');
      assert.equal((await send('Access-Request', [['User-Name', 'erin'], ['User-Password', PASSWORDS.erin]])).decoded.code, 'Access-Reject');
    });

    it('a request without MA still gets a reply node-radius verifies (and it carries MA)', async () => {
      // From another address: 127.0.0.1 has sent MA, so (`auto`, the default) it must keep doing so.
      const legacy = await UdpClient.open('127.0.0.2');
      try {
        const { decoded } = await send('Access-Request', [['User-Name', 'alice'], ['User-Password', PASSWORDS.alice]], SECRET, false, legacy);
        assert.equal(decoded.code, 'Access-Accept');
        assert.ok(decoded.attributes['Message-Authenticator']);
      } finally {
        await legacy.close();
      }
    });

    it('a long password (node-radius pads to 16-byte blocks) and password;TOTP', async () => {
      const code = totpCode(BOB_TOTP_SECRET);
      assert.equal((await send('Access-Request', [['User-Name', 'bob'], ['User-Password', `${PASSWORDS.bob};${code}`]])).decoded.code, 'Access-Accept');
      assert.equal((await send('Access-Request', [['User-Name', 'alice'], ['User-Password', 'x'.repeat(100)]])).decoded.code, 'Access-Reject');
    });

    it('echoes Proxy-State (node-radius sees both, in order)', async () => {
      const { decoded } = await send('Access-Request', [['User-Name', 'alice'], ['User-Password', PASSWORDS.alice], ['Proxy-State', Buffer.from('first')], ['Proxy-State', Buffer.from('second')]]);
      assert.equal(decoded.code, 'Access-Accept');
      const proxy = (decoded.raw_attributes as [number, Buffer][]).filter(([type]) => type === 33).map(([, v]) => v.toString());
      assert.deepEqual(proxy, ['first', 'second']);
    });

    it('Status-Server (node-radius adds MA itself) → Access-Accept', async () => {
      const { decoded } = await send('Status-Server', [['NAS-Identifier', 'monitor']]);
      assert.equal(decoded.code, 'Access-Accept');
    });

    it('a wrong secret with MA gets no reply; the listener keeps serving', async () => {
      const request = radius.encode({ code: 'Access-Request', secret: 'wrong-secret', identifier: 200, attributes: [['User-Name', 'alice'], ['User-Password', PASSWORDS.alice]], add_message_authenticator: true });
      await udp.send(request, o.port);
      assert.equal(await udp.next(500), undefined);
      assert.equal((await send('Access-Request', [['User-Name', 'alice'], ['User-Password', PASSWORDS.alice]])).decoded.code, 'Access-Accept');
    });
  });
}
