// The fast path (src/proxy/fast/, handlers/fast-proxy.ts) against the full pipeline: two outposts
// on the same core and the same upstream, one with AUTHENTIK_PROXY__FAST_PATH=false. Whatever a
// logged-in user sends, the upstream must receive the same request and the client the same
// answer from both; the fast one must really serve it (its counter), hand everything else to
// Node's server on the same connection, and never let a request pass without a session.
import { strict as assert } from 'node:assert';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { browserLogin, call, Jar, startProxyStack, until, type ProxyStack } from '../e2e/support.ts';
import { Client } from 'undici';
import type { SeedDocument } from '../../../src/devcore/seed.ts';
import type { Reply } from '../support/client.ts';
import { STATIC_PREFIX } from '../../../src/proxy/handlers/static.ts';
import { STATIC_FILES } from '../../../src/proxy/static/assets.ts';

const APP = 'https://app.example.com';
const HOST = 'app.example.com';
const BIG = 4 * 1024 * 1024;
/** A body whose every byte depends on its position (printable ASCII): a reused read buffer or a misplaced chunk shows. */
const PATTERN = Buffer.from(Array.from({ length: BIG }, (_, i) => 0x21 + ((i * 7 + (i >> 13)) % 90)));

/** A raw upstream: one answer per path, keep-alive, each request head recorded as received. */
interface RawUpstream {
  readonly port: number;
  /** Request heads received (lines after the request line, names lower-cased), by path. */
  readonly heads: Map<string, string[]>;
  readonly connections: number;
  /** Which connection (1, 2, …) carried each path. */
  readonly connectionOf: Map<string, number>;
  close(): Promise<void>;
}

function answer(path: string, socket: Socket, head: string): boolean {
  const json = JSON.stringify({ path });
  switch (path.split('?')[0]) {
    case '/chunked':
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nx-trailer: t\r\n\r\n');
      return true;
    case '/close':
      socket.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nuntil the end');
      return false;
    case '/nocontent':
      socket.write('HTTP/1.1 204 No Content\r\nx-a: 1\r\n\r\n');
      return true;
    case '/hints':
      socket.write('HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n');
      socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${json.length}\r\n\r\n${json}`);
      return true;
    case '/hints-split':
      // An interim answer and the start of the final head in one read, the rest in a longer
      // second read: the kept start must not be a view of a buffer the second read reuses.
      socket.write('HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nx-first: 1');
      setTimeout(() => socket.write(`\r\nx-long: ${'y'.repeat(300)}\r\ncontent-length: 2\r\n\r\nok`), 30);
      return true;
    case '/cookies':
      socket.write(
        'HTTP/1.1 201 Made\r\nset-cookie: a=1; Path=/\r\nset-cookie: b=2\r\nconnection: keep-alive, x-private\r\nx-private: gone\r\n' +
          'keep-alive: timeout=9\r\nproxy-authenticate: Basic\r\nx-powered-by: upstream\r\ncontent-length: 2\r\n\r\nok',
      );
      return true;
    case '/big':
      socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: ${BIG}\r\n\r\n`);
      for (let i = 0; i < BIG; i += 65_000) socket.write(PATTERN.subarray(i, i + 65_000));
      return true;
    case '/big-chunked': {
      // The head in three writes, then chunks of uneven sizes, each size line written apart from its data.
      const head = 'HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ntransfer-encoding: chunked\r\n\r\n';
      socket.write(head.slice(0, 10));
      setTimeout(() => socket.write(head.slice(10, 40)), 5);
      setTimeout(() => {
        socket.write(head.slice(40));
        let i = 0;
        for (let n = 1; i < BIG; n = (n * 31 + 7) % 100_003) {
          const part = PATTERN.subarray(i, i + n + 1);
          i += part.length;
          socket.write(`${part.length.toString(16)}\r\n`);
          socket.write(Buffer.concat([part, Buffer.from('\r\n')]));
        }
        socket.write('0\r\n\r\n');
      }, 10);
      return true;
    }
    case '/reset':
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\nonly ten b');
      setTimeout(() => socket.destroy(), 20);
      return false;
    case '/slow': {
      const body = JSON.stringify({ path, slow: true });
      setTimeout(() => socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`), 400);
      return true;
    }
    case '/garbage':
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n');
      return true;
    default:
      socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${json.length}\r\nx-head-lines: ${head.split('\r\n').length - 1}\r\n\r\n${json}`);
      return true;
  }
}

