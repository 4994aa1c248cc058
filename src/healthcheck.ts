// `healthcheck`: what the Docker HEALTHCHECK runs. HEAD the ping endpoint on the metrics
// listener; healthy on a status below 400. Otherwise say why in one line, which is what an
// operator reads in `docker inspect`'s health log.
import { request } from 'node:http';
import { formatListen, type ListenAddress } from './config/index.ts';

export type Health = { ok: true } | { ok: false; reason: string };

const PING = '/outpost.goauthentik.io/ping';

/**
 * The default deadline stays below the Dockerfile's `--timeout=3s`, leaving the process time to
 * start: past Docker's timeout the check is killed and our reason lost.
 */
export function healthcheck(addr: ListenAddress, timeoutMs = 2000): Promise<Health> {
  // A wildcard listen address is reached through loopback.
  const host = addr.host === '0.0.0.0' ? '127.0.0.1' : addr.host === '::' ? '::1' : addr.host;
  const url = `http://${formatListen({ host, port: addr.port })}${PING}`;
  return new Promise((resolve) => {
    const fail = (why: string) => resolve({ ok: false, reason: `${url}: ${why}` });
    // One deadline for connect and answer together; `timeout` on the request is per idle period.
    const timer = setTimeout(() => {
      fail(`no answer within ${timeoutMs} ms`);
      req.destroy();
    }, timeoutMs);
    const req = request({ host, port: addr.port, method: 'HEAD', path: PING, headers: { 'user-agent': 'goauthentik.io/healthcheck' } }, (res) => {
      clearTimeout(timer);
      res.resume();
      const status = res.statusCode ?? 0;
      resolve(status > 0 && status < 400 ? { ok: true } : { ok: false, reason: `${url}: HTTP ${status} ${res.statusMessage ?? ''}`.trimEnd() });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      fail(err.code === 'ECONNREFUSED' ? 'connection refused' : err.message);
    });
    req.end();
  });
}
