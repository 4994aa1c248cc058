// The fast path's front on a bare node:http server with a stub handler: a client that sends and
// never reads cannot make it buffer answers, and a request handed to Node's server after the
// client half-closed is still answered there.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { installFastPath, type FastHandler } from '../../../src/proxy/fast/front.ts';

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

async function start(handler: FastHandler, timeouts: { headersTimeoutMs?: number; keepAliveTimeoutMs?: number } = {}): Promise<number> {
  const server = createServer((_req, res) => res.end('from node'));
  installFastPath(server, { handler, maxHeaderBytes: 16 * 1024, headersTimeoutMs: timeouts.headersTimeoutMs ?? 5_000, keepAliveTimeoutMs: timeouts.keepAliveTimeoutMs ?? 5_000, stopping: () => false });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  return (server.address() as AddressInfo).port;
}

describe('fast path front', () => {
  it('serves the next pipelined request only once the client has taken the answer', async () => {
    const answer = Buffer.alloc(64 * 1024, 0x61);
    let served = 0;
    const port = await start({
      serve(req) {
        served++;
        req.socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${answer.length}\r\n\r\n`);
        req.socket.write(answer);
        return Promise.resolve('done');
      },
    });
    const client = connect(port, '127.0.0.1');
    client.on('error', () => {});
    await once(client, 'connect');
    client.pause();
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(2000));
    await new Promise((r) => setTimeout(r, 1000));
    // What the kernel's buffers hold, not 2,000 answers (128 MB) queued in the outpost.
    assert.ok(served < 300, `${served} answers made for a client that reads nothing`);
    client.destroy();
  });

  it('a client that half-closes: its answer, then the connection closes; handed to Node late, closed quietly', async () => {
    const clientErrors: string[] = [];
    for (const decision of ['done', 'slow'] as const) {
      const port = await start({
        serve: (req) =>
          new Promise((resolve) =>
            setTimeout(() => {
              if (decision === 'done') req.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nfast');
              resolve(decision);
            }, 100),
          ),
      });
      servers.at(-1)!.on('clientError', (e: NodeJS.ErrnoException) => clientErrors.push(e.code ?? e.message));
      const client = connect(port, '127.0.0.1');
      let text = '';
      client.on('data', (d: Buffer) => (text += d.toString('latin1')));
      await once(client, 'connect');
      const t0 = Date.now();
      client.end('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await once(client, 'close');
      assert.ok(Date.now() - t0 < 1000, `${decision}: closed at once, not at the keep-alive timeout`);
      if (decision === 'done') assert.match(text, /^HTTP\/1\.1 200 OK[\s\S]*fast$/);
    }
    assert.deepEqual(clientErrors, []);
  });

  it('a connection that sends nothing gets the head timeout (408), as from Node\'s server, not the keep-alive timeout', async () => {
    const port = await start({ serve: () => 'slow' }, { headersTimeoutMs: 300, keepAliveTimeoutMs: 10_000 });
    const client = connect(port, '127.0.0.1');
    client.on('error', () => {});
    let text = '';
    client.on('data', (d: Buffer) => (text += d.toString('latin1')));
    await once(client, 'connect');
    const t0 = Date.now();
    const closed = once(client, 'close');
    const verdict = await Promise.race([closed.then(() => 'closed'), new Promise((r) => setTimeout(r, 3_000, 'still open after 3 s'))]);
    assert.equal(verdict, 'closed');
    assert.ok(Date.now() - t0 < 2_000, `closed after ${Date.now() - t0} ms`);
    assert.match(text, /^HTTP\/1\.1 408 /);
    client.destroy();
  });

  it('the first head\'s time counts from the connection, not from its first byte', async () => {
    const port = await start({ serve: () => 'slow' }, { headersTimeoutMs: 400, keepAliveTimeoutMs: 10_000 });
    const client = connect(port, '127.0.0.1');
    client.on('error', () => {});
    client.resume();
    await once(client, 'connect');
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 300));
    client.write('GET / HTTP/1.1\r\n');
    await once(client, 'close');
    assert.ok(Date.now() - t0 < 650, `closed after ${Date.now() - t0} ms`);
  });
});
