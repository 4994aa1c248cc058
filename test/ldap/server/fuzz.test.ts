/**
 * Fuzzing the wire server: thousands of random and mutated PDUs over many connections. The
 * process must not crash (no uncaught exception, no unhandled rejection), every connection
 * must end, and a well-formed client must get correct answers afterwards. Seeded, so a
 * failure is reproducible.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { Client } from 'ldapts';
import { SearchScope, encodeRequest, parseFilter, type Control, type LdapRequest } from '../../../src/ldap/protocol/index.ts';
import { encodeProxyHeader } from '../../../src/net/proxy-protocol.ts';
import { prng } from '../protocol/helpers.ts';
import { ALICE_DN, ALICE_PW, BASE, searchRequest, startFixture, waitUntil, within, type Fixture } from './support.ts';

const corpusRequests: [LdapRequest, Control[]?][] = [
  [{ type: 'bind', version: 3, name: ALICE_DN, authentication: { method: 'simple', password: Buffer.from(ALICE_PW) } }],
  [{ type: 'bind', version: 3, name: ALICE_DN, authentication: { method: 'simple', password: Buffer.from('wrong') } }],
  [{ type: 'bind', version: 3, name: '', authentication: { method: 'sasl', mechanism: 'EXTERNAL', credentials: undefined } }],
  [searchRequest(BASE, { filter: parseFilter('(&(objectClass=person)(|(cn=a*b*c)(mail=*@example.com))(!(sn=x)))'), attributes: ['cn', '+', '1.1'] })],
  [searchRequest('', { scope: SearchScope.baseObject, attributes: ['*', '+'] })],
  [searchRequest(BASE, { filter: parseFilter('(cn>=a)'), typesOnly: true }), [{ oid: '1.2.840.113556.1.4.319', criticality: true, value: Buffer.from([0x30, 0x05, 0x02, 0x01, 0x05, 0x04, 0x00]) }]],
  [searchRequest(BASE, {}), [{ oid: '1.2.3.4', criticality: true, value: undefined }]],
  [{ type: 'compare', entry: ALICE_DN, attribute: 'mail', value: Buffer.from('alice@example.com') }],
  [{ type: 'modify', object: ALICE_DN, changes: [{ operation: 2, modification: { type: 'mail', values: [Buffer.from('x')] } }] }],
  [{ type: 'add', entry: 'cn=x,dc=example,dc=com', attributes: [{ type: 'cn', values: [Buffer.from('x')] }] }],
  [{ type: 'delete', entry: ALICE_DN }],
  [{ type: 'modifyDN', entry: ALICE_DN, newRdn: 'cn=y', deleteOldRdn: true, newSuperior: BASE }],
  [{ type: 'extended', name: '1.3.6.1.4.1.4203.1.11.3', value: undefined }],
  [{ type: 'extended', name: '1.3.6.1.4.1.4203.1.11.1', value: Buffer.from([0x30, 0x00]) }],
  [{ type: 'extended', name: '1.3.6.1.4.1.1466.20037', value: undefined }],
  [{ type: 'extended', name: '9.9.9', value: Buffer.from('zz') }],
  [{ type: 'abandon', abandonId: 3 }],
  [{ type: 'unbind' }],
];

function mutate(rand: () => number, pdu: Buffer): Buffer {
  const b = Buffer.from(pdu);
  // Half valid, half broken in one of six ways.
  const kind = rand() < 0.5 ? 5 : Math.floor(rand() * 7);
  const pos = () => Math.floor(rand() * b.length);
  switch (kind) {
    case 0: // flip bytes
      for (let i = 0, n = 1 + Math.floor(rand() * 4); i < n; i++) b[pos()] = Math.floor(rand() * 256);
      return b;
    case 1: // truncate
      return b.subarray(0, pos());
    case 2: // inner length byte set to something else
      b[1 + Math.floor(rand() * Math.min(8, b.length - 1))] = Math.floor(rand() * 256);
      return b;
    case 3: // insert garbage
      return Buffer.concat([b.subarray(0, pos()), Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 16) }, () => Math.floor(rand() * 256))), b.subarray(pos())]);
    case 4: // pure random bytes starting like a SEQUENCE
      return Buffer.concat([Buffer.from([0x30]), Buffer.from(Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)))]);
    case 5: // valid
      return b;
    default: // random bytes
      return Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 40) }, () => Math.floor(rand() * 256)));
  }
}

describe('wire server fuzzing', () => {
  let fx: Fixture;
  const problems: unknown[] = [];
  const onProblem = (e: unknown) => problems.push(e);

  before(async () => {
    process.on('uncaughtException', onProblem);
    process.on('unhandledRejection', onProblem);
    fx = await startFixture({
      level: 'fatal',
      trustedProxyNetworks: ['127.0.0.2/32'],
      limits: { maxPduSize: 64 * 1024, maxConnectionsPerAddress: 10_000, idleTimeoutMs: 2000, handshakeTimeoutMs: 500, closeGraceMs: 200 },
    });
  });
  after(async () => {
    await fx.stop();
    process.off('uncaughtException', onProblem);
    process.off('unhandledRejection', onProblem);
  });

  it('survives thousands of random and mutated PDUs and still answers correctly', async () => {
    const started = Date.now();
    const rand = prng(0x1dab);
    const corpus = corpusRequests.map(([r, c], i) => encodeRequest(i + 1, r, c));
    const CONNECTIONS = 1500;
    const PARALLEL = 60;
    let pdus = 0;
    const oneConnection = async (n: number): Promise<void> => {
      const ldaps = n % 10 === 9;
      // Some connections come from the trusted proxy address (127.0.0.2); LDAPS ones speak
      // TLS properly and fuzz inside it.
      const sock = ldaps
        ? tls.connect({ port: fx.ldapsPort, host: '127.0.0.1', rejectUnauthorized: false })
        : net.connect({ port: fx.ldapPort, host: '127.0.0.1', ...(n % 34 === 0 ? { localAddress: '127.0.0.2' } : {}) });
      sock.on('error', () => {});
      sock.resume();
      const closed = new Promise<void>((resolve) => sock.on('close', () => resolve()));
      await new Promise<void>((resolve) => {
        sock.once(ldaps ? 'secureConnect' : 'connect', () => resolve());
        sock.once('close', () => resolve());
      });
      const chunks: Buffer[] = [];
      if (n % 17 === 0 && !ldaps) chunks.push(encodeProxyHeader(rand() < 0.5 ? 1 : 2, { address: '198.51.100.9', port: 1 }, { address: '192.0.2.1', port: 389 }));
      for (let i = 0, k = 1 + Math.floor(rand() * 12); i < k; i++) {
        const base = corpus[Math.floor(rand() * corpus.length)]!;
        chunks.push(mutate(rand, base));
        pdus++;
      }
      const stream = Buffer.concat(chunks);
      // Send in random slices to exercise incremental framing.
      let off = 0;
      while (off < stream.length && !sock.destroyed) {
        const len = 1 + Math.floor(rand() * 200);
        sock.write(stream.subarray(off, off + len));
        off += len;
        if (rand() < 0.2) await new Promise((r) => setImmediate(r));
      }
      await new Promise((r) => setTimeout(r, 5 + Math.floor(rand() * 20)));
      sock.destroy();
      await within(closed, 5000, 'closing a fuzzing connection');
    };
    for (let i = 0; i < CONNECTIONS; i += PARALLEL) {
      await Promise.all(Array.from({ length: Math.min(PARALLEL, CONNECTIONS - i) }, (_, j) => oneConnection(i + j)));
    }
    assert.ok(pdus > 2000, `sent ${pdus} PDUs`);
    await waitUntil(() => fx.server.connectionCount === 0, 5000, 'all connections closed');
    assert.equal(fx.metrics.get('accepted:ldap') + fx.metrics.get('accepted:ldaps'), fx.metrics.get('closed:ldap') + fx.metrics.get('closed:ldaps'));

    // A well-formed client afterwards.
    const c = new Client({ url: fx.url, timeout: 5000 });
    await c.bind(ALICE_DN, ALICE_PW);
    const { searchEntries } = await c.search(BASE, { filter: '(objectClass=person)', attributes: ['cn'] });
    assert.deepEqual(searchEntries.map((e) => e.cn).sort(), ['alice', 'bob']);
    assert.equal(await c.compare(ALICE_DN, 'cn', 'alice'), true);
    await c.unbind();
    const s = new Client({ url: fx.ldapsUrl, timeout: 5000, tlsOptions: { rejectUnauthorized: false } });
    await s.bind(ALICE_DN, ALICE_PW);
    assert.equal((await s.search('', { scope: 'base' })).searchEntries.length, 1);
    await s.unbind();

    assert.deepEqual(problems, []);
    assert.ok(fx.metrics.get('pdu:malformed') + fx.metrics.get('pdu:framing_error') + fx.metrics.get('pdu:invalid_operation') > 0);
    assert.ok(fx.metrics.get('op:search:success') > 100, 'valid requests were served');
    assert.ok(fx.metrics.get('op:bind:success') > 10);
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 15_000, `took ${elapsed} ms`);
  });
});
