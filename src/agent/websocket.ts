// The control channel to authentik: `/ws/outpost/<pk>/`. Sends a hello on connect and every
// 10 s, answers nothing else, and hands TRIGGER_UPDATE, PROVIDER_SPECIFIC and SESSION_END to the
// agent.
import { WebSocket, type RawData } from 'ws';
import { z } from 'zod';
import type { Logger } from '../log.ts';
import { LogLimiter } from '../net/log-limiter.ts';
import { WEBSOCKET_BACKOFF, backoffDelay, type BackoffPolicy } from './backoff.ts';

export const Instruction = { ACK: 0, HELLO: 1, TRIGGER_UPDATE: 2, PROVIDER_SPECIFIC: 3, SESSION_END: 4 } as const;

/** authentik 2025.8+: a core session ended; `session_id` is its hashed id (hex). */
const sessionEndSchema = z.object({ session_id: z.string().min(1).max(256) });

/** Close code of a server worker that is recycling (authentik 2026.8): come back at once. */
const CLOSE_SERVICE_RESTART = 1012;

const messageSchema = z.object({
  instruction: z.number().int(),
  args: z.record(z.string(), z.unknown()).nullable().default({}),
});
export type ControlMessage = { instruction: number; args: Record<string, unknown> };

/** An upgrade the core has not answered by then is given up (and retried with backoff). */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/** Largest frame the core ever needs to send; anything bigger is not from a sane core. */
const MAX_FRAME_BYTES = 1024 * 1024;

export interface ControlChannelOptions {
  /** `AUTHENTIK_HOST`: its scheme picks ws/wss; its query goes on the first URL, as authentik does. */
  host: URL;
  outpostPk: string;
  /** This process's instance id, sent as `instance_uuid` (authentik keys instance state on it). */
  instanceUuid: string;
  token: string;
  userAgent: string;
  insecure: boolean;
  hello: () => Record<string, unknown>;
  onTriggerUpdate: () => void;
  onProviderSpecific: (args: Record<string, unknown>) => void;
  onSessionEnd: (sessionId: string) => void;
  onConnectionChange: (connected: boolean) => void;
  /** The channel is back after being down for `downMs` (not called for the first connect). */
  onReconnect?: (downMs: number) => void;
  logger: Logger;
  helloIntervalMs?: number;
  backoff?: BackoffPolicy;
}

export class ControlChannel {
  private readonly opts: ControlChannelOptions;
  private readonly helloIntervalMs: number;
  private socket: WebSocket | undefined;
  private helloTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** Failed connects since the last success; `attempt=N` on the reconnect URL. */
  private attempt = 0;
  private lastMessageAt = 0;
  /** When the last open connection closed; undefined while connected or before the first. */
  private downSince: number | undefined;
  private closed = false;
  private connected = false;
  /** Messages that could not be read, or that a handler failed on: one line per kind a minute. */
  private readonly messageLog = new LogLimiter({ windowMs: 60_000, maxKeys: 4 });

  constructor(opts: ControlChannelOptions) {
    this.opts = opts;
    this.helloIntervalMs = opts.helloIntervalMs ?? 10_000;
  }

