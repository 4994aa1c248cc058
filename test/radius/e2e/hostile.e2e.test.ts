// Hostile datagrams that passed every check of the protocol layer and still put the listener at
// risk, and provider configurations that bent its choices:
// - a datagram from source port 0 (deliverable: the kernel passes it on, Node reports port 0)
//   cannot be answered: Node's send throws for port 0, which from the socket's message handler
//   ended the process (a Status-Server, or a retransmission answered from the reply cache);
// - User-Password of more than 128 bytes is malformed even when it hides the right password;
// - Proxy-States fill the request, and every reply echoes them after its Message-Authenticator:
//   a reply that cannot fit 4096 bytes threw in the encoder (no answer, an error line with a
//   stack per packet, a flow run for nothing); a Reject's Reply-Message or EAP-Failure, which
//   are courtesies, are left out when they do not fit;
// - a provider named like a property every object has ("constructor") took that property as
//   its Message-Authenticator setting instead of the default: REQUIRE=yes applied to nothing;
// - overlapping client networks of two providers: the most specific wins, with its secret, its
//   flow and its application, whatever the providers' order (authentik: the first listed).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { RemoteInfo, Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { SeedDocument } from '../../../src/devcore/index.ts';
import { AttributeType, MAX_PACKET_LENGTH, RadiusCode, encodeRequest, replyLength, decodePacket, type RawAttribute } from '../../../src/radius/protocol/index.ts';
import { TEST_SEED } from '../../support/outpost.ts';
import { waitFor } from '../../support/wait.ts';
import { DROPPED, PASSWORDS, PROVIDER, SECRET, UdpClient, accessRequest, checkReply, flowRuns, startRadiusOutpost, type RadiusOutpost } from './support.ts';

const RAW_SOCKETS = process.getuid?.() === 0 && spawnSync('python3', ['-c', 'import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP).close()'], { stdio: 'ignore' }).status === 0;

/**
 * Delivers `payload` to the listener as a datagram from 127.0.0.1 port 0: sent through a raw
 * socket where this machine allows one (root and python3), else handed to the listener's
 * socket as the kernel hands it over (Node reports port 0 either way).
 */
function deliverFromPortZero(o: RadiusOutpost, payload: Buffer): void {
  if (RAW_SOCKETS) {
    const script = [
      'import socket, struct, sys',
      'payload = bytes.fromhex(sys.argv[2])',
      's = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)',
      // Source port 0, no checksum (allowed over IPv4).
      's.sendto(struct.pack("!HHHH", 0, int(sys.argv[1]), 8 + len(payload), 0) + payload, ("127.0.0.1", 0))',
    ].join('\n');
    const r = spawnSync('python3', ['-c', script, String(o.port), payload.toString('hex')], { stdio: 'ignore' });
    assert.equal(r.status, 0, 'sent through a raw socket');
    return;
  }
  const socket = (o.listener as unknown as { udp: { sockets: Socket[] } }).udp.sockets[0]!;
  const from: RemoteInfo = { address: '127.0.0.1', family: 'IPv4', port: 0, size: payload.length };
  socket.emit('message', payload, from);
}

/** Proxy-State attributes taking `total` bytes of the packet (headers included), in order. */
function proxyStates(total: number): RawAttribute[] {
  const out: RawAttribute[] = [];
  for (let left = total, i = 0; left > 0; i++) {
    let n = Math.min(255, left);
    // Never leave a single byte, which no attribute can take.
    if (left - n === 1) n--;
    out.push({ type: AttributeType.proxyState, value: Buffer.alloc(n - 2, i & 0xff) });
    left -= n;
  }
  return out;
}

/** RFC 2865 §5.2 hiding without its limits: `plain` NUL-padded to `length` bytes (any multiple of 16). */
function hideAnyLength(plain: string, length: number, secret: string, authenticator: Buffer): Buffer {
  const padded = Buffer.alloc(length);
  padded.write(plain);
  const out = Buffer.alloc(length);
  let prev: Buffer = authenticator;
  for (let i = 0; i < length; i += 16) {
    const b = createHash('md5').update(secret).update(prev).digest();
    for (let j = 0; j < 16; j++) out[i + j] = padded[i + j]! ^ b[j]!;
    prev = out.subarray(i, i + 16);
  }
  return out;
}

