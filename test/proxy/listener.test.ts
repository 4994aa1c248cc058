// How the proxy listener applies what the core sends: the core is input like any other. One
// provider it cannot use (an endpoint that is no URL, a certificate that does not parse) is
// skipped or served with the default certificate, never failing the refresh of every other
// provider; certificates follow the provider that serves the host; a provider removed while a
// request to its upstream is in flight does not hold up the refresh.
import { strict as assert } from 'node:assert';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import type { KeyPair } from '../../src/agent/certificates.ts';
import { CoreError } from '../../src/agent/errors.ts';
import type { OutpostContext } from '../../src/agent/listener.ts';
import { AgentMetrics } from '../../src/agent/metrics.ts';
import { Registry } from '../../src/agent/prom.ts';
import { HttpPool } from '../../src/net/pool.ts';
import { ProxyListener } from '../../src/proxy/listener.ts';
import type { ProxyProviderConfig, ProxyProviderInput } from '../../src/proxy/protocol/index.ts';
import { captureLogs } from '../support/logs.ts';
import { testConfig } from '../support/outpost.ts';
import { provider } from './protocol/fixtures.ts';

interface Setup {
  listener: ProxyListener;
  ctx: OutpostContext;
  lines: Record<string, unknown>[];
  /** What `certificates.ensure` answers per keypair uuid (a function may throw). */
  certs: Map<string, () => KeyPair>;
  /** What `certificates.peek` holds (the store's cached copy). */
  cached: Map<string, KeyPair>;
}

function setup(): Setup {
  const { logger, lines } = captureLogs('debug');
  const config = testConfig('http://127.0.0.1:1', ['t'], { AUTHENTIK_LISTEN__HTTP: '127.0.0.1:0', AUTHENTIK_LISTEN__HTTPS: '127.0.0.1:0' });
  const listener = new ProxyListener({ config, logger, metrics: new AgentMetrics(new Registry()) });
  const certs = new Map<string, () => KeyPair>();
  const cached = new Map<string, KeyPair>();
  const ctx = {
    outpost: { pk: 'o1', name: 'test-outpost', managed: null, config: {} },
    api: { dispatcher: new HttpPool(), post: async () => ({}) },
    certificates: {
      ensure: async (uuid: string) => {
        const answer = certs.get(uuid);
        if (!answer) throw new Error(`unknown keypair ${uuid}`);
        return answer();
      },
      peek: (uuid: string) => cached.get(uuid),
    },
    logger,
  } as unknown as OutpostContext;
  return { listener, ctx, lines, certs, cached };
}

const pair = (uuid: string, secureContext: SecureContext | undefined = createSecureContext()): KeyPair => ({ uuid, name: `cert-${uuid}`, fingerprint: uuid, certificatePem: '', secureContext });

/** The certificate the HTTPS listener would present for `serverName`. */
const sniOf = (l: ProxyListener, serverName: string): SecureContext | undefined => l['state'].sni.get(serverName);

const served = (l: ProxyListener): string[] => [...l['state'].apps.values()].map((a) => a.config.name).sort();

const p = (o: Partial<ProxyProviderInput>): ProxyProviderConfig => provider(o);

