// Simple Paged Results (RFC 2696) in both search modes: 250 users in pages of 100, cookies,
// the empty last cookie, invalid/foreign/stale cookies, abandoning, size limits, store bounds.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DevCore } from '../../../src/devcore/index.ts';
import { startDevCore } from '../../../src/devcore/index.ts';
import { CoreApi, createDispatcher } from '../../../src/agent/core-api.ts';
import { ControlOid, decodePagedResultsValue, encodePagedResultsValue, ResultCode, type Control, type SearchRequest } from '../../../src/ldap/protocol/index.ts';
import { LdapDirectory, PagingStore, SnapshotRegistry, type Viewer } from '../../../src/ldap/directory/index.ts';
import { userAgent } from '../../../src/version.ts';
import { AUTHENTIK_VERSIONS } from '../../support/outpost.ts';
import { B, dns, provider, request, TEST_SEED } from './helpers.ts';

const pagedCtl = (size: number, cookie: Buffer = Buffer.alloc(0)): Control => ({ oid: ControlOid.pagedResults, criticality: true, value: encodePagedResultsValue({ size, cookie }) });
const responseOf = (controls: readonly Control[] | undefined) => {
  const c = controls?.find((x) => x.oid === ControlOid.pagedResults);
  assert.ok(c, 'a paged results response control');
  return decodePagedResultsValue(c.value);
};
const USERS = `ou=users,${B}`;
const bench = () => request(USERS, 1, '(cn=user*)');

