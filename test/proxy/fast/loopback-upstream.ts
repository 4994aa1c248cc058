// A plain TCP upstream on loopback port 0 for the fast path's tests: its address, the
// connections it accepted (errors on them ignored), and a close that ends those too.
import { createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import type { UpstreamAddress } from '../../../src/proxy/fast/upstream-pool.ts';

export interface LoopbackUpstream {
  readonly to: UpstreamAddress;
  /** Every connection accepted so far, in order. */
  readonly accepted: readonly Socket[];
  close(): void;
}

export async function startLoopbackUpstream(onConnection: (s: Socket) => void = () => {}): Promise<LoopbackUpstream> {
  const accepted: Socket[] = [];
  const server = createServer((s) => {
    accepted.push(s);
    s.on('error', () => {});
    onConnection(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('no port');
  return {
    to: { host: '127.0.0.1', port: a.port },
    accepted,
    close() {
      for (const s of accepted) s.destroy();
      server.close();
    },
  };
}