const failedLines = (o: RadiusOutpost) => o.outpost.logs.lines.filter((l) => l['event'] === 'RADIUS request failed');

describe('hostile datagrams', { concurrency: 1 }, () => {
  let o: RadiusOutpost;
  before(async () => {
    o = await startRadiusOutpost({ env: { AUTHENTIK_RADIUS__REQUIRE_MESSAGE_AUTHENTICATOR: 'no', AUTHENTIK_RADIUS__LIMIT_PROXY_STATE: 'no' } });
  });
  after(() => o?.stop());

  it('from source port 0: dropped unanswered (a Status-Server and a retransmission no longer end the process)', async () => {
    const before = await o.metric(DROPPED, { reason: 'malformed' });
    const since = o.core.admin.requests().length;
    const status = encodeRequest({ code: RadiusCode.statusServer, identifier: 1, authenticator: Buffer.alloc(16, 0x31), secret: SECRET });
    const wrong = accessRequest({ user: 'alice', password: 'not-her-password', identifier: 2, authenticator: Buffer.alloc(16, 0x32) });
    deliverFromPortZero(o, status);
    deliverFromPortZero(o, wrong.packet);
    await waitFor('two drops', async () => (await o.metric(DROPPED, { reason: 'malformed' })) === before + 2);
    // The retransmission: once answered, it came from the reply cache, in the socket's handler.
    deliverFromPortZero(o, wrong.packet);
    await waitFor('the third drop', async () => (await o.metric(DROPPED, { reason: 'malformed' })) === before + 3);
    assert.equal(flowRuns(o.core, since), 0, 'nothing was authenticated for a client that cannot be answered');
    assert.deepEqual(failedLines(o), []);
    const line = o.outpost.logs.lines.find((l) => l['reason'] === 'malformed' && /port 0/.test(String(l['event'])));
    assert.ok(line, 'a warning says why');
    // Still serving.
    const udp = await UdpClient.open();
    try {
      const req = accessRequest({ user: 'alice', password: PASSWORDS.alice });
      assert.equal(checkReply(await udp.exchange(req.packet, o.port), req).code, RadiusCode.accessAccept);
    } finally {
      await udp.close();
    }
  });

  it('User-Password of the right password hidden in 144 bytes (> 128), or empty → Reject; never an Accept', async () => {
    const udp = await UdpClient.open();
    try {
      const since = o.core.admin.requests().length;
      const authenticator = Buffer.alloc(16, 0x77);
      const hidden = (length: number, plain: string = PASSWORDS.alice) => ({ type: AttributeType.userPassword, value: hideAnyLength(plain, length, SECRET, authenticator) });
      // The encoding itself is right: hidden in 128 bytes, the same password is accepted.
      const fits = accessRequest({ user: 'alice', authenticator, identifier: 1, attributes: [hidden(128)] });
      assert.equal(checkReply(await udp.exchange(fits.packet, o.port), fits).code, RadiusCode.accessAccept);
      const long = accessRequest({ user: 'alice', authenticator, identifier: 2, attributes: [hidden(144)] });
      assert.equal(checkReply(await udp.exchange(long.packet, o.port), long).code, RadiusCode.accessReject);
      assert.equal(flowRuns(o.core, since), 1, 'no flow for a malformed password');
      const empty = accessRequest({ user: 'alice', authenticator, identifier: 3, attributes: [hidden(16, '')] });
      assert.equal(checkReply(await udp.exchange(empty.packet, o.port), empty).code, RadiusCode.accessReject);
    } finally {
      await udp.close();
    }
  });

  it('a Reject whose Reply-Message would pass 4096 bytes (Proxy-States) is sent without it', async () => {
    const udp = await UdpClient.open('127.0.0.5');
    try {
      const req = accessRequest({ user: 'alice', attributes: [{ type: AttributeType.chapPassword, value: Buffer.alloc(17, 1) }, ...proxyStates(4000)] });
      const request = decodePacket(req.packet);
      assert.ok(request.ok && request.packet.raw.length <= MAX_PACKET_LENGTH);
      const bare = replyLength(request.packet, {});
      assert.ok(bare <= MAX_PACKET_LENGTH && bare + 60 > MAX_PACKET_LENGTH, 'a bare reply fits, one with a sentence more does not');
      const reply = checkReply(await udp.exchange(req.packet, o.port), req);
      assert.equal(reply.code, RadiusCode.accessReject);
      assert.ok(reply.raw.length <= MAX_PACKET_LENGTH);
      assert.deepEqual(reply.attributes.filter((a) => a.type === AttributeType.replyMessage), [], 'no room for the Reply-Message');
      const echoed = reply.attributes.filter((a) => a.type === AttributeType.proxyState);
      assert.deepEqual(echoed.map((a) => a.value), proxyStates(4000).map((a) => a.value), 'every Proxy-State echoed, in order');
      assert.deepEqual(failedLines(o), []);
    } finally {
      await udp.close();
    }
  });

  it('an Access-Request whose Proxy-States leave no room for any reply is dropped before the flow, not thrown on after it', async () => {
    const udp = await UdpClient.open('127.0.0.6');
    try {
      const since = o.core.admin.requests().length;
      const before = await o.metric(DROPPED, { reason: 'malformed' });
      // User-Name and Proxy-States only (Reject: no password), and with a wrong password: either
      // way the Message-Authenticator and the echoed Proxy-States alone pass 4096 bytes.
      const noPassword = accessRequest({ user: 'alice', attributes: proxyStates(MAX_PACKET_LENGTH - 20 - 7) });
      const withPassword = accessRequest({ user: 'al', password: 'wrong', attributes: proxyStates(MAX_PACKET_LENGTH - 20 - 4 - 18) });
      for (const req of [noPassword, withPassword]) {
        const d = decodePacket(req.packet);
        assert.ok(d.ok && d.packet.raw.length === MAX_PACKET_LENGTH, 'a request of 4096 bytes');
        if (req === noPassword) assert.ok(replyLength(d.packet, {}) > MAX_PACKET_LENGTH, 'no reply can fit');
        await udp.send(req.packet, o.port);
      }
      await waitFor('one drop', async () => (await o.metric(DROPPED, { reason: 'malformed' })) >= before + 1);
      // The request with a password fits (its reply is 3 bytes shorter): it is answered.
      const reply = checkReply(await udp.next(), withPassword);
      assert.equal(reply.code, RadiusCode.accessReject);
      assert.equal(await udp.next(300), undefined, 'nothing else');
      assert.equal(await o.metric(DROPPED, { reason: 'malformed' }), before + 1);
      assert.equal(flowRuns(o.core, since), 1, 'only the answerable request ran the flow');
      assert.deepEqual(failedLines(o), []);
      assert.ok(o.outpost.logs.lines.some((l) => l['reason'] === 'malformed' && l['ip'] === '127.0.0.6' && /Proxy-State/.test(String(l['event']))));
    } finally {
      await udp.close();
    }
  });
});

