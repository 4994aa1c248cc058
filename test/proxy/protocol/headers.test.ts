import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseClaims, type ProxyClaims } from '../../../src/proxy/protocol/claims.ts';
import {
  HOP_BY_HOP,
  IDENTITY_HEADER_NAMES,
  additionalHeaders,
  authHeaders,
  basicAuthorization,
  identityHeaders,
  sanitizeRequestHeaders,
} from '../../../src/proxy/protocol/headers.ts';
import { withoutHopByHop } from '../../../src/proxy/upstream/headers.ts';
import { P1, provider } from './fixtures.ts';

function claims(extra: Record<string, unknown> = {}): ProxyClaims {
  const r = parseClaims({
    sub: 'U1',
    exp: 1,
    email: 'a@x',
    name: 'Alice',
    preferred_username: 'alice',
    groups: ['g1', 'g2'],
    sid: 'H1',
    ak_proxy: { user_attributes: { additionalHeaders: { 'X-Extra': 'v' } } },
    ...extra,
  });
  assert.ok(r.ok);
  return r.claims;
}

const meta = { rawToken: 'TOKEN', jwksUri: 'https://ak/jwks/', outpostName: 'test-outpost', version: 'goauthentik.io/outpost/2024.4.2' };

describe('identityHeaders (checklist 13)', () => {
  it('sets the twelve headers with authentik’s names and values', () => {
    assert.deepEqual(identityHeaders(claims({ entitlements: ['e1', 'e2'] }), P1, meta), {
      'X-authentik-username': 'alice',
      'X-authentik-groups': 'g1|g2',
      'X-authentik-entitlements': 'e1|e2',
      'X-authentik-email': 'a@x',
      'X-authentik-name': 'Alice',
      'X-authentik-uid': 'U1',
      'X-authentik-jwt': 'TOKEN',
      'X-authentik-meta-jwks': 'https://ak/jwks/',
      'X-authentik-meta-outpost': 'test-outpost',
      'X-authentik-meta-provider': 'P1',
      'X-authentik-meta-app': 'app',
      'X-authentik-meta-version': 'goauthentik.io/outpost/2024.4.2',
    });
    assert.equal(IDENTITY_HEADER_NAMES.length, 12);
  });

  it('sends empty strings rather than dropping headers', () => {
    const h = identityHeaders(claims({ groups: [], email: null, name: undefined }), P1, meta);
    assert.equal(h['X-authentik-groups'], '');
    assert.equal(h['X-authentik-entitlements'], '');
    assert.equal(h['X-authentik-email'], '');
    assert.equal(h['X-authentik-name'], '');
  });

  it('cannot be split by a newline in a user-editable value', () => {
    const h = identityHeaders(claims({ name: 'Eve\r\nX-authentik-username: admin' }), P1, meta);
    assert.doesNotMatch(h['X-authentik-name']!, /[\r\n]/);
  });
});

describe('Basic injection (checklist 27)', () => {
  const p = provider({ basic_auth_enabled: true, basic_auth_user_attribute: 'u', basic_auth_password_attribute: 'p' });
  it('uses the attributes, falling back to the e-mail for the user', () => {
    assert.equal(basicAuthorization(claims({ ak_proxy: { user_attributes: { u: 'bob', p: 'pw' } } }), p), 'Basic Ym9iOnB3');
    assert.equal(basicAuthorization(claims({ ak_proxy: { user_attributes: { p: 'pw' } } }), p), `Basic ${Buffer.from('a@x:pw').toString('base64')}`);
  });
  it('is absent when disabled, without ak_proxy, or when both parts are empty', () => {
    assert.equal(basicAuthorization(claims({ ak_proxy: { user_attributes: { u: 'bob', p: 'pw' } } }), P1), undefined);
    assert.equal(basicAuthorization(claims({ ak_proxy: undefined }), p), undefined);
    assert.equal(basicAuthorization(claims({ email: '', ak_proxy: { user_attributes: {} } }), p), undefined);
  });
});

