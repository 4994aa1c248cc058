// PROXY protocol on the proxy's HTTP and HTTPS listeners, over raw TCP from loopback: trusted by
// default (authentik's trusted proxy CIDRs: loopback and private ranges), a v1 or v2 header's
// source is the client the upstream is told about (X-Forwarded-For), also before a TLS
// handshake; with trusted CIDRs that leave loopback out, the header is not read and the HTTP
// parser answers 400. Requests go to P1's skip path (`^/public/`), which reaches the upstream
// without a login.
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { once } from 'node:events';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { encodeProxyHeader } from '../../../src/net/proxy-protocol.ts';
import { AUTHENTIK_VERSIONS } from '../../support/outpost.ts';
import { rawExchange, startProxyStack, type ProxyStack } from './support.ts';

const VERSION = AUTHENTIK_VERSIONS[AUTHENTIK_VERSIONS.length - 1]!;
const CLIENT = { address: '203.0.113.7', port: 40000 };
const OUTPOST = { address: '198.51.100.1', port: 9000 };

function get(path: string, extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: app.example.com\r\n${extra}Connection: close\r\n\r\n`;
}

describe(`PROXY protocol on the proxy listeners (authentik ${VERSION})`, () => {
  describe('from loopback, trusted by default', () => {
    let stack: ProxyStack;
    before(async () => {
      stack = await startProxyStack({ authentikVersion: VERSION });
    });
    after(async () => {
      await stack?.close();
    });

    /** The upstream's view of the request to `path`. */
    function hit(path: string) {
      const h = stack.upstream.hits.find((x) => x.url === path);
      assert.ok(h, `the upstream saw ${path}`);
      return h;
    }

    test('a v1 header: the upstream sees its source in X-Forwarded-For', async () => {
      const r = await rawExchange(stack.httpPort, [encodeProxyHeader(1, CLIENT, OUTPOST), get('/public/v1')]);
      assert.match(r, /^HTTP\/1\.1 200 /);
      assert.equal(hit('/public/v1').headers['x-forwarded-for'], '203.0.113.7');
    });

    test('a v2 header (IPv6 source) in the same packet as the request', async () => {
      const header = encodeProxyHeader(2, { address: '2001:db8::7', port: 5555 }, { address: '2001:db8::1', port: 9000 });
      const r = await rawExchange(stack.httpPort, [Buffer.concat([header, Buffer.from(get('/public/v2'))])]);
      assert.match(r, /^HTTP\/1\.1 200 /);
      assert.equal(hit('/public/v2').headers['x-forwarded-for'], '2001:db8::7');
    });

    test('the PROXY source decides trust: an untrusted client cannot add an X-Forwarded-For hop', async () => {
      await rawExchange(stack.httpPort, [encodeProxyHeader(1, CLIENT, OUTPOST), get('/public/spoof', 'X-Forwarded-For: 192.0.2.99\r\n')]);
      const xff = String(hit('/public/spoof').headers['x-forwarded-for']);
      assert.ok(xff.endsWith('203.0.113.7'), xff);
    });

    test('a trusted PROXY source (a private proxy) passes on the client it names', async () => {
      await rawExchange(stack.httpPort, [encodeProxyHeader(1, { address: '10.1.2.3', port: 1 }, OUTPOST), get('/public/chain', 'X-Forwarded-For: 203.0.113.50\r\n')]);
      assert.equal(hit('/public/chain').headers['x-forwarded-for'], '203.0.113.50, 203.0.113.50');
    });

    test('no header from a trusted peer: served as itself', async () => {
      const r = await rawExchange(stack.httpPort, [get('/public/plain')]);
      assert.match(r, /^HTTP\/1\.1 200 /);
      assert.equal(hit('/public/plain').headers['x-forwarded-for'], '127.0.0.1');
    });

    test('HTTPS: the header before the ClientHello, then TLS', async () => {
      const raw = connect(stack.httpsPort, '127.0.0.1');
      await once(raw, 'connect');
      raw.write(encodeProxyHeader(2, CLIENT, OUTPOST));
      const tls = tlsConnect({ socket: raw, servername: 'app.example.com', rejectUnauthorized: false });
      tls.on('error', () => {});
      await once(tls, 'secureConnect');
      const chunks: Buffer[] = [];
      tls.on('data', (d: Buffer) => chunks.push(d));
      const closed = new Promise((resolve) => tls.once('close', resolve));
      tls.write(get('/public/tls'));
      await closed;
      assert.match(Buffer.concat(chunks).toString('latin1'), /^HTTP\/1\.1 200 /);
      assert.equal(hit('/public/tls').headers['x-forwarded-for'], '203.0.113.7');
    });

    test('a malformed header from a trusted peer closes the connection unanswered', async () => {
      const r = await rawExchange(stack.httpPort, ['PROXY TCP4 nope 198.51.100.1 1 2\r\n', get('/public/bad')]);
      assert.equal(r, '');
      assert.equal(stack.upstream.hits.some((x) => x.url === '/public/bad'), false);
    });
  });

  describe('with trusted CIDRs that leave loopback out', () => {
    let stack: ProxyStack;
    before(async () => {
      stack = await startProxyStack({ authentikVersion: VERSION, env: { AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS: '192.0.2.0/24' } });
    });
    after(async () => {
      await stack?.close();
    });

    test('the header is not believed: the HTTP parser answers 400, nothing reaches the upstream', async () => {
      for (const version of [1, 2] as const) {
        const r = await rawExchange(stack.httpPort, [encodeProxyHeader(version, CLIENT, OUTPOST), get('/public/untrusted')]);
        assert.match(r, /^HTTP\/1\.1 400 /, `v${version}`);
      }
      assert.equal(stack.upstream.hits.length, 0);
    });

    test('without a header the peer is served as itself', async () => {
      const r = await rawExchange(stack.httpPort, [get('/public/plain')]);
      assert.match(r, /^HTTP\/1\.1 200 /);
      assert.equal(stack.upstream.hits.at(-1)?.headers['x-forwarded-for'], '127.0.0.1');
    });
  });
});
