// authentik's proxy error page (spec §8.5): title "Bad Gateway", "Error proxying to upstream
// server" plus ": <error>" for an authenticated user, a "Go to home" link, the static CSS.
import type { ServerResponse } from 'node:http';
import { POWERED_BY } from './headers.ts';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

export const BAD_GATEWAY_MESSAGE = 'Error proxying to upstream server';

/** The page's HTML. `detail` (shown only to authenticated users, the caller decides) is escaped. */
export function badGatewayHtml(detail?: string): string {
  const message = detail ? `${BAD_GATEWAY_MESSAGE}: ${escapeHtml(detail)}` : BAD_GATEWAY_MESSAGE;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bad Gateway</title>
<link rel="stylesheet" type="text/css" href="/outpost.goauthentik.io/static/dist/patternfly.min.css">
</head>
<body>
<main class="pf-c-login__main">
<header class="pf-c-login__main-header"><h1 class="pf-c-title pf-m-3xl">Bad Gateway</h1></header>
<div class="pf-c-login__main-body"><p>${message}</p><a href="/" class="pf-c-button pf-m-primary pf-m-block">Go to home</a></div>
</main>
</body>
</html>
`;
}

/**
 * Answer 502 with the page, only if nothing of a response was sent yet (destroys the socket
 * otherwise: a response that started cannot be turned into an error). Returns the body bytes
 * sent (0 for HEAD, or when no page could be sent), for the access line.
 */
export function renderBadGateway(res: ServerResponse, detail?: string): number {
  if (res.headersSent || res.destroyed || res.writableEnded) {
    if (!res.writableEnded) res.destroy();
    return 0;
  }
  // Drop whatever the caller had staged (Set-Cookie, identity headers): none belong on an error.
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  const body = badGatewayHtml(detail);
  const length = Buffer.byteLength(body);
  res.writeHead(502, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': length,
    'cache-control': 'no-store',
    'x-powered-by': POWERED_BY,
  });
  const head = res.req?.method === 'HEAD';
  res.end(head ? undefined : body);
  return head ? 0 : length;
}

/**
 * The same page as a raw HTTP/1.1 response: for a socket taken over by an upgrade (the default
 * `Connection: close`), or the fast path's connection (`fields`: its `Date` and keep-alive
 * lines, each ending in CRLF). `headOnly` for a HEAD request.
 */
export function rawBadGateway(detail?: string, fields = 'Connection: close\r\n', headOnly = false): string {
  const body = badGatewayHtml(detail);
  return (
    'HTTP/1.1 502 Bad Gateway\r\n' +
    'Content-Type: text/html; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Cache-Control: no-store\r\n' +
    `X-Powered-By: ${POWERED_BY}\r\n` +
    fields +
    '\r\n' +
    (headOnly ? '' : body)
  );
}