  /**
   * A connection that lasted this long resets the reconnect backoff. One that the core (or a
   * proxy before it) drops right after the upgrade, again and again (an oversized frame, a
   * refusal after the handshake), keeps backing off instead of reconnecting every second.
   */
  private get stableMs(): number {
    return 3 * this.helloIntervalMs;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  start(): void {
    this.connect();
  }

  /** Sends a close frame (1000) and stops reconnecting. */
  close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.helloTimer);
    const socket = this.socket;
    this.socket = undefined;
    if (!socket || socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const force = setTimeout(() => {
        socket.terminate();
        resolve();
      }, 2000);
      socket.once('close', () => {
        clearTimeout(force);
        resolve();
      });
      if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
      else socket.close(1000);
    });
  }

  /** As authentik's outposts build it: AUTHENTIK_HOST's query, `instance_uuid`, and `attempt=N` on reconnects. */
  private url(): string {
    const { host } = this.opts;
    const scheme = host.protocol === 'https:' ? 'wss:' : 'ws:';
    const query = new URLSearchParams(host.search);
    query.set('instance_uuid', this.opts.instanceUuid);
    if (this.attempt > 0) query.set('attempt', String(this.attempt));
    return `${scheme}//${host.host}/ws/outpost/${this.opts.outpostPk}/?${query.toString()}`;
  }

  private connect(): void {
    if (this.closed) return;
    const url = this.url();
    const socket = new WebSocket(url, {
      headers: { authorization: `Bearer ${this.opts.token}`, 'user-agent': this.opts.userAgent },
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      rejectUnauthorized: !this.opts.insecure,
      maxPayload: MAX_FRAME_BYTES,
      perMessageDeflate: false,
    });
    this.socket = socket;
    let opened = false;
    let openedAt = 0;
    /** The last error on this socket: the close line says why (an oversized frame, a reset). */
    let lastError: Error | undefined;

    socket.on('open', () => {
      opened = true;
      openedAt = Date.now();
      const attempts = this.attempt;
      this.lastMessageAt = Date.now();
      this.opts.logger.debug({ url: url.split('?')[0] }, 'Successfully connected websocket');
      if (this.downSince !== undefined) {
        const downMs = Date.now() - this.downSince;
        this.downSince = undefined;
        this.opts.logger.info({ down_s: Math.round(downMs / 100) / 10, attempts }, 'websocket to authentik reconnected');
        this.opts.onReconnect?.(downMs);
      }
      this.sendHello();
      clearInterval(this.helloTimer);
      this.helloTimer = setInterval(() => this.tick(), this.helloIntervalMs);
    });
    socket.on('message', (data, isBinary) => {
      this.lastMessageAt = Date.now();
      if (!isBinary) this.handle(data);
    });
    socket.on('unexpected-response', (_req, res) => {
      this.opts.logger.warn({ status: res.statusCode }, 'authentik refused the websocket upgrade');
      res.resume();
      socket.terminate();
    });
    socket.on('error', (err) => {
      lastError = err;
      this.opts.logger.debug({ err }, 'websocket error');
    });
    socket.on('close', (code) => {
      clearInterval(this.helloTimer);
      this.setConnected(false);
      if (this.socket !== socket || this.closed) return;
      this.socket = undefined;
      if (opened) this.downSince = Date.now();
      if (opened && Date.now() - openedAt >= this.stableMs) this.attempt = 0;
      if (opened && code === CLOSE_SERVICE_RESTART && this.attempt === 0) {
        // A worker recycling is not an outage: reconnect at once, without backoff. Only once in
        // a row: a core (or proxy) that closes every new connection with 1012 is backed off from.
        this.opts.logger.info({ code }, 'authentik is restarting this websocket\'s worker; reconnecting now');
        this.attempt += 1;
        this.reconnectTimer = setTimeout(() => this.connect(), 0);
        return;
      }
      if (opened) this.opts.logger.warn({ code, ...(lastError ? { err: lastError } : {}) }, 'websocket to authentik closed; reconnecting');
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    this.attempt += 1;
    const delay = backoffDelay(this.attempt, this.opts.backoff ?? WEBSOCKET_BACKOFF);
    this.opts.logger.info({ attempt: this.attempt, delay_s: Math.round(delay / 100) / 10 }, 'will reconnect websocket');
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private tick(): void {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    // authentik ACKs every hello; three intervals of silence means a dead path (a NAT or load
    // balancer that dropped us without a FIN). authentik's Go outpost never notices this.
    if (Date.now() - this.lastMessageAt > 3 * this.helloIntervalMs) {
      this.opts.logger.warn('no answer from authentik over the websocket; reconnecting');
      socket.terminate();
      return;
    }
    this.sendHello();
  }

  private sendHello(): void {
    const frame = JSON.stringify({ instruction: Instruction.HELLO, args: this.opts.hello() });
    this.socket?.send(frame, (err) => {
      if (err) this.opts.logger.warn({ err }, 'failed to send hello');
    });
  }

  private handle(data: RawData): void {
    let parsed: ControlMessage;
    try {
      const result = messageSchema.safeParse(JSON.parse(data.toString()));
      if (!result.success) throw new Error(result.error.issues[0]?.message ?? 'invalid');
      parsed = { instruction: result.data.instruction, args: result.data.args ?? {} };
    } catch (err) {
      this.logLimited('malformed', { err }, 'ignoring a malformed websocket message');
      return;
    }
    // A handler's exception would escape through the socket's data event and end the process.
    try {
      this.dispatch(parsed);
    } catch (err) {
      this.logLimited('handler', { err, instruction: parsed.instruction }, 'handling a websocket message failed; ignored');
    }
  }

  /** A warning at most once a minute per `key`, saying how many were left out since. */
  private logLimited(key: string, fields: Record<string, unknown>, event: string): void {
    const decision = this.messageLog.check(key);
    if (decision.log) this.opts.logger.warn({ ...fields, ...(decision.suppressed > 0 ? { suppressed: decision.suppressed } : {}) }, event);
  }

  private dispatch(parsed: ControlMessage): void {
    switch (parsed.instruction) {
      case Instruction.ACK:
        this.setConnected(true);
        return;
      case Instruction.TRIGGER_UPDATE:
        this.opts.onTriggerUpdate();
        return;
      case Instruction.PROVIDER_SPECIFIC:
        this.opts.onProviderSpecific(parsed.args);
        return;
      case Instruction.SESSION_END: {
        const args = sessionEndSchema.safeParse(parsed.args);
        if (!args.success) {
          this.opts.logger.warn('ignoring a SESSION_END message without a session_id');
          return;
        }
        this.opts.onSessionEnd(args.data.session_id);
        return;
      }
      default:
        this.opts.logger.debug({ instruction: parsed.instruction }, 'ignoring unknown websocket instruction');
    }
  }

  private setConnected(connected: boolean): void {
    if (this.connected === connected) return;
    this.connected = connected;
    this.opts.onConnectionChange(connected);
  }
}