async function startRawUpstream(): Promise<RawUpstream> {
  const heads = new Map<string, string[]>();
  const connectionOf = new Map<string, number>();
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    const n = ++connections;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end !== -1; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const [line, ...fields] = head.split('\r\n');
        const path = line!.split(' ')[1]!;
        heads.set(path, fields.map((f) => f.replace(/^([^:]+):/, (_, name: string) => `${name.toLowerCase()}:`)).sort());
        connectionOf.set(path, n);
        if (!answer(path, socket, head)) return;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    heads,
    connectionOf,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Raw bytes on one connection; resolves with everything read once `done(text)` holds or the server closes. */
function rawOn(port: number, chunks: readonly string[], done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer; got: ${text.slice(0, 500)}`));
    }, 5_000);
    socket.on('connect', () => {
      for (const c of chunks) socket.write(c);
    });
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (done(text)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(text);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
}

/**
 * The seed edit pointing P1 (proxy mode) at `port`. Alice's group also gives her a hop-by-hop
 * `additionalHeaders` name, which neither path may forward.
 */
function toUpstream(port: number): (doc: SeedDocument) => void {
  return (doc) => {
    for (const p of doc.providers ?? []) if (p.type === 'proxy' && p.name === 'p1-proxy') p.internal_host = `http://127.0.0.1:${port}`;
    for (const g of doc.groups ?? []) {
      if (g.name !== 'g1') continue;
      const extra = (g.attributes?.['additionalHeaders'] ?? {}) as Record<string, unknown>;
      g.attributes = { ...g.attributes, additionalHeaders: { ...extra, 'Proxy-Authorization': 'Basic from-attributes' } };
    }
  };
}

