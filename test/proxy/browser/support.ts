// Headless Chromium against the proxy listener in proxy mode and the development core.
//
// The stack: an HTML upstream on port 0, the development core seeded from config/proxy-test.yaml
// (plus a TOTP user, a refused user and an access policy, see browserSeed), an outpost with the
// proxy plugin on loopback port 0, and a small CONNECT proxy that plays DNS for the browser:
// `https://app.example.com` (the provider's external host) is tunnelled to the outpost's HTTPS
// port, so the browser sends the real Host and SNI, keeps the Secure cookie and follows the real
// redirects. The core stays at http://127.0.0.1:<port> (loopback never goes through the proxy).
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { DevCore } from '../../../src/devcore/index.ts';
import type { SeedDocument } from '../../../src/devcore/seed.ts';
import type { ProxyListener } from '../../../src/proxy/listener.ts';
import type { AuthentikVersion, TestOutpost } from '../../support/outpost.ts';
import { serveLoopback } from '../../support/serve.ts';
import { OUTPOST_TOKEN, proxySeed } from '../e2e/support.ts';
import { startCoreAndOutpost, type CoreAndOutpost } from '../support/stack.ts';

export const APP_HOST = 'app.example.com';
export const APP = `https://${APP_HOST}`;
/** Bob's TOTP secret in browserSeed (the demo's "Bob's phone"). */
export const BOB_TOTP_SECRET = 'JBSWY3DPEHPK3PXP';
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

// ---- the browser ---------------------------------------------------------------------------

/** Missing Chromium is a failure, never a skip: CI installs it. */
export function assertChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: the browser tests need it (apt-get install chromium, or set CHROMIUM_PATH)`);
  }
}

/** One Chromium per test file. */
export async function launchChromium(): Promise<Browser> {
  assertChromium();
  // Tests run as root in CI containers, where Chromium's sandbox cannot start.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

/** A fresh browser profile whose https://app.example.com is this stack's outpost. */
export function newContext(browser: Browser, stack: BrowserStack): Promise<BrowserContext> {
  return browser.newContext({
    // The outpost's certificate for app.example.com is self-signed by the core.
    ignoreHTTPSErrors: true,
    // Only the app's host goes through the tunnel; Playwright would otherwise proxy loopback too.
    proxy: { server: `http://127.0.0.1:${stack.tunnel.port}`, bypass: '127.0.0.1' },
  });
}

let screenshotDir: string | undefined;

/**
 * Runs `fn` with a page of a new context; on failure saves a screenshot (and the page's console
 * and the URLs it went through) to a temporary folder, logs the path, and rethrows.
 */
