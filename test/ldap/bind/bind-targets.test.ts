// Bind DNs are resolved to provider, username and cache key once per DN string and provider set.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BindTargets } from '../../../src/ldap/bind/bind-targets.ts';
import { parseDn } from '../../../src/ldap/protocol/index.ts';
import type { ProviderInstance } from '../../../src/ldap/providers.ts';

const provider = (name: string, base: string) => ({ config: { name }, base: parseDn(base) }) as unknown as ProviderInstance;

describe('bind targets', () => {
  it('resolves like parsing each time: provider by longest base, username, canonical cache key', () => {
    const outer = provider('outer', 'dc=example,dc=com');
    const inner = provider('inner', 'ou=app,dc=example,dc=com');
    const t = new BindTargets();
    t.reset([outer, inner]);
    const a = t.resolve('CN=Alice, ou=users,OU=App,dc=example,dc=com');
    assert.equal(a.kind, 'ok');
    if (a.kind === 'ok') {
      assert.equal(a.provider, inner);
      assert.equal(a.username, 'Alice');
      assert.equal(a.cacheKey, 'cn=alice,ou=users,ou=app,dc=example,dc=com');
    }
    assert.equal(t.resolve('uid=bob,dc=example,dc=com').kind, 'ok');
    assert.deepEqual(t.resolve('not a dn'), { kind: 'invalid' });
    assert.deepEqual(t.resolve('ou=users,dc=example,dc=com'), { kind: 'unserved', provider: outer });
    assert.deepEqual(t.resolve('cn=x,dc=other'), { kind: 'unserved', provider: undefined });
    assert.equal(t.resolve('CN=Alice, ou=users,OU=App,dc=example,dc=com'), a, 'the same answer, remembered');
  });

  it('forgets every answer when the providers change, and the oldest past its size', () => {
    const p = provider('p', 'dc=example,dc=com');
    const t = new BindTargets(2);
    t.reset([p]);
    const first = t.resolve('cn=a,dc=example,dc=com');
    t.reset([]);
    assert.deepEqual(t.resolve('cn=a,dc=example,dc=com'), { kind: 'unserved', provider: undefined });
    t.reset([p]);
    const again = t.resolve('cn=a,dc=example,dc=com');
    assert.notEqual(again, first);
    t.resolve('cn=b,dc=example,dc=com');
    t.resolve('cn=c,dc=example,dc=com');
    assert.notEqual(t.resolve('cn=a,dc=example,dc=com'), again, 'the oldest was forgotten');
  });

  it('remembers only served DNs of a bounded length (bind DNs come from the client)', () => {
    const p = provider('p', 'dc=example,dc=com');
    const t = new BindTargets();
    t.reset([p]);
    const long = `cn=${'a'.repeat(2000)},dc=example,dc=com`;
    const first = t.resolve(long);
    assert.equal(first.kind, 'ok');
    assert.notEqual(t.resolve(long), first, 'a long DN is resolved again');
    const huge = 'x'.repeat(100_000);
    assert.deepEqual(t.resolve(huge), { kind: 'invalid' });
    const unserved = t.resolve('cn=x,dc=other');
    assert.notEqual(t.resolve('cn=x,dc=other'), unserved, 'a DN no provider serves is not remembered');
  });
});
