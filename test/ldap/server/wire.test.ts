/**
 * Wire-level behaviour: framing and decode errors, limits, idle timeout, backpressure,
 * StartTLS corner cases, SNI, TLS versions and the PROXY protocol.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'ldapts';
import { ResultCode, SearchScope, encodeRequest } from '../../../src/ldap/protocol/index.ts';
import { encodeProxyHeader } from '../../../src/net/proxy-protocol.ts';
import { ALICE_DN, ALICE_PW, BASE, BIG_BASE, RawClient, TestHandler, isNotice, run, searchRequest, startFixture, testCertificate, waitUntil, within, type Fixture } from './support.ts';

const STARTTLS = '1.3.6.1.4.1.1466.20037';
const rootDse = () => searchRequest('', { scope: SearchScope.baseObject });

function connectRaw(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Upgrades a raw client after a successful StartTLS response. */
function upgrade(raw: RawClient, servername?: string): Promise<RawClient> {
  raw.socket.removeAllListeners('data');
  return new Promise((resolve, reject) => {
    const t = tls.connect({ socket: raw.socket, rejectUnauthorized: false, ...(servername === undefined ? {} : { servername }) }, () => resolve(RawClient.wrap(t)));
    t.once('error', reject);
  });
}

describe('framing and decoding errors', () => {
  let fx: Fixture;
  before(async () => {
    fx = await startFixture({ limits: { maxPduSize: 4096 } });
  });
  after(() => fx.stop());

  it('an oversized PDU gets a Notice of Disconnection (protocolError) and a close; others are unaffected', async () => {
    const other = await RawClient.connect(fx.ldapPort);
    await other.bind(1, ALICE_DN, ALICE_PW);
    const raw = await RawClient.connect(fx.ldapPort);
    // Only the header: the limit applies before any content is buffered.
    raw.write(Buffer.from([0x30, 0x84, 0x00, 0x10, 0x00, 0x00]));
    await raw.closedWithin();
    assert.equal(raw.responses.length, 1);
    assert.ok(isNotice(raw.responses[0]!));
    assert.equal(raw.responses[0]!.resultCode, ResultCode.protocolError);
    assert.equal(fx.metrics.get('pdu:too_large'), 1);
    other.send(2, searchRequest(BASE, { scope: SearchScope.baseObject }));
    assert.equal((await other.result(2)).resultCode, 0);
    other.close();
  });

  it('a PDU just under the limit is accepted', async () => {
    const raw = await RawClient.connect(fx.ldapPort);
    const pdu = encodeRequest(1, searchRequest(BASE, { scope: SearchScope.baseObject, attributes: ['cn', 'x'.repeat(3900)] }));
    assert.ok(pdu.length < 4096 && pdu.length > 3900);
    // Byte by byte, to exercise incremental framing.
    for (const b of pdu) raw.write(Buffer.from([b]));
    assert.equal((await raw.result(1)).resultCode, 0);
    raw.close();
  });

  for (const [name, bytes, reason] of [
    ['not a SEQUENCE', Buffer.from('GET / HTTP/1.1\r\n\r\n'), 'framing_error'],
    ['indefinite length', Buffer.from([0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00]), 'framing_error'],
    ['broken envelope', Buffer.from([0x30, 0x03, 0x04, 0x01, 0x41]), 'malformed'],
    ['unknown protocolOp (a response)', encodeRequest(1, { type: 'unbind' }).fill(0x61, 5, 6), 'unknown_operation'],
    ['invalid operation', Buffer.from([0x30, 0x07, 0x02, 0x01, 0x05, 0x60, 0x02, 0x02, 0x00]), 'invalid_operation'],
  ] as const) {
    it(`${name} → notice (protocolError) and close`, async () => {
      const raw = await RawClient.connect(fx.ldapPort);
      const before = fx.metrics.get(`pdu:${reason}`);
      raw.write(bytes);
      await raw.closedWithin();
      assert.ok(raw.responses.some((r) => isNotice(r) && r.resultCode === ResultCode.protocolError), JSON.stringify(raw.responses));
      assert.equal(fx.metrics.get(`pdu:${reason}`), before + 1);
    });
  }

  it('a valid request before the bad bytes is still answered', async () => {
    const raw = await RawClient.connect(fx.ldapPort);
    raw.write(Buffer.concat([encodeRequest(1, rootDse()), Buffer.from([0x31, 0x00])]));
    await raw.closedWithin();
    // The root DSE request was queued before the error; the close may cut it, but the notice is there.
    assert.ok(raw.responses.some(isNotice));
  });
});

