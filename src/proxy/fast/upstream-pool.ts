// Keep-alive TCP connections to plain-HTTP upstreams, for the fast path (one request at a time
// on each). Each connection's socket listeners are attached once, for its life, and pass its
// events to whichever exchange holds it (`sink`); idle, any event closes it. An idle connection
// is closed after `idleMs` (before the upstream's own keep-alive timeout, like undici's 4 s),
// and at most `maxIdle` wait per upstream.
import { connect, type Socket } from 'node:net';

export interface UpstreamPoolOptions {
  /** An idle connection is closed after this, ms. */
  readonly idleMs?: number;
  /** Idle connections kept per upstream; more are closed when released. */
  readonly maxIdle?: number;
  /** A connection must be established within this, ms. */
  readonly connectTimeoutMs?: number;
}

export interface UpstreamAddress {
  readonly host: string;
  readonly port: number;
}

/** What an exchange hears of its upstream connection. */
export interface UpstreamSink {
  data(chunk: Buffer): void;
  end(): void;
  error(err: Error): void;
  close(): void;
  timeout(): void;
}

export class UpstreamConnection {
  readonly socket: Socket;
  /** It carried an earlier request (the upstream may have closed it meanwhile). */
  reused = false;
  /** The exchange holding it; undefined while idle. */
  sink: UpstreamSink | undefined;
  /** Called when an idle connection goes (closed by the upstream, timed out, sent stray bytes). */
  onIdleEnd: (() => void) | undefined;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => (this.sink ? this.sink.data(chunk) : this.dropIdle()));
    socket.on('end', () => (this.sink ? this.sink.end() : this.dropIdle()));
    // Errors reach the exchange, or close an idle connection: never the process.
    socket.on('error', (err: Error) => (this.sink ? this.sink.error(err) : this.dropIdle()));
    socket.on('close', () => (this.sink ? this.sink.close() : this.dropIdle()));
    socket.on('timeout', () => (this.sink ? this.sink.timeout() : this.dropIdle()));
  }

  private dropIdle(): void {
    this.onIdleEnd?.();
    this.onIdleEnd = undefined;
    this.socket.destroy();
  }
}

export class UpstreamPool {
  private readonly idle = new Map<string, UpstreamConnection[]>();
  private readonly idleMs: number;
  private readonly maxIdle: number;
  private readonly connectTimeoutMs: number;
  private closed = false;

  constructor(opts: UpstreamPoolOptions = {}) {
    this.idleMs = opts.idleMs ?? 4_000;
    this.maxIdle = opts.maxIdle ?? 128;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
  }

  /** An idle connection to `to` (unless `fresh`), or a new one (connecting; writes are queued until it is up). */
  acquire(to: UpstreamAddress, fresh = false): UpstreamConnection {
    const list = fresh ? undefined : this.idle.get(key(to));
    while (list !== undefined && list.length > 0) {
      const conn = list.pop()!;
      conn.onIdleEnd = undefined;
      if (conn.socket.destroyed || !conn.socket.writable) continue;
      conn.reused = true;
      return conn;
    }
    const socket = connect({ host: to.host, port: to.port, noDelay: true });
    socket.setTimeout(this.connectTimeoutMs);
    return new UpstreamConnection(socket);
  }

  /** Back to the pool after a complete exchange (its sink already cleared). */
  release(to: UpstreamAddress, conn: UpstreamConnection): void {
    if (this.closed || conn.socket.destroyed || !conn.socket.writable) return void conn.socket.destroy();
    const k = key(to);
    let list = this.idle.get(k);
    if (!list) this.idle.set(k, (list = []));
    if (list.length >= this.maxIdle) return void conn.socket.destroy();
    list.push(conn);
    const idle = list;
    conn.onIdleEnd = () => {
      const i = idle.indexOf(conn);
      if (i !== -1) idle.splice(i, 1);
    };
    conn.socket.setTimeout(this.idleMs);
  }

  /** Close every idle connection (in-flight ones are their exchange's); later releases close theirs. */
  close(): void {
    this.closed = true;
    for (const list of this.idle.values()) for (const c of list) c.socket.destroy();
    this.idle.clear();
  }
}

function key(to: UpstreamAddress): string {
  return `${to.host}|${to.port}`;
}