export async function withPage(browser: Browser, stack: BrowserStack, name: string, fn: (page: Page, context: BrowserContext) => Promise<void>): Promise<void> {
  const context = await newContext(browser, stack);
  const page = await context.newPage();
  const trail: string[] = [];
  page.on('requestfailed', (r) => trail.push(`requestfailed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    if (r.status() >= 400) trail.push(`${r.status()}: ${r.url()}`);
  });
  page.on('console', (m) => trail.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => trail.push(`pageerror: ${e.message}`));
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) trail.push(`navigated: ${f.url()}`);
  });
  try {
    await fn(page, context);
  } catch (err) {
    screenshotDir ??= mkdtempSync(join(tmpdir(), 'proxy-browser-'));
    const file = join(screenshotDir, `${name.replace(/[^a-zA-Z0-9.-]+/g, '_')}.png`);
    try {
      await page.screenshot({ path: file, fullPage: true });
      console.error(`[browser] "${name}" failed at ${page.url()}; screenshot: ${file}`);
    } catch (shotErr) {
      console.error(`[browser] "${name}" failed; no screenshot (${String(shotErr)})`);
    }
    if (trail.length > 0) console.error(`[browser] "${name}" trail:\n  ${trail.join('\n  ')}`);
    throw err;
  } finally {
    await context.close();
  }
}

/** At the core's login page: types the username and password and presses the button. */
export async function submitLogin(page: Page, core: DevCore, username: string, password: string): Promise<void> {
  await page.waitForURL((u) => u.href.startsWith(`${core.url}/if/flow/`), { timeout: 15_000 });
  await page.locator('#uid_field').fill(username);
  await page.locator('#password').fill(password);
  await page.locator('#submit').click();
}

// ---- TOTP (RFC 6238 / RFC 4226), computed independently of the core's implementation ---------

function base32(secret: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of secret.replace(/=+$/, '').toUpperCase()) {
    const v = alphabet.indexOf(ch);
    if (v < 0) throw new Error(`not base32: ${ch}`);
    bits += v.toString(2).padStart(5, '0');
  }
  const bytes: number[] = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

export function totp(secretBase32: string, timeMs = Date.now(), digits = 6, stepSeconds = 30): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(timeMs / 1000 / stepSeconds)));
  const mac = createHmac('sha1', base32(secretBase32)).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return String(value).padStart(digits, '0');
}

// ---- the upstream --------------------------------------------------------------------------

export interface HtmlUpstream {
  readonly port: number;
  /** The paths (with query) of every request it got, websocket upgrades included. */
  readonly paths: string[];
  close(): Promise<void>;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function html(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body>${body}</body></html>`;
}

// The websocket page: connects back to its own origin (wss on https) and shows the echo.
const WS_PAGE_SCRIPT = `
const out = document.getElementById('echo');
const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
ws.onopen = () => ws.send('hello');
ws.onmessage = (ev) => { out.textContent = String(ev.data); ws.close(); };
ws.onerror = () => { out.textContent = 'websocket error'; };
`;

/**
 * `/headers`: JSON of the request headers. `/ws-page`: a page that echoes over `/ws`. `/ws`: a
 * websocket echoing `<X-authentik-username>:<message>`. Anything else: an HTML greeting of the
 * user named by X-authentik-username.
 */
export async function startHtmlUpstream(): Promise<HtmlUpstream> {
  const paths: string[] = [];
  const server: Server = createServer((req, res) => {
    paths.push(req.url ?? '');
    req.resume();
    const path = (req.url ?? '/').split('?')[0];
    const user = String(req.headers['x-authentik-username'] ?? '');
    let body: string;
    let type = 'text/html; charset=utf-8';
    if (path === '/headers') {
      body = JSON.stringify(req.headers satisfies IncomingHttpHeaders);
      type = 'application/json';
    } else if (path === '/ws-page') {
      body = html('Echo', `<h1>Echo</h1><p id="echo">connecting</p><script>${WS_PAGE_SCRIPT}</script>`);
    } else {
      body = html('Upstream', `<h1 id="greeting">Hello, ${escapeHtml(user || 'stranger')}!</h1><p id="path">${escapeHtml(req.url ?? '')}</p>`);
    }
    res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
    res.end(body);
  });
  const wss = new WebSocketServer({ server, path: '/ws' });
  wss.on('connection', (ws, req) => {
    paths.push(req.url ?? '');
    ws.on('message', (data) => ws.send(`${String(req.headers['x-authentik-username'] ?? '')}:${String(data)}`));
  });
  const served = await serveLoopback(server, { wss });
  return { port: served.port, paths, close: served.close };
}

// ---- the tunnel (the browser's "DNS") ------------------------------------------------------

export interface Tunnel {
  readonly port: number;
  /** CONNECT targets asked for that have no route (a test asserts this stays empty). */
  readonly refused: string[];
  close(): Promise<void>;
}

/** An HTTP CONNECT proxy that knows only `routes` (host:port → loopback port). */
export async function startTunnel(routes: ReadonlyMap<string, number>): Promise<Tunnel> {
  const refused: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    // Plain http:// through the proxy: nothing in these tests goes there.
    refused.push(`${req.method} ${req.url}`);
    res.writeHead(502, { 'content-type': 'text/plain' }).end('no route');
  });
  server.on('connect', (req, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    const target = routes.get(req.url ?? '');
    if (target === undefined) {
      refused.push(`CONNECT ${req.url}`);
      client.end('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    const up = netConnect(target, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    sockets.add(up);
    up.once('close', () => {
      sockets.delete(up);
      client.destroy();
    });
    up.on('error', () => client.destroy());
    client.once('close', () => up.destroy());
  });
  const served = await serveLoopback(server, { sockets });
  return { port: served.port, refused, close: served.close };
}

// ---- the stack -----------------------------------------------------------------------------

/**
 * config/proxy-test.yaml for a person: app1 admits g1 and g2 (alice, bob), carol is in neither;
 * bob has a TOTP device and the login flow validates it (skipped for users without devices).
 */
export function browserSeed(upstreamPort: number): SeedDocument {
  return proxySeed(upstreamPort, (doc) => {
    const d = doc as { users: Record<string, unknown>[]; flows: { slug: string; stages: Record<string, unknown>[] }[]; applications: Record<string, unknown>[] };
    const bob = d.users.find((u) => u['username'] === 'bob')!;
    bob['devices'] = [{ type: 'totp', name: "Bob's phone", secret: BOB_TOTP_SECRET, digits: 6 }];
    d.users.push({ username: 'carol', name: 'Carol', email: 'c@x', password: 'carol-password', groups: [] });
    const login = d.flows.find((f) => f.slug === 'login-flow')!;
    login.stages = [
      { kind: 'identification', user_fields: ['username'], password_stage: true },
      { kind: 'authenticator_validate', not_configured_action: 'skip', device_classes: ['static', 'totp'] },
      { kind: 'user_login' },
    ];
    const app1 = d.applications.find((a) => a['slug'] === 'app1')!;
    app1['access_groups'] = ['g1', 'g2'];
  });
}

export interface BrowserStack {
  core: DevCore;
  outpost: TestOutpost;
  upstream: HtmlUpstream;
  tunnel: Tunnel;
  listener: ProxyListener;
  close(): Promise<void>;
}

export async function startBrowserStack(authentikVersion: AuthentikVersion): Promise<BrowserStack> {
  const upstream = await startHtmlUpstream();
  let started: CoreAndOutpost | undefined;
  try {
    started = await startCoreAndOutpost({ seed: browserSeed(upstream.port), token: OUTPOST_TOKEN, authentikVersion });
    const tunnel = await startTunnel(new Map([[`${APP_HOST}:443`, started.httpsPort]]));
    const s = started;
    return {
      core: s.core,
      outpost: s.outpost,
      upstream,
      tunnel,
      listener: s.listener,
      async close() {
        await tunnel.close();
        await s.close();
        await upstream.close();
      },
    };
  } catch (err) {
    await started?.close();
    await upstream.close();
    throw err;
  }
}