describe('connection limits and idle timeout', () => {
  it('connections per address: the excess gets a busy notice, logged once', async () => {
    const fx = await startFixture({ limits: { maxConnectionsPerAddress: 3 }, level: 'info' });
    try {
      const ok = await Promise.all([0, 1, 2].map(() => RawClient.connect(fx.ldapPort)));
      const refused: RawClient[] = [];
      for (let i = 0; i < 10; i++) refused.push(await RawClient.connect(fx.ldapPort));
      await Promise.all(refused.map((r) => r.closedWithin()));
      for (const r of refused) {
        assert.ok(isNotice(r.responses[0]!));
        assert.equal(r.responses[0]!.resultCode, ResultCode.busy);
      }
      assert.equal(fx.metrics.get('rejected:too_many_connections_per_address'), 10);
      const warnings = fx.logs.lines.filter((l) => l.reason === 'too_many_connections_per_address');
      assert.equal(warnings.length, 1, 'rate-limited to one line per address');
      // The admitted ones work; closing one frees a slot.
      ok[0]!.send(1, rootDse());
      assert.equal((await ok[0]!.result(1)).resultCode, 0);
      ok[0]!.close();
      await waitUntil(() => fx.server.connectionCount === 2);
      const again = await RawClient.connect(fx.ldapPort);
      again.send(1, rootDse());
      assert.equal((await again.result(1)).resultCode, 0);
      for (const c of [...ok, again]) c.close();
    } finally {
      await fx.stop();
    }
  });

  it('total connections: the excess gets a busy notice', async () => {
    const fx = await startFixture({ limits: { maxConnections: 2 } });
    try {
      const a = await RawClient.connect(fx.ldapPort);
      const b = await RawClient.connect(fx.ldapsPort, { tls: true });
      await waitUntil(() => fx.server.connectionCount === 2);
      const c = await RawClient.connect(fx.ldapPort);
      await c.closedWithin();
      assert.ok(isNotice(c.responses[0]!));
      assert.equal(fx.metrics.get('rejected:too_many_connections'), 1);
      a.close();
      b.close();
    } finally {
      await fx.stop();
    }
  });

  it('an idle connection is closed; a long handler call is not idleness', async () => {
    const cert = await testCertificate();
    const handler = new TestHandler(cert.secureContext);
    handler.slowMs = 600;
    const fx = await startFixture({ handler, limits: { idleTimeoutMs: 200 } });
    try {
      const idle = await RawClient.connect(fx.ldapPort);
      const t0 = Date.now();
      await idle.closedWithin();
      assert.ok(Date.now() - t0 >= 150, 'not before the timeout');
      const busy = await RawClient.connect(fx.ldapPort);
      busy.send(1, { type: 'bind', version: 3, name: 'cn=slow', authentication: { method: 'simple', password: Buffer.from('x') } });
      const r = await busy.result(1, 3000);
      assert.equal(r.resultCode, ResultCode.invalidCredentials);
      await busy.closedWithin();
      // An idle connection after a bind with a session ends the session.
      const bound = await RawClient.connect(fx.ldapPort);
      await bound.bind(1, ALICE_DN, ALICE_PW);
      await bound.closedWithin();
      await waitUntil(() => handler.ended.length === 1);
    } finally {
      await fx.stop();
    }
  });

  it('a request must arrive whole within the read deadline of its first byte: a slow drip is closed', async () => {
    // One byte every 50 ms keeps the connection busy enough for any idle timeout.
    const fx = await startFixture({ limits: { requestReadTimeoutMs: 400, idleTimeoutMs: 200 } });
    try {
      const drip = await RawClient.connect(fx.ldapPort);
      const pdu = encodeRequest(1, searchRequest(BASE));
      let sent = 0;
      const t0 = Date.now();
      const timer = setInterval(() => {
        if (sent < pdu.length && !drip.isClosed) drip.write(pdu.subarray(sent, ++sent));
      }, 50);
      try {
        await drip.closedWithin(3000);
      } finally {
        clearInterval(timer);
      }
      const took = Date.now() - t0;
      assert.ok(took >= 350 && took < 2000, `closed after ${took} ms`);
      assert.ok(sent < pdu.length, `closed before the request was complete (${sent} of ${pdu.length} bytes)`);
      const notice = drip.responses.find(isNotice);
      assert.equal(notice?.resultCode, ResultCode.protocolError);
      assert.equal(notice?.diagnosticMessage, 'request not received whole within 0.4 s');
      assert.equal(fx.metrics.get('pdu:read_timeout'), 1);
      const line = fx.logs.lines.find((l) => l.reason === 'read_timeout');
      assert.match(String(line?.event), /^LDAP request rejected: a request did not arrive whole within 0\.4 s of its first byte/);
      assert.equal(fx.handler.searches.length, 0);
    } finally {
      await fx.stop();
    }
  });

  it('the read deadline is per request: pauses between requests and a request in quick pieces are fine', async () => {
    const fx = await startFixture({ limits: { requestReadTimeoutMs: 400 } });
    try {
      const c = await RawClient.connect(fx.ldapPort);
      const one = encodeRequest(1, searchRequest(BASE, { scope: 0 }));
      const two = encodeRequest(2, searchRequest(BASE, { scope: 0 }));
      // The end of one request and the start of the next in one segment, the rest 250 ms later:
      // the second one's deadline starts with its own first byte, not with the first request's.
      c.write(one.subarray(0, 10));
      await sleep(250);
      c.write(Buffer.concat([one.subarray(10), two.subarray(0, 10)]));
      assert.equal((await c.result(1)).resultCode, ResultCode.success);
      await sleep(250);
      c.write(two.subarray(10));
      assert.equal((await c.result(2)).resultCode, ResultCode.success);
      // Idle time between whole requests is not a slow request.
      await sleep(600);
      c.send(3, searchRequest(BASE, { scope: 0 }));
      assert.equal((await c.result(3)).resultCode, ResultCode.success);
      assert.equal(fx.metrics.get('pdu:read_timeout'), 0);
      c.close();
    } finally {
      await fx.stop();
    }
  });

  it('too many outstanding requests on one connection are answered busy', async () => {
    const cert = await testCertificate();
    const handler = new TestHandler(cert.secureContext);
    handler.slowMs = 300;
    const fx = await startFixture({ handler, limits: { maxOutstandingPerConnection: 2 } });
    try {
      const raw = await RawClient.connect(fx.ldapPort);
      raw.write(Buffer.concat([encodeRequest(1, searchRequest('cn=slow')), encodeRequest(2, rootDse()), encodeRequest(3, rootDse()), encodeRequest(4, rootDse())]));
      const r3 = await raw.result(3);
      assert.equal(r3.resultCode, ResultCode.busy);
      assert.equal((await raw.result(4)).resultCode, ResultCode.busy);
      assert.equal((await raw.result(1)).resultCode, 0);
      assert.equal((await raw.result(2)).resultCode, 0);
      assert.equal(fx.metrics.get('pdu:too_many_outstanding'), 2);
      raw.close();
    } finally {
      await fx.stop();
    }
  });
});

