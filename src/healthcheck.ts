// `healthcheck`: what the Docker HEALTHCHECK runs. HEAD the ping endpoint on the metrics
// listener; exit 0 on a status below 400, 1 otherwise.
import { request } from 'node:http';
import type { ListenAddress } from './config/index.ts';

export function healthcheck(addr: ListenAddress, timeoutMs = 3000): Promise<boolean> {
  // A wildcard listen address is reached through loopback.
  const host = addr.host === '0.0.0.0' ? '127.0.0.1' : addr.host === '::' ? '::1' : addr.host;
  return new Promise((resolve) => {
    const req = request(
      { host, port: addr.port, method: 'HEAD', path: '/outpost.goauthentik.io/ping', headers: { 'user-agent': 'goauthentik.io/healthcheck' }, timeout: timeoutMs },
      (res) => {
        res.resume();
        resolve((res.statusCode ?? 500) < 400);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}
