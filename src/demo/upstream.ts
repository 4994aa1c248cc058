// The demo's upstream web application: it shows who the proxy says the visitor is, and every
// request header, so the identity headers the outpost adds can be seen.
import { createServer, type Server } from 'node:http';
import type { ListenAddress } from '../config/index.ts';
import { listen } from '../agent/net.ts';

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function createUpstream(): Server {
  return createServer((req, res) => {
    const user = req.headers['x-authentik-username'];
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([, v]) => v !== undefined));
    if ((req.headers.accept ?? '').includes('application/json')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ user: user ?? null, method: req.method, url: req.url, headers }));
      return;
    }
    const rows = Object.entries(headers)
      .map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(String(v))}</td></tr>`)
      .join('');
    const who = typeof user === 'string' ? `Hello, ${escapeHtml(user)}` : 'Hello, anonymous visitor (no X-authentik-username header)';
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end(`<!doctype html><title>demo upstream</title><h1>${who}</h1><p>${escapeHtml(req.method ?? '')} ${escapeHtml(req.url ?? '')}</p><table>${rows}</table>`);
  });
}

export async function startUpstream(addr: ListenAddress): Promise<Server> {
  const server = createUpstream();
  await listen(server, addr);
  return server;
}
