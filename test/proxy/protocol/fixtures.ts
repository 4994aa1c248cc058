// Providers shaped like the conformance fixture (spec proxy.md §12.1), parsed through the schema.
import { proxyProviderSchema, type ProxyProviderConfig, type ProxyProviderInput } from '../../../src/proxy/protocol/provider.ts';

const oidc = {
  issuer: 'http://ak/application/o/app/',
  authorization_endpoint: 'https://ak.example.com/application/o/authorize/',
  token_endpoint: 'http://ak/application/o/token/',
  userinfo_endpoint: 'http://ak/application/o/userinfo/',
  end_session_endpoint: 'https://ak.example.com/application/o/app/end-session/',
  introspection_endpoint: 'http://ak/application/o/introspect/',
  jwks_uri: 'https://ak.example.com/application/o/app/jwks/',
  response_types_supported: ['code'],
  id_token_signing_alg_values_supported: ['HS256'],
  subject_types_supported: ['public'],
  token_endpoint_auth_methods_supported: ['client_secret_post'],
};

export function provider(overrides: Partial<ProxyProviderInput> = {}): ProxyProviderConfig {
  return proxyProviderSchema.parse({
    pk: 1,
    name: 'P1',
    internal_host: 'http://upstream:8080',
    external_host: 'https://app.example.com',
    internal_host_ssl_validation: true,
    client_id: 'AbCdEfGh1234567890abcdefghijklmnopqrstuv',
    client_secret: 'S1',
    oidc_configuration: oidc,
    cookie_secret: 'C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1C1',
    certificate: null,
    skip_path_regex: '^/public/',
    basic_auth_enabled: false,
    basic_auth_password_attribute: '',
    basic_auth_user_attribute: '',
    mode: 'proxy',
    cookie_domain: '',
    access_token_validity: 300,
    intercept_header_auth: true,
    scopes_to_request: ['openid', 'profile', 'email', 'ak_proxy'],
    assigned_application_slug: 'app',
    assigned_application_name: 'App',
    ...overrides,
  });
}

export const P1 = provider();
export const P2 = provider({
  pk: 2,
  name: 'P2',
  external_host: 'https://fs.example.com',
  mode: 'forward_single',
  skip_path_regex: '^/health$',
  client_id: 'FsClient0000000000000000000000000000000',
  cookie_secret: 'C2C2C2C2C2C2C2C2C2C2C2C2C2C2C2C2',
});
export const P3 = provider({
  pk: 3,
  name: 'P3',
  external_host: 'https://auth.example.com',
  mode: 'forward_domain',
  cookie_domain: 'example.com',
  skip_path_regex: '^https://open\\.example\\.com/',
  client_id: 'DomClient000000000000000000000000000000',
  cookie_secret: 'C3C3C3C3C3C3C3C3C3C3C3C3C3C3C3C3',
});
