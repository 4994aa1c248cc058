import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CookieJar, SESSION_COOKIE } from '../../src/flow/cookies.ts';

const EXEC = new URL('http://core.test:9000/api/v3/flows/executor/auth/?query=');
const ME = new URL('http://core.test:9000/api/v3/core/users/me/');

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => { t += ms; } };
}

test('stores name=value and sends it back', () => {
  const jar = new CookieJar();
  jar.store('authentik_session=abc.def; Path=/; HttpOnly; SameSite=Lax', EXEC);
  assert.equal(jar.get(SESSION_COOKIE), 'abc.def');
  assert.equal(jar.header(ME), 'authentik_session=abc.def');
});

test('several cookies, array header, later value replaces earlier', () => {
  const jar = new CookieJar();
  jar.store(['authentik_session=one; Path=/', 'authentik_csrf=tok; Path=/'], EXEC);
  jar.store('authentik_session=two; Path=/', EXEC);
  assert.equal(jar.header(ME), 'authentik_session=two; authentik_csrf=tok');
  assert.equal(jar.size, 2);
});

test('Max-Age=0 and negative delete; Max-Age>0 expires later', () => {
  const c = clock();
  const jar = new CookieJar({ now: c.now });
  jar.store('authentik_session=s; Path=/', EXEC);
  jar.store('authentik_session=""; Path=/; Max-Age=0', EXEC);
  assert.equal(jar.get(SESSION_COOKIE), undefined);
  assert.equal(jar.header(ME), undefined);

  jar.store('a=1; Path=/; Max-Age=10', EXEC);
  jar.store('b=2; Path=/; Max-Age=-1', EXEC);
  assert.equal(jar.header(ME), 'a=1');
  c.advance(10_000);
  assert.equal(jar.get('a'), undefined);
  assert.equal(jar.header(ME), undefined);
});

test('Expires in the past deletes (Django logout style); in the future keeps', () => {
  const c = clock(Date.parse('2024-05-01T00:00:00Z'));
  const jar = new CookieJar({ now: c.now });
  jar.store('authentik_session=s; Path=/', EXEC);
  jar.store('authentik_session=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/', EXEC);
  assert.equal(jar.get(SESSION_COOKIE), undefined);
  jar.store('x=1; Path=/; Expires=Wed, 01 May 2024 00:00:05 GMT', EXEC);
  assert.equal(jar.get('x'), '1');
  c.advance(5_000);
  assert.equal(jar.get('x'), undefined);
});

test('Max-Age wins over Expires', () => {
  const c = clock(Date.parse('2024-05-01T00:00:00Z'));
  const jar = new CookieJar({ now: c.now });
  jar.store('x=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=60', EXEC);
  assert.equal(jar.get('x'), '1');
});

test('Path is honoured; default path is the request directory', () => {
  const jar = new CookieJar();
  jar.store('flowonly=1; Path=/api/v3/flows', EXEC);
  jar.store('dflt=2', new URL('http://core.test:9000/api/v3/flows/executor/auth/'));
  assert.equal(jar.header(EXEC), 'dflt=2; flowonly=1');
  assert.equal(jar.header(ME), undefined);
  // "/api/v3/flowsX" is not under "/api/v3/flows".
  assert.equal(jar.header(new URL('http://core.test:9000/api/v3/flowsX/')), undefined);
});

test('malformed lines are ignored', () => {
  const jar = new CookieJar();
  jar.store(['novalue', '=nameless', '', ' ; Path=/'], EXEC);
  assert.equal(jar.size, 0);
  jar.store('x=1; Max-Age=abc', EXEC); // bad Max-Age is ignored, cookie kept
  assert.equal(jar.get('x'), '1');
});

test('set() injects a session explicitly', () => {
  const jar = new CookieJar();
  jar.set(SESSION_COOKIE, 'kept');
  assert.equal(jar.header(EXEC), 'authentik_session=kept');
});

test('the jar is bounded', () => {
  const jar = new CookieJar();
  for (let i = 0; i < 1000; i++) jar.store(`c${i}=v; Path=/`, EXEC);
  assert.ok(jar.size <= 64);
});