describe('search results and backpressure', () => {
  it('a client that stops reading blocks the stream; abandon while blocked stops it', async () => {
    const cert = await testCertificate();
    const handler = new TestHandler(cert.secureContext);
    handler.bigCount = 100_000;
    const fx = await startFixture({ handler });
    try {
      const sock = await connectRaw(fx.ldapPort);
      sock.pause();
      sock.write(encodeRequest(1, searchRequest(BIG_BASE, { scope: SearchScope.singleLevel })));
      await new Promise((r) => setTimeout(r, 500));
      sock.write(encodeRequest(2, { type: 'abandon', abandonId: 1 }));
      sock.write(encodeRequest(3, rootDse()));
      const raw = RawClient.wrap(sock);
      sock.resume();
      const done = await raw.result(3, 20_000);
      assert.equal(done.resultCode, 0);
      const entries = raw.responses.filter((r) => r.messageId === 1).length;
      assert.ok(entries > 0 && entries < 100_000, `got ${entries} entries: the server did not buffer the whole result`);
      assert.equal(raw.responses.filter((r) => r.messageId === 1 && r.tag === 0x65).length, 0, 'no SearchResultDone after abandon');
      raw.close();
    } finally {
      await fx.stop();
    }
  });

  it('a slow reader still gets all 10,000 entries in order', async () => {
    const fx = await startFixture();
    try {
      const sock = await connectRaw(fx.ldapPort);
      sock.pause();
      sock.write(encodeRequest(1, searchRequest(BIG_BASE, { scope: SearchScope.singleLevel, attributes: ['cn'] })));
      await new Promise((r) => setTimeout(r, 200));
      const raw = RawClient.wrap(sock);
      sock.resume();
      const done = await raw.result(1, 20_000);
      assert.equal(done.resultCode, 0);
      const entries = raw.responses.filter((r) => r.tag === 0x64);
      assert.equal(entries.length, 10_000);
      assert.equal(entries[9999]!.objectName, `cn=user9999,${BIG_BASE}`);
      assert.deepEqual(entries[0]!.attributes, [{ type: 'cn', values: ['user0'] }]);
      raw.close();
    } finally {
      await fx.stop();
    }
  });
});

