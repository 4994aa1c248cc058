// The outpost websocket (`/ws/outpost/<pk>/`): answers hellos with ACK, keeps per-instance
// state with a TTL (authentik: 15 s), pushes TRIGGER_UPDATE and arbitrary test messages.
// Authentication happens in server.ts before a socket is handed over.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../log.ts';
import type { ChangeTarget, OutpostRec, Store } from './model.ts';

export const INSTRUCTION = { ACK: 0, HELLO: 1, TRIGGER_UPDATE: 2, PROVIDER_SPECIFIC: 3 } as const;

export interface WsConnectionInfo {
  id: string;
  /** The query string of the upgrade request, without `?` (e.g. `attempt=2`). */
  query: string;
  /** Epoch milliseconds. */
  connectedAt: number;
  /** Epoch milliseconds; absent while the connection is open. */
  closedAt?: number;
  userAgent: string;
  remoteAddress: string;
}

/** One entry of `GET /outposts/instances/<pk>/health/`. */
export interface OutpostHealth {
  uid: string;
  last_seen: string;
  version: string;
  version_should: string;
  version_outdated: boolean;
  build_hash: string;
  build_hash_should: string;
  hostname: string;
}

interface Conn {
  info: WsConnectionInfo;
  outpostPk: string;
  ws: WebSocket;
}

interface State {
  uid: string;
  lastSeen: number;
  version: string;
  buildHash: string;
  hostname: string;
  args: Record<string, unknown>;
}

