/**
 * Random mutations of valid session cookies and state JWTs never verify and never throw; mutated
 * request heads the fast path takes read the same to Node's own parser. Seeded, so a failure
 * replays.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newSessionId, signSessionId, verifySessionId } from '../../../src/proxy/protocol/cookie.ts';
import { createState, verifyState } from '../../../src/proxy/protocol/state.ts';
import { readRequestHead } from '../../../src/proxy/protocol/http1.ts';
import { FRAMING_BYTES, mutateBytes as mutateWith, prng } from '../../support/random.ts';
import { nodeRead } from '../fast/node-parser.ts';
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

// What the fast path takes, Node's server must read the same way: its method, target, fields,
// keep-alive, no body, and the next request starting exactly where the fast path says the head
// ended (anything else would let one request mean two things: smuggling). Node's own parser
// (llhttp, strict, as its server runs it) reads every mutated head the fast path calls simple.

/** Byte mutations, biased to the bytes framing, field syntax and targets turn on. */
const REQUEST_BYTES = [...FRAMING_BYTES, 0x2f, 0x3f, 0x23, 0x25, 0x5f, 0x2d, 0x22, 0x5c, 0x40];
const mutateBytes = (src: Buffer, rnd: () => number) => mutateWith(src, rnd, REQUEST_BYTES, 4);

const FIELD_LINES = [
  'Content-Length: 0', 'Transfer-Encoding: chunked', 'Connection: close', 'Connection: upgrade', 'Upgrade: websocket', 'Expect: 100-continue',
  'Host: other.example.com', 'X-A: 1', 'Connection: keep-alive, close', 'TE: trailers', 'Content-Length: 5', 'Transfer-Encoding: identity', 'X-authentik-username: x',
];
const BASE_REQUEST =
  'GET /app/index.html?x=1&y=%20 HTTP/1.1\r\nHost: app.example.com\r\nUser-Agent: Mozilla/5.0\r\nAccept: */*\r\nConnection: keep-alive\r\nCookie: authentik_proxy_abc=xyz; c=d\r\n\r\n';
const NEXT_REQUEST = 'GET /__next HTTP/1.1\r\nHost: next.example.com\r\n\r\n';

describe('fuzz: the fast path\'s request heads against Node\'s parser', () => {
  it('every head the fast path takes, Node reads the same, and the next request where the fast path says it starts', () => {
    const rnd = prng(0x11ae7);
    let taken = 0;
    for (let i = 0; i < 40_000; i++) {
      let text = BASE_REQUEST;
      if (rnd() < 0.3) {
        const lines = text.split('\r\n');
        lines.splice(1 + Math.floor(rnd() * 5), 0, FIELD_LINES[Math.floor(rnd() * FIELD_LINES.length)]!);
        text = lines.join('\r\n');
      }
      if (rnd() < 0.2) text = text.replace('GET', 'HEAD');
      const m = mutateBytes(Buffer.from(text, 'latin1'), rnd);
      const r = readRequestHead(m, 16 * 1024);
      if (r.kind !== 'simple') continue;
      taken++;
      const h = r.head;
      const what = JSON.stringify(m.toString('latin1'));
      // After `Connection: close` Node reads nothing more on the connection.
      const read = nodeRead('request', Buffer.concat([m.subarray(0, h.length), Buffer.from(h.keepAlive ? NEXT_REQUEST : '', 'latin1')]));
      assert.equal(read.error, undefined, what);
      const [first, next] = read.messages;
      assert.ok(first?.complete, what);
      assert.equal(first.method, h.method, what);
      assert.equal(first.url, h.target, what);
      assert.equal(first.upgrade, false, what);
      assert.equal(first.keepAlive, h.keepAlive, what);
      assert.equal(first.body, '', what);
      const fields: Record<string, string> = {};
      for (let j = 0; j < first.headers.length; j += 2) {
        const name = first.headers[j]!.toLowerCase();
        assert.equal(fields[name], undefined, `${what}: ${name} twice`);
        fields[name] = first.headers[j + 1]!;
      }
      assert.deepEqual(fields, { ...h.headers }, what);
      if (h.keepAlive) assert.equal(next?.url, '/__next', what);
      else assert.equal(read.messages.length, 1, what);
    }
    assert.ok(taken > 3_000, `${taken} heads taken`);
  });
});