async function fastCount(stack: ProxyStack): Promise<number> {
  const text = await (await fetch(`${stack.outpost.metricsUrl}/metrics`)).text();
  const m = /^authentik_outpost_proxy_fast_path_requests_total (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

/** What a client can compare between the two outposts: everything but the date. */
function visible(r: Reply): { status: number; headers: Record<string, unknown>; body: string } {
  const headers: Record<string, unknown> = { ...r.headers };
  delete headers['date'];
  return { status: r.status, headers, body: r.body };
}

describe('the proxy fast path', () => {
  let upstream: RawUpstream;
  const stacks: Record<'fast' | 'slow', ProxyStack> = {} as Record<'fast' | 'slow', ProxyStack>;
  const jars: Record<'fast' | 'slow', Jar> = { fast: new Jar(), slow: new Jar() };
  const origin = (k: 'fast' | 'slow') => `http://127.0.0.1:${stacks[k].httpPort}`;
  // A new connection per request: a connection Node's server took over (the login's) stays with it.
  const get = async (k: 'fast' | 'slow', path: string, opts: { method?: string; headers?: Record<string, string> } = {}) => {
    const client = new Client(origin(k));
    try {
      return await call(origin(k), path, { host: HOST, jar: jars[k], dispatcher: client, ...opts });
    } finally {
      await client.close();
    }
  };

  before(async () => {
    upstream = await startRawUpstream();
    const edit = toUpstream(upstream.port);
    stacks.fast = await startProxyStack({ authentikVersion: '2026.8', edit });
    stacks.slow = await startProxyStack({ authentikVersion: '2026.8', edit, env: { AUTHENTIK_PROXY__FAST_PATH: 'false' } });
    for (const k of ['fast', 'slow'] as const) {
      const done = await browserLogin(stacks[k], `${APP}/`, jars[k], new Jar());
      assert.equal(done.status, 302, done.body);
    }
  });
  after(async () => {
    await stacks.fast?.close();
    await stacks.slow?.close();
    await upstream?.close();
  });

  test('a logged-in GET: the upstream gets the same request (identity headers, X-Forwarded-*, no client X-authentik-*) and the client the same answer', async () => {
    const before = await fastCount(stacks.fast);
    // x-extra is one of alice's additionalHeaders: the identity value replaces the client's.
    const spoof = { 'x-authentik-username': 'mallory', 'x-real_ip': '6.6.6.6', accept: 'text/html', 'x-forwarded-for': '10.9.8.7', 'x-extra': 'from-client' };
    const replies = { fast: await get('fast', '/same?a=1&b=2', { headers: spoof }), slow: await get('slow', '/same?a=1&b=2', { headers: spoof }) };
    assert.equal(await fastCount(stacks.fast), before + 1, 'served on the fast path');
    assert.deepEqual(visible(replies.fast), visible(replies.slow));
    assert.equal(replies.fast.headers['x-powered-by'], 'goauthentik.io');
    assert.match(String(replies.fast.headers['date']), /GMT$/);
    // Both went to the same upstream: compare the two heads it recorded (the session's cookie differs).
    const heads = await Promise.all([get('fast', '/head-fast', { headers: spoof }), get('slow', '/head-slow', { headers: spoof })]);
    assert.ok(heads.every((h) => h.status === 200));
    // Each stack has its own core (its own JWKS URL) and session (cookie, token).
    const norm = (lines: string[]) => lines.filter((l) => !/^(cookie|x-authentik-jwt|x-authentik-meta-jwks):/.test(l));
    const fastHead = upstream.heads.get('/head-fast')!;
    assert.deepEqual(norm(fastHead), norm(upstream.heads.get('/head-slow')!));
    assert.ok(fastHead.includes('x-authentik-username: alice'), fastHead.join('\n'));
    assert.deepEqual(fastHead.filter((l) => l.startsWith('x-extra:')), ['x-extra: v']);
    assert.ok(!fastHead.some((l) => l.includes('mallory') || l.startsWith('x-real_ip')), 'client identity headers never reach the upstream');
    assert.ok(!fastHead.some((l) => l.startsWith('proxy-authorization:')), 'a hop-by-hop additionalHeaders name is not forwarded');
    assert.ok(fastHead.includes(`x-forwarded-host: ${HOST}`));
    assert.ok(fastHead.some((l) => l.startsWith('x-authentik-jwt: ey')));
  });

  test('the access line: authentik\'s keys, the same on both paths (the path only, never the query)', async () => {
    const sizes: number[] = [];
    const served = await fastCount(stacks.fast);
    for (const k of ['fast', 'slow'] as const) {
      // Raw bytes, with a dot segment the client would otherwise resolve: both log the parsed URL's path.
      const text = await rawOn(
        stacks[k].httpPort,
        [`GET /x/../logged-${k}?code=secret-code HTTP/1.1\r\nHost: ${HOST}\r\nCookie: ${jars[k].header()}\r\nUser-Agent: agent "quoted"\r\nConnection: close\r\n\r\n`],
        () => false,
      );
      assert.match(text, /^HTTP\/1\.1 200 /);
      sizes.push(Buffer.byteLength(text.slice(text.indexOf('\r\n\r\n') + 4), 'latin1'));
    }
    const line = (k: 'fast' | 'slow') => {
      const found = stacks[k].outpost.logs.lines.filter((l) => l['event'] === `/logged-${k}`);
      assert.equal(found.length, 1, `one access line on the ${k} path`);
      const { timestamp, request_id, runtime, event, ...rest } = found[0]!;
      assert.match(String(timestamp), /Z$/);
      assert.match(String(request_id), /^[0-9a-f-]{36}$/);
      assert.match(String(runtime), /^\d+\.\d{3}$/);
      return { keys: Object.keys(found[0]!), rest };
    };
    assert.equal(await fastCount(stacks.fast), served + 1, 'the fast outpost served it on its fast path');
    const fast = line('fast');
    const slow = line('slow');
    assert.equal(sizes[0], sizes[1]);
    assert.deepEqual(fast.rest, slow.rest);
    assert.deepEqual(fast.keys, slow.keys);
    assert.deepEqual(fast.rest, {
      level: 'info', logger: 'authentik.outpost.proxyv2.application', name: 'p1-proxy',
      host: HOST, method: 'GET', scheme: 'http', remote: '127.0.0.1', status: 200, size: sizes[0], user_agent: 'agent "quoted"', user: 'alice',
    });
    assert.ok(!stacks.fast.outpost.logs.raw.some((l) => l.includes('secret-code')));
  });

  test('the access line\'s size for the outpost\'s own answers: a static file\'s bytes, none for HEAD', async () => {
    const path = `${STATIC_PREFIX}${[...Object.keys(STATIC_FILES)][0]}`;
    const lines = stacks.slow.outpost.logs.lines;
    const got = await get('slow', path);
    assert.equal(got.status, 200);
    assert.equal(lines.findLast((l) => l['event'] === path)?.['size'], Buffer.byteLength(got.body));
    const head = await get('slow', path, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(lines.findLast((l) => l['event'] === path)?.['size'], 0);
  });

  for (const path of ['/chunked', '/close', '/nocontent', '/hints', '/hints-split', '/cookies']) {
    test(`the upstream's framing and headers reach the client as through the pipeline: ${path}`, async () => {
      const before = await fastCount(stacks.fast);
      const fast = await get('fast', path);
      const slow = await get('slow', path);
      assert.deepEqual(visible(fast), visible(slow));
      assert.equal(await fastCount(stacks.fast), before + 1);
      // The access line's size: the body's bytes as the client got them, on both paths.
      const size = (k: 'fast' | 'slow') => stacks[k].outpost.logs.lines.findLast((l) => l['event'] === path)?.['size'];
      assert.equal(size('fast'), Buffer.byteLength(fast.body));
      assert.equal(size('slow'), Buffer.byteLength(slow.body));
      if (path === '/cookies') {
        assert.equal(fast.status, 201);
        assert.deepEqual(fast.setCookies, ['a=1; Path=/', 'b=2']);
        assert.equal(fast.headers['x-private'], undefined, 'a name listed in Connection is hop-by-hop');
        assert.equal(fast.headers['proxy-authenticate'], undefined);
      }
      if (path === '/chunked') assert.equal(fast.body, 'hello, world');
      if (path === '/hints-split') {
        assert.equal(fast.status, 200);
        assert.equal(fast.headers['x-first'], '1');
        assert.equal(fast.headers['x-long'], 'y'.repeat(300));
        assert.equal(fast.body, 'ok');
      }
      if (path === '/close') assert.equal(fast.body, 'until the end');
    });
  }

  test('HEAD: the head only, and the connection stays usable', async () => {
    const text = await rawOn(
      stacks.fast.httpPort,
      [`HEAD /same HTTP/1.1\r\nHost: ${HOST}\r\nCookie: ${jars.fast.header()}\r\n\r\nGET /after-head HTTP/1.1\r\nHost: ${HOST}\r\nCookie: ${jars.fast.header()}\r\n\r\n`],
      (t) => t.includes('"/after-head"'),
    );
    const answers = text.split('HTTP/1.1 ').slice(1);
    assert.equal(answers.length, 2, text);
    assert.match(answers[0]!, /^200 OK\r\n[\s\S]*content-length: \d+\r\n[\s\S]*\r\n\r\n$/);
    assert.match(answers[1]!, /"\/after-head"/);
  });

  test('pipelined requests are answered in order on one connection', async () => {
    const req = (p: string) => `GET ${p} HTTP/1.1\r\nHost: ${HOST}\r\nCookie: ${jars.fast.header()}\r\n\r\n`;
    const text = await rawOn(stacks.fast.httpPort, [req('/p1') + req('/chunked') + req('/p3')], (t) => t.includes('"/p3"'));
    const order = ['"/p1"', 'hello', '"/p3"'].map((s) => text.indexOf(s));
    assert.ok(order.every((i, n) => i > 0 && (n === 0 || i > order[n - 1]!)), text);
  });

  test('a request the fast path does not take goes to the pipeline on the same connection, with nothing lost', async () => {
    const cookie = jars.fast.header();
    const text = await rawOn(
      stacks.fast.httpPort,
      [
        `GET /first HTTP/1.1\r\nHost: ${HOST}\r\nCookie: ${cookie}\r\n\r\n`,
        `POST /posted HTTP/1.1\r\nHost: ${HOST}\r\nCookie: ${cookie}\r\nContent-Length: 4\r\n\r\nbody`,
        `GET /third HTTP/1.1\r\nHost: ${HOST}\r\nCookie: ${cookie}\r\nConnection: close\r\n\r\n`,
      ],
      (t) => t.includes('"/third"'),
    );
    for (const p of ['"/first"', '"/posted"', '"/third"']) assert.ok(text.includes(p), `${p} answered:\n${text}`);
  });

  test('without a session nothing passes: no cookie, a forged cookie, another provider; each gets the pipeline\'s answer', async () => {
    const hits = upstream.heads.size;
    for (const cookie of [undefined, 'authentik_proxy_AbCdEfGh=forged.value', `${jars.fast.header()!.replace(/=.{4}/, '=AAAA')}`]) {
      const r = await call(origin('fast'), '/secret-path', { host: HOST, headers: cookie ? { cookie } : {} });
      assert.equal(r.status, 302, `cookie ${cookie}`);
      assert.match(r.location ?? '', /\/outpost\.goauthentik\.io\/start\?rd=/);
    }
    assert.equal(upstream.heads.has('/secret-path'), false);
    assert.equal(upstream.heads.size, hits);
  });

  test('a login signature in the query, even percent-encoded, is the pipeline\'s, never the upstream\'s', async () => {
    const before = await fastCount(stacks.fast);
    // A callback without code or state: the pipeline refuses it (and leaves the session alone).
    for (const q of ['X-authentik-auth-callback=true', 'X%2Dauthentik%2Dauth-callback=true']) {
      const client = new Client(origin('fast'));
      const r = await call(origin('fast'), `/signed?${q}`, { host: HOST, headers: { cookie: jars.fast.header()! }, dispatcher: client });
      await client.close();
      assert.notEqual(r.status, 200, `${q}: ${r.status}`);
      assert.equal(upstream.heads.has(`/signed?${q}`), false, q);
    }
    // A fragment (no browser sends one, a raw client may) is not part of the query, for either path.
    const fragment = await rawOn(stacks.fast.httpPort, [`GET /signed?X-authentik-auth-callback=true#x HTTP/1.1\r\nHost: ${HOST}\r\nCookie: ${jars.fast.header()}\r\nConnection: close\r\n\r\n`], () => false);
    assert.doesNotMatch(fragment, /^HTTP\/1\.1 200 /, fragment.slice(0, 200));
    assert.equal([...upstream.heads.keys()].some((k) => k.startsWith('/signed')), false);
    assert.equal(await fastCount(stacks.fast), before);
  });

  test('smuggling attempts are not taken by the fast path: Node answers them as before', async () => {
    const cookie = jars.fast.header();
    const te = await rawOn(
      stacks.fast.httpPort,
      [`GET /x HTTP/1.1\r\nHost: ${HOST}\r\nCookie: ${cookie}\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`],
      () => false,
    );
    assert.match(te, /^HTTP\/1\.1 400 /);
    const fold = await rawOn(stacks.fast.httpPort, [`GET /y HTTP/1.1\r\nHost: ${HOST}\r\nCookie: ${cookie}\r\nX-A: 1\r\n folded\r\n\r\n`], () => false);
    assert.match(fold, /^HTTP\/1\.1 400 /);
    assert.equal(upstream.heads.has('/smuggled'), false);
    // Two Host headers: not the fast path's to judge; Node's server answers as it always did.
    const before = await fastCount(stacks.fast);
    const twoHosts = (port: number, c: string | undefined) =>
      rawOn(port, [`GET /z HTTP/1.1\r\nHost: ${HOST}\r\nHost: other.example.com\r\nCookie: ${c}\r\nConnection: close\r\n\r\n`], () => false);
    const [viaFast, viaSlow] = [await twoHosts(stacks.fast.httpPort, cookie), await twoHosts(stacks.slow.httpPort, jars.slow.header())];
    assert.equal(viaFast.split('\r\n')[0], viaSlow.split('\r\n')[0]);
    assert.equal(await fastCount(stacks.fast), before);
  });

  test('a large body streams through with backpressure and arrives whole, byte for byte (length-framed and chunked, head in pieces)', async () => {
    for (const path of ['/big', '/big-chunked']) {
      const before = await fastCount(stacks.fast);
      const r = await get('fast', path);
      assert.equal(r.status, 200);
      assert.equal(await fastCount(stacks.fast), before + 1, 'on the fast path');
      assert.equal(r.body.length, BIG, path);
      assert.ok(r.body === PATTERN.toString('latin1'), `${path}: the body arrived unchanged`);
    }
    // Clients that stop reading now and then, several at once (their upstream reads share one
    // buffer): the outpost pauses each upstream, and nothing is lost, reordered or overwritten.
    const stalling = (path: string) =>
      new Promise<Buffer>((resolve, reject) => {
        const socket = connect(stacks.fast.httpPort, '127.0.0.1');
        const chunks: Buffer[] = [];
        let reads = 0;
        socket.on('connect', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\nCookie: ${jars.fast.header()}\r\nConnection: close\r\n\r\n`));
        socket.on('data', (d: Buffer) => {
          chunks.push(d);
          // Stalled long enough for the kernel's buffers to fill and the outpost's writes to queue.
          if (++reads % 64 === 1) {
            socket.pause();
            setTimeout(() => socket.resume(), 150);
          }
        });
        socket.on('error', reject);
        socket.on('close', () => resolve(Buffer.concat(chunks)));
      });
    const texts = await Promise.all(['/big', '/big', '/big', '/big'].map(stalling));
    for (const text of texts) {
      const bodyAt = text.indexOf('\r\n\r\n') + 4;
      assert.match(text.subarray(0, 15).toString('latin1'), /^HTTP\/1\.1 200 /);
      assert.ok(text.subarray(bodyAt).equals(PATTERN), 'each body arrived unchanged');
    }
  });

  test('an upstream that resets mid-body: the client connection is cut, not a short body that looks whole', async () => {
    const text = await rawOn(stacks.fast.httpPort, [`GET /reset HTTP/1.1\r\nHost: ${HOST}\r\nCookie: ${jars.fast.header()}\r\n\r\n`], () => false);
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.ok(text.endsWith('only ten b'), 'the connection closed after the partial body');
    const next = await get('fast', '/after-reset');
    assert.equal(next.status, 200, 'the outpost serves on');
  });

  test('a response with ambiguous framing is refused with the 502 page, and the upstream connection is not reused', async () => {
    const before = upstream.connections;
    const r = await get('fast', '/garbage');
    assert.equal(r.status, 502);
    assert.match(r.body, /Bad Gateway/);
    const next = await get('fast', '/after-garbage');
    assert.equal(next.status, 200);
    assert.ok(upstream.connections >= before);
    assert.notEqual(upstream.connectionOf.get('/after-garbage'), upstream.connectionOf.get('/garbage'), 'the connection of the bad answer was not used again');
  });

  test('upstream connections are kept alive and reused', async () => {
    const before = upstream.connections;
    for (let i = 0; i < 20; i++) assert.equal((await get('fast', `/reuse-${i}`)).status, 200);
    assert.ok(upstream.connections - before <= 1, `${upstream.connections - before} new upstream connections for 20 requests`);
  });

  test('stopping: an idle connection is closed at once, a response in flight is finished first, then its connection closed', async () => {
    const stack = await startProxyStack({ authentikVersion: '2026.8', edit: toUpstream(upstream.port) });
    try {
      const jar = new Jar();
      assert.equal((await browserLogin(stack, `${APP}/`, jar, new Jar())).status, 302);
      const req = (p: string) => `GET ${p} HTTP/1.1\r\nHost: ${HOST}\r\nCookie: ${jar.header()}\r\n\r\n`;
      // Idle: one request answered, the connection kept open.
      const idle = connect(stack.httpPort, '127.0.0.1');
      idle.on('error', () => {});
      let idleText = '';
      idle.on('data', (d: Buffer) => (idleText += d.toString('latin1')));
      const idleClosed = new Promise<number>((resolve) => idle.on('close', () => resolve(Date.now())));
      idle.write(req('/before-stop'));
      await until('the first answer', () => idleText.includes('"/before-stop"'));
      // Busy: a request the upstream answers in 400 ms.
      const busy = rawOn(stack.httpPort, [req('/slow')], (t) => t.includes('"slow":true'));
      await new Promise((r) => setTimeout(r, 100));
      const started = Date.now();
      await stack.listener.stop(AbortSignal.timeout(5_000));
      const stoppedAfter = Date.now() - started;
      assert.ok((await idleClosed) - started < 300, 'the idle connection was closed at once');
      assert.match(await busy, /^HTTP\/1\.1 200 OK[\s\S]*"slow":true/, 'the response in flight was finished');
      assert.ok(stoppedAfter < 2_000, `stop waited for the response only (${stoppedAfter} ms)`);
    } finally {
      await stack.close();
    }
  });

  test('an upstream that is down: the 502 page, as through the pipeline', async () => {
    await upstream.close();
    try {
      const fast = await get('fast', '/down');
      const slow = await get('slow', '/down');
      assert.equal(fast.status, 502);
      assert.equal(slow.status, 502);
      assert.equal(fast.headers['content-type'], slow.headers['content-type']);
      assert.match(fast.body, /Error proxying to upstream server: cannot reach/);
      for (const [k, r] of [['fast', fast], ['slow', slow]] as const) {
        const line = stacks[k].outpost.logs.lines.findLast((l) => l['event'] === '/down');
        assert.equal(line?.['status'], 502, k);
        assert.equal(line?.['level'], 'error', k);
        assert.equal(line?.['size'], Buffer.byteLength(r.body), `${k}: the access line's size is the page's`);
      }
    } finally {
      upstream = await startRawUpstream();
    }
  });
});
