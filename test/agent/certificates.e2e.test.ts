// Certificate-keypairs from the development core: real X.509 served over TLS, cached by
// fingerprint, fetched again after rotation.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { DevCore } from '../../src/devcore/index.ts';
import { CertificateStore } from '../../src/agent/certificates.ts';
import { CoreApi, createDispatcher } from '../../src/agent/core-api.ts';
import { CoreError } from '../../src/agent/errors.ts';
import { userAgent } from '../../src/version.ts';
import { captureLogs } from '../support/logs.ts';
import { startCore } from '../support/outpost.ts';

async function servedFingerprint(store: CertificateStore, uuid: string): Promise<string> {
  const pair = await store.ensure(uuid);
  assert.ok(pair.secureContext, 'a keypair with a private key yields a TLS context');
  const server: Server = createServer({ SNICallback: (_name, cb) => cb(null, pair.secureContext) }, (s) => s.end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  try {
    const socket = connect({ host: '127.0.0.1', port, servername: 'ldap.test.local', rejectUnauthorized: false });
    await once(socket, 'secureConnect');
    const raw = socket.getPeerCertificate().raw;
    socket.destroy();
    return new X509Certificate(raw).fingerprint256;
  } finally {
    server.close();
  }
}

describe('certificate store', () => {
  let core: DevCore;
  const dispatcher = createDispatcher({ insecure: false });
  let api: CoreApi;
  before(async () => {
    core = await startCore();
    api = new CoreApi({ host: new URL(core.url), token: 'test-ldap-token', userAgent: userAgent(), dispatcher, timeoutMs: 2000 });
  });
  after(async () => {
    await core.close();
    await dispatcher.close();
  });

  it('serves the keypair over TLS, caches it, and reloads it when the fingerprint changes', async () => {
    const info = core.admin.certificate('test-ldap-cert');
    const store = new CertificateStore(api, captureLogs().logger);
    const norm = (f: string) => f.replace(/:/g, '').toLowerCase();

    assert.equal(norm(await servedFingerprint(store, info.pk)), norm(info.fingerprint_sha256));
    const views = () => core.admin.requests().filter((r) => r.path.endsWith('/view_certificate/')).length;
    const before = views();
    await store.ensure(info.pk);
    assert.equal(views(), before, 'an unchanged fingerprint is served from the cache');

    const rotated = await core.admin.rotateCertificate('test-ldap-cert');
    assert.notEqual(norm(rotated.fingerprint_sha256), norm(info.fingerprint_sha256));
    assert.equal(norm(await servedFingerprint(store, info.pk)), norm(rotated.fingerprint_sha256));
    assert.equal(views(), before + 1);
  });

  it('serves the cached copy while the core is unreachable, and fails without one', async () => {
    const info = core.admin.certificate('test-ldap-cert');
    const store = new CertificateStore(api, captureLogs().logger);
    const pair = await store.ensure(info.pk);
    core.admin.setFaults({ pathPrefix: '/api/v3/crypto/', failStatus: 503, failCount: 100 });
    try {
      assert.equal(await store.ensure(info.pk), pair);
      const fresh = new CertificateStore(api, captureLogs().logger);
      await assert.rejects(fresh.ensure(info.pk), (e: unknown) => e instanceof CoreError && e.status === 503);
    } finally {
      core.admin.clearFaults();
    }
  });

  it('never logs key material', async () => {
    const logs = captureLogs();
    const store = new CertificateStore(api, logs.logger);
    await store.ensure(core.admin.certificate('test-ldap-cert').pk);
    assert.ok(logs.raw.length > 0);
    assert.ok(logs.raw.every((l) => !l.includes('PRIVATE KEY') && !l.includes('BEGIN CERTIFICATE')));
  });
});
