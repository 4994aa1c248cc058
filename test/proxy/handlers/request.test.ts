// The request's URL as the pipeline judges it: a Host that is not a host cannot move the
// target into the fragment, the query or another path (and hide a login signature).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { requestUrl } from '../../../src/proxy/handlers/request.ts';

describe('requestUrl', () => {
  it('keeps a real Host, with its port', () => {
    const u = requestUrl('https', 'App.example.com:8443', '/a/b?x=1');
    assert.equal(u.host, 'app.example.com:8443');
    assert.equal(u.pathname, '/a/b');
    assert.equal(u.search, '?x=1');
  });

  it('a Host that is not a host leaves the path and query as sent', () => {
    for (const host of ['app.example.com#', 'x?', 'x/y', 'user@x', 'a b', '']) {
      const u = requestUrl('http', host, '/secret?X-authentik-auth-callback=true&code=c');
      assert.equal(u.hostname, 'invalid.invalid', host);
      assert.equal(u.pathname, '/secret', host);
      assert.equal(u.searchParams.get('X-authentik-auth-callback'), 'true', host);
    }
  });
});
