import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PROXY_ERRORS, ProxyError, isProxyError, noAppBody, plainErrorBody, proxyErrorStatus } from '../../../src/proxy/protocol/errors.ts';

describe('proxy error table', () => {
  it('maps every code to a non-2xx status (fail closed)', () => {
    for (const [code, spec] of Object.entries(PROXY_ERRORS)) {
      assert.ok(spec.status >= 400 && spec.status <= 599, code);
    }
  });

  it('keeps authentik statuses and bodies where clients depend on them', () => {
    assert.equal(PROXY_ERRORS.no_app.status, 400);
    assert.equal(PROXY_ERRORS.forward_url_missing.status, 500);
    assert.equal(plainErrorBody('forward_url_missing'), 'configuration error\n');
    assert.equal(plainErrorBody('unauthenticated'), 'unauthorized request\n');
    assert.equal(PROXY_ERRORS.unauthenticated.status, 401);
    assert.equal(plainErrorBody('state_invalid'), '');
    assert.equal(PROXY_ERRORS.state_invalid.status, 400);
    assert.equal(PROXY_ERRORS.upstream_unreachable.status, 502);
    assert.match(PROXY_ERRORS.header_auth_failed.message, /Receive header authentication/);
  });

  it('ProxyError carries code, status and the safe message, and logs the detail only', () => {
    const e = new ProxyError('core_unavailable', 'token endpoint ECONNREFUSED 10.0.0.1:9000');
    assert.equal(e.code, 'core_unavailable');
    assert.equal(e.status, 503);
    assert.equal(e.expose, 'Service Unavailable');
    assert.match(e.message, /ECONNREFUSED/);
    assert.doesNotMatch(e.expose, /ECONNREFUSED/);
    assert.ok(isProxyError(e));
    assert.equal(proxyErrorStatus(e), 503);
    assert.equal(proxyErrorStatus(new Error('x')), 500);
    assert.equal(proxyErrorStatus(undefined), 500);
  });
});

describe('noAppBody', () => {
  it('is authentik’s tab-indented JSON with a trailing newline', () => {
    assert.equal(
      noAppBody('nothing.invalid'),
      '{\n\t"Message": "no app for hostname",\n\t"Host": "nothing.invalid",\n\t"Detail": "Check the outpost settings and make sure \'nothing.invalid\' is included."\n}\n',
    );
    assert.deepEqual(JSON.parse(noAppBody('nothing.invalid')), {
      Message: 'no app for hostname',
      Host: 'nothing.invalid',
      Detail: "Check the outpost settings and make sure 'nothing.invalid' is included.",
    });
  });

  it('HTML-escapes like Go’s encoder, so a hostile Host cannot inject markup', () => {
    const body = noAppBody('<script>&');
    assert.doesNotMatch(body, /[<>&]/);
    assert.equal(JSON.parse(body).Host, '<script>&');
  });
});
