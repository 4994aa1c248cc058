// The fast path's front: it reads each connection of the HTTP server first, and serves itself
// the requests it can serve plainly (protocol/http1.ts: a GET or HEAD with a strict, unambiguous
// head; the handler then decides: a logged-in user of a proxy-mode app). At the first request
// it does not take, the connection goes to Node's HTTP server for good, with every byte not yet
// answered put back, exactly as if Node had read it from the start. Node's server therefore
// answers everything else (bodies, upgrades, logins, errors, bad requests) as before.
//
// Why: node:http's per-request machinery (IncomingMessage, ServerResponse, header objects) and
// undici's are a large part of a Node proxy's CPU; reading and writing the sockets directly makes
// the proxy's common case use about a third less CPU (README, "The proxy's fast path").
//
// Per connection: one request at a time (pipelined bytes wait, bounded), the next one read only
// once the client has taken the answer (`drain`: a client that sends and never reads cannot make
// the outpost buffer answers). A client that half-closes is treated as Node's server treats it
// (no `httpAllowHalfOpen`): the connection closes after the answer in progress. A total deadline for a
// head (`headersTimeoutMs`, slowloris; the first one's counted from the connection, as Node
// counts it); the keep-alive timeout while idle between requests; none while a response is
// streaming (long polls are the exchange's body timeout's business).
import type { Server, Socket } from 'node:net';
import { readRequestHead, type SimpleRequestHead } from '../protocol/http1.ts';

export interface FastRequest {
  readonly head: SimpleRequestHead;
  readonly socket: Socket;
  /** The connection closes after this response: answer with `Connection: close`. */
  readonly closeAfter: boolean;
}

export interface FastHandler {
  /**
   * Serve `req` on its socket and resolve `done`, or write nothing and answer `slow`: the
   * request (and the connection) then goes to Node's server. Never rejects.
   */
  serve(req: FastRequest): 'slow' | Promise<'done' | 'slow'>;
}

export interface FastFrontOptions {
  readonly handler: FastHandler;
  /** Node's `maxHeaderSize`: a larger head goes to Node, which answers 431. */
  readonly maxHeaderBytes: number;
  readonly headersTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /** True once the server is stopping: new requests go to Node's server (503, `Connection: close`). */
  readonly stopping: () => boolean;
}

export interface FastFront {
  /** Close the connections that are between requests (shutdown, stage 1); the others close after their response. */
  closeIdle(): void;
  /** Destroy every connection the front holds (shutdown, last stage). */
  destroyAll(): void;
}

type ConnectionHandler = (this: Server, socket: Socket) => void;

const noop = (): void => {};

const REQUEST_TIMEOUT = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';

/** Put the fast path in front of `server`'s own connection handlers. Call once, before `listen` and before a PROXY preamble is installed. */
export function installFastPath(server: Server, opts: FastFrontOptions): FastFront {
  const handlers = server.listeners('connection') as ConnectionHandler[];
  server.removeAllListeners('connection');
  const connections = new Set<FastConnection>();
  const handOver = (socket: Socket): void => {
    for (const h of handlers) h.call(server, socket);
  };
  server.on('connection', (socket: Socket) => {
    connections.add(new FastConnection(socket, opts, handOver, (c) => connections.delete(c)));
  });
  return {
    closeIdle(): void {
      for (const c of connections) c.closeIfIdle();
    },
    destroyAll(): void {
      for (const c of connections) c.socket.destroy();
    },
  };
}

class FastConnection {
  readonly socket: Socket;
  private readonly opts: FastFrontOptions;
  private readonly handOver: (socket: Socket) => void;
  private readonly forget: (c: FastConnection) => void;
  /** Bytes not yet answered, from the start of the current request's head. */
  private buf: Buffer | undefined;
  private busy = false;
  /** Busy only waiting for the client to take an answer (its silence then is idleness). */
  private waitingDrain = false;
  private ended = false;
  private headTimer: NodeJS.Timeout | undefined;

  constructor(socket: Socket, opts: FastFrontOptions, handOver: (socket: Socket) => void, forget: (c: FastConnection) => void) {
    this.socket = socket;
    this.opts = opts;
    this.handOver = handOver;
    this.forget = forget;
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.on('timeout', this.onIdle);
    socket.setTimeout(opts.keepAliveTimeoutMs);
    // As Node's HTTP server does for its sockets: answers go out at once.
    socket.setNoDelay(true);
    // The first head is due within the head timeout from the connection on, as Node's server
    // has it: a client that connects and sends nothing is answered 408 then, not left to hold
    // the connection for the (much longer) keep-alive timeout.
    this.headTimer = setTimeout(this.onHeadTimeout, opts.headersTimeoutMs);
  }

