// Message-Authenticator policies per client address (FreeRADIUS 3.2's
// require_message_authenticator and limit_proxy_state, yes | no | auto). `auto` learns only
// from Access-Requests without EAP-Message: a Status-Server (RFC 5997) or an EAP request
// (RFC 3579) must carry a Message-Authenticator whatever the NAS does for PAP. Until this
// change one Status-Server switched every NAS behind its address to "MA required".
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MaClients, enforcement, explainLearned, explainMissing, type MaPolicies } from '../../src/radius/ma-policy.ts';
import { AttributeType, RadiusCode, decodePacket, encodeRequest, textAttribute, type RadiusPacket, type RawAttribute } from '../../src/radius/protocol/index.ts';

const SECRET = 'ma-policy-secret';
const AUTH = Buffer.alloc(16, 7);
const T0 = new Date('2026-12-06T09:00:00Z');
const T1 = new Date('2026-12-06T10:00:00Z');
const EAP: RawAttribute = { type: AttributeType.eapMessage, value: Buffer.from([2, 1, 0, 6, 1, 0x61]) };
const PROXY: RawAttribute = { type: AttributeType.proxyState, value: Buffer.from([1]) };

function packet(code: number, attributes: readonly RawAttribute[] = [], messageAuthenticator = false): RadiusPacket {
  const authenticator = code === RadiusCode.accountingRequest ? undefined : AUTH;
  const raw = encodeRequest({ code, identifier: 1, ...(authenticator ? { authenticator } : {}), secret: SECRET, attributes: [textAttribute(AttributeType.userName, 'u'), ...attributes], messageAuthenticator });
  const d = decodePacket(raw);
  assert.ok(d.ok);
  return d.packet;
}

const AUTO: MaPolicies = { require: 'auto', limitProxyState: 'auto' };

describe('MaClients', () => {
  it('learns from an Access-Request with a valid Message-Authenticator, once, and remembers since when', () => {
    const c = new MaClients(10);
    assert.equal(c.since('10.0.0.1'), undefined);
    assert.equal(c.learn('10.0.0.1', packet(RadiusCode.accessRequest, [], true), 'valid', T0), T0);
    assert.equal(c.since('10.0.0.1'), T0);
    assert.equal(c.learn('10.0.0.1', packet(RadiusCode.accessRequest, [], true), 'valid', T1), undefined, 'taught once');
    assert.equal(c.since('10.0.0.1'), T0, 'the first time stays');
    assert.equal(c.since('10.0.0.2'), undefined, 'per address');
  });

  it('does not learn from a Status-Server, an EAP request, a request without MA, or an Accounting-Request', () => {
    const c = new MaClients(10);
    assert.equal(c.learn('10.0.0.1', packet(RadiusCode.statusServer, [], true), 'valid', T0), undefined, 'Status-Server must carry one anyway (RFC 5997)');
    assert.equal(c.learn('10.0.0.1', packet(RadiusCode.accessRequest, [EAP], true), 'valid', T0), undefined, 'EAP must carry one anyway (RFC 3579)');
    assert.equal(c.learn('10.0.0.1', packet(RadiusCode.accessRequest), 'absent', T0), undefined);
    assert.equal(c.learn('10.0.0.1', packet(RadiusCode.accountingRequest, [], true), 'valid', T0), undefined);
    assert.equal(c.since('10.0.0.1'), undefined);
    assert.equal(c.size, 0);
  });

  it('is bounded: the least recently seen address is forgotten first', () => {
    const c = new MaClients(2);
    const signed = packet(RadiusCode.accessRequest, [], true);
    c.learn('a', signed, 'valid', T0);
    c.learn('b', signed, 'valid', T0);
    c.since('a'); // seen again
    c.learn('c', signed, 'valid', T1);
    assert.equal(c.size, 2);
    assert.equal(c.since('b'), undefined);
    assert.equal(c.since('a'), T0);
    assert.equal(c.since('c'), T1);
  });
});

describe('enforcement', () => {
  it('yes always; no never; auto once the client was learned', () => {
    assert.deepEqual(enforcement({ require: 'yes', limitProxyState: 'no' }, undefined), { requireMessageAuthenticator: true, limitProxyState: false });
    assert.deepEqual(enforcement({ require: 'no', limitProxyState: 'yes' }, T0), { requireMessageAuthenticator: false, limitProxyState: true });
    assert.deepEqual(enforcement(AUTO, undefined), { requireMessageAuthenticator: false, limitProxyState: false });
    assert.deepEqual(enforcement(AUTO, T0), { requireMessageAuthenticator: true, limitProxyState: true });
    assert.deepEqual(enforcement({ require: 'no', limitProxyState: 'auto' }, T0), { requireMessageAuthenticator: false, limitProxyState: true });
  });
});

describe('explainMissing', () => {
  it('names the rule, and for auto the time it applies from and why', () => {
    const pap = packet(RadiusCode.accessRequest);
    assert.deepEqual(explainMissing(pap, AUTO, T0, '10.0.0.1', 'vpn'), {
      reason: 'missing_message_authenticator',
      event: 'Message-Authenticator required for 10.0.0.1 since 2026-12-06T09:00:00.000Z, when it first sent one in an Access-Request',
      since: '2026-12-06T09:00:00.000Z',
    });
    assert.deepEqual(explainMissing(pap, { require: 'yes', limitProxyState: 'auto' }, undefined, '10.0.0.1', 'vpn'), {
      reason: 'missing_message_authenticator',
      event: 'Message-Authenticator required for provider vpn (AUTHENTIK_RADIUS__REQUIRE_MESSAGE_AUTHENTICATOR=yes)',
    });
    assert.match(explainMissing(packet(RadiusCode.statusServer), AUTO, undefined, '10.0.0.1', 'vpn').event, /^Status-Server .*RFC 5997/);
    assert.match(explainMissing(packet(RadiusCode.accessRequest, [EAP]), AUTO, undefined, '10.0.0.1', 'vpn').event, /^EAP-Message .*RFC 3579/);
  });

  it('limit_proxy_state: its own reason, and since when for auto', () => {
    const proxied = packet(RadiusCode.accessRequest, [PROXY]);
    assert.deepEqual(explainMissing(proxied, { require: 'no', limitProxyState: 'auto' }, T0, '10.0.0.1', 'vpn'), {
      reason: 'proxy_state_without_message_authenticator',
      event: 'Proxy-State without Message-Authenticator dropped for 10.0.0.1: required since 2026-12-06T09:00:00.000Z, when it first sent one in an Access-Request',
      since: '2026-12-06T09:00:00.000Z',
    });
    assert.deepEqual(explainMissing(proxied, { require: 'no', limitProxyState: 'yes' }, undefined, '10.0.0.1', 'vpn'), {
      reason: 'proxy_state_without_message_authenticator',
      event: 'Proxy-State without Message-Authenticator dropped (AUTHENTIK_RADIUS__LIMIT_PROXY_STATE=yes)',
    });
  });

  it('says what the learned client must send from now on', () => {
    assert.match(explainLearned(AUTO), /Access-Requests must carry one from now on/);
    assert.match(explainLearned({ require: 'no', limitProxyState: 'auto' }), /with Proxy-State must carry one/);
  });
});
