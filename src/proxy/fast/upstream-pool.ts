// Keep-alive TCP connections to plain-HTTP upstreams, for the fast path (one request at a time
// on each). Each connection's socket listeners are attached once, for its life, and pass its
// events to whichever exchange holds it (`sink`); idle, any event closes it. An idle connection
// is closed after `idleMs` (before the upstream's own keep-alive timeout, like undici's 4 s),
// and at most `maxIdle` wait per upstream.
//
// Timers cost: a socket's timeout is changed only when the value differs (`timeoutMs`), and idle
// connections expire by their timestamp, checked when taken and by one sweep per pool, so the
// common request re-arms no timer.
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
  /** `chunk` is a view of the pool's read buffer, valid during the call only: copy what is kept or written later. */
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
  /** While idle: the pool's list it waits in, and since when (Date.now()). */
  idleIn: UpstreamConnection[] | undefined;
  idleSince = 0;
  private timeoutMs = -1;

  /** Connects to `to`; reads go into `readBuffer` (shared: see UpstreamSink.data). */
  constructor(to: UpstreamAddress, readBuffer: Buffer) {
    // `onread` (Node's documented option for client sockets): each read lands in the shared
    // buffer and comes straight here, without the stream machinery's per-chunk work.
    const socket = connect({
      host: to.host,
      port: to.port,
      noDelay: true,
      onread: { buffer: readBuffer, callback: this.onRead },
    });
    this.socket = socket;
    socket.on('end', () => (this.sink ? this.sink.end() : this.dropIdle()));
    // Errors reach the exchange, or close an idle connection: never the process.
    socket.on('error', (err: Error) => (this.sink ? this.sink.error(err) : this.dropIdle()));
    socket.on('close', () => (this.sink ? this.sink.close() : this.dropIdle()));
    socket.on('timeout', () => (this.sink ? this.sink.timeout() : this.dropIdle()));
  }

  private readonly onRead = (n: number, buf: Uint8Array): boolean => {
    if (this.sink) this.sink.data(Buffer.from(buf.buffer, buf.byteOffset, n));
    else this.dropIdle();
    // Keep reading: a paused exchange pauses the socket itself (backpressure).
    return true;
  };

  /** The socket's inactivity timeout, set only when it changes (0: none). */
  setTimeoutMs(ms: number): void {
    if (ms === this.timeoutMs) return;
    this.timeoutMs = ms;
    this.socket.setTimeout(ms);
  }

  /** Start the current timeout again from now (Node's socket timer fires once). */
  restartTimeout(): void {
    if (this.timeoutMs > 0) this.socket.setTimeout(this.timeoutMs);
  }

  /** Out of its idle list (gone while idle). */
  private unlist(): void {
    const list = this.idleIn;
    if (list === undefined) return;
    this.idleIn = undefined;
    const i = list.lastIndexOf(this);
    if (i !== -1) list.splice(i, 1);
  }

  private dropIdle(): void {
    this.unlist();
    this.socket.destroy();
  }
}

export class UpstreamPool {
  private readonly idle = new Map<string, UpstreamConnection[]>();
  private readonly idleMs: number;
  private readonly maxIdle: number;
  private readonly connectTimeoutMs: number;
  private readonly sweeper: NodeJS.Timeout;
  /** Every connection's reads land here, one at a time (the event loop runs one callback at once). */
  private readonly readBuffer = Buffer.allocUnsafe(64 * 1024);
  private closed = false;

  constructor(opts: UpstreamPoolOptions = {}) {
    this.idleMs = opts.idleMs ?? 4_000;
    this.maxIdle = opts.maxIdle ?? 128;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    // An idle connection lives between idleMs and 1.5 × idleMs when not taken meanwhile.
    this.sweeper = setInterval(() => this.sweep(), Math.max(1, Math.floor(this.idleMs / 2))).unref();
  }

  /** An idle connection to `to` (unless `fresh`), or a new one (connecting; writes are queued until it is up). */
  acquire(to: UpstreamAddress, fresh = false): UpstreamConnection {
    const list = fresh ? undefined : this.idle.get(key(to));
    // The newest first; one past idleMs (the sweep has not come yet) or gone is closed.
    for (let conn = list?.pop(); conn !== undefined; conn = list!.pop()) {
      conn.idleIn = undefined;
      if (!conn.socket.destroyed && conn.socket.writable && Date.now() - conn.idleSince < this.idleMs) {
        conn.reused = true;
        return conn;
      }
      conn.socket.destroy();
    }
    const conn = new UpstreamConnection(to, this.readBuffer);
    conn.setTimeoutMs(this.connectTimeoutMs);
    return conn;
  }

  /** Back to the pool after a complete exchange (its sink already cleared). */
  release(to: UpstreamAddress, conn: UpstreamConnection): void {
    if (this.closed || conn.socket.destroyed || !conn.socket.writable) return void conn.socket.destroy();
    const k = key(to);
    let list = this.idle.get(k);
    if (!list) this.idle.set(k, (list = []));
    if (list.length >= this.maxIdle) return void conn.socket.destroy();
    conn.idleIn = list;
    conn.idleSince = Date.now();
    list.push(conn);
  }

  /** Close every idle connection (in-flight ones are their exchange's); later releases close theirs. */
  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const list of this.idle.values()) for (const c of list.splice(0)) c.socket.destroy();
    this.idle.clear();
  }

  /** Close the connections idle for idleMs or more (the oldest are first in each list). */
  private sweep(): void {
    const before = Date.now() - this.idleMs;
    for (const [k, list] of this.idle) {
      let n = 0;
      while (n < list.length && list[n]!.idleSince <= before) n++;
      for (const c of list.splice(0, n)) {
        c.idleIn = undefined;
        c.socket.destroy();
      }
      if (list.length === 0) this.idle.delete(k);
    }
  }
}

function key(to: UpstreamAddress): string {
  return `${to.host}|${to.port}`;
}