describe('additionalHeaders', () => {
  it('sets strings and, fixing authentik, numbers as decimal text (checklist 28 differs on purpose)', () => {
    const r = additionalHeaders(claims({ ak_proxy: { user_attributes: { additionalHeaders: { 'X-Extra': 'v', 'X-Num': 5, 'X-Port': 8080, 'X-F': 1.5, 'X-B': true, 'X-N': null, 'X-O': {} } } } }));
    assert.deepEqual(r.headers, { 'X-Extra': 'v', 'X-Num': '5', 'X-Port': '8080', 'X-F': '1.5', 'X-B': '', 'X-N': '', 'X-O': '' });
  });
  it('refuses framing, hop-by-hop and identity headers, bad names and bad values', () => {
    const r = additionalHeaders(
      claims({
        ak_proxy: {
          user_attributes: {
            additionalHeaders: { Host: 'x', 'Content-Length': '0', 'transfer-encoding': 'chunked', 'X-authentik-username': 'admin', 'a b': 'x', 'X-CRLF': 'a\r\nb', 'X-Ok': 'ok' },
          },
        },
      }),
    );
    assert.deepEqual(r.headers, { 'X-Ok': 'ok' });
    assert.equal(r.dropped.length, 6);
  });
  it('ignores a non-object additionalHeaders', () => {
    assert.deepEqual(additionalHeaders(claims({ ak_proxy: { user_attributes: { additionalHeaders: ['x'] } } })).headers, {});
    assert.deepEqual(additionalHeaders(claims({ ak_proxy: undefined })).headers, {});
  });
});

describe('authHeaders', () => {
  it('applies identity, then Basic, then additionalHeaders (which may override Authorization)', () => {
    const p = provider({ basic_auth_enabled: true, basic_auth_user_attribute: 'u', basic_auth_password_attribute: 'p' });
    const h = authHeaders(claims({ ak_proxy: { user_attributes: { u: 'bob', p: 'pw', additionalHeaders: { authorization: 'Bearer x', 'X-Extra': 'v' } } } }), p, meta);
    assert.equal(h['authorization'], 'Bearer x');
    assert.equal(h['Authorization'], undefined);
    assert.equal(h['X-Extra'], 'v');
    assert.equal(h['X-authentik-username'], 'alice');
  });
});

describe('sanitizeRequestHeaders (checklist 14)', () => {
  it('drops client-sent X-authentik-* and underscore names, keeps the rest', () => {
    const out = sanitizeRequestHeaders({
      'x-authentik-username': 'mallory',
      'x-authentik-meta-app': 'x',
      x_authentik_username: 'mallory',
      'remote_user': 'root',
      'x-authentikish': 'keep',
      cookie: 'a=b',
      'x-forwarded-for': '1.1.1.1',
    });
    assert.deepEqual(out, { 'x-authentikish': 'keep', cookie: 'a=b', 'x-forwarded-for': '1.1.1.1' });
  });
});

describe('withoutHopByHop (the one hop-by-hop filter, upstream/headers.ts)', () => {
  it('removes the RFC 9110 §7.6.1 set and headers named in Connection', () => {
    assert.ok(HOP_BY_HOP.includes('transfer-encoding'));
    const out = withoutHopByHop({
      connection: 'keep-alive, X-Secret , close',
      'keep-alive': 'timeout=5',
      'x-secret': 's',
      te: 'trailers',
      'transfer-encoding': 'chunked',
      'proxy-authorization': 'Basic x',
      upgrade: 'websocket',
      host: 'app',
      accept: '*/*',
    });
    assert.deepEqual(out, { host: 'app', accept: '*/*' });
  });
  it('keeps the WebSocket upgrade pair when asked', () => {
    const out = withoutHopByHop({ connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'k' }, new Set(['connection', 'upgrade']));
    assert.deepEqual(out, { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'k' });
  });
});
