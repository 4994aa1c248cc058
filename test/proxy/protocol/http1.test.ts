import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ChunkedBodyReader,
  readRequestHead,
  readResponseHead,
  type RequestHeadRead,
  type ResponseHead,
  type ResponseHeadRead,
  type SimpleRequestHead,
} from '../../../src/proxy/protocol/http1.ts';
import { mutateBytes as mutate, prng } from '../../support/random.ts';

const MAX = 16384;

function b(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

function req(s: string, max = MAX): RequestHeadRead {
  return readRequestHead(b(s), max);
}

function simple(s: string, max = MAX): SimpleRequestHead {
  const r = req(s, max);
  assert.equal(r.kind, 'simple', JSON.stringify(s));
  return (r as { head: SimpleRequestHead }).head;
}

function other(s: string, max = MAX): void {
  assert.equal(req(s, max).kind, 'other', JSON.stringify(s));
}

/** A request with the given lines after the request line. */
function get(...fields: string[]): string {
  return `GET / HTTP/1.1\r\n${fields.map((f) => `${f}\r\n`).join('')}\r\n`;
}

const BROWSER =
  'GET /app/index.html?x=1&y=%20 HTTP/1.1\r\n' +
  'Host: app.example.com\r\n' +
  'User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n' +
  'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n' +
  'Accept-Language: en-US,en;q=0.5\r\n' +
  'Accept-Encoding: gzip, deflate, br, zstd\r\n' +
  'Connection: keep-alive\r\n' +
  'Cookie: authentik_proxy_abc=xyz; other=1\r\n' +
  'Upgrade-Insecure-Requests: 1\r\n' +
  'Sec-Fetch-Dest: document\r\n' +
  'Priority: u=0, i\r\n' +
  '\r\n';

describe('readRequestHead: simple', () => {
  it('reads a typical browser GET', () => {
    const h = simple(BROWSER);
    assert.equal(h.method, 'GET');
    assert.equal(h.target, '/app/index.html?x=1&y=%20');
    assert.equal(h.length, BROWSER.length);
    assert.equal(h.keepAlive, true);
    assert.equal(h.headers.host, 'app.example.com');
    assert.equal(h.headers['accept-encoding'], 'gzip, deflate, br, zstd');
    assert.equal(h.headers['upgrade-insecure-requests'], '1');
    assert.equal(Object.keys(h.headers).length, 10);
    assert.equal(Object.getPrototypeOf(h.headers), null);
  });

  it('reads HEAD, and leaves the bytes after the head alone', () => {
    const head = 'HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n';
    const h = simple(`${head}GET / HTTP/1.1\r\n`);
    assert.equal(h.method, 'HEAD');
    assert.equal(h.target, '/x');
    assert.equal(h.length, head.length);
  });

  it('lower-cases names and trims SP/HTAB around values, keeping inner ones', () => {
    const h = simple(get('HOST:a', 'X-A: \t v  w \t ', 'x-empty:', 'X-Ws: \t '));
    assert.equal(h.headers.host, 'a');
    assert.equal(h.headers['x-a'], 'v  w');
    assert.equal(h.headers['x-empty'], '');
    assert.equal(h.headers['x-ws'], '');
    assert.equal(h.headers.HOST, undefined);
  });

  it('accepts every tchar in a name', () => {
    const h = simple(get('Host: a', "!#$%&'*+-.^_`|~09azAZ: v"));
    assert.equal(h.headers["!#$%&'*+-.^_`|~09azaz"], 'v');
  });

  it('keeps `__proto__` as a plain key of a null-prototype object', () => {
    const h = simple(get('Host: a', '__proto__: polluted', 'constructor: c'));
    assert.equal(Object.getPrototypeOf(h.headers), null);
    assert.equal(h.headers['__proto__'], 'polluted');
    assert.ok(Object.hasOwn(h.headers, '__proto__'));
    assert.equal(h.headers.constructor, 'c');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('accepts a target of every byte 0x21–0x7E', () => {
    let t = '/';
    for (let c = 0x21; c <= 0x7e; c++) t += String.fromCharCode(c);
    assert.equal(simple(`GET ${t} HTTP/1.1\r\nHost: a\r\n\r\n`).target, t);
  });
});

describe('readRequestHead: incomplete and early other', () => {
  it('is incomplete for an empty buffer and any prefix of a simple head', () => {
    assert.equal(req('').kind, 'incomplete');
    for (let i = 1; i < BROWSER.length; i++) assert.equal(req(BROWSER.slice(0, i)).kind, 'incomplete', `at ${i}`);
    const head = 'HEAD / HTTP/1.1\r\nHost: a\r\n\r\n';
    for (let i = 1; i < head.length; i++) assert.equal(req(head.slice(0, i)).kind, 'incomplete', `at ${i}`);
  });

  it('is other as soon as the bytes cannot start `GET /` or `HEAD /`', () => {
    for (const s of ['P', 'POST', 'g', 'get /', 'GE ', 'GET  ', 'GET *', 'GET h', 'HEAD http', 'HEA /', 'OPTIONS', ' GET', '\r\n']) other(s);
  });

  it('is other once a bare LF has come, without waiting for the end', () => {
    other('GET / HTTP/1.1\nHost: a\n');
    other('GET / HTTP/1.1\r\nHost: a\n');
    other('GET / HTTP/1.1\r\nHost: a\r\n\n');
  });

  it('is other once more lines have come than fields are allowed', () => {
    const lines = (n: number) => `GET / HTTP/1.1\r\n${Array.from({ length: n }, (_, i) => `X-${i}: v\r\n`).join('')}`;
    assert.equal(req(lines(100)).kind, 'incomplete');
    other(lines(101));
  });
});

describe('readRequestHead: request line', () => {
  it('refuses anything but `GET|HEAD <origin-form> HTTP/1.1`', () => {
    for (const line of [
      'GET / HTTP/1.0',
      'GET / HTTP/2.0',
      'GET / http/1.1',
      'GET / HTTP/1.1 ',
      'GET /  HTTP/1.1',
      'GET / HTTP/1.11',
      'GET /',
      'GET / ',
      'GET http://a/ HTTP/1.1',
      'GET * HTTP/1.1',
      'POST / HTTP/1.1',
      'PUT / HTTP/1.1',
      'OPTIONS * HTTP/1.1',
      'CONNECT a:443 HTTP/1.1',
      'get / HTTP/1.1',
      'Get / HTTP/1.1',
      'GET\t/ HTTP/1.1',
      'GET /a\tb HTTP/1.1',
      'GET /\x7f HTTP/1.1',
      'GET /\xe9 HTTP/1.1',
      'GET /\x00 HTTP/1.1',
      'GET /a\rb HTTP/1.1',
    ]) {
      other(`${line}\r\nHost: a\r\n\r\n`);
    }
  });
});

describe('readRequestHead: line endings and field syntax', () => {
  it('refuses a bare LF or a bare CR anywhere', () => {
    other('GET / HTTP/1.1\nHost: a\r\n\r\n');
    other('GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n');
    other('GET / HTTP/1.1\r\nHost: a\r\nX: b\rc\r\n\r\n');
    other('GET / HTTP/1.1\r\nHost: a\r\r\n\r\n');
    other('GET / HTTP/1.1\r\nHost: a\r\n\r\r\n\r\n');
    other('GET / HTTP/1.1\r\nHost: a\r\n\n\r\n\r\n');
  });

  it('refuses obs-fold', () => {
    other(get('Host: a', 'X-A: b', ' c'));
    other(get('Host: a', 'X-A: b', '\tc'));
    other(get(' Host: a'));
  });

  it('refuses whitespace before the colon, an empty name, a non-tchar name, no colon', () => {
    other(get('Host : a'));
    other(get('Host\t: a'));
    other(get('Host: a', ': b'));
    other(get('Host: a', 'X(y): b'));
    other(get('Host: a', 'X"y: b'));
    other(get('Host: a', 'X/y: b'));
    other(get('Host: a', 'Xy b'));
    other(get('Host: a', 'X\xe9: b'));
  });

  it('refuses non-ASCII, controls and DEL in a value', () => {
    other(get('Host: a', 'X: caf\xe9'));
    other(get('Host: a', 'X: \x80'));
    other(get('Host: a', 'X: a\x00b'));
    other(get('Host: a', 'X: a\x01b'));
    other(get('Host: a', 'X: a\x7fb'));
    other(get('Host: a', 'X: a\x1bb'));
    assert.equal(simple(get('Host: a', 'X: a\tb ~!')).headers.x, 'a\tb ~!');
  });

  it('refuses a repeated name, whatever its case', () => {
    other(get('Host: a', 'X-A: 1', 'X-A: 2'));
    other(get('Host: a', 'X-A: 1', 'x-a: 1'));
    other(get('Host: a', 'Cookie: a=1', 'Cookie: b=2'));
    other(get('Host: a', 'HOST: a'));
    other(get('Host: a', '__proto__: a', '__PROTO__: b'));
  });

  it('takes 100 fields and refuses 101', () => {
    const fields = (n: number) => ['Host: a', ...Array.from({ length: n - 1 }, (_, i) => `X-${i}: v`)];
    assert.equal(Object.keys(simple(get(...fields(100))).headers).length, 100);
    other(get(...fields(101)));
  });
});

describe('readRequestHead: semantic fields', () => {
  it('requires a Host, non-empty and without whitespace', () => {
    other(get());
    other(get('X-Host: a'));
    other(get('Host:'));
    other(get('Host: a b'));
    assert.equal(simple(get('Host: [::1]:8080')).headers.host, '[::1]:8080');
  });

  it('delegates a body, an upgrade, an expectation', () => {
    other(get('Host: a', 'Content-Length: 0'));
    other(get('Host: a', 'content-length: 5'));
    other(get('Host: a', 'Transfer-Encoding: chunked'));
    other(get('Host: a', 'Upgrade: websocket', 'Connection: Upgrade'));
    other(get('Host: a', 'Upgrade: h2c'));
    other(get('Host: a', 'Expect: 100-continue'));
    other(get('Host: a', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA'));
  });

  it('reads Connection: keep-alive and close tokens, case-insensitively', () => {
    assert.equal(simple(get('Host: a')).keepAlive, true);
    assert.equal(simple(get('Host: a', 'Connection: keep-alive')).keepAlive, true);
    assert.equal(simple(get('Host: a', 'Connection: Keep-Alive')).keepAlive, true);
    assert.equal(simple(get('Host: a', 'Connection: close')).keepAlive, false);
    assert.equal(simple(get('Host: a', 'Connection: CLOSE')).keepAlive, false);
    assert.equal(simple(get('Host: a', 'Connection: keep-alive, close')).keepAlive, false);
    assert.equal(simple(get('Host: a', 'Connection: keep-alive , ,close')).keepAlive, false);
    assert.equal(simple(get('Host: a', 'Connection: ')).keepAlive, true);
    assert.equal(simple(get('Host: a', 'Connection: close')).headers.connection, 'close');
  });

  it('delegates any other Connection token', () => {
    other(get('Host: a', 'Connection: upgrade'));
    other(get('Host: a', 'Connection: keep-alive, Upgrade'));
    other(get('Host: a', 'Connection: X-Secret'));
    other(get('Host: a', 'Connection: close x'));
    other(get('Host: a', 'Connection: te'));
  });
});

describe('readRequestHead: maxBytes', () => {
  const head = get('Host: a', 'X-Pad: 0123456789');
  it('takes a head of exactly maxBytes and refuses one a byte larger', () => {
    assert.equal(simple(head, head.length).length, head.length);
    other(head, head.length - 1);
  });
  it('is other when maxBytes have come without the end of the head', () => {
    assert.equal(req(head.slice(0, 20), 21).kind, 'incomplete');
    other(head.slice(0, 20), 20);
    other(head.slice(0, 20), 10);
  });
  it('counts only the head when more bytes follow it', () => {
    assert.equal(simple(`${head}GET / HTTP/1.1\r\nHost: a\r\n\r\n`, head.length).length, head.length);
  });
});

// ---------------------------------------------------------------------------------------------

function res(s: string, method: 'GET' | 'HEAD' = 'GET', max = MAX): ResponseHeadRead {
  return readResponseHead(b(s), max, method);
}

function head(s: string, method: 'GET' | 'HEAD' = 'GET', max = MAX): ResponseHead {
  const r = res(s, method, max);
  assert.equal(r.kind, 'head', `${JSON.stringify(s)}: ${JSON.stringify(r)}`);
  return (r as { head: ResponseHead }).head;
}

function invalid(s: string, method: 'GET' | 'HEAD' = 'GET', max = MAX): void {
  const r = res(s, method, max);
  assert.equal(r.kind, 'invalid', JSON.stringify(s));
  assert.ok((r as { reason: string }).reason.length > 0);
}

function resp(status: string, ...fields: string[]): string {
  return `HTTP/1.1 ${status}\r\n${fields.map((f) => `${f}\r\n`).join('')}\r\n`;
}

describe('readResponseHead: status line', () => {
  it('reads status, reason, length', () => {
    const s = resp('200 OK', 'Content-Length: 5');
    const h = head(`${s}hello`);
    assert.equal(h.status, 200);
    assert.equal(h.reason, 'OK');
    assert.equal(h.length, s.length);
    assert.deepEqual(h.headers, [['content-length', '5']]);
  });

  it('takes an empty or absent reason, and one with obs-text and HTAB', () => {
    assert.equal(head('HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n').reason, '');
    assert.equal(head('HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n').reason, '');
    assert.equal(head('HTTP/1.1 200 Tr\xe8s\tbien \r\nContent-Length: 0\r\n\r\n').reason, 'Tr\xe8s\tbien ');
    assert.equal(head('HTTP/1.1 599 x\r\nContent-Length: 0\r\n\r\n').status, 599);
  });

  it('refuses any other status line', () => {
    for (const line of [
      'HTTP/1.1 200OK',
      'HTTP/1.1  200 OK',
      'HTTP/1.1 20 OK',
      'HTTP/1.1 2000 OK',
      'HTTP/1.1 600 X',
      'HTTP/1.1 099 X',
      'HTTP/1.1 abc X',
      'HTTP/2 200 OK',
      'HTTP/1.2 200 OK',
      'HTTP/2.0 200 OK',
      'http/1.1 200 OK',
      'ICY 200 OK',
      'HTTP/1.1 200 O\x00K',
      'HTTP/1.1 200 O\x7fK',
      'HTTP/1.1 200 O\rK',
      'HTTP/1.1\t200 OK',
    ]) {
      invalid(`${line}\r\nContent-Length: 0\r\n\r\n`);
    }
  });

  it('is incomplete for each prefix of a valid head, invalid early for garbage', () => {
    const s = resp('200 OK', 'Content-Length: 0', 'Set-Cookie: a=1');
    assert.equal(res('').kind, 'incomplete');
    for (let i = 1; i < s.length; i++) assert.equal(res(s.slice(0, i)).kind, 'incomplete', `at ${i}`);
    for (const g of ['X', 'HTTP/2', 'HTTP/1.1 6', 'HTTP/1.1 20x', 'HTTP/1.1 200x', 'HTTP/1.1 200\n', 'HTTP/1.1 200 OK\r\nA: b\n']) invalid(g);
  });
});

describe('readResponseHead: fields', () => {
  it('keeps repeated names in order (Set-Cookie)', () => {
    const h = head(resp('200 OK', 'Set-Cookie: a=1; Path=/', 'Content-Length: 0', 'set-cookie: b=2'));
    assert.deepEqual(h.headers, [
      ['set-cookie', 'a=1; Path=/'],
      ['content-length', '0'],
      ['set-cookie', 'b=2'],
    ]);
  });

  it('allows obs-text in a value, trims SP/HTAB', () => {
    const h = head(resp('200 OK', 'X-Name: \t caf\xe9 \xff ', 'Content-Length: 0'));
    assert.deepEqual(h.headers[0], ['x-name', 'caf\xe9 \xff']);
  });

  it('refuses NUL, controls, DEL, bare CR or LF, obs-fold, space before the colon', () => {
    invalid(resp('200 OK', 'X: a\x00b', 'Content-Length: 0'));
    invalid(resp('200 OK', 'X: a\x01b', 'Content-Length: 0'));
    invalid(resp('200 OK', 'X: a\x7fb', 'Content-Length: 0'));
    invalid(resp('200 OK', 'X: a\rb', 'Content-Length: 0'));
    invalid('HTTP/1.1 200 OK\r\nX: a\nContent-Length: 0\r\n\r\n');
    invalid('HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n');
    invalid(resp('200 OK', 'X: a', ' b', 'Content-Length: 0'));
    invalid(resp('200 OK', 'X : a', 'Content-Length: 0'));
    invalid(resp('200 OK', 'Content-Length : 5'));
    invalid(resp('200 OK', ': a', 'Content-Length: 0'));
    invalid(resp('200 OK', 'X\xe9: a', 'Content-Length: 0'));
  });

  it('takes 200 fields and refuses 201', () => {
    const fields = (n: number) => Array.from({ length: n }, (_, i) => `X-${i}: v`);
    assert.equal(head(resp('204 No Content', ...fields(200))).headers.length, 200);
    invalid(resp('204 No Content', ...fields(201)));
  });

  it('refuses a head over maxBytes, or no head end within maxBytes', () => {
    const s = resp('200 OK', 'Content-Length: 0');
    assert.equal(head(s, 'GET', s.length).length, s.length);
    invalid(s, 'GET', s.length - 1);
    assert.equal(res(s.slice(0, 20), 'GET', 21).kind, 'incomplete');
    invalid(s.slice(0, 20), 'GET', 20);
  });
});

describe('readResponseHead: 1xx', () => {
  it('returns an interim 103 with Links, then the head that follows', () => {
    const early = resp('103 Early Hints', 'Link: </style.css>; rel=preload; as=style', 'Link: </app.js>; rel=preload; as=script');
    const final = resp('200 OK', 'Content-Length: 2');
    const buf = b(`${early}${final}ok`);
    const r = readResponseHead(buf, MAX, 'GET');
    assert.deepEqual(r, { kind: 'interim', status: 103, length: early.length });
    const h = readResponseHead(buf.subarray(early.length), MAX, 'GET');
    assert.equal(h.kind, 'head');
    assert.equal((h as { head: ResponseHead }).head.status, 200);
  });

  it('returns 100 and 102 as interim, still validating their fields', () => {
    assert.deepEqual(res('HTTP/1.1 100 Continue\r\n\r\n'), { kind: 'interim', status: 100, length: 25 });
    assert.equal(res(resp('102 Processing')).kind, 'interim');
    invalid(resp('100 Continue', 'X: a\x00'));
  });

  it('refuses 101 (no upgrade was asked)', () => {
    invalid(resp('101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade'));
  });
});

describe('readResponseHead: framing', () => {
  it('Content-Length', () => {
    assert.deepEqual(head(resp('200 OK', 'Content-Length: 42')).framing, { kind: 'length', length: 42 });
    assert.deepEqual(head(resp('200 OK', 'Content-Length: 0')).framing, { kind: 'length', length: 0 });
    assert.deepEqual(head(resp('200 OK', 'Content-Length: 5', 'Content-Length: 5')).framing, { kind: 'length', length: 5 });
    assert.deepEqual(head(resp('200 OK', 'Content-Length: 999999999999999')).framing, { kind: 'length', length: 999999999999999 });
    assert.deepEqual(head(resp('200 OK', 'Content-Length:\t7 ')).framing, { kind: 'length', length: 7 });
  });

  it('refuses a bad or conflicting Content-Length', () => {
    for (const v of ['', '-1', '+5', '5 5', '5,5', '5, 5', '0x5', '1e3', '5.0', '1234567890123456', '\xb5']) {
      invalid(resp('200 OK', `Content-Length: ${v}`));
    }
    invalid(resp('200 OK', 'Content-Length: 5', 'Content-Length: 6'));
  });

  it('chunked', () => {
    const h = head(resp('200 OK', 'Transfer-Encoding: chunked'));
    assert.deepEqual(h.framing, { kind: 'chunked' });
    assert.equal(h.keepAlive, true);
    assert.deepEqual(head(resp('200 OK', 'transfer-encoding:  Chunked ')).framing, { kind: 'chunked' });
  });

  it('refuses any Transfer-Encoding but a lone chunked, and chunked with Content-Length or in 1.0', () => {
    invalid(resp('200 OK', 'Transfer-Encoding: gzip, chunked'));
    invalid(resp('200 OK', 'Transfer-Encoding: chunked, chunked'));
    invalid(resp('200 OK', 'Transfer-Encoding: gzip'));
    invalid(resp('200 OK', 'Transfer-Encoding: identity'));
    invalid(resp('200 OK', 'Transfer-Encoding: chunked;q=1'));
    invalid(resp('200 OK', 'Transfer-Encoding: '));
    invalid(resp('200 OK', 'Transfer-Encoding: gzip', 'Transfer-Encoding: chunked'));
    invalid(resp('200 OK', 'Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'));
    invalid(resp('200 OK', 'Transfer-Encoding: chunked', 'Content-Length: 5'));
    invalid(resp('200 OK', 'Content-Length: 5', 'Transfer-Encoding: chunked'));
    invalid('HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
  });

  it('close-delimited without either', () => {
    const h = head(resp('200 OK', 'Content-Type: text/plain'));
    assert.deepEqual(h.framing, { kind: 'close' });
    assert.equal(h.keepAlive, false);
  });

  it('none for HEAD, 204 and 304, whatever CL/TE say', () => {
    assert.deepEqual(head(resp('200 OK', 'Content-Length: 100'), 'HEAD').framing, { kind: 'none' });
    assert.deepEqual(head(resp('200 OK', 'Transfer-Encoding: gzip, chunked'), 'HEAD').framing, { kind: 'none' });
    assert.deepEqual(head(resp('200 OK'), 'HEAD').framing, { kind: 'none' });
    assert.equal(head(resp('200 OK'), 'HEAD').keepAlive, true);
    assert.deepEqual(head(resp('204 No Content')).framing, { kind: 'none' });
    assert.deepEqual(head(resp('304 Not Modified', 'Content-Length: 1234')).framing, { kind: 'none' });
    assert.deepEqual(head(resp('304 Not Modified', 'Transfer-Encoding: chunked', 'Content-Length: 2')).framing, { kind: 'none' });
  });
});

describe('readResponseHead: contentLength', () => {
  it('is the one length the fields give, for any framing', () => {
    assert.equal(head(resp('200 OK', 'Content-Length: 5', 'Content-Length: 05')).contentLength, 5);
    assert.equal(head(resp('200 OK', 'Content-Length: 1234'), 'HEAD').contentLength, 1234);
    assert.equal(head(resp('304 Not Modified', 'Content-Length: 7', 'Content-Length: 7')).contentLength, 7);
  });
  it('is undefined without one, or when a HEAD, 204 or 304 answer\'s fields are unusable', () => {
    assert.equal(head(resp('200 OK', 'Transfer-Encoding: chunked')).contentLength, undefined);
    assert.equal(head(resp('200 OK')).contentLength, undefined);
    assert.equal(head(resp('200 OK', 'Content-Length: 5', 'Content-Length: 6'), 'HEAD').contentLength, undefined);
    assert.equal(head(resp('204 No Content', 'Content-Length: x')).contentLength, undefined);
  });
});

describe('readResponseHead: keepAlive', () => {
  it('is true for HTTP/1.1 with a framed body', () => {
    assert.equal(head(resp('200 OK', 'Content-Length: 0')).keepAlive, true);
    assert.equal(head(resp('200 OK', 'Connection: keep-alive', 'Content-Length: 0')).keepAlive, true);
  });
  it('is false for Connection: close in any field, any case', () => {
    assert.equal(head(resp('200 OK', 'Connection: close', 'Content-Length: 0')).keepAlive, false);
    assert.equal(head(resp('200 OK', 'Connection: Keep-Alive, CLOSE', 'Content-Length: 0')).keepAlive, false);
    assert.equal(head(resp('200 OK', 'Connection: keep-alive', 'Connection: close', 'Content-Length: 0')).keepAlive, false);
    assert.equal(head(resp('200 OK', 'Connection: closed', 'Content-Length: 0')).keepAlive, true);
  });
  it('is false for HTTP/1.0 even with keep-alive', () => {
    const h = head('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc');
    assert.deepEqual(h.framing, { kind: 'length', length: 3 });
    assert.equal(h.keepAlive, false);
  });
});

// ---------------------------------------------------------------------------------------------

/** Feeds the pieces in turn; returns the total bytes taken, the error, or where it ended. */
function runChunked(pieces: readonly Buffer[]): { taken: number; done: boolean; error: string | undefined } {
  const r = new ChunkedBodyReader();
  let taken = 0;
  for (const p of pieces) {
    const n = r.feed(p);
    if (n === -1) return { taken: -1, done: r.done, error: r.error };
    assert.ok(n >= 0 && n <= p.length);
    taken += n;
    if (r.done) return { taken, done: true, error: r.error };
    assert.equal(n, p.length);
  }
  return { taken, done: r.done, error: r.error };
}

function chunked(s: string): { taken: number; done: boolean; error: string | undefined } {
  return runChunked([b(s)]);
}

function chunkedError(s: string): void {
  const r = chunked(s);
  assert.equal(r.taken, -1, JSON.stringify(s));
  assert.equal(r.done, true);
  assert.ok(r.error !== undefined && r.error.length > 0);
}

const BODY =
  '5\r\nhello\r\n' +
  'A;name=value;x="q s"\r\n0123456789\r\n' +
  '1a \t;ext\r\n' + 'abcdefghijklmnopqrstuvwxyz\r\n' +
  '00000000000000F\r\n\r\n\r\n0\r\n\r\n56789X\r\n' + // data that looks like framing
  '0;last\r\n' +
  'Expires: never\r\nX-Checksum:\tcaf\xe9\r\n' +
  '\r\n';

describe('ChunkedBodyReader', () => {
  it('reads a simple body', () => {
    assert.deepEqual(chunked('5\r\nhello\r\n0\r\n\r\n'), { taken: 15, done: true, error: undefined });
    assert.deepEqual(chunked('0\r\n\r\n'), { taken: 5, done: true, error: undefined });
  });

  it('reads extensions, BWS before `;`, upper and lower hex, trailers', () => {
    assert.deepEqual(chunked(BODY), { taken: BODY.length, done: true, error: undefined });
  });

  it('stays unfinished while the body goes on, returning each chunk’s length', () => {
    const r = new ChunkedBodyReader();
    assert.equal(r.feed(b('5\r\nhel')), 6);
    assert.equal(r.done, false);
    assert.equal(r.feed(b('')), 0);
    assert.equal(r.feed(b('lo\r\n0\r\n\r')), 8);
    assert.equal(r.done, false);
    assert.equal(r.error, undefined);
    assert.equal(r.feed(b('\n')), 1);
    assert.equal(r.done, true);
  });

  it('gives the same result split at every position, in two or three pieces', () => {
    const all = b(BODY);
    for (let i = 0; i <= all.length; i++) {
      assert.deepEqual(runChunked([all.subarray(0, i), all.subarray(i)]), { taken: all.length, done: true, error: undefined }, `at ${i}`);
    }
    for (let i = 0; i <= all.length; i += 3) {
      for (let j = i; j <= all.length; j += 2) {
        const r = runChunked([all.subarray(0, i), all.subarray(i, j), all.subarray(j)]);
        assert.equal(r.taken, all.length, `at ${i}, ${j}`);
      }
    }
  });

  it('gives the same result byte by byte', () => {
    const all = b(BODY);
    const bytes = Array.from({ length: all.length }, (_, i) => all.subarray(i, i + 1));
    assert.deepEqual(runChunked(bytes), { taken: all.length, done: true, error: undefined });
  });

  it('stops at the body’s end, leaving the next response’s bytes', () => {
    const next = 'HTTP/1.1 200 OK\r\n';
    const all = b(BODY + next);
    assert.equal(new ChunkedBodyReader().feed(all), BODY.length);
    for (let i = 0; i <= all.length; i++) {
      assert.equal(runChunked([all.subarray(0, i), all.subarray(i)]).taken, BODY.length, `at ${i}`);
    }
  });

  it('refuses to be fed after the end', () => {
    const r = new ChunkedBodyReader();
    assert.equal(r.feed(b('0\r\n\r\n')), 5);
    assert.throws(() => r.feed(b('x')));
  });

  it('refuses a bad size', () => {
    for (const s of ['\r\n', 'g\r\n', '-5\r\n', '+5\r\n', ' 5\r\n', '0x5\r\n', ';a\r\n', '5 \r\n', '5 x\r\n', '5\n', '5\r\r\n', '5\rx']) {
      chunkedError(`${s}hello\r\n0\r\n\r\n`);
    }
  });

  it('takes 16 hex digits up to MAX_SAFE_INTEGER, refuses more', () => {
    const r = new ChunkedBodyReader();
    assert.equal(r.feed(b('001FFFFFFFFFFFFF\r\nabc')), 21);
    assert.equal(r.done, false);
    chunkedError('0020000000000000\r\n');
    chunkedError('FFFFFFFFFFFFFFFF\r\n');
    chunkedError('00000000000000001\r\n');
    chunkedError('10000000000000000\r\n');
  });

  it('refuses a bad byte in an extension', () => {
    chunkedError('5;a\x00\r\nhello\r\n0\r\n\r\n');
    chunkedError('5;\xe9\r\nhello\r\n0\r\n\r\n');
    chunkedError('5;a\nhello\r\n0\r\n\r\n');
  });

  it('refuses a size line over 4096 bytes', () => {
    const ext = (n: number) => `5;${'x'.repeat(n - 2)}\r\nhello\r\n0\r\n\r\n`;
    assert.equal(chunked(ext(4096)).done, true);
    assert.equal(chunked(ext(4096)).error, undefined);
    chunkedError(ext(4097));
  });

  it('refuses data not followed by exactly CRLF', () => {
    chunkedError('5\r\nhello!\r\n0\r\n\r\n');
    chunkedError('5\r\nhell\r\n0\r\n\r\n');
    chunkedError('5\r\nhello\n0\r\n\r\n');
    chunkedError('5\r\nhello\r0\r\n\r\n');
    chunkedError('5\r\nhello0\r\n\r\n');
  });

  it('refuses a bad trailer section', () => {
    chunkedError('0\r\nX : a\r\n\r\n');
    chunkedError('0\r\n: a\r\n\r\n');
    chunkedError('0\r\nX: a\r\n b\r\n\r\n');
    chunkedError('0\r\nX: a\x00\r\n\r\n');
    chunkedError('0\r\nX: a\n\r\n');
    chunkedError('0\r\nX\r\n\r\n');
    chunkedError('0\r\n\rx');
    chunkedError('0\r\n\n');
  });

  it('refuses a trailer section over 16384 bytes', () => {
    const trailers = (n: number) => `0\r\nX: ${'v'.repeat(n - 7)}\r\n\r\n`; // n bytes after the last-chunk line
    assert.deepEqual(chunked(trailers(16384)), { taken: 16384 + 3, done: true, error: undefined });
    chunkedError(trailers(16385));
  });
});

// ---------------------------------------------------------------------------------------------

/** The head a simple request reads as, written back in the strict grammar. */
function reserialize(h: SimpleRequestHead): string {
  return `${h.method} ${h.target} HTTP/1.1\r\n${Object.entries(h.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
}

describe('fuzz (seeded)', () => {
  it('a mutated request is never misread: a simple one reads the same once rewritten', () => {
    const rnd = prng(0x5eed);
    const src = b(BROWSER);
    for (let i = 0; i < 3000; i++) {
      const m = mutate(src, rnd);
      const r = readRequestHead(m, MAX);
      if (r.kind !== 'simple') continue;
      const h = r.head;
      assert.ok(h.length <= m.length);
      assert.equal(m.toString('latin1', h.length - 4, h.length), '\r\n\r\n');
      assert.ok(/^[\x21-\x7e]+$/.test(h.target) && h.target.startsWith('/'));
      for (const [k, v] of Object.entries(h.headers)) {
        assert.match(k, /^[!#$%&'*+\-.^_`|~0-9a-z]+$/);
        assert.match(v, /^(?:[\x21-\x7e](?:[\t\x20-\x7e]*[\x21-\x7e])?)?$/);
      }
      const again = readRequestHead(b(reserialize(h)), MAX);
      assert.equal(again.kind, 'simple');
      assert.deepEqual({ ...(again as { head: SimpleRequestHead }).head.headers }, { ...h.headers });
    }
  });

  it('a mutated response or chunked body never throws, and reads within its bytes', () => {
    const rnd = prng(0xc0ffee);
    const head = b(resp('200 OK', 'Content-Type: text/html', 'Transfer-Encoding: chunked', 'Set-Cookie: a=1'));
    const body = b(BODY);
    for (let i = 0; i < 3000; i++) {
      const r = readResponseHead(mutate(head, rnd), MAX, 'GET');
      if (r.kind === 'head' || r.kind === 'interim') assert.ok(r.kind === 'head' ? r.head.length <= head.length + 3 : r.length > 0);
      const m = mutate(body, rnd);
      const n = new ChunkedBodyReader().feed(m);
      assert.ok(n === -1 || (n >= 0 && n <= m.length));
    }
  });
});
