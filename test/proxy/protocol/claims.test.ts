import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseClaims } from '../../../src/proxy/protocol/claims.ts';

describe('parseClaims', () => {
  it('keeps the fields the proxy uses, from a full authentik token', () => {
    const r = parseClaims({
      iss: 'http://ak/application/o/app/',
      aud: 'client',
      sub: 'U1',
      exp: 1_800_000_000,
      iat: 1_799_999_700,
      email: 'a@x',
      email_verified: true,
      name: 'Alice',
      preferred_username: 'alice',
      groups: ['g1', 'g2'],
      entitlements: ['e1'],
      sid: 'H1',
      ak_proxy: { user_attributes: { additionalHeaders: { 'X-Extra': 'v' } }, is_superuser: true, backend_override: 'http://b:1', host_header: 'h' },
    });
    assert.ok(r.ok);
    assert.equal(r.claims.preferred_username, 'alice');
    assert.deepEqual(r.claims.groups, ['g1', 'g2']);
    assert.deepEqual(r.claims.entitlements, ['e1']);
    assert.equal(r.claims.ak_proxy?.is_superuser, true);
    assert.equal(r.claims.ak_proxy?.backend_override, 'http://b:1');
    assert.equal(r.claims.ak_proxy?.host_header, 'h');
    assert.equal('iss' in r.claims, false);
  });

  it('tolerates missing and null optional fields', () => {
    const r = parseClaims({ sub: 'U1', exp: 1, email: null, groups: null, ak_proxy: { user_attributes: null } });
    assert.ok(r.ok);
    assert.equal(r.claims.email, '');
    assert.equal(r.claims.name, '');
    assert.deepEqual(r.claims.groups, []);
    assert.deepEqual(r.claims.entitlements, []);
    assert.equal(r.claims.email_verified, false);
    assert.deepEqual(r.claims.ak_proxy?.user_attributes, {});
    assert.equal(r.claims.ak_proxy?.backend_override, undefined);
  });

  it('leaves ak_proxy undefined when the scope was not granted', () => {
    const r = parseClaims({ sub: 'U1', exp: 1 });
    assert.ok(r.ok);
    assert.equal(r.claims.ak_proxy, undefined);
  });

  it('drops non-string group names instead of failing the login', () => {
    const r = parseClaims({ sub: 'U1', exp: 1, groups: ['a', 1, null, 'b'] });
    assert.ok(r.ok);
    assert.deepEqual(r.claims.groups, ['a', 'b']);
  });

  it('fails without sub or exp, naming the field, and never throws', () => {
    const r = parseClaims({ exp: 1 });
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.error, /^sub:/);
    assert.equal(parseClaims({ sub: 'U1' }).ok, false);
    for (const junk of [null, undefined, 'x', 1, [], { sub: '', exp: 1 }]) assert.equal(parseClaims(junk).ok, false);
  });
});