describe('StartTLS, LDAPS and SNI', () => {
  let fx: Fixture;
  before(async () => {
    fx = await startFixture();
  });
  after(() => fx.stop());

  it('StartTLS succeeds with responseName; a second StartTLS gets operationsError', async () => {
    const raw = await RawClient.connect(fx.ldapPort);
    raw.send(1, { type: 'extended', name: STARTTLS, value: undefined });
    const r = await raw.result(1);
    assert.equal(r.resultCode, 0);
    assert.equal(r.responseName, STARTTLS);
    const t = await upgrade(raw, 'starttls.example');
    await t.bind(2, ALICE_DN, ALICE_PW);
    const bind = fx.handler.binds.at(-1)!;
    assert.equal(bind.client.tls, true);
    assert.equal(bind.client.serverName, 'starttls.example');
    t.send(3, { type: 'extended', name: STARTTLS, value: undefined });
    const again = await t.result(3);
    assert.equal(again.resultCode, ResultCode.operationsError);
    assert.equal(again.responseName, STARTTLS);
    t.send(4, rootDse());
    assert.equal((await t.result(4)).resultCode, 0, 'still usable');
    t.close();
  });

  it('StartTLS on LDAPS gets operationsError', async () => {
    const raw = await RawClient.connect(fx.ldapsPort, { tls: true });
    raw.send(1, { type: 'extended', name: STARTTLS, value: undefined });
    assert.equal((await raw.result(1)).resultCode, ResultCode.operationsError);
    raw.send(2, rootDse());
    assert.equal((await raw.result(2)).resultCode, 0);
    raw.close();
  });

  it('StartTLS with another request outstanding or pipelined after it gets operationsError', async () => {
    const raw = await RawClient.connect(fx.ldapPort);
    raw.write(Buffer.concat([encodeRequest(1, searchRequest('cn=slow')), encodeRequest(2, { type: 'extended', name: STARTTLS, value: undefined })]));
    // Refused at once, while the search is still running (and can be abandoned).
    assert.equal((await raw.result(2, 1000)).resultCode, ResultCode.operationsError);
    raw.send(3, { type: 'abandon', abandonId: 1 });
    raw.write(Buffer.concat([encodeRequest(4, { type: 'extended', name: STARTTLS, value: undefined }), encodeRequest(5, rootDse())]));
    assert.equal((await raw.result(4)).resultCode, ResultCode.operationsError);
    assert.equal((await raw.result(5)).resultCode, 0, 'the pipelined request is processed in plain text');
    raw.close();
  });

  it('a failed TLS handshake after StartTLS closes the connection', async () => {
    const raw = await RawClient.connect(fx.ldapPort);
    raw.send(1, { type: 'extended', name: STARTTLS, value: undefined });
    assert.equal((await raw.result(1)).resultCode, 0);
    raw.write(Buffer.from('this is not a TLS ClientHello\r\n'));
    await raw.closedWithin();
    await waitUntil(() => fx.metrics.get('rejected:tls_handshake_failed') >= 1);
  });

  it('ldapts startTLS and LDAPS pass the SNI name to handler.secureContext', async () => {
    const c = new Client({ url: fx.url });
    await c.startTLS({ rejectUnauthorized: false, servername: 'sni-starttls.example' });
    await c.bind(ALICE_DN, ALICE_PW);
    await c.unbind();
    assert.ok(fx.handler.serverNames.includes('sni-starttls.example'));
    const s = new Client({ url: fx.ldapsUrl, tlsOptions: { rejectUnauthorized: false, servername: 'sni-ldaps.example' } });
    await s.bind(ALICE_DN, ALICE_PW);
    await s.unbind();
    assert.ok(fx.handler.serverNames.includes('sni-ldaps.example'));
    assert.equal(fx.handler.binds.at(-1)?.client.serverName, 'sni-ldaps.example');
  });

  it('openssl s_client -servername reaches handler.secureContext; the certificate is the fallback', async () => {
    const r = await run('sh', ['-c', `echo | openssl s_client -connect 127.0.0.1:${fx.ldapsPort} -servername foo.example 2>&1`]);
    assert.match(r.stdout, /CN\s*=\s*authentik default certificate/);
    assert.match(r.stdout, /O\s*=\s*authentik/);
    assert.ok(fx.handler.serverNames.includes('foo.example'));
  });

  it('TLS below 1.2 is refused', async () => {
    const ok = await run('sh', ['-c', `echo | openssl s_client -connect 127.0.0.1:${fx.ldapsPort} -tls1_2 2>&1`]);
    assert.match(ok.stdout, /Protocol\s*:\s*TLSv1\.2/);
    await assert.rejects(
      new Promise<void>((resolve, reject) => {
        const t = tls.connect({ port: fx.ldapsPort, host: '127.0.0.1', rejectUnauthorized: false, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' }, () => {
          t.destroy();
          resolve();
        });
        t.once('error', reject);
      }),
    );
  });

  it('a silent LDAPS client is dropped after the handshake timeout', async () => {
    const fx2 = await startFixture({ limits: { handshakeTimeoutMs: 150 } });
    try {
      const s = await connectRaw(fx2.ldapsPort);
      const closed = new Promise((r) => s.on('close', r));
      s.on('error', () => {});
      s.resume();
      await within(closed, 2000, 'closing the silent LDAPS connection');
      assert.equal(fx2.metrics.get('rejected:tls_handshake_timeout'), 1);
    } finally {
      await fx2.stop();
    }
  });
});