const HISTORY_LIMIT = 1000;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class WsHub {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  private readonly open = new Map<string, Set<Conn>>();
  private readonly history = new Map<string, WsConnectionInfo[]>();
  private readonly states = new Map<string, Map<string, State>>();
  private readonly store: Store;
  private readonly logger: Logger;
  private readonly ttlMs: number;
  /** When true, upgrades are answered with 503 (server.ts checks it). */
  refusing = false;

  constructor(store: Store, logger: Logger, opts: { ttlMs: number }) {
    this.store = store;
    this.logger = logger;
    this.ttlMs = opts.ttlMs;
  }

  accept(req: IncomingMessage, socket: Duplex, head: Buffer, outpost: OutpostRec, query: string): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const info: WsConnectionInfo = {
        id: `specific.${randomBytes(8).toString('hex')}!${randomBytes(8).toString('hex')}`,
        query,
        connectedAt: Date.now(),
        userAgent: String(req.headers['user-agent'] ?? ''),
        remoteAddress: req.socket.remoteAddress ?? '',
      };
      const conn: Conn = { info, outpostPk: outpost.pk, ws };
      let set = this.open.get(outpost.pk);
      if (!set) this.open.set(outpost.pk, (set = new Set()));
      set.add(conn);
      let hist = this.history.get(outpost.pk);
      if (!hist) this.history.set(outpost.pk, (hist = []));
      hist.push(info);
      if (hist.length > HISTORY_LIMIT) hist.splice(0, hist.length - HISTORY_LIMIT);
      this.logger.debug({ outpost: outpost.name, query }, 'outpost websocket connected');
      ws.on('message', (data, isBinary) => this.onMessage(conn, isBinary ? null : data.toString()));
      ws.on('error', (err) => this.logger.debug({ err, outpost: outpost.name }, 'outpost websocket error'));
      ws.on('close', () => {
        info.closedAt = Date.now();
        this.open.get(outpost.pk)?.delete(conn);
        this.logger.debug({ outpost: outpost.name }, 'outpost websocket closed');
      });
    });
  }

  private onMessage(conn: Conn, text: string | null): void {
    if (text === null) return;
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return; // not JSON: ignore, keep the connection
    }
    if (!isRecord(msg) || typeof msg['instruction'] !== 'number') return;
    const instruction = msg['instruction'];
    if (instruction === INSTRUCTION.ACK) return;
    const args = isRecord(msg['args']) ? { ...msg['args'] } : {};
    const uid = typeof args['uuid'] === 'string' && args['uuid'] !== '' ? args['uuid'] : conn.info.id;
    let states = this.states.get(conn.outpostPk);
    if (!states) this.states.set(conn.outpostPk, (states = new Map()));
    const state: State = states.get(uid) ?? { uid, lastSeen: 0, version: '', buildHash: '', hostname: '', args: {} };
    state.lastSeen = Date.now();
    state.hostname = typeof args['hostname'] === 'string' ? args['hostname'] : '';
    delete args['hostname'];
    if (instruction === INSTRUCTION.HELLO) {
      state.version = typeof args['version'] === 'string' ? args['version'] : '';
      state.buildHash = typeof args['buildHash'] === 'string' ? args['buildHash'] : '';
      delete args['version'];
      delete args['buildHash'];
      state.args = { ...state.args, ...args };
    }
    // Re-insert so the map stays ordered by last hello.
    states.delete(uid);
    states.set(uid, state);
    this.send(conn, { instruction: INSTRUCTION.ACK, args: {} });
  }

  private send(conn: Conn, message: unknown): boolean {
    if (conn.ws.readyState !== conn.ws.OPEN) return false;
    conn.ws.send(JSON.stringify(message));
    return true;
  }

  /** Send a message to every open socket of an outpost; returns how many got it. */
  push(outpost: OutpostRec, message: unknown): number {
    let n = 0;
    for (const c of this.open.get(outpost.pk) ?? []) if (this.send(c, message)) n++;
    return n;
  }

  /** TRIGGER_UPDATE to the sockets of the affected outposts. */
  triggerUpdate(target: ChangeTarget): void {
    for (const [pk, conns] of this.open) {
      const o = this.store.outpostsByPk.get(pk);
      if (!o || (target !== 'all' && !target.has(o.name))) continue;
      for (const c of conns) this.send(c, { instruction: INSTRUCTION.TRIGGER_UPDATE, args: {} });
    }
  }

  /** authentik 2024.4 tells proxy outposts about a logout with a provider-specific message. */
  proxyLogout(sessionKey: string): void {
    for (const o of this.store.outposts.values()) {
      if (o.type !== 'proxy') continue;
      this.push(o, { instruction: INSTRUCTION.PROVIDER_SPECIFIC, args: { type: 'event.provider.specific', sub_type: 'logout', session_id: sessionKey } });
    }
  }

  /** Close TCP without a close frame. Returns how many sockets were dropped. */
  drop(outpost?: OutpostRec): number {
    let n = 0;
    for (const [pk, conns] of this.open) {
      if (outpost && pk !== outpost.pk) continue;
      for (const c of conns) {
        c.ws.terminate();
        n++;
      }
    }
    return n;
  }

  connections(outpost: OutpostRec): WsConnectionInfo[] {
    return (this.history.get(outpost.pk) ?? []).map((i) => ({ ...i }));
  }

  openCount(outpost: OutpostRec): number {
    return this.open.get(outpost.pk)?.size ?? 0;
  }

  health(outpost: OutpostRec): OutpostHealth[] {
    const states = this.states.get(outpost.pk);
    if (!states) return [];
    const now = Date.now();
    const out: OutpostHealth[] = [];
    for (const [uid, s] of states) {
      if (now - s.lastSeen > this.ttlMs) {
        states.delete(uid);
        continue;
      }
      const should = this.store.seed.version;
      out.push({
        uid: s.uid,
        last_seen: new Date(s.lastSeen).toISOString(),
        version: s.version,
        version_should: should,
        version_outdated: s.version !== '' && s.version !== should,
        build_hash: s.buildHash,
        build_hash_should: this.store.seed.build_hash,
        hostname: s.hostname,
      });
    }
    return out;
  }

  terminateAll(): void {
    this.drop();
  }

  close(): void {
    this.terminateAll();
    this.wss.close();
  }
}
