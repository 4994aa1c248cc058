// The configuration_error event: its body (authentik's EventRequest, no credential, no query),
// one per provider per window, sent in the background, a failure logged once and never thrown.
import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { CoreError } from '../../src/agent/errors.ts';
import { createRootLogger } from '../../src/log.ts';
import { configurationErrorEvent, ConfigurationErrorReporter, eventHeaders, EVENTS_PATH, type ConfigurationErrorInput } from '../../src/proxy/config-error-events.ts';

function input(providerPk = 1): ConfigurationErrorInput {
  return {
    providerPk,
    provider: `p${providerPk}`,
    outpost: 'o',
    message: `Outpost o (Provider p${providerPk}) failed to detect a forward URL from nginx`,
    path: '/outpost.goauthentik.io/auth/nginx',
    headers: { host: ['fs.example.com'], 'user-agent': ['nginx', 'second'] },
    clientIp: '::ffff:192.0.2.1',
  };
}

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = createRootLogger({ level: 'debug', destination: new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c)) as Record<string, unknown>), cb()) }) });
  return { logger, lines };
}

describe('configuration_error events', () => {
  test('the body is an EventRequest with authentik\'s action, app and context', () => {
    assert.deepEqual(configurationErrorEvent(input()), {
      action: 'configuration_error',
      app: 'authentik.providers.proxy',
      client_ip: '192.0.2.1',
      context: {
        message: 'Outpost o (Provider p1) failed to detect a forward URL from nginx',
        provider: 'p1',
        outpost: 'o',
        url: '/outpost.goauthentik.io/auth/nginx',
        headers: { host: 'fs.example.com', 'user-agent': 'nginx' },
      },
    });
    assert.equal(configurationErrorEvent({ ...input(), clientIp: 'not-an-ip' }).client_ip, null);
  });

  test('headers: the first value each; credentials redacted, URL queries cut, bounded', () => {
    const h = eventHeaders({
      authorization: ['Bearer abc'],
      'proxy-authorization': ['Basic abc'],
      cookie: ['a=b'],
      'x-auth-token': ['t'],
      'x-api-key': ['k'],
      'x-original-url': ['https://a/b?code=secret'],
      'x-forwarded-uri': ['/cb?state=s&code=c'],
      referer: ['https://a/?token=t'],
      'x-long': ['v'.repeat(5000)],
      'x-empty': [],
      accept: ['*/*'],
    });
    assert.deepEqual(
      { ...h, 'x-long': h['x-long']!.length },
      {
        authorization: '[redacted]',
        'proxy-authorization': '[redacted]',
        cookie: '[redacted]',
        'x-auth-token': '[redacted]',
        'x-api-key': '[redacted]',
        'x-original-url': 'https://a/b',
        'x-forwarded-uri': '/cb',
        referer: 'https://a/',
        'x-long': 1025,
        accept: '*/*',
      },
    );
    const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`x-h${i}`, ['v']]));
    assert.equal(Object.keys(eventHeaders(many)).length, 64);
  });

  test('headers: credentials under any name a proxy gives them are redacted, and URLs lose their query and user info', () => {
    const h = eventHeaders({
      'x-forwarded-authorization': ['Bearer abc'],
      'x-original-authorization': ['Basic abc'],
      'x-amzn-oidc-data': ['eyJ.jwt.sig'],
      'cf-access-jwt-assertion': ['eyJ.jwt.sig'],
      'x-goog-iap-jwt-assertion': ['eyJ.jwt.sig'],
      'x-client-credential': ['c'],
      cookie2: ['a=b'],
      'x-envoy-original-path': ['/cb?code=secret'],
      'x-forwarded-url': ['https://a/cb?code=secret'],
      'x-original-url': ['https://user:password@a/x'],
      'x-custom': ['/path?token=t'],
      'x-other-url': ['http://a/b?code=c#frag'],
      'user-agent': ['curl/8 (x?y)'],
    });
    assert.deepEqual(h, {
      'x-forwarded-authorization': '[redacted]',
      'x-original-authorization': '[redacted]',
      'x-amzn-oidc-data': '[redacted]',
      'cf-access-jwt-assertion': '[redacted]',
      'x-goog-iap-jwt-assertion': '[redacted]',
      'x-client-credential': '[redacted]',
      cookie2: '[redacted]',
      'x-envoy-original-path': '/cb',
      'x-forwarded-url': 'https://a/cb',
      'x-original-url': 'https://a/x',
      'x-custom': '/path',
      'x-other-url': 'http://a/b',
      // Not a URL: kept as sent.
      'user-agent': 'curl/8 (x?y)',
    });
  });

  test('one event per provider per window, each provider on its own', async () => {
    let now = 1_000;
    const posts: { path: string; body: unknown; timeoutMs: number | undefined }[] = [];
    const api = { post: async (path: string, body: unknown, _schema: unknown, opts: { timeoutMs?: number } = {}) => void posts.push({ path, body, timeoutMs: opts.timeoutMs }) };
    const { logger } = capture();
    const r = new ConfigurationErrorReporter({ api: api as never, logger, now: () => now, timeoutMs: 1234 });
    await r.report(input(1));
    assert.equal(r.report(input(1)), undefined);
    await r.report(input(2));
    now += 59_999;
    assert.equal(r.report(input(1)), undefined);
    now += 1;
    await r.report(input(1));
    assert.deepEqual(
      posts.map((p) => [p.path, (p.body as { context: { provider: string } }).context.provider, p.timeoutMs]),
      [
        [EVENTS_PATH, 'p1', 1234],
        [EVENTS_PATH, 'p2', 1234],
        [EVENTS_PATH, 'p1', 1234],
      ],
    );
  });

  test('a failed POST is one warn line and never a rejection', async () => {
    const api = { post: () => Promise.reject(new CoreError('transport', '/api/v3/events/events/', 'cannot reach the core for /api/v3/events/events/: ECONNREFUSED')) };
    const { logger, lines } = capture();
    const r = new ConfigurationErrorReporter({ api: api as never, logger });
    await r.report(input(7));
    const warns = lines.filter((l) => l['event'] === 'failed to report configuration error');
    assert.equal(warns.length, 1);
    assert.equal(warns[0]!['level'], 'warning');
    assert.deepEqual((warns[0]!['err'] as { code: string }).code, 'transport');
    // Suppressed within the window: no second attempt, so no second line.
    assert.equal(r.report(input(7)), undefined);
  });
});
