import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { externalUrl, hostUnderDomain, normalizedCookieDomain, proxyProviderSchema } from '../../../src/proxy/protocol/provider.ts';
import { P1, P3, provider } from './fixtures.ts';

describe('proxyProviderSchema', () => {
  it('accepts the full ProxyOutpostConfig and keeps every field', () => {
    assert.equal(P1.mode, 'proxy');
    assert.equal(P1.access_token_validity, 300);
    assert.deepEqual(P1.scopes_to_request, ['openid', 'profile', 'email', 'ak_proxy']);
    assert.equal(P1.oidc_configuration.issuer, 'http://ak/application/o/app/');
  });

  it('fills defaults for missing or null optional fields and drops unknown ones', () => {
    const p = proxyProviderSchema.parse({
      pk: 9,
      name: 'min',
      external_host: 'https://x.example.com',
      oidc_configuration: { issuer: 'i', authorization_endpoint: 'a', token_endpoint: 't', jwks_uri: null },
      cookie_domain: null,
      access_token_validity: null,
      skip_path_regex: null,
      surprise: 1,
    });
    assert.equal(p.mode, 'proxy');
    assert.equal(p.cookie_domain, '');
    assert.equal(p.skip_path_regex, '');
    assert.equal(p.access_token_validity, null);
    assert.equal(p.intercept_header_auth, true);
    assert.equal(p.internal_host_ssl_validation, true);
    assert.equal(p.basic_auth_enabled, false);
    assert.equal(p.certificate, null);
    assert.equal(p.oidc_configuration.jwks_uri, '');
    assert.deepEqual(p.oidc_configuration.id_token_signing_alg_values_supported, []);
    assert.equal('surprise' in p, false);
  });

  it('takes access_token_validity as float seconds', () => {
    assert.equal(provider({ access_token_validity: 86400.5 }).access_token_validity, 86400.5);
  });

  it('rejects an unknown mode, a missing external_host and a non-integer pk', () => {
    assert.equal(proxyProviderSchema.safeParse({ ...P1, mode: 'forward_all' }).success, false);
    const { external_host: _, ...noExt } = P1;
    assert.equal(proxyProviderSchema.safeParse(noExt).success, false);
    assert.equal(proxyProviderSchema.safeParse({ ...P1, pk: 1.5 }).success, false);
  });
});

describe('provider helpers', () => {
  it('externalUrl accepts only absolute http(s) URLs without user info', () => {
    assert.equal(externalUrl(P1)?.host, 'app.example.com');
    assert.equal(externalUrl({ external_host: 'app.example.com' }), undefined);
    assert.equal(externalUrl({ external_host: 'ftp://app.example.com' }), undefined);
    assert.equal(externalUrl({ external_host: 'https://u:p@app.example.com' }), undefined);
    assert.equal(externalUrl({ external_host: 'https://app.example.com:8443/' })?.host, 'app.example.com:8443');
  });

  it('normalizedCookieDomain strips one leading dot and lower-cases', () => {
    assert.equal(normalizedCookieDomain({ cookie_domain: '.Example.COM' }), 'example.com');
    assert.equal(normalizedCookieDomain(P3), 'example.com');
    assert.equal(normalizedCookieDomain({ cookie_domain: '' }), '');
  });

  it('hostUnderDomain needs a dot boundary', () => {
    assert.equal(hostUnderDomain('a.example.com', 'example.com'), true);
    assert.equal(hostUnderDomain('example.com', 'example.com'), true);
    assert.equal(hostUnderDomain('A.B.EXAMPLE.COM', 'example.com'), true);
    assert.equal(hostUnderDomain('badexample.com', 'example.com'), false);
    assert.equal(hostUnderDomain('example.com.evil.org', 'example.com'), false);
    assert.equal(hostUnderDomain('anything', ''), false);
  });
});