// ---------------------------------------------------------------------------------------
// Provider configurations

interface SeedShape {
  applications: { slug: string; name: string; provider: string; access_groups?: string[] }[];
  providers: { type: string; pk: number; name: string; [k: string]: unknown }[];
  outposts: { name: string; providers: string[] }[];
}

function testSeed(): SeedShape {
  return parse(readFileSync(TEST_SEED, 'utf8')) as SeedShape;
}

function renameProvider(seed: SeedShape, from: string, to: string): SeedShape {
  for (const p of seed.providers) if (p.name === from) p.name = to;
  for (const a of seed.applications) if (a.provider === from) a.provider = to;
  for (const o of seed.outposts) o.providers = o.providers.map((p) => (p === from ? to : p));
  return seed;
}

describe('a provider named like an object property ("constructor")', () => {
  let o: RadiusOutpost;
  before(async () => {
    o = await startRadiusOutpost({
      seed: renameProvider(testSeed(), PROVIDER, 'constructor') as unknown as SeedDocument,
      env: { AUTHENTIK_RADIUS__REQUIRE_MESSAGE_AUTHENTICATOR: 'yes' },
    });
  });
  after(() => o?.stop());

  it('gets the default Message-Authenticator policy (yes): an Access-Request without one is dropped', async () => {
    const udp = await UdpClient.open();
    try {
      const since = o.core.admin.requests().length;
      const before = await o.metric(DROPPED, { reason: 'missing_message_authenticator' });
      const bare = accessRequest({ user: 'alice', password: PASSWORDS.alice });
      assert.equal(await udp.exchange(bare.packet, o.port, '127.0.0.1', 1000), undefined, 'no reply');
      assert.equal(await o.metric(DROPPED, { reason: 'missing_message_authenticator' }), before + 1);
      assert.equal(flowRuns(o.core, since), 0);
      const signed = accessRequest({ user: 'alice', password: PASSWORDS.alice, messageAuthenticator: true });
      assert.equal(checkReply(await udp.exchange(signed.packet, o.port), signed).code, RadiusCode.accessAccept);
    } finally {
      await udp.close();
    }
  });
});

