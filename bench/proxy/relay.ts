// A ceiling, not a proxy: what a Node process costs when it only relays a proxied request's
// bytes (net sockets, one upstream connection per client connection, the request line and Host
// rewritten, the answer passed through as it comes, framed by Content-Length only). No session,
// no header handling, no log line, no metric, no hardening. The gap between it and nginx is
// what Node's event loop and sockets cost; nothing built on them in JavaScript does better.
// Usage: node bench/proxy/relay.ts <listen port> <upstream port>
import { connect, createServer, type Socket } from 'node:net';

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number);
if (!listenPort || !upstreamPort) throw new Error('usage: relay.ts <listen port> <upstream port>');
const CRLFCRLF = Buffer.from('\r\n\r\n');

createServer({ noDelay: true }, (client) => {
  let upstream: Socket | undefined;
  let request: Buffer | undefined;
  let answer: Buffer | undefined;
  let answerEnd = -1;
  const onAnswer = (chunk: Buffer) => {
    answer = answer ? Buffer.concat([answer, chunk]) : chunk;
    if (answerEnd < 0) {
      const end = answer.indexOf(CRLFCRLF);
      if (end < 0) return;
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(answer.toString('latin1', 0, end));
      answerEnd = end + 4 + Number(length?.[1] ?? 0);
    }
    if (answer.length >= answerEnd) {
      client.write(answer.length === answerEnd ? answer : answer.subarray(0, answerEnd));
      answer = undefined;
      answerEnd = -1;
    }
  };
  client.on('data', (chunk: Buffer) => {
    request = request ? Buffer.concat([request, chunk]) : chunk;
    for (let end = request.indexOf(CRLFCRLF); end >= 0; end = request.indexOf(CRLFCRLF)) {
      const line = request.toString('latin1', 0, request.indexOf('\r\n'));
      request = request.length === end + 4 ? Buffer.alloc(0) : request.subarray(end + 4);
      if (!upstream) {
        upstream = connect({ port: upstreamPort, host: '127.0.0.1', noDelay: true });
        upstream.on('data', onAnswer);
        upstream.on('error', () => client.destroy());
      }
      upstream.write(`${line}\r\nHost: app.example.com\r\n\r\n`, 'latin1');
    }
  });
  client.on('error', () => upstream?.destroy());
  client.on('close', () => upstream?.destroy());
}).listen(listenPort, '127.0.0.1');
