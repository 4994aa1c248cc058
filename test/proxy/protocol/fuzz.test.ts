/**
 * Random mutations of valid session cookies and state JWTs never verify and never throw.
 * Seeded, so a failure replays.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newSessionId, signSessionId, verifySessionId } from '../../../src/proxy/protocol/cookie.ts';
import { createState, verifyState } from '../../../src/proxy/protocol/state.ts';
import { prng } from '../../support/random.ts';
import { P1 } from './fixtures.ts';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/% ;\u0000\u00ff';

function mutate(s: string, rnd: () => number): string {
  let out = s;
  const n = 1 + Math.floor(rnd() * 3);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(rnd() * (out.length + 1));
    const ch = ALPHABET[Math.floor(rnd() * ALPHABET.length)]!;
    const op = rnd();
    if (op < 0.5) out = out.slice(0, at) + ch + out.slice(at + 1);
    else if (op < 0.7) out = out.slice(0, at) + ch + out.slice(at);
    else if (op < 0.85) out = out.slice(0, at) + out.slice(at + 1);
    else out = out.slice(0, at) + out.slice(at).split('').reverse().join('');
  }
  return out;
}

describe('fuzz: session cookie', () => {
  it('no mutation of a signed value verifies', () => {
    const rnd = prng(0xc00c1e);
    const secret = P1.cookie_secret;
    for (let i = 0; i < 20000; i++) {
      const id = newSessionId();
      const v = signSessionId(id, secret);
      const m = mutate(v, rnd);
      if (m === v) continue;
      assert.equal(verifySessionId(m, secret), undefined, m);
    }
  });
});

describe('fuzz: state JWT', () => {
  it('no mutation of a state verifies', async () => {
    const rnd = prng(0x57a7e);
    const sid = newSessionId();
    const now = Date.UTC(2026, 0, 1);
    const { token } = await createState(P1, 'https://app.example.com/x', { sessionId: sid, now });
    let checked = 0;
    for (let i = 0; i < 3000; i++) {
      const m = mutate(token, rnd);
      if (m === token) continue;
      const r = await verifyState(m, P1, sid, now);
      // base64url's last character carries spare bits: a mutation there can decode to the same
      // bytes. That is the same token, not a forgery; everything else must fail.
      if (r.ok) {
        const [a, b, c] = m.split('.');
        const [x, y, z] = token.split('.');
        assert.equal(Buffer.from(a!, 'base64url').equals(Buffer.from(x!, 'base64url')), true, m);
        assert.equal(Buffer.from(b!, 'base64url').equals(Buffer.from(y!, 'base64url')), true, m);
        assert.equal(Buffer.from(c!, 'base64url').equals(Buffer.from(z!, 'base64url')), true, m);
      }
      checked++;
    }
    assert.ok(checked > 2500);
  });
});
