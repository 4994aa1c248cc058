// WebSocket upgrades in proxy mode (§8.4): the session cookie must authenticate the upgrade
// request; without one the client gets the same 302 to /start as any request (no upgrade).
import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { requestHost, trustedClient } from '../protocol/index.ts';
import { proxyUpgrade } from '../upstream/websocket.ts';
import { requestPath } from '../upstream/headers.ts';
import { UpstreamError } from '../upstream/errors.ts';
import type { Scheme } from '../server/index.ts';
import type { PipelineDeps } from './pipeline.ts';
import { overrideTarget, startUrl, upstreamHeaders } from './proxy-mode.ts';
import { requestUrl, type RequestState } from './request.ts';
import { loadSession } from './session.ts';

const HANDSHAKE_TIMEOUT_MS = 30_000;

function rawAnswer(socket: Duplex, status: string, headers: Record<string, string>): void {
  let head = `HTTP/1.1 ${status}\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  socket.end(`${head}Content-Length: 0\r\nConnection: close\r\n\r\n`);
}

export async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, scheme: Scheme, deps: PipelineDeps): Promise<void> {
  const client = trustedClient(req.socket.remoteAddress, req.headers, deps.trusted);
  const host = requestHost(req.headers.host, client);
  const { router, apps } = deps.current();
  const provider = router.route(host);
  const app = provider ? apps.get(provider.pk) : undefined;
  if (!app || app.config.mode !== 'proxy' || !app.upstream) return rawAnswer(socket, '400 Bad Request', {});
  const target = requestPath(req.url);
  const url = requestUrl(scheme, req.headers.host, target);
  const controller = new AbortController();
  socket.once('close', () => controller.abort());
  // The session stage reads only the request; an upgrade has no ServerResponse.
  const s = { req, scheme, signal: controller.signal, started: performance.now(), client, host, url, log: deps.logger.child({ request_id: randomUUID(), name: app.config.name }), cookies: [], type: 'app' } as unknown as RequestState;
  const stored = await loadSession(s, app, deps.store);
  if (!stored && !app.skip.matches(url, target)) {
    return rawAnswer(socket, '302 Found', { Location: startUrl(app, url) });
  }
  if (stored) s.auth = { claims: stored.claims, rawToken: stored.rawToken, via: 'session' };
  // The user's `backend_override`, as for plain requests (proxy-mode.ts).
  const upstream = overrideTarget(s, app.upstream);
  try {
    const result = await proxyUpgrade({
      req,
      socket,
      head,
      target: upstream,
      headers: upstreamHeaders(s, app, deps.version),
      tls: { rejectUnauthorized: app.config.internal_host_ssl_validation },
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
      signal: controller.signal,
      clientIp: client.address,
    });
    s.log.info({ status: result.status, upstream: upstream.host, ...(stored ? { user: stored.claims.preferred_username || stored.claims.sub } : {}) }, url.pathname);
  } catch (err) {
    if (!(err instanceof UpstreamError)) throw err;
    if (err.code !== 'client_aborted') s.log.warn({ upstream: err.upstream, code: err.code, err: { message: err.message } }, 'failed to proxy websocket to backend');
  }
}