describe('the proxy listener applying the core\'s providers', () => {
  test('a provider whose OIDC endpoints are not URLs is skipped with a line; the others are served', async () => {
    const s = setup();
    const good = p({ pk: 1, name: 'good', external_host: 'https://good.example.com' });
    const broken = [
      p({ pk: 2, name: 'no-introspection', external_host: 'https://a.example.com', oidc_configuration: { ...good.oidc_configuration, introspection_endpoint: null } }),
      p({ pk: 3, name: 'bad-token', external_host: 'https://b.example.com', oidc_configuration: { ...good.oidc_configuration, token_endpoint: 'not a url' } }),
      p({ pk: 4, name: 'bad-authorize', external_host: 'https://c.example.com', oidc_configuration: { ...good.oidc_configuration, authorization_endpoint: '' } }),
      p({ pk: 5, name: 'ftp-token', external_host: 'https://d.example.com', oidc_configuration: { ...good.oidc_configuration, token_endpoint: 'ftp://ak/token/' } }),
    ];
    try {
      await s.listener.apply(s.ctx, [good, ...broken]);
      assert.deepEqual(served(s.listener), ['good']);
      const skipped = s.lines.filter((l) => l['event'] === 'provider skipped').map((l) => l['provider']);
      assert.deepEqual(skipped.sort(), ['bad-authorize', 'bad-token', 'ftp-token', 'no-introspection']);
    } finally {
      await s.listener.stop(AbortSignal.timeout(1000));
    }
  });

  test('a certificate that does not parse (or a keypair the core refuses) is served as the default certificate; the refresh goes on', async () => {
    const s = setup();
    const good = createSecureContext();
    s.certs.set('k-good', () => pair('k-good', good));
    s.certs.set('k-invalid', () => {
      throw new CoreError('invalid', '/crypto/certificatekeypairs/k-invalid/', 'certificate "x" cannot be used for TLS: error:0480006C:PEM routines::no start line');
    });
    s.certs.set('k-gone', () => {
      throw new CoreError('status', '/crypto/certificatekeypairs/k-gone/', 'GET /crypto/certificatekeypairs/k-gone/ answered 404', { status: 404 });
    });
    try {
      await s.listener.apply(s.ctx, [
        p({ pk: 1, name: 'a', external_host: 'https://a.example.com', certificate: 'k-good' }),
        p({ pk: 2, name: 'b', external_host: 'https://b.example.com', certificate: 'k-invalid' }),
        p({ pk: 3, name: 'c', external_host: 'https://c.example.com', certificate: 'k-gone' }),
      ]);
      assert.deepEqual(served(s.listener), ['a', 'b', 'c']);
      assert.equal(sniOf(s.listener, 'a.example.com'), good);
      assert.equal(sniOf(s.listener, 'b.example.com'), undefined);
      assert.equal(sniOf(s.listener, 'c.example.com'), undefined);
      const warned = s.lines.filter((l) => l['event'] === 'cannot use the provider\'s certificate; the default certificate is served').map((l) => l['provider']);
      assert.deepEqual(warned.sort(), ['b', 'c']);
    } finally {
      await s.listener.stop(AbortSignal.timeout(1000));
    }
  });

  test('a renewed certificate that does not parse keeps the copy that did', async () => {
    const s = setup();
    const old = createSecureContext();
    s.cached.set('k1', pair('k1', old));
    s.certs.set('k1', () => {
      throw new CoreError('invalid', '/crypto/certificatekeypairs/k1/', 'certificate "x" cannot be used for TLS');
    });
    try {
      await s.listener.apply(s.ctx, [p({ pk: 1, name: 'a', external_host: 'https://a.example.com', certificate: 'k1' })]);
      assert.equal(sniOf(s.listener, 'a.example.com'), old);
    } finally {
      await s.listener.stop(AbortSignal.timeout(1000));
    }
  });

  test('a certificate the core cannot be asked for still fails the refresh (the previous configuration stays)', async () => {
    const s = setup();
    s.certs.set('k1', () => {
      throw new CoreError('transport', '/crypto/certificatekeypairs/k1/', 'cannot reach the core');
    });
    try {
      await s.listener.apply(s.ctx, [p({ pk: 1, name: 'before', external_host: 'https://a.example.com' })]);
      await assert.rejects(s.listener.apply(s.ctx, [p({ pk: 1, name: 'after', external_host: 'https://a.example.com', certificate: 'k1' })]), CoreError);
      assert.deepEqual(served(s.listener), ['before']);
    } finally {
      await s.listener.stop(AbortSignal.timeout(1000));
    }
  });

  test('two providers claiming one host: the certificate is that of the provider that serves it', async () => {
    const s = setup();
    const alpha = createSecureContext();
    const beta = createSecureContext();
    const unusable = createSecureContext();
    s.certs.set('k-alpha', () => pair('k-alpha', alpha));
    s.certs.set('k-beta', () => pair('k-beta', beta));
    s.certs.set('k-unusable', () => pair('k-unusable', unusable));
    try {
      // "alpha" sorts first and serves app.example.com (routing.ts); "beta" is listed last.
      await s.listener.apply(s.ctx, [
        p({ pk: 1, name: 'alpha', external_host: 'https://app.example.com', certificate: 'k-alpha' }),
        p({ pk: 2, name: 'beta', external_host: 'https://APP.example.com/', certificate: 'k-beta' }),
        // Not served at all (no cookie secret): its certificate is not presented either.
        p({ pk: 3, name: 'unusable', external_host: 'https://other.example.com', cookie_secret: '', certificate: 'k-unusable' }),
      ]);
      assert.equal(s.listener['state'].router.route('app.example.com')?.name, 'alpha');
      assert.equal(sniOf(s.listener, 'app.example.com'), alpha);
      assert.equal(sniOf(s.listener, 'other.example.com'), undefined);
      // One pk listed twice (a garbled page): its last entry is served, with its own certificate (none).
      await s.listener.apply(s.ctx, [
        p({ pk: 7, name: 'first', external_host: 'https://first.example.com', certificate: 'k-alpha' }),
        p({ pk: 7, name: 'second', external_host: 'https://second.example.com' }),
      ]);
      assert.deepEqual(served(s.listener), ['second']);
      assert.equal(sniOf(s.listener, 'first.example.com'), undefined);
      assert.equal(sniOf(s.listener, 'second.example.com'), undefined);
    } finally {
      await s.listener.stop(AbortSignal.timeout(1000));
    }
  });

  describe('a provider removed while a request to its upstream is in flight', () => {
    let upstream: Server;
    let origin = '';
    const open: ServerResponse[] = [];
    before(async () => {
      // Sends its head and a first chunk, then nothing: a long download, a stream of events.
      upstream = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: 1\n\n');
        open.push(res);
      });
      await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
      origin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    });
    after(async () => {
      for (const res of open) res.end();
      upstream.closeAllConnections();
      await new Promise<void>((resolve) => upstream.close(() => resolve()));
    });

    test('does not hold up the refresh that removed it; the request itself goes on', async () => {
      const s = setup();
      try {
        await s.listener.apply(s.ctx, [p({ pk: 1, name: 'streaming', external_host: 'https://app.example.com', internal_host: origin })]);
        const app = s.listener['state'].apps.get(1)!;
        const res = await request(`${origin}/events`, { dispatcher: s.listener['upstreams'].get(app.upstream!, true) });
        assert.equal(res.statusCode, 200);
        const applied = s.listener.apply(s.ctx, []).then(() => 'applied');
        const late = new Promise((resolve) => setTimeout(() => resolve('still waiting'), 1000).unref());
        assert.equal(await Promise.race([applied, late]), 'applied');
        assert.deepEqual(served(s.listener), []);
        // The request is still served to its end.
        open.at(-1)!.end('data: 2\n\n');
        assert.equal(await res.body.text(), 'data: 1\n\ndata: 2\n\n');
      } finally {
        await s.listener.stop(AbortSignal.timeout(1000));
      }
    });
  });
});