  closeIfIdle(): void {
    if (!this.busy) this.socket.destroy();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.buf = this.buf === undefined ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.busy) {
      // Pipelined requests wait for the current answer; a client sending more than a head's
      // worth meanwhile waits with them.
      if (this.buf.length > this.opts.maxHeaderBytes) this.socket.pause();
      return;
    }
    this.next();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    if (!this.busy) this.socket.end();
  };

  // A reset is this connection's business only; the exchange in flight sees the close.
  private readonly onError = (): void => {
    this.socket.destroy();
  };

  private readonly onClose = (): void => {
    this.detach();
  };

  private readonly onIdle = (): void => {
    if (!this.busy || this.waitingDrain) this.socket.destroy();
  };

  private readonly onHeadTimeout = (): void => {
    this.headTimer = undefined;
    if (this.busy) return;
    this.detach();
    this.socket.on('error', noop);
    this.socket.end(REQUEST_TIMEOUT);
  };

  /** Read the next request from the buffer, if a whole head is there. */
  private next(): void {
    const buf = this.buf;
    if (buf === undefined || buf.length === 0) {
      this.buf = undefined;
      return;
    }
    const read = readRequestHead(buf, this.opts.maxHeaderBytes);
    if (read.kind === 'other') return this.slow();
    if (read.kind === 'incomplete') {
      this.headTimer ??= setTimeout(this.onHeadTimeout, this.opts.headersTimeoutMs);
      return;
    }
    this.clearHeadTimer();
    if (this.opts.stopping()) return this.slow();
    // The keep-alive timer stays armed (one timer per connection, refreshed by Node on every read
    // and write); while busy it is ignored (`onIdle`), and the answer's writes re-arm it.
    this.busy = true;
    const head = read.head;
    const closeAfter = !head.keepAlive || this.ended;
    let result: 'slow' | Promise<'done' | 'slow'>;
    try {
      result = this.opts.handler.serve({ head, socket: this.socket, closeAfter });
    } catch {
      // The handler's contract is never to throw; if it did, Node's server answers the request.
      result = 'slow';
    }
    if (result === 'slow') return this.slow();
    result.then(
      (r) => (r === 'slow' ? this.slow() : this.answered(head.length, closeAfter)),
      () => this.socket.destroy(),
    );
  }

  /** The request was answered: on to the next one, or close. */
  private answered(headLength: number, closeAfter: boolean): void {
    this.busy = false;
    if (this.socket.destroyed) return;
    if (closeAfter || this.ended || this.opts.stopping()) {
      this.detach();
      this.socket.on('error', noop);
      this.socket.end();
      return;
    }
    const rest = this.buf?.subarray(headLength);
    this.buf = rest !== undefined && rest.length > 0 ? rest : undefined;
    if (this.socket.writableNeedDrain) {
      // The client has not taken the answer yet: the next request waits (busy) until it has.
      this.busy = true;
      this.waitingDrain = true;
      this.socket.once('drain', this.onDrain);
      return;
    }
    this.continue();
  }

  private readonly onDrain = (): void => {
    this.busy = false;
    this.waitingDrain = false;
    if (!this.socket.destroyed) this.continue();
  };

  /** Read on: a request already buffered, then whatever the socket brings. */
  private continue(): void {
    if (this.socket.isPaused()) this.socket.resume();
    this.next();
  }

  /** To Node's server, with every byte not answered put back. */
  private slow(): void {
    this.busy = false;
    if (this.socket.destroyed) return this.detach();
    this.detach();
    // The client half-closed while the request was weighed: its bytes cannot be put back after
    // the end, and Node's server would abort the request on that end anyway.
    if (this.socket.readableEnded) return void this.socket.destroy();
    this.socket.pause();
    if (this.buf !== undefined) this.socket.unshift(this.buf);
    this.buf = undefined;
    this.handOver(this.socket);
    // Node's HTTP parser reads through `data` listeners: let it flow.
    if (this.socket.listenerCount('data') > 0) this.socket.resume();
  }

  private clearHeadTimer(): void {
    if (this.headTimer !== undefined) clearTimeout(this.headTimer);
    this.headTimer = undefined;
  }

  private detach(): void {
    this.clearHeadTimer();
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('error', this.onError);
    this.socket.off('close', this.onClose);
    this.socket.off('timeout', this.onIdle);
    this.socket.off('drain', this.onDrain);
    this.socket.setTimeout(0);
    this.forget(this);
  }
}
