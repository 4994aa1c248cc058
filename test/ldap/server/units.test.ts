/**
 * Pure helpers of the wire server: CIDR matching, PROXY protocol parsing, attribute
 * selection, incremental framing, log rate limiting, the fallback certificate, metrics.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { Registry } from 'prom-client';
import { CidrError, CidrMatcher, cidrContains, formatIp, normalizeIp, parseCidr, parseCidrList, parseIp } from '../../../src/net/cidr.ts';
import { PROXY_V2_SIGNATURE, encodeProxyHeader, parseProxyHeader, proxySignature } from '../../../src/net/proxy-protocol.ts';
import { parseAttributeSelection, selectAttributes } from '../../../src/ldap/server/select.ts';
import { PduReader } from '../../../src/ldap/server/pdu-reader.ts';
import { LogLimiter } from '../../../src/net/log-limiter.ts';
import { generateSelfSignedCertificate } from '../../../src/ldap/server/self-signed.ts';
import { createPrometheusServerMetrics, resultName } from '../../../src/ldap/server/metrics.ts';
import { resolveLimits } from '../../../src/ldap/server/limits.ts';
import { encodeRequest } from '../../../src/ldap/protocol/index.ts';
import { searchRequest } from './support.ts';

describe('cidr', () => {
  it('parses and formats IPv4, IPv6 and mapped addresses', () => {
    assert.equal(normalizeIp('10.1.2.3'), '10.1.2.3');
    assert.equal(normalizeIp('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(normalizeIp('::FFFF:a01:203'), '10.1.2.3');
    assert.equal(normalizeIp('2001:0db8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
    assert.equal(normalizeIp('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
    assert.equal(normalizeIp('fe80::1%eth0'), 'fe80::1');
    assert.equal(normalizeIp('[::1]'), '::1');
    assert.equal(normalizeIp('::'), '::');
    assert.equal(normalizeIp('1:2:3:4:5:6:7:8'), '1:2:3:4:5:6:7:8');
    assert.equal(normalizeIp('64:ff9b::192.0.2.33'), '64:ff9b::c000:221');
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1::2::3', '12345::', 'g::1', '1:2:3:4:5:6:7:8:9', 'localhost', '1:2:3:4:5:6:7::8:9']) {
      assert.equal(parseIp(bad), undefined, bad);
    }
    assert.equal(parseIp('::ffff:1.2.3.4')?.family, 4);
    assert.equal(formatIp(parseIp('1.2.3.4')!.value), '1.2.3.4');
  });

  it('parses ranges, clears host bits, rejects garbage', () => {
    assert.equal(parseCidr('10.1.2.3/8').text, '10.0.0.0/8');
    assert.equal(parseCidr('192.168.1.7').text, '192.168.1.7/32');
    assert.equal(parseCidr('2001:db8::1/32').text, '2001:db8::/32');
    assert.equal(parseCidr('::ffff:10.0.0.0/104').text, '::ffff:10.0.0.0/104');
    assert.equal(parseCidr('::/0').bits, 0);
    for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/08', 'x/8', 'fe80::1%eth0/64']) {
      assert.throws(() => parseCidr(bad), CidrError, bad);
    }
    assert.deepEqual(parseCidrList(['10.0.0.0/8, 192.168.0.0/16', ' ', '::1']).map((c) => c.text), ['10.0.0.0/8', '192.168.0.0/16', '::1/128']);
  });

  it('matches IPv4 ranges against mapped addresses, and ::/0 against everything', () => {
    const v4 = parseCidr('10.0.0.0/8');
    assert.ok(cidrContains(v4, '10.255.0.1'));
    assert.ok(cidrContains(v4, '::ffff:10.0.0.1'));
    assert.ok(!cidrContains(v4, '11.0.0.1'));
    assert.ok(!cidrContains(v4, '::a00:1'), 'IPv4-compatible (not mapped) is IPv6');
    assert.ok(!cidrContains(v4, 'nonsense'));
    assert.ok(cidrContains(parseCidr('0.0.0.0/0'), '8.8.8.8'));
    assert.ok(!cidrContains(parseCidr('0.0.0.0/0'), '2001:db8::1'));
    assert.ok(cidrContains(parseCidr('::/0'), '8.8.8.8'));
    assert.ok(cidrContains(parseCidr('fd00::/8'), 'fd12:3456::1'));
  });

  it('returns the most specific match', () => {
    const m = new CidrMatcher<string>([
      ['0.0.0.0/0', 'any4'],
      ['10.0.0.0/8', 'ten'],
      ['10.1.0.0/16', 'ten-one'],
      ['10.1.2.3', 'host'],
      ['::/0', 'any'],
    ]);
    assert.equal(m.match('10.1.2.3')?.value, 'host');
    assert.equal(m.match('10.1.9.9')?.value, 'ten-one');
    assert.equal(m.match('10.9.9.9')?.value, 'ten');
    assert.equal(m.match('192.0.2.1')?.value, 'any4');
    assert.equal(m.match('2001:db8::1')?.value, 'any');
    assert.equal(m.size, 5);
    assert.equal(CidrMatcher.of([]).has('127.0.0.1'), false);
    assert.equal(CidrMatcher.of(['127.0.0.0/8']).has('::ffff:127.0.0.1'), true);
  });
});

describe('proxy protocol', () => {
  const src = { address: '203.0.113.7', port: 40000 };
  const dst = { address: '192.0.2.1', port: 389 };

  it('v1 TCP4/TCP6/UNKNOWN', () => {
    const h = encodeProxyHeader(1, src, dst);
    assert.equal(h.toString(), 'PROXY TCP4 203.0.113.7 192.0.2.1 40000 389\r\n');
    const r = parseProxyHeader(Buffer.concat([h, Buffer.from([0x30])]));
    assert.deepEqual(r, { kind: 'header', version: 1, consumed: h.length, command: 'proxy', source: src, destination: dst });
    const r6 = parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::7 2001:db8::1 5 389\r\n'));
    assert.equal(r6.kind === 'header' && r6.source?.address, '2001:db8::7');
    const u = parseProxyHeader(Buffer.from('PROXY UNKNOWN ffff::1 whatever\r\n'));
    assert.equal(u.kind === 'header' && u.source, undefined);
  });

  it('v1 errors and incomplete input', () => {
    for (let i = 1; i < 20; i++) assert.equal(parseProxyHeader(encodeProxyHeader(1, src, dst).subarray(0, i)).kind, 'need-more', String(i));
    for (const bad of [
      'PROXY TCP4 203.0.113.7 192.0.2.1 40000 389\n',
      'PROXY TCP4 2001:db8::1 192.0.2.1 1 2\r\n',
      'PROXY TCP6 1.2.3.4 2001:db8::1 1 2\r\n',
      'PROXY TCP4 1.2.3.4 1.2.3.5 65536 2\r\n',
      'PROXY TCP4 1.2.3.4 1.2.3.5 01 2\r\n',
      'PROXY TCP4  1.2.3.4 1.2.3.5 1 2\r\n',
      'PROXY UDP4 1.2.3.4 1.2.3.5 1 2\r\n',
      'PROXY TCP4 1.2.3.4\t1.2.3.5 1 2\r\n',
    ]) {
      assert.equal(parseProxyHeader(Buffer.from(bad)).kind, 'error', JSON.stringify(bad));
    }
    assert.equal(parseProxyHeader(Buffer.from(`PROXY ${'x'.repeat(200)}`)).kind, 'error', 'no CRLF within 107 bytes');
  });

  it('v2 IPv4, IPv6, LOCAL, UNSPEC, TLVs and limits', () => {
    const h = encodeProxyHeader(2, src, dst);
    assert.deepEqual(parseProxyHeader(h), { kind: 'header', version: 2, consumed: 28, command: 'proxy', source: src, destination: dst });
    const h6 = encodeProxyHeader(2, { address: '2001:db8::7', port: 1 }, { address: '2001:db8::1', port: 2 });
    const r6 = parseProxyHeader(h6);
    assert.equal(r6.kind === 'header' && r6.source?.address, '2001:db8::7');
    for (let i = 1; i < h6.length; i++) assert.equal(parseProxyHeader(h6.subarray(0, i)).kind, 'need-more', String(i));
    // TLVs after the addresses are skipped.
    const withTlv = Buffer.concat([h, Buffer.from([0x04, 0x00, 0x02, 0xaa, 0xbb])]);
    withTlv.writeUInt16BE(12 + 5, 14);
    const t = parseProxyHeader(Buffer.concat([withTlv, Buffer.from([0x30])]));
    assert.equal(t.kind === 'header' && t.consumed, 33);
    const local = Buffer.from(h);
    local[12] = 0x20;
    assert.equal((parseProxyHeader(local) as { command: string }).command, 'local');
    const unspec = Buffer.from(h);
    unspec[13] = 0x00;
    assert.equal((parseProxyHeader(unspec) as { source: unknown }).source, undefined);
    const badVer = Buffer.from(h);
    badVer[12] = 0x11;
    assert.equal(parseProxyHeader(badVer).kind, 'error');
    const badCmd = Buffer.from(h);
    badCmd[12] = 0x22;
    assert.equal(parseProxyHeader(badCmd).kind, 'error');
    const short = Buffer.from(h);
    short.writeUInt16BE(4, 14);
    assert.equal(parseProxyHeader(short).kind, 'error');
    const huge = Buffer.from(h);
    huge.writeUInt16BE(60000, 14);
    assert.equal(parseProxyHeader(huge).kind, 'error', 'bounded');
  });

  it('signature detection never mistakes LDAP or TLS', () => {
    assert.equal(proxySignature(Buffer.from([0x30, 0x0c])), 'none');
    assert.equal(proxySignature(Buffer.from([0x16, 0x03, 0x01])), 'none');
    assert.equal(proxySignature(Buffer.from('PRO')), 'partial');
    assert.equal(proxySignature(PROXY_V2_SIGNATURE.subarray(0, 5)), 'partial');
    assert.equal(proxySignature(Buffer.from('PROXY ')), 'v1');
    assert.equal(proxySignature(PROXY_V2_SIGNATURE), 'v2');
    assert.equal(parseProxyHeader(Buffer.from([0x30, 0x0c])).kind, 'none');
    assert.equal(parseProxyHeader(Buffer.from('PRX')).kind, 'none');
  });
});

describe('attribute selection', () => {
  const attrs = [
    { type: 'cn', values: ['a'] },
    { type: 'sAMAccountName', values: ['a'] },
    { type: 'entryUUID', values: ['u'], operational: true },
  ];
  const names = (req: string[]) => selectAttributes(attrs, parseAttributeSelection(req)).map((a) => a.type);
  it('follows RFC 4511 §4.5.1.8 and RFC 3673', () => {
    assert.deepEqual(names([]), ['cn', 'sAMAccountName']);
    assert.deepEqual(names(['']), ['cn', 'sAMAccountName']);
    assert.deepEqual(names(['*']), ['cn', 'sAMAccountName']);
    assert.deepEqual(names(['+']), ['entryUUID']);
    assert.deepEqual(names(['*', '+']), ['cn', 'sAMAccountName', 'entryUUID']);
    assert.deepEqual(names(['1.1']), []);
    assert.deepEqual(names(['1.1', 'CN']), ['cn']);
    assert.deepEqual(names(['SAMACCOUNTNAME;binary', 'entryuuid']), ['sAMAccountName', 'entryUUID']);
    assert.deepEqual(names(['cn', '+']), ['cn', 'entryUUID']);
    assert.deepEqual(names(['nothing']), []);
  });

  it('an entry holding a comma-separated list selects each name in it (authentik 2025.8, #15000)', () => {
    assert.deepEqual(names(['cn,sAMAccountName']), ['cn', 'sAMAccountName']);
    assert.deepEqual(names([' CN , entryUUID ']), ['cn', 'entryUUID']);
    assert.deepEqual(names(['cn,', ',']), ['cn']);
    assert.deepEqual(names(['1.1,cn']), ['cn'], '1.1 is ignored beside another selector, as when sent separately');
    assert.deepEqual(names(['*,+']), ['cn', 'sAMAccountName', 'entryUUID']);
    assert.deepEqual(names(['sn,mail']), [], 'names the entry lacks select nothing');
    assert.deepEqual(parseAttributeSelection(['cn,mail;lang-en']).names, new Set(['cn', 'mail']));
  });

  it('any name or the OID of a type selects it, and the entry keeps its spelling', () => {
    assert.deepEqual(names(['commonName']), ['cn']);
    assert.deepEqual(names(['2.5.4.3']), ['cn']);
    assert.deepEqual(names(['COMMONNAME;lang-en', 'sAMAccountName']), ['cn', 'sAMAccountName']);
    const container = [{ type: 'ou', values: ['users'] }, { type: 'commonName', values: ['users'] }];
    assert.deepEqual(selectAttributes(container, parseAttributeSelection(['cn'])).map((a) => a.type), ['commonName'], "authentik's container attribute is their cn");
    const mail = [{ type: 'mail', values: ['a@example.com'] }];
    assert.deepEqual(selectAttributes(mail, parseAttributeSelection(['rfc822Mailbox'])).map((a) => a.type), ['mail']);
  });
});

describe('PduReader', () => {
  const a = encodeRequest(1, searchRequest('dc=example,dc=com'));
  const b = encodeRequest(2, searchRequest('x'.repeat(300)));
  it('frames PDUs from any chunking', () => {
    const stream = Buffer.concat([a, b, a]);
    for (const size of [1, 2, 3, 5, 7, 64, 1000]) {
      const r = new PduReader(4096);
      const out: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) {
        r.push(stream.subarray(i, i + size));
        for (let n = r.next(); n.kind === 'pdu'; n = r.next()) out.push(Buffer.from(n.pdu));
      }
      assert.deepEqual(out, [a, b, a], `chunk size ${size}`);
      assert.equal(r.buffered, 0);
    }
  });
  it('rejects oversize PDUs from the header alone, and non-LDAP bytes', () => {
    const r = new PduReader(100);
    r.push(b.subarray(0, 4));
    const n = r.next();
    assert.equal(n.kind, 'error');
    assert.equal(n.kind === 'error' && n.error.reason, 'pdu-too-large');
    const g = new PduReader(100);
    g.push(Buffer.from('GET'));
    assert.equal(g.next().kind, 'error');
  });
  it('takeAll returns what is buffered', () => {
    const r = new PduReader(4096);
    r.push(a.subarray(0, 3));
    r.push(a.subarray(3, 5));
    assert.deepEqual(r.takeAll(), a.subarray(0, 5));
    assert.equal(r.buffered, 0);
  });
});

describe('LogLimiter', () => {
  it('logs once per key per window and reports suppressed lines', () => {
    let now = 0;
    const l = new LogLimiter({ windowMs: 1000, maxKeys: 2, now: () => now });
    assert.deepEqual(l.check('a'), { log: true, suppressed: 0 });
    assert.equal(l.check('a').log, false);
    assert.equal(l.check('a').log, false);
    assert.equal(l.check('b').log, true);
    now = 1000;
    assert.deepEqual(l.check('a'), { log: true, suppressed: 2 });
    l.check('c');
    // 'b' was evicted (maxKeys 2), so it logs again at once.
    assert.equal(l.check('b').log, true);
  });
});

describe('self-signed certificate', () => {
  it('looks like authentik’s fallback certificate', async () => {
    const c = await generateSelfSignedCertificate();
    const x = new X509Certificate(c.certPem);
    assert.match(x.subject, /O=authentik/);
    assert.match(x.subject, /CN=authentik default certificate/);
    assert.equal(x.subjectAltName, 'DNS:*');
    const days = (Date.parse(x.validTo) - Date.parse(x.validFrom)) / 86_400_000;
    assert.ok(days >= 365 && days <= 366, String(days));
    assert.equal(x.publicKey.asymmetricKeyType, 'ec');
    assert.ok(x.checkPrivateKey((await import('node:crypto')).createPrivateKey(c.keyPem)));
    const rsa = await generateSelfSignedCertificate({ keyType: 'rsa' });
    assert.equal(new X509Certificate(rsa.certPem).publicKey.asymmetricKeyType, 'rsa');
  });
});

describe('metrics and limits', () => {
  it('prometheus metrics record every kind of event', async () => {
    const reg = new Registry();
    const m = createPrometheusServerMetrics(reg, 'test');
    m.connectionAccepted('ldap');
    m.connectionRejected('ldap', 'too_many_connections');
    m.pduRejected('ldaps', 'too_large');
    m.operation('search', resultName(0), 0.01);
    m.connectionClosed('ldap', 1);
    const text = await reg.metrics();
    assert.match(text, /authentik_outpost_ldap_server_connections_total\{outpost_name="test",listener="ldap"\} 1/);
    assert.match(text, /authentik_outpost_ldap_server_connections_open\{outpost_name="test",listener="ldap"\} 0/);
    assert.match(text, /authentik_outpost_ldap_server_connections_rejected_total\{outpost_name="test",listener="ldap",reason="too_many_connections"\} 1/);
    assert.match(text, /authentik_outpost_ldap_server_pdus_rejected_total\{outpost_name="test",listener="ldaps",reason="too_large"\} 1/);
    assert.match(text, /authentik_outpost_ldap_server_operation_duration_seconds_count\{outpost_name="test",type="search",result="success"\} 1/);
    assert.equal(resultName(49), 'invalidCredentials');
    assert.equal(resultName(1234), 'unknownResultCode');
  });

  it('limits are validated', () => {
    assert.equal(resolveLimits(undefined).maxPduSize, 2 * 1024 * 1024);
    assert.equal(resolveLimits(undefined).requestReadTimeoutMs, 30_000);
    assert.equal(resolveLimits({ idleTimeoutMs: 0 }).idleTimeoutMs, 0);
    assert.throws(() => resolveLimits({ maxConnections: -1 }), RangeError);
    assert.throws(() => resolveLimits({ maxPduSize: 10 }), RangeError);
    assert.throws(() => resolveLimits({ maxOutstandingPerConnection: 0 }), RangeError);
  });
});
