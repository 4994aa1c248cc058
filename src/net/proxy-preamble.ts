// An optional PROXY protocol header (v1 or v2) in front of a TCP server's own protocol, read
// only from trusted peers. This is authentik's policy since 2024.8 (go-proxyproto with `USE` for
// `listen.trusted_proxy_cidrs` and `SKIP` for everyone else): a trusted peer MAY start with a
// header, whose source address then stands for the client; from anyone else nothing is parsed,
// the bytes go to the server as they came (an HTTP server answers "PROXY …" with a 400), so no
// client can claim another address. authentik 2024.4 read a header from anyone.
//
// The server's own `connection` handlers (Node's HTTP parser, the TLS handshake) are moved behind
// this one: they get the socket once its preamble is read, with the bytes after the header put
// back. The server keeps listening and counting its sockets itself, so its timeouts and `close()`
// work as without a preamble. The header precedes everything, the TLS ClientHello included.
import type { Server } from 'node:net';
import type { Socket } from 'node:net';
import { Server as TlsServer, type TLSSocket } from 'node:tls';
import type { CidrMatcher } from './cidr.ts';
import { parseProxyHeader, type ProxyEndpoint } from './proxy-protocol.ts';

export type ProxyPreambleRefusal =
  /** The trusted peer sent something that starts like a header and is not a valid one. */
  | 'invalid'
  /** The trusted peer started a header and did not finish it in time. */
  | 'timeout';

export interface ProxyPreambleOptions {
  /** Peers whose PROXY header is read; anyone else's bytes reach the server untouched. */
  readonly trusted: CidrMatcher<unknown>;
  /**
   * How long a trusted peer may take to start and finish its header. A peer that sends nothing
   * in that time is handed to the server as it is (the server's own timeouts take over); one
   * that started a header and did not finish it is closed.
   */
  readonly timeoutMs: number;
  /** Told of each refused connection (the socket is destroyed); `detail` names no secret. */
  readonly onRefused?: (reason: ProxyPreambleRefusal, peer: string, detail: string) => void;
}

export interface ProxyPreamble {
  /** Sockets whose preamble is still being read. */
  readonly pending: number;
  /** Destroy the sockets still in their preamble (they carry no request yet): for shutdown. */
  destroyPending(): void;
}

type ConnectionHandler = (this: Server, socket: Socket) => void;

/** The connection's 4-tuple as the kernel reports it, the same on the TCP socket and its TLS socket. */
function tupleOf(socket: Socket): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}|${socket.localAddress ?? ''}|${socket.localPort ?? ''}`;
}

/**
 * The socket reports the header's source as its peer, so that everything reading
 * `socket.remoteAddress` (forwarded-header trust, X-Forwarded-For, access logs) sees the client.
 */
function presentAs(socket: Socket, source: ProxyEndpoint): void {
  Object.defineProperties(socket, {
    remoteAddress: { value: source.address, configurable: true },
    remotePort: { value: source.port, configurable: true },
    remoteFamily: { value: source.address.includes(':') ? 'IPv6' : 'IPv4', configurable: true },
  });
}

/** Put the preamble in front of `server`'s connection handlers. Call once, before `listen`. */
export function acceptProxyProtocol(server: Server, opts: ProxyPreambleOptions): ProxyPreamble {
  const handlers = server.listeners('connection') as ConnectionHandler[];
  server.removeAllListeners('connection');
  /** Sockets in their preamble, with what ends it. */
  const pending = new Map<Socket, () => void>();
  // A TLS server wraps the socket in a TLSSocket of its own making, which reads its peer from the
  // kernel again: the header's source is carried over by the 4-tuple, when the handshake is done.
  const tls = server instanceof TlsServer;
  const sources = new Map<string, ProxyEndpoint>();
  if (tls) {
    server.prependListener('secureConnection', (secure: TLSSocket) => {
      if (sources.size === 0) return;
      const key = tupleOf(secure);
      const source = sources.get(key);
      if (source === undefined) return;
      sources.delete(key);
      presentAs(secure, source);
    });
  }

  const handOver = (socket: Socket): void => {
    for (const h of handlers) h.call(server, socket);
  };

  const readPreamble = (socket: Socket, peer: string): void => {
    let buf: Buffer | undefined;
    const done = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      pending.delete(socket);
    };
    const refuse = (reason: ProxyPreambleRefusal, detail: string): void => {
      done();
      socket.destroy();
      opts.onRefused?.(reason, peer, detail);
    };
    const finish = (rest: Buffer | undefined, source: ProxyEndpoint | undefined): void => {
      done();
      // Paused while the bytes after the header are put back, so none is emitted to nobody.
      socket.pause();
      if (rest !== undefined && rest.length > 0) socket.unshift(rest);
      if (source !== undefined) {
        const key = tupleOf(socket);
        presentAs(socket, source);
        if (tls) {
          sources.set(key, source);
          socket.once('close', () => sources.delete(key));
        }
      }
      handOver(socket);
      // The HTTP parser reads through `data` listeners: let it flow. A TLS socket reads the raw
      // socket's buffer itself, and a flowing socket would drop it.
      if (socket.listenerCount('data') > 0) socket.resume();
    };
    const onData = (chunk: Buffer): void => {
      buf = buf === undefined ? chunk : Buffer.concat([buf, chunk]);
      const r = parseProxyHeader(buf);
      switch (r.kind) {
        case 'need-more':
          return;
        case 'none':
          return finish(buf, undefined);
        case 'error':
          return refuse('invalid', r.reason);
        case 'header':
          // LOCAL (a proxy's own health check) and UNKNOWN keep the connection's own peer.
          return finish(buf.subarray(r.consumed), r.command === 'proxy' ? r.source : undefined);
      }
    };
    const onTimeout = (): void => {
      if (buf === undefined) finish(undefined, undefined);
      else refuse('timeout', `PROXY protocol header not completed within ${opts.timeoutMs} ms`);
    };
    // A reset during the preamble is nobody's business but this socket's.
    const onError = (): void => {
      done();
      socket.destroy();
    };
    const onClose = (): void => done();
    const timer = setTimeout(onTimeout, opts.timeoutMs);
    pending.set(socket, done);
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
  };

  server.on('connection', (socket: Socket) => {
    const peer = socket.remoteAddress;
    if (peer === undefined || !opts.trusted.has(peer)) return handOver(socket);
    readPreamble(socket, peer);
  });

  return {
    get pending(): number {
      return pending.size;
    },
    destroyPending(): void {
      for (const [socket, done] of pending) {
        done();
        socket.destroy();
      }
    },
  };
}
