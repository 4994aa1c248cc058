// One node:http server for the REST API, the flow executor, the OAuth2/OIDC endpoints and flow
// pages, the admin API and the outpost websocket (upgrade on the same port). It can stop and
// restart listening on the same port while keeping all state, to simulate the core being down.
import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.ts';
import type { AdminHttp } from './admin-http.ts';
import type { Api, ApiResponse } from './api.ts';
import type { Faults } from './faults.ts';
import type { Store } from './model.ts';
import { Oidc } from './oidc.ts';
import { parseQs, qsToRecord } from './querystring.ts';
import type { Recorder } from './recorder.ts';
import type { WsHub } from './ws.ts';

/** Request bodies above this are refused with 413. */
export const MAX_BODY_BYTES = 1024 * 1024;

const WS_PATH = /^\/ws\/outpost\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/$/;

class BodyTooLarge extends Error {}

function splitUrl(url: string): { path: string; rawQuery: string } {
  const q = url.indexOf('?');
  return q < 0 ? { path: url, rawQuery: '' } : { path: url.slice(0, q), rawQuery: url.slice(q + 1) };
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new BodyTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** DRF's parsers: JSON and urlencoded forms; an empty body is no data. */
function parseBody(buf: Buffer, contentType: string | undefined): { body: unknown; error?: string } {
  if (buf.length === 0) return { body: undefined };
  const text = buf.toString('utf8');
  const ct = (contentType ?? '').toLowerCase();
  if (ct.includes('application/x-www-form-urlencoded')) return { body: qsToRecord(parseQs(text)) };
  try {
    return { body: JSON.parse(text) as unknown };
  } catch (err) {
    return { body: undefined, error: (err as Error).message };
  }
}

export interface ServerDeps {
  store: Store;
  api: Api;
  hub: WsHub;
  recorder: Recorder;
  faults: Faults;
  admin: () => AdminHttp;
  oidc: Oidc;
  logger: Logger;
}

export class DevCoreServer {
  readonly http: Server;
  private readonly deps: ServerDeps;
  private readonly sockets = new Set<Socket>();
  private host = '127.0.0.1';
  private portNumber = 0;
  private listening = false;

  constructor(deps: ServerDeps) {
    this.deps = deps;
    this.http = createServer({ keepAliveTimeout: 5000 }, (req, res) => {
      this.onRequest(req, res).catch((err: unknown) => {
        this.deps.logger.error({ err }, 'devcore request failed');
        if (!res.headersSent) this.send(res, { status: 500, json: { detail: 'devcore internal error' } });
        else res.destroy();
      });
    });
    this.http.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => {});
      this.onUpgrade(req, socket, head).catch((err: unknown) => {
        this.deps.logger.error({ err }, 'devcore upgrade failed');
        socket.destroy();
      });
    });
    this.http.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  get port(): number {
    return this.portNumber;
  }

  async listen(host: string, port: number): Promise<number> {
    this.host = host;
    this.portNumber = port;
    await this.startListening();
    return this.portNumber;
  }

  async startListening(): Promise<void> {
    if (this.listening) return;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.http.once('error', onError);
      this.http.listen(this.portNumber, this.host, () => {
        this.http.off('error', onError);
        resolve();
      });
    });
    this.portNumber = (this.http.address() as AddressInfo).port;
    this.listening = true;
  }

  /** Close the listening socket and every open connection (HTTP keep-alive and websockets). */
  async stopListening(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.deps.hub.terminateAll();
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  async close(): Promise<void> {
    await this.stopListening();
    this.deps.hub.close();
  }

  private send(res: ServerResponse, r: ApiResponse): void {
    const headers: Record<string, string | string[] | number> = { ...(r.headers ?? {}) };
    let body = '';
    if (r.json !== undefined) {
      body = JSON.stringify(r.json);
      headers['content-type'] = 'application/json';
    } else if (r.text !== undefined) {
      body = r.text;
      headers['content-type'] = r.contentType ?? 'text/plain; charset=utf-8';
    }
    headers['content-length'] = Buffer.byteLength(body);
    res.writeHead(r.status, headers);
    res.end(body);
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const { path, rawQuery } = splitUrl(req.url ?? '/');
    const isAdmin = path === '/_devcore' || path.startsWith('/_devcore/');
    const rec = isAdmin ? undefined : this.deps.recorder.record(method, path, rawQuery, req.headers);

    let body: unknown;
    let bodyError: string | undefined;
    // DELETE bodies are read too: the admin API revokes a permission named in one.
    if (method === 'POST' || method === 'PUT' || method === 'PATCH' || method === 'DELETE') {
      try {
        const parsed = parseBody(await readBody(req, MAX_BODY_BYTES), req.headers['content-type']);
        body = parsed.body;
        bodyError = parsed.error;
      } catch (err) {
        if (!(err instanceof BodyTooLarge)) throw err;
        if (rec) rec.status = 413;
        res.setHeader('connection', 'close');
        this.send(res, { status: 413, json: { detail: `Request body exceeds ${MAX_BODY_BYTES} bytes.` } });
        req.resume();
        return;
      }
      if (rec && body !== undefined) rec.body = body;
    }

    let out: ApiResponse & { after?: () => void };
    if (isAdmin) {
      out = await this.deps.admin().handle({ method, path, rawQuery, authorization: req.headers.authorization, body, bodyError });
    } else {
      const fault = await this.deps.faults.apply(path);
      if (fault) out = { status: fault.status, text: fault.body, contentType: fault.contentType };
      else if (path.startsWith('/api/v3/')) {
        out = await this.deps.api.handle({ method, path, rawQuery, headers: req.headers, body, bodyError, baseUrl: `http://${req.headers.host ?? `${this.host}:${this.portNumber}`}` });
      } else if (Oidc.serves(path)) {
        out = await this.deps.oidc.handle({ method, path, rawQuery, headers: req.headers, body, bodyError });
      } else out = { status: 404, json: { detail: 'Not found.' } };
    }
    if (rec) rec.status = out.status;
    this.send(res, out);
    if (out.after) res.once('finish', out.after);
    this.deps.logger.debug({ method, path, status: out.status, runtime: Math.round(performance.now() - started) }, 'request');
  }

  private reject(socket: Duplex, status: number, detail: string): void {
    const body = JSON.stringify({ detail });
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  private async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const { path, rawQuery } = splitUrl(req.url ?? '/');
    const rec = this.deps.recorder.record(req.method ?? 'GET', path, rawQuery, req.headers);
    const fault = await this.deps.faults.apply(path);
    const refuse = (status: number, detail: string) => {
      rec.status = status;
      this.reject(socket, status, detail);
    };
    if (fault) return refuse(fault.status, 'devcore: injected fault');
    const m = WS_PATH.exec(path);
    if (!m) return refuse(404, 'Not found.');
    if (this.deps.hub.refusing) return refuse(503, 'devcore: refusing websocket upgrades');
    const auth = (req.headers.authorization ?? '').trim();
    const space = auth.indexOf(' ');
    if (space < 0 || auth.slice(0, space).toLowerCase() !== 'bearer') return refuse(403, 'Authentication credentials were not provided.');
    const outpost = this.deps.store.outpostsByToken.get(auth.slice(space + 1).trim());
    if (!outpost) return refuse(403, 'Token invalid/expired');
    // The token's account may only view its own outpost (authentik_outposts.view_outpost).
    if (outpost.pk !== m[1]) return refuse(403, 'You do not have permission to perform this action.');
    rec.status = 101;
    this.deps.hub.accept(req, socket, head, outpost, rawQuery);
  }
}
