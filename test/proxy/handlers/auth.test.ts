// A refused `rd` is logged without what may be a secret: the query, the fragment, user info.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loggableRedirect } from '../../../src/proxy/handlers/auth.ts';

describe('loggableRedirect', () => {
  it('drops the query, the fragment and user info; keeps the rest (cut to 200 characters)', () => {
    assert.equal(loggableRedirect('https://evil.example/x?code=secret#t'), 'https://evil.example/x');
    assert.equal(loggableRedirect('https://user:hunter2@evil.example/p?token=t'), 'https://evil.example/p');
    assert.equal(loggableRedirect('https://only-user@evil.example/'), 'https://evil.example/');
    assert.equal(loggableRedirect('//evil.example/a'), '//evil.example/a');
    assert.equal(loggableRedirect(`https://x/${'a'.repeat(500)}`).length, 200);
  });
});
