import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { urlRedactor } from '../../../src/proxy/sessions/redact-url.ts';

describe('urlRedactor', () => {
  it('hides the URL, its userinfo and its password, raw and decoded', () => {
    const url = 'postgres://outpost:p%40ss-w0rd@db.internal:5432/sessions';
    const redact = urlRedactor(url);
    const text = redact(`connect ${url} failed; user outpost:p%40ss-w0rd; password p@ss-w0rd rejected`);
    assert.ok(!text.includes('p%40ss-w0rd') && !text.includes('p@ss-w0rd'), text);
    assert.ok(!text.includes(url), text);
    assert.match(text, /^connect \*\*\* failed/);
  });

  it('hides password-like query parameters, as pg and ioredis read them', () => {
    const url = 'postgres://db.internal/sessions?user=outpost&password=q%2Bsecret+1&sslpassword=key-pass-99&sslmode=require';
    const redact = urlRedactor(url);
    for (const secret of ['q%2Bsecret+1', 'q+secret 1', 'q+secret+1', 'key-pass-99']) {
      assert.equal(redact(`the server said: ${secret}.`), 'the server said: ***.', secret);
    }
    // What is not a secret stays readable: the host, the user, the other parameters.
    assert.equal(redact('db.internal outpost require'), 'db.internal outpost require');
    const redis = urlRedactor('redis://cache:6379/0?password=redis-pw-7');
    assert.equal(redis('WRONGPASS redis-pw-7'), 'WRONGPASS ***');
  });

  it('leaves very short values alone (they would blank unrelated text)', () => {
    const redact = urlRedactor('redis://:ab@cache:6379?password=xy');
    assert.equal(redact('table abxy'), 'table abxy');
  });
});
