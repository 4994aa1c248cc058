// UdpListener: a reply that Node cannot send never throws out of the socket's message handler
// (from there it ended the process). A datagram can come from port 0 (a raw socket sends one;
// the kernel delivers it and Node reports port 0), and Node's send throws at once for port 0.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { UdpListener } from '../../src/radius/udp.ts';
import { captureLogs } from '../support/logs.ts';

describe('UdpListener', () => {
  it('answers through the socket, and a reply to port 0 is logged instead of thrown', async () => {
    const logs = captureLogs();
    const seen: RemoteInfo[] = [];
    const udp = new UdpListener({ host: '127.0.0.1', port: 0 }, (msg, from, reply) => {
      seen.push(from);
      reply(Buffer.concat([Buffer.from('re:'), msg]));
    }, logs.logger);
    const port = await udp.start();
    const client = createSocket('udp4');
    try {
      await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', () => resolve()));
      const answer = new Promise<Buffer>((resolve) => client.once('message', (m) => resolve(m)));
      client.send(Buffer.from('ping'), port, '127.0.0.1');
      assert.equal((await answer).toString(), 're:ping');

      // What the kernel hands over for a datagram from port 0, without needing a raw socket.
      const socket = (udp as unknown as { sockets: Socket[] }).sockets[0]!;
      const from: RemoteInfo = { address: '127.0.0.1', family: 'IPv4', port: 0, size: 4 };
      assert.doesNotThrow(() => socket.emit('message', Buffer.from('ping'), from));
      assert.equal(seen.at(-1)?.port, 0, 'the handler saw it');
      const warning = logs.lines.find((l) => l['event'] === 'cannot send a RADIUS reply');
      assert.ok(warning, 'one warning');
      assert.equal(warning['port'], 0);
    } finally {
      client.close();
      await udp.stop();
    }
  });
});
