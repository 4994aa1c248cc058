// A loopback TCP listener whose accept queue is full, so a connect() to it neither succeeds nor
// fails: the kernel drops the SYN (Linux, tcp_abort_on_overflow=0) and the client retries for
// minutes. It plays an upstream behind a firewall that drops packets, which this sandbox cannot
// otherwise produce (connections to unrouted addresses succeed here).
//
// Node's server accepts in its event loop, so the listener lives in a worker thread whose loop
// is blocked (Atomics.wait) once it listens: connections queue and nobody accepts them. Node
// reads a backlog of 0 as its default (511), hence 1; the queue is then filled with connections
// until one hangs.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';

export interface UnacceptingListener {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

const LISTENER = `
const { parentPort } = require('node:worker_threads');
const server = require('node:net').createServer();
server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  parentPort.postMessage(server.address().port);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
});
`;

/** How long a filler may take to connect before the queue counts as full (loopback connects take microseconds). */
const HANG_MS = 300;
const MAX_FILLERS = 16;

/** Resolves true when `socket` connected within `ms`, false while it still hangs; rejects on an error (a refused or reset connect). */
function connectsWithin(socket: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off('connect', onConnect);
      resolve(false);
    }, ms);
    const onConnect = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    socket.once('connect', onConnect);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export async function startUnacceptingListener(): Promise<UnacceptingListener> {
  const worker = new Worker(LISTENER, { eval: true });
  const [port] = (await once(worker, 'message')) as [number];
  // Blocked for good from now on: never what keeps a test process alive.
  worker.unref();
  const fillers: Socket[] = [];
  const close = async (): Promise<void> => {
    for (const s of fillers) s.destroy();
    await worker.terminate();
  };
  let full = false;
  try {
    while (!full && fillers.length < MAX_FILLERS) {
      const s = connect(port, '127.0.0.1');
      fillers.push(s);
      full = !(await connectsWithin(s, HANG_MS));
    }
  } catch (err) {
    await close();
    throw new Error('a connect to a full accept queue failed instead of hanging (tcp_abort_on_overflow=1?)', { cause: err });
  }
  if (!full) {
    await close();
    throw new Error(`all ${MAX_FILLERS} connects to an unaccepting listener succeeded: its accept queue does not fill here`);
  }
  // A filler reset later (close) must not become an uncaught error.
  for (const s of fillers) s.on('error', () => {});
  return { host: '127.0.0.1', port, close };
}
