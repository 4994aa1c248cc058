// The outpost websocket (`/ws/outpost/<pk>/`): answers hellos with ACK, keeps per-instance
// state with a TTL (authentik: 15 s), pushes TRIGGER_UPDATE, session ends and arbitrary test
// messages. Authentication happens in server.ts before a socket is handed over.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../log.ts';
import type { ChangeTarget, OutpostRec, Store } from './model.ts';
import { parseQs, qsGet } from './querystring.ts';
import { hashSessionKey } from './sessions.ts';
import { versionOutdated } from './version.ts';

export const INSTRUCTION = { ACK: 0, HELLO: 1, TRIGGER_UPDATE: 2, PROVIDER_SPECIFIC: 3, SESSION_END: 4 } as const;

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

/** One entry of `GET /outposts/instances/<pk>/health/` (the `golang_version`..`fips_enabled` fields in 2026.8 mode only). */
export interface OutpostHealth {
  uid: string;
  last_seen: string;
  version: string;
  golang_version?: string;
  openssl_enabled?: boolean;
  openssl_version?: string;
  fips_enabled?: boolean | null;
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
  /** authentik 2026.8 keys instance state by the `instance_uuid` query parameter, else the channel. */
  instanceUid: string;
}

interface State {
  uid: string;
  lastSeen: number;
  version: string;
  buildHash: string;
  hostname: string;
  golangVersion: string;
  opensslEnabled: boolean;
  opensslVersion: string;
  fipsEnabled: boolean | null;
  args: Record<string, unknown>;
}

const HISTORY_LIMIT = 1000;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** DRF's CharField output for a hello value: a string as is, nothing as '', else its text. */
function charOf(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}

const TRUE_VALUES = new Set<unknown>([true, 1, '1', 't', 'T', 'y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']);
const FALSE_VALUES = new Set<unknown>([false, 0, '0', 'f', 'F', 'n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']);

/** DRF's BooleanField output for a hello value (null only where the field allows it). */
function boolOf(v: unknown, allowNull: boolean): boolean | null {
  if (TRUE_VALUES.has(v)) return true;
  if (FALSE_VALUES.has(v)) return false;
  if ((v === null || v === undefined || v === '') && allowNull) return null;
  return Boolean(v);
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
      const instanceUuid = qsGet(parseQs(query), 'instance_uuid');
      const conn: Conn = { info, outpostPk: outpost.pk, ws, instanceUid: instanceUuid !== undefined && instanceUuid !== '' ? instanceUuid : info.id };
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
    // authentik 2024.4 keys instance state by the hello's `uuid`; 2026.8 by the connection's
    // `instance_uuid` query parameter (the channel name without one).
    const uid = this.store.mode === '2024.4' ? (typeof args['uuid'] === 'string' && args['uuid'] !== '' ? args['uuid'] : conn.info.id) : conn.instanceUid;
    let states = this.states.get(conn.outpostPk);
    if (!states) this.states.set(conn.outpostPk, (states = new Map()));
    const state: State = states.get(uid) ?? { uid, lastSeen: 0, version: '', buildHash: '', hostname: '', golangVersion: '', opensslEnabled: false, opensslVersion: '', fipsEnabled: false, args: {} };
    state.lastSeen = Date.now();
    state.hostname = typeof args['hostname'] === 'string' ? args['hostname'] : '';
    delete args['hostname'];
    if (instruction === INSTRUCTION.HELLO) {
      state.version = typeof args['version'] === 'string' ? args['version'] : '';
      state.buildHash = typeof args['buildHash'] === 'string' ? args['buildHash'] : '';
      // authentik 2024.6+ pops these on every hello, with these defaults when absent.
      state.golangVersion = charOf(args['golangVersion']);
      state.opensslEnabled = boolOf(args['opensslEnabled'] ?? false, false) as boolean;
      state.opensslVersion = charOf(args['opensslVersion']);
      state.fipsEnabled = boolOf(args['fipsEnabled'] ?? false, true);
      for (const k of ['version', 'buildHash', 'golangVersion', 'opensslEnabled', 'opensslVersion', 'fipsEnabled']) delete args[k];
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

  /**
   * A logged-in core session ended (logout, admin end, a deleted or deactivated user). Both
   * generations name it by `hash_session_key(key)` = hex sha256 of the ASCII session key, the
   * `sid` of the tokens the core issued for that session.
   *
   * 2024.4: authentik's `proxy_on_logout` (providers/proxy/tasks.py, from the `user_logged_out`
   * and AuthenticatedSession `pre_delete` signals) sends proxy outposts only the provider-specific
   * `{type: "event.provider.specific", sub_type: "logout", session_id}`.
   *
   * 2026.8: authentik's `outpost_session_end` (authentik/outposts/tasks.py, sent from the
   * `pre_delete` signal of AuthenticatedSession in outposts/signals.py, which fires for logouts,
   * expiry, admin deletes and the cascade of a deleted user; UserViewSet.partial_update deletes
   * the sessions of a user left inactive) sends every outpost, whatever its type, SESSION_END.
   * The consumer forwards the channel event as the args, so they also carry
   * `"type": "event.session.end"`.
   */
  sessionEnded(sessionKey: string): void {
    const sessionId = hashSessionKey(sessionKey);
    if (this.store.mode === '2024.4') {
      for (const o of this.store.outposts.values()) {
        if (o.type !== 'proxy') continue;
        this.push(o, { instruction: INSTRUCTION.PROVIDER_SPECIFIC, args: { type: 'event.provider.specific', sub_type: 'logout', session_id: sessionId } });
      }
      return;
    }
    for (const o of this.store.outposts.values()) this.push(o, { instruction: INSTRUCTION.SESSION_END, args: { type: 'event.session.end', session_id: sessionId } });
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
      const should = this.store.version;
      const buildHashShould = this.store.seed.build_hash;
      const outdated = versionOutdated(s.version, s.buildHash, should, buildHashShould);
      const runtime =
        this.store.mode === '2024.4'
          ? {}
          : { golang_version: s.golangVersion, openssl_enabled: s.opensslEnabled, openssl_version: s.opensslVersion, fips_enabled: s.fipsEnabled };
      out.push({
        uid: s.uid,
        last_seen: new Date(s.lastSeen).toISOString(),
        version: s.version,
        ...runtime,
        version_should: should,
        version_outdated: outdated,
        build_hash: s.buildHash,
        build_hash_should: buildHashShould,
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
