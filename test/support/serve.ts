// A server on loopback port 0 and its shutdown: the port, and a close() that also ends what
// closeAllConnections cannot see (websocket clients, tunnelled sockets) before closing.
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { WebSocketServer } from 'ws';

export interface Served {
  readonly port: number;
  close(): Promise<void>;
}

export async function serveLoopback(server: Server, also: { wss?: WebSocketServer; sockets?: Set<Socket> } = {}): Promise<Served> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of also.sockets ?? []) s.destroy();
        if (also.wss) {
          for (const c of also.wss.clients) c.terminate();
          also.wss.close();
        }
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
