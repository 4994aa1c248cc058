// Proxy mode's last step for an Upgrade request (§8.4): everything before it (routing, the
// outpost's endpoints, authentication, the 302/401/503 answers) is the pipeline's, as for any
// request. Here the connection goes to the upstream relay (upstream/websocket.ts), bounded by the
// upstream response-head timeout, as any proxied request (a silent upstream would otherwise hold
// the client for ever). The relay answers the client itself, the response object is left unused.
import type { ProxyApp } from './app.ts';
import type { ProxyModeDeps } from './proxy-mode.ts';
import type { RequestState } from './request.ts';
import type { UpgradeConnection } from '../server/index.ts';
import { proxyUpgrade } from '../upstream/websocket.ts';
import { UpstreamError } from '../upstream/errors.ts';

export async function relayUpgrade(s: RequestState, upgrade: UpgradeConnection, app: ProxyApp, target: URL, headers: Record<string, string | string[]>, deps: ProxyModeDeps): Promise<void> {
  const started = performance.now();
  s.relayed = 0;
  try {
    const result = await proxyUpgrade({
      req: s.req,
      socket: upgrade.socket,
      head: upgrade.head,
      target,
      headers,
      tls: { rejectUnauthorized: app.config.internal_host_ssl_validation },
      handshakeTimeoutMs: deps.upstreamHeadersTimeoutMs,
      signal: s.signal,
      clientIp: s.client.address,
    });
    s.relayed = result.status;
  } catch (err) {
    if (!(err instanceof UpstreamError)) throw err;
    if (err.code === 'client_aborted') return s.log.debug({ upstream: err.upstream }, 'client went away');
    // The relay answered its 502 page.
    s.relayed = err.status;
    s.log.warn({ upstream: err.upstream, code: err.code, err: { message: err.message } }, 'failed to proxy websocket to backend');
  } finally {
    deps.metrics.upstream.observe({ outpost_name: app.outpostName, method: s.req.method ?? 'GET', scheme: s.scheme, host: app.external.host, upstream_host: target.host }, (performance.now() - started) / 1000);
  }
}
