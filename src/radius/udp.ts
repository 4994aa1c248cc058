// UDP sockets for the RADIUS listener, IPv4 and IPv6. A wildcard IPv4 address also opens the
// IPv6 wildcard (IPv6-only), as authentik's Go listener is reachable over both.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { ListenAddress } from '../config/index.ts';
import type { Logger } from '../log.ts';

export type DatagramHandler = (msg: Buffer, from: RemoteInfo, reply: (packet: Buffer) => void) => void;

export class UdpListener {
  private readonly sockets: Socket[] = [];
  private readonly addr: ListenAddress;
  private readonly onDatagram: DatagramHandler;
  private readonly log: Logger;

  constructor(addr: ListenAddress, onDatagram: DatagramHandler, log: Logger) {
    this.addr = addr;
    this.onDatagram = onDatagram;
    this.log = log;
  }

  /** Binds; resolves with the port (useful with port 0). */
  async start(): Promise<number> {
    const { host, port } = this.addr;
    const family = isIP(host) === 6 ? 'udp6' : 'udp4';
    const first = await this.bind(family, host, port, host === '::' ? false : undefined);
    if (host === '0.0.0.0') {
      try {
        await this.bind('udp6', '::', first, true);
      } catch (err) {
        this.log.warn({ error: (err as Error).message }, 'cannot listen on IPv6; RADIUS serves IPv4 only');
      }
    }
    return first;
  }

  async stop(): Promise<void> {
    await Promise.all(this.sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.sockets.length = 0;
  }

  /**
   * Sends a reply; never throws. Node's `send` throws at once for what it cannot send to (port
   * 0, which a datagram can come from; a socket closed meanwhile), and a throw from the
   * message handler would end the process.
   */
  private send(socket: Socket, packet: Buffer, to: RemoteInfo): void {
    try {
      socket.send(packet, to.port, to.address);
    } catch (err) {
      this.log.warn({ ip: to.address, port: to.port, error: (err as Error).message }, 'cannot send a RADIUS reply');
    }
  }

  private bind(type: 'udp4' | 'udp6', host: string, port: number, ipv6Only: boolean | undefined): Promise<number> {
    const socket = createSocket({ type, ...(ipv6Only !== undefined ? { ipv6Only } : {}), recvBufferSize: 4 * 1024 * 1024 });
    return new Promise((resolve, reject) => {
      socket.once('error', (err: NodeJS.ErrnoException) => {
        socket.close();
        reject(new Error(`cannot listen on ${host}:${port}/udp: ${err.code === 'EADDRINUSE' ? 'the address is already in use' : err.message}`));
      });
      socket.bind(port, host, () => {
        socket.removeAllListeners('error');
        // A send error (e.g. an ICMP unreachable reported late) must not end the listener.
        socket.on('error', (err) => this.log.warn({ error: err.message }, 'RADIUS socket error'));
        socket.on('message', (msg, from) => {
          this.onDatagram(msg, from, (packet) => this.send(socket, packet, from));
        });
        this.sockets.push(socket);
        resolve(socket.address().port);
      });
    });
  }
}