for (const authentikVersion of AUTHENTIK_VERSIONS) describe(`paged results (authentik ${authentikVersion})`, () => {
  let core: DevCore;
  const dispatcher = createDispatcher({ insecure: false });
  let dirs: LdapDirectory[] = [];
  const all: Viewer = { kind: 'all' };

  before(async () => {
    core = await startDevCore({ seed: TEST_SEED, port: 0, extraUsers: 250, authentikVersion });
    const api = new CoreApi({ host: new URL(core.url), token: 'test-ldap-token', userAgent: userAgent(), dispatcher, timeoutMs: 5000 });
    const registry = new SnapshotRegistry();
    dirs = [new LdapDirectory({ provider: provider({ search_mode: 'cached' }), api, registry }), new LdapDirectory({ provider: provider({ search_mode: 'direct' }), api, registry })];
  });
  after(async () => {
    for (const d of dirs) d.close();
    await core.close();
    await dispatcher.close();
  });

  const page = (dir: LdapDirectory, store: PagingStore, req: SearchRequest, size: number, cookie?: Buffer, viewer: Viewer = all) =>
    dir.search({ viewer, request: req, controls: [pagedCtl(size, cookie)], paging: store });

  for (const mode of ['cached', 'direct'] as const) {
    describe(mode, () => {
      const dir = () => dirs.find((d) => d.mode === mode)!;

      it('pages through 250 users in pages of 100; the last page has an empty cookie', async () => {
        const store = new PagingStore();
        const seen: string[] = [];
        const sizes: number[] = [];
        let cookie: Buffer | undefined;
        for (let i = 0; i < 5; i++) {
          const r = await page(dir(), store, bench(), 100, cookie);
          assert.equal(r.result.resultCode, ResultCode.success);
          const resp = responseOf(r.controls);
          assert.equal(resp.size, 250, 'the total as estimate');
          sizes.push(r.entries.length);
          seen.push(...dns(r.entries));
          if (resp.cookie.length === 0) break;
          cookie = resp.cookie;
        }
        assert.deepEqual(sizes, [100, 100, 50]);
        assert.equal(new Set(seen).size, 250);
        const whole = await dir().search({ viewer: all, request: bench(), controls: [], paging: store });
        assert.deepEqual(seen, dns(whole.entries));
        assert.equal(store.size, 0, 'finished searches leave no state');
      });

      it('a cookie that is unknown, from another connection, already used or for another request → unwillingToPerform', async () => {
        const store = new PagingStore();
        const first = await page(dir(), store, bench(), 100);
        const cookie = responseOf(first.controls).cookie;
        assert.ok(cookie.length > 0);

        const forged = await page(dir(), store, bench(), 100, Buffer.from('not-a-cookie'));
        assert.equal(forged.result.resultCode, ResultCode.unwillingToPerform);
        assert.equal(responseOf(forged.controls).cookie.length, 0);

        const other = await page(dir(), new PagingStore(), bench(), 100, cookie);
        assert.equal(other.result.resultCode, ResultCode.unwillingToPerform, 'cookies are per connection');

        const changed = await page(dir(), store, request(USERS, 1, '(cn=user1*)'), 100, cookie);
        assert.equal(changed.result.resultCode, ResultCode.unwillingToPerform, 'the request changed');
        const again = await page(dir(), store, bench(), 100, cookie);
        assert.equal(again.result.resultCode, ResultCode.unwillingToPerform, 'that paged search is over');
      });

      it('a cookie continued by another identity is refused', async () => {
        const store = new PagingStore();
        const first = await page(dir(), store, bench(), 100);
        const alicePk = Number(core.admin.getUser('alice')!['pk']);
        const r = await page(dir(), store, bench(), 100, responseOf(first.controls).cookie, { kind: 'self', userPk: alicePk });
        assert.equal(r.result.resultCode, ResultCode.unwillingToPerform);
      });

      it('size 0 with a cookie abandons the paged search', async () => {
        const store = new PagingStore();
        const first = await page(dir(), store, bench(), 100);
        const cookie = responseOf(first.controls).cookie;
        const stop = await page(dir(), store, bench(), 0, cookie);
        assert.equal(stop.result.resultCode, ResultCode.success);
        assert.deepEqual(stop.entries, []);
        assert.equal(responseOf(stop.controls).cookie.length, 0);
        assert.equal(store.size, 0);
        assert.equal((await page(dir(), store, bench(), 100, cookie)).result.resultCode, ResultCode.unwillingToPerform);
        const zero = await page(dir(), store, bench(), 0);
        assert.deepEqual([zero.result.resultCode, zero.entries.length], [ResultCode.success, 0]);
      });

      it('sizeLimit applies to the whole paged search', async () => {
        const store = new PagingStore();
        const limited = request(USERS, 1, '(cn=user*)', { sizeLimit: 150 });
        const p1 = await page(dir(), store, limited, 100);
        assert.deepEqual([p1.result.resultCode, p1.entries.length], [ResultCode.success, 100]);
        const p2 = await page(dir(), store, limited, 100, responseOf(p1.controls).cookie);
        assert.deepEqual([p2.result.resultCode, p2.entries.length], [ResultCode.sizeLimitExceeded, 50]);
        assert.equal(responseOf(p2.controls).cookie.length, 0);
        // A page size not smaller than the size limit: one response.
        const one = await page(dir(), store, request(USERS, 1, '(cn=user*)', { sizeLimit: 50 }), 100);
        assert.deepEqual([one.result.resultCode, one.entries.length, responseOf(one.controls).cookie.length], [ResultCode.sizeLimitExceeded, 50, 0]);
      });

      it('errors of the search itself come back at once, with an empty cookie', async () => {
        const r = await page(dir(), new PagingStore(), request(`cn=nobody,${USERS}`, 0, '(objectClass=*)'), 100);
        assert.equal(r.result.resultCode, ResultCode.noSuchObject);
        assert.equal(responseOf(r.controls).cookie.length, 0);
      });
    });
  }

  it('a malformed paged results control is a protocol error', async () => {
    const r = await dirs[0]!.search({ viewer: all, request: bench(), controls: [{ oid: ControlOid.pagedResults, criticality: true, value: Buffer.from([1, 2, 3]) }], paging: new PagingStore() });
    assert.equal(r.result.resultCode, ResultCode.protocolError);
  });

  it('the store is bounded in count and idle time', async () => {
    let now = 1_000_000;
    const store = new PagingStore({ maxSearches: 2, maxIdleMs: 60_000, now: () => now });
    const dir = dirs[0]!;
    const c1 = responseOf((await page(dir, store, bench(), 10)).controls).cookie;
    const c2 = responseOf((await page(dir, store, bench(), 10)).controls).cookie;
    const c3 = responseOf((await page(dir, store, bench(), 10)).controls).cookie;
    assert.equal(store.size, 2);
    assert.equal((await page(dir, store, bench(), 10, c1)).result.resultCode, ResultCode.unwillingToPerform, 'the oldest was dropped');
    now += 30_000;
    const c2b = responseOf((await page(dir, store, bench(), 10, c2)).controls).cookie;
    now += 45_000;
    assert.equal((await page(dir, store, bench(), 10, c3)).result.resultCode, ResultCode.unwillingToPerform, 'idle too long');
    const r = await page(dir, store, bench(), 10, c2b);
    assert.equal(r.result.resultCode, ResultCode.success, 'recently used survives');
    assert.deepEqual(dns(r.entries).length, 10);
  });
});
