// The proxy's HTTPS listener (server.ts): the TLS handshake is bounded like the HTTP listener's
// header block, and plain HTTP sent to the HTTPS port gets Go's 400 instead of a silent close.
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext, type SecureContext } from 'node:tls';
import { pino } from 'pino';
import { ProxyServer } from '../../../src/proxy/server/server.ts';
import { generateSelfSignedCertificate } from '../../../src/ldap/server/self-signed.ts';

const HEADERS_TIMEOUT_MS = 400;

/** Resolves with what the server sent and how long the connection stayed open. */
function closed(socket: Socket): Promise<{ ms: number; data: string }> {
  const t0 = Date.now();
  let data = '';
  socket.on('data', (c: Buffer) => (data += c.toString('latin1')));
  socket.on('error', () => {});
  return new Promise((resolve) => socket.once('close', () => resolve({ ms: Date.now() - t0, data })));
}

describe('proxy HTTPS listener', () => {
  let server: ProxyServer;
  let httpsPort = 0;
  let httpPort = 0;
  before(async () => {
    const cert = await generateSelfSignedCertificate();
    const ctx: SecureContext = createSecureContext({ cert: cert.certPem, key: cert.keyPem });
    server = new ProxyServer({
      listen: { http: { host: '127.0.0.1', port: 0 }, https: { host: '127.0.0.1', port: 0 } },
      timeouts: { headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: 5000, keepAliveTimeoutMs: 5000, maxHeaderBytes: 16384 },
      handler: {
        handle: (_req, res) => res.end('ok'),
        secureContext: () => ctx,
      },
      defaultCertificate: { certPem: cert.certPem, keyPem: cert.keyPem },
      logger: pino({ level: 'silent' }),
    });
    ({ httpsPort, httpPort } = await server.start());
  });
  after(async () => {
    await server.stop(AbortSignal.timeout(500));
  });

  test('a connection that never finishes its TLS handshake is closed within the header timeout (not Node\'s 120 s)', async () => {
    const s = connect(httpsPort, '127.0.0.1');
    const r = await Promise.race([closed(s), new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), HEADERS_TIMEOUT_MS * 8))]);
    s.destroy();
    assert.ok(r !== undefined, 'the silent connection was still open');
  });

  test('a ClientHello begun and never finished is closed too', async () => {
    const s = connect(httpsPort, '127.0.0.1');
    s.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
    const r = await Promise.race([closed(s), new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), HEADERS_TIMEOUT_MS * 8))]);
    s.destroy();
    assert.ok(r !== undefined, 'the half-handshake connection was still open');
  });

  test('plain HTTP sent to the HTTPS port is closed at once', async () => {
    const s = connect(httpsPort, '127.0.0.1');
    s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const r = await closed(s);
    assert.ok(r.ms < HEADERS_TIMEOUT_MS, `closed after ${r.ms} ms`);
  });

  test('a TLS request is served', async () => {
    const s = tlsConnect({ port: httpsPort, host: '127.0.0.1', servername: 'app.example.com', rejectUnauthorized: false });
    s.write('GET / HTTP/1.1\r\nHost: app.example.com\r\nConnection: close\r\n\r\n');
    const r = await closed(s);
    assert.match(r.data, /^HTTP\/1\.1 200/);
  });

  test('TLS 1.1 is refused', async () => {
    const s = tlsConnect({ port: httpsPort, host: '127.0.0.1', rejectUnauthorized: false, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' });
    const err = await new Promise<Error | undefined>((resolve) => {
      s.once('error', resolve);
      s.once('secureConnect', () => resolve(undefined));
    });
    s.destroy();
    assert.ok(err, 'a TLS 1.1 handshake succeeded');
  });

  test('TLS sent to the HTTP port gets a 400', async () => {
    const s = connect(httpPort, '127.0.0.1');
    s.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00]));
    const r = await closed(s);
    assert.match(r.data, /^HTTP\/1\.1 400/);
  });
});
