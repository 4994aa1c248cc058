import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import { STATE_TTL_SECONDS, createState, stateIssuer, verifyState } from '../../../src/proxy/protocol/state.ts';
import { newSessionId } from '../../../src/proxy/protocol/cookie.ts';
import { P1, P2 } from './fixtures.ts';

const T0 = Date.UTC(2026, 0, 1);

describe('OAuth state JWT', () => {
  it('carries authentik’s claims, HS256, a 10-minute exp', async () => {
    const sid = newSessionId();
    const { token, state } = await createState(P1, 'https://app.example.com/x', { sessionId: sid, now: T0 });
    assert.equal(decodeProtectedHeader(token).alg, 'HS256');
    const claims = decodeJwt(token);
    assert.equal(claims.iss, `goauthentik.io/outpost/${P1.client_id}`);
    assert.equal(claims['sid'], sid);
    assert.equal(claims['redirect'], 'https://app.example.com/x');
    assert.match(String(claims['state']), /^[A-Za-z0-9_-]{43}$/);
    assert.equal(claims.exp, T0 / 1000 + STATE_TTL_SECONDS);
    assert.equal(state.sid, sid);
    assert.equal(stateIssuer('x'), 'goauthentik.io/outpost/x');
  });

  it('verifies in the same session before it expires', async () => {
    const sid = newSessionId();
    const { token, state } = await createState(P1, '', { sessionId: sid, now: T0 });
    const r = await verifyState(token, P1, sid, T0 + 599_000);
    assert.ok(r.ok);
    assert.deepEqual(r.state, state);
  });

  it('fails for another session, no session, expiry, another provider, a tampered token', async () => {
    const sid = newSessionId();
    const { token, state } = await createState(P1, '', { sessionId: sid, now: T0 });
    // Another session: refused, with the verified claims (the caller may still redirect a logged-in browser).
    assert.deepEqual(await verifyState(token, P1, newSessionId(), T0), { ok: false, reason: 'session', state });
    assert.deepEqual(await verifyState(token, P1, undefined, T0), { ok: false, reason: 'session', state });
    assert.deepEqual(await verifyState(token, P1, sid, T0 + 601_000), { ok: false, reason: 'expired' });
    assert.deepEqual(await verifyState(token, P2, sid, T0), { ok: false, reason: 'signature' });
    assert.deepEqual(await verifyState(token, { ...P1, client_id: 'other' }, sid, T0), { ok: false, reason: 'issuer' });
    const [h, p, s] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...decodeJwt(token), redirect: 'https://evil.com' })).toString('base64url');
    assert.deepEqual(await verifyState(`${h}.${forged}.${s}`, P1, sid, T0), { ok: false, reason: 'signature' });
    assert.equal((await verifyState(`${h}.${p}.`, P1, sid, T0)).ok, false);
  });

  it('refuses other algorithms, a state without exp, and wrong claim types', async () => {
    const key = new TextEncoder().encode(P1.cookie_secret);
    const sid = newSessionId();
    const base = { sid, state: 's', redirect: '' };
    const hs512 = await new SignJWT(base).setProtectedHeader({ alg: 'HS512' }).setIssuer(stateIssuer(P1.client_id)).setExpirationTime(T0 / 1000 + 60).sign(key);
    assert.equal((await verifyState(hs512, P1, sid, T0)).ok, false);
    const noExp = await new SignJWT(base).setProtectedHeader({ alg: 'HS256' }).setIssuer(stateIssuer(P1.client_id)).sign(key);
    assert.equal((await verifyState(noExp, P1, sid, T0)).ok, false);
    const badType = await new SignJWT({ ...base, redirect: 5 }).setProtectedHeader({ alg: 'HS256' }).setIssuer(stateIssuer(P1.client_id)).setExpirationTime(T0 / 1000 + 60).sign(key);
    assert.deepEqual(await verifyState(badType, P1, sid, T0), { ok: false, reason: 'claims' });
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ ...base, iss: stateIssuer(P1.client_id), exp: T0 / 1000 + 60 })).toString('base64url')}.`;
    assert.equal((await verifyState(none, P1, sid, T0)).ok, false);
  });

  it('never throws on junk', async () => {
    for (const junk of [undefined, null, 1, {}, '', 'a.b', 'a.b.c', '...', 'x'.repeat(20000), '\u0000.\u0000.\u0000']) {
      const r = await verifyState(junk, P1, newSessionId(), T0);
      assert.equal(r.ok, false);
    }
  });

  it('cannot be created with an empty cookie secret or a malformed session ID', async () => {
    await assert.rejects(createState({ ...P1, cookie_secret: '' }, ''));
    await assert.rejects(createState(P1, '', { sessionId: 'nope' }));
  });
});