describe('PROXY protocol', () => {
  const src = { address: '203.0.113.7', port: 40000 };
  const dst = { address: '192.0.2.1', port: 389 };

  it('v1 and v2 (IPv4 and IPv6) from a trusted peer set the client address', async () => {
    const fx = await startFixture({ trustedProxyNetworks: ['10.0.0.0/8', '127.0.0.0/8'] });
    try {
      const cases = [
        [encodeProxyHeader(1, src, dst), '203.0.113.7'],
        [encodeProxyHeader(2, src, dst), '203.0.113.7'],
        [encodeProxyHeader(2, { address: '2001:db8::7', port: 5 }, { address: '2001:db8::1', port: 389 }), '2001:db8::7'],
        [encodeProxyHeader(1, { address: '2001:db8::8', port: 5 }, { address: '2001:db8::1', port: 389 }), '2001:db8::8'],
      ] as const;
      for (const [header, expected] of cases) {
        const sock = await connectRaw(fx.ldapPort);
        // Header and first request in one segment, and in pieces.
        sock.write(Buffer.concat([header.subarray(0, 5)]));
        await new Promise((r) => setTimeout(r, 10));
        sock.write(Buffer.concat([header.subarray(5), encodeRequest(1, rootDse())]));
        const raw = RawClient.wrap(sock);
        assert.equal((await raw.result(1)).resultCode, 0);
        const seen = fx.handler.searches.at(-1)!.client;
        assert.equal(seen.address, expected);
        raw.close();
      }
      // No header from a trusted peer is fine too.
      const plain = await RawClient.connect(fx.ldapPort);
      plain.send(1, rootDse());
      await plain.result(1);
      assert.equal(fx.handler.searches.at(-1)!.client.address, '127.0.0.1');
      plain.close();
      // v2 LOCAL (health check) keeps the socket address.
      const local = Buffer.from(encodeProxyHeader(2, src, dst).subarray(0, 16));
      local[12] = 0x20;
      local.writeUInt16BE(0, 14);
      const sock = await connectRaw(fx.ldapPort);
      sock.write(Buffer.concat([local, encodeRequest(1, rootDse())]));
      const raw = RawClient.wrap(sock);
      await raw.result(1);
      assert.equal(fx.handler.searches.at(-1)!.client.address, '127.0.0.1');
      raw.close();
    } finally {
      await fx.stop();
    }
  });

  it('PROXY before the TLS handshake on LDAPS', async () => {
    const fx = await startFixture({ trustedProxyNetworks: ['127.0.0.1'] });
    try {
      const sock = await connectRaw(fx.ldapsPort);
      sock.write(encodeProxyHeader(2, src, dst));
      const t = await new Promise<tls.TLSSocket>((resolve, reject) => {
        const s = tls.connect({ socket: sock, rejectUnauthorized: false, servername: 'proxied.example' }, () => resolve(s));
        s.once('error', reject);
      });
      const raw = RawClient.wrap(t);
      await raw.bind(1, ALICE_DN, ALICE_PW);
      const c = fx.handler.binds.at(-1)!.client;
      assert.equal(c.address, '203.0.113.7');
      assert.equal(c.port, 40000);
      assert.equal(c.listener, 'ldaps');
      assert.equal(c.serverName, 'proxied.example');
      raw.close();
    } finally {
      await fx.stop();
    }
  });

  it('a PROXY header from an untrusted peer closes the connection', async () => {
    const fx = await startFixture({ trustedProxyNetworks: ['10.0.0.0/8'] });
    try {
      for (const version of [1, 2] as const) {
        const sock = await connectRaw(fx.ldapPort);
        sock.write(Buffer.concat([encodeProxyHeader(version, src, dst), encodeRequest(1, rootDse())]));
        const raw = RawClient.wrap(sock);
        await raw.closedWithin();
        assert.ok(raw.responses.every((r) => r.messageId !== 1), 'the request after the header is not served');
      }
      const tlsSock = await connectRaw(fx.ldapsPort);
      tlsSock.on('error', () => {});
      tlsSock.resume();
      tlsSock.write(encodeProxyHeader(1, src, dst));
      await new Promise((r) => tlsSock.on('close', r));
      assert.equal(fx.metrics.get('rejected:proxy_header_untrusted'), 3);
      assert.equal(fx.handler.clients.filter((c) => c.address === '203.0.113.7').length, 0);
    } finally {
      await fx.stop();
    }
  });

  it('an invalid or incomplete header from a trusted peer closes the connection', async () => {
    const fx = await startFixture({ trustedProxyNetworks: ['127.0.0.0/8'], limits: { handshakeTimeoutMs: 150 } });
    try {
      const bad = await connectRaw(fx.ldapPort);
      bad.on('error', () => {});
      bad.resume();
      bad.write('PROXY TCP4 999.1.1.1 1.1.1.1 1 2\r\n');
      await new Promise((r) => bad.on('close', r));
      assert.equal(fx.metrics.get('rejected:proxy_header_invalid'), 1);
      const slow = await connectRaw(fx.ldapPort);
      slow.on('error', () => {});
      slow.resume();
      slow.write('PROXY TCP4 1.2.3.4');
      await new Promise((r) => slow.on('close', r));
      assert.equal(fx.metrics.get('rejected:proxy_header_timeout'), 1);
    } finally {
      await fx.stop();
    }
  });

  it('the per-address limit applies to the proxied address', async () => {
    const fx = await startFixture({ trustedProxyNetworks: ['127.0.0.0/8'], limits: { maxConnectionsPerAddress: 1 } });
    try {
      const open = async (address: string) => {
        const sock = await connectRaw(fx.ldapPort);
        sock.write(Buffer.concat([encodeProxyHeader(1, { address, port: 1 }, dst), encodeRequest(1, rootDse())]));
        return RawClient.wrap(sock);
      };
      const a = await open('198.51.100.1');
      await a.result(1);
      const b = await open('198.51.100.2');
      await b.result(1);
      const a2 = await open('198.51.100.1');
      await a2.closedWithin();
      assert.ok(isNotice(a2.responses[0]!));
      assert.equal(a2.responses[0]!.resultCode, ResultCode.busy);
      a.close();
      b.close();
    } finally {
      await fx.stop();
    }
  });
});

