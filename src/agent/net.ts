// Small helpers for servers: listen with a clear error, close without hanging on keep-alive.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ListenAddress } from '../config/index.ts';

export class ListenError extends Error {
  override readonly name = 'ListenError';
}

export function listen(server: Server | import('node:net').Server, addr: ListenAddress): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const hint = err.code === 'EADDRINUSE' ? 'the address is already in use' : err.code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)' : err.message;
      reject(new ListenError(`cannot listen on ${addr.host}:${addr.port}: ${hint}`));
    };
    server.once('error', onError);
    server.listen(addr.port, addr.host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Stop listening and close the connections: idle ones at once, the rest after `graceMs`.
 * `server.close()` alone waits for every connection, and it also stops the check that enforces
 * the server's header and request timeouts: a client that connected and sent nothing (or half a
 * request) would hold the server, and a shutdown waiting for it, open for as long as it likes.
 */
export function closeServer(server: Server, graceMs = 1000): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