describe('overlapping client networks of two providers', () => {
  const NARROW_SECRET = 'narrow-radius-secret';
  const NARROW_PK = 9;
  let o: RadiusOutpost;
  before(async () => {
    const seed = testSeed();
    // Listed after test-radius-provider (by name): authentik would pick the broad one.
    seed.providers.push({ type: 'radius', pk: NARROW_PK, name: 'zz-narrow-radius-provider', auth_flow: 'radius-test-flow', client_networks: '127.0.0.7/32', shared_secret: NARROW_SECRET, mfa_support: true });
    seed.applications.push({ slug: 'zz-narrow-radius-app', name: 'Narrow RADIUS', provider: 'zz-narrow-radius-provider' });
    seed.outposts.find((x) => x.name === 'test-radius')!.providers.push('zz-narrow-radius-provider');
    o = await startRadiusOutpost({ seed: seed as unknown as SeedDocument, env: { AUTHENTIK_RADIUS__REQUIRE_MESSAGE_AUTHENTICATOR: 'no', AUTHENTIK_RADIUS__LIMIT_PROXY_STATE: 'no' } });
  });
  after(() => o?.stop());

  it('the most specific network wins: its secret, its provider\'s access check; the broad one keeps the rest', async () => {
    const narrow = await UdpClient.open('127.0.0.7');
    const broad = await UdpClient.open('127.0.0.8');
    try {
      const since = o.core.admin.requests().length;
      const good = accessRequest({ user: 'alice', password: PASSWORDS.alice, secret: NARROW_SECRET });
      assert.equal(checkReply(await narrow.exchange(good.packet, o.port), good, NARROW_SECRET).code, RadiusCode.accessAccept);
      const checks = o.core.admin.requests().slice(since).filter((r) => r.path.includes('/check_access/'));
      assert.deepEqual(checks.map((r) => r.path), [`/api/v3/outposts/radius/${NARROW_PK}/check_access/`], 'the narrow provider\'s access check');
      // The broad provider's secret from the narrow network: the password is garbled; with a
      // Message-Authenticator, the packet is not authentic at all.
      const other = accessRequest({ user: 'alice', password: PASSWORDS.alice, secret: SECRET });
      assert.equal(checkReply(await narrow.exchange(other.packet, o.port), other, NARROW_SECRET).code, RadiusCode.accessReject);
      const otherMa = accessRequest({ user: 'alice', password: PASSWORDS.alice, secret: SECRET, messageAuthenticator: true });
      assert.equal(await narrow.exchange(otherMa.packet, o.port, '127.0.0.1', 1000), undefined);
      // Anywhere else in 127.0.0.0/8: the broad provider.
      const rest = accessRequest({ user: 'alice', password: PASSWORDS.alice, secret: SECRET });
      assert.equal(checkReply(await broad.exchange(rest.packet, o.port), rest, SECRET).code, RadiusCode.accessAccept);
    } finally {
      await narrow.close();
      await broad.close();
    }
  });
});