describe('output backpressure across requests', () => {
  it('a client that pipelines requests without reading stops being served until it reads', async () => {
    const fx = await startFixture({ level: 'info', limits: { maxOutstandingPerConnection: 50 } });
    try {
      const sock = await connectRaw(fx.ldapPort);
      sock.pause();
      const N = 20_000;
      const reqs: Buffer[] = [];
      for (let i = 1; i <= N; i++) reqs.push(encodeRequest(i, searchRequest(ALICE_DN, { scope: SearchScope.baseObject, attributes: ['*', '+'] })));
      sock.write(Buffer.concat(reqs));
      await new Promise((r) => setTimeout(r, 1000));
      const served = fx.metrics.get('op:search:success');
      assert.ok(served < N, `served ${served} of ${N} while the client was not reading`);
      const raw = RawClient.wrap(sock);
      sock.resume();
      // Busy answers go out at once, queued requests are answered later: wait for all.
      await waitUntil(() => raw.responses.filter((r) => r.tag === 0x65).length >= N, 20_000, 'all answers');
      await new Promise((r) => setTimeout(r, 50));
      const dones = raw.responses.filter((r) => r.tag === 0x65);
      assert.equal(dones.length, N, 'every request got exactly one answer');
      assert.equal(new Set(dones.map((d) => d.messageId)).size, N);
      assert.ok(dones.every((d) => d.resultCode === 0 || d.resultCode === ResultCode.busy));
      raw.close();
    } finally {
      await fx.stop();
    }
  });
});
