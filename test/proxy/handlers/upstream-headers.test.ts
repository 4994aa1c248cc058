// What the upstream gets is the outpost's to decide: a client's `Connection` list removes the
// client's own hop-by-hop headers, never what the outpost adds (identity, the injected Basic
// credentials, `additionalHeaders`), which an app may rely on (say, to deny a group).
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { connect } from 'node:net';
import { startHarness, type Harness } from './harness.ts';

/** One raw request; the answer once the outpost closes the connection. */
function raw(h: Harness, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(Number(new URL(h.origin).port), '127.0.0.1', () => c.write(text));
    let data = '';
    c.setEncoding('latin1').on('data', (d: string) => (data += d));
    c.on('error', reject);
    c.on('close', () => resolve(data));
  });
}

describe('upstream headers against a client Connection list', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness([{ basic_auth_enabled: true, basic_auth_user_attribute: 'u', basic_auth_password_attribute: 'p' }]);
    h.introspect = () => ({
      status: 200,
      body: {
        active: true,
        sub: 'U1',
        preferred_username: 'alice',
        groups: ['suspended'],
        exp: Math.floor(Date.now() / 1000) + 300,
        ak_proxy: { user_attributes: { u: 'svc', p: 'pw', additionalHeaders: { 'X-Extra': 'e' } } },
      },
    });
  });
  after(async () => {
    await h?.close();
  });

  test('listed names go only when the client sent them', async () => {
    // Raw: an HTTP client library would rewrite the Connection header.
    const answer = await raw(
      h,
      'GET /private HTTP/1.1\r\nHost: app.example.com\r\nAuthorization: Bearer good-token\r\n' +
        'Connection: close, X-authentik-username, x-authentik-groups, Authorization, X-Extra, X-Client\r\nX-Client: c\r\n\r\n',
    );
    assert.match(answer, /^HTTP\/1\.1 200 /);
    const seen = h.upstreamHits.at(-1)!.headers;
    assert.equal(seen['x-authentik-username'], 'alice');
    assert.equal(seen['x-authentik-groups'], 'suspended');
    assert.equal(seen['authorization'], `Basic ${Buffer.from('svc:pw').toString('base64')}`);
    assert.equal(seen['x-extra'], 'e');
    assert.equal(seen['x-client'], undefined, "the client's own listed header is hop-by-hop");
  });
});
