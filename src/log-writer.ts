// The log lines' way to stdout: gathered in memory and written in batches, one asynchronous
// write (libuv's thread pool) at a time, so that a busy listener pays a few hundred nanoseconds
// per line instead of a write and two thread wake-ups. pino's own batching destination
// (sonic-boom) measures its whole pending buffer on every line, which cost about 2 µs a line
// (more than the rest of a proxied request's log line).
//
// A line waits at most `flushMs`. At exit (and on flush() without a callback), what is pending
// is written synchronously; a write in flight on the thread pool finishes there, so its lines may
// land after those (as sonic-boom's did), and the rest of a partial one is not written at exit.
// When the reader does not keep up, at most `maxPendingBytes` wait besides the batch being
// written (in flight or waiting to retry); lines beyond are dropped and counted, and a line says
// so once writing resumes. A synchronous write that still meets EAGAIN after SYNC_EAGAIN_TRIES
// gives up, and stderr says how many lines were lost (no later write may come to say it on
// stdout). A write error other than EAGAIN (stdout closed) stops the output, with one line on
// stderr: logging never takes the process down.
import { write, writeSync } from 'node:fs';

export interface BatchedWriterOptions {
  /** Write once this many bytes (UTF-16 units, close enough) are pending. */
  readonly minBytes: number;
  /** Write what is pending at least this often, ms. */
  readonly flushMs: number;
  /** Drop lines beyond this many pending bytes. */
  readonly maxPendingBytes?: number;
}

const EAGAIN_RETRY_MS = 10;
const SYNC_EAGAIN_TRIES = 1000;
/** For Atomics.wait: a 1 ms sleep between synchronous EAGAIN retries. */
const SLEEP = new Int32Array(new SharedArrayBuffer(4));

export class BatchedWriter {
  private readonly fd: number;
  private readonly minBytes: number;
  private readonly maxPending: number;
  private pending: string[] = [];
  private pendingBytes = 0;
  private writing = false;
  private dropped = 0;
  private broken = false;
  private waiting: (() => void)[] = [];
  /** A write that met EAGAIN and waits to retry (not on a thread: exit may write it itself). */
  private retry: { data: Buffer; off: number; timer: NodeJS.Timeout } | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(fd: number, opts: BatchedWriterOptions) {
    this.fd = fd;
    this.minBytes = opts.minBytes;
    this.maxPending = opts.maxPendingBytes ?? 16 * 1024 * 1024;
    this.timer = setInterval(() => {
      if (!this.writing) this.startWrite();
    }, opts.flushMs).unref();
    process.once('exit', () => this.flushSync());
  }

  /** pino's destination interface: one whole line. */
  write(line: string): boolean {
    if (this.broken) return true;
    if (this.pendingBytes + line.length > this.maxPending) {
      this.dropped++;
      return false;
    }
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (!this.writing && this.pendingBytes >= this.minBytes) this.startWrite();
    return true;
  }

  /**
   * pino's `logger.flush(cb)`: with `cb`, write what is pending and call back once everything
   * given so far is written. Without one (the shutdown path calls it right before
   * `process.exit`), write what is pending now, synchronously.
   */
  flush(cb?: () => void): void {
    if (cb === undefined) return this.writePendingSync();
    this.waiting.push(cb);
    if (!this.writing) this.startWrite();
  }

  /** Write what is pending now, synchronously (exit). */
  flushSync(): void {
    clearInterval(this.timer);
    this.writePendingSync();
  }

  /** What waits (a write that met EAGAIN, then the pending lines), written now; a write in flight on the thread pool finishes there. */
  private writePendingSync(): void {
    let lost = 0;
    if (this.retry !== undefined) {
      clearTimeout(this.retry.timer);
      const { data, off } = this.retry;
      this.retry = undefined;
      this.writing = false;
      lost = this.writeAllSync(data, off);
    }
    const data = this.take();
    // Once a write gave up, the rest is counted lost at once rather than waiting another second.
    if (data !== undefined) lost += lost === 0 ? this.writeAllSync(data, 0) : countLines(data, 0);
    // flush(cb) callers waited for what was just written (unless a write is still in flight, whose end settles them).
    if (!this.writing) this.settleWaiting();
    if (lost === 0) return;
    // The process is exiting: no later write will say it on stdout.
    try {
      process.stderr.write(`log output: ${lost} log lines not written: stdout did not keep up\n`);
    } catch {
      // stderr is gone too: nothing left to tell.
    }
  }

  /** How many lines (a partial one included) it could not write: 0 unless EAGAIN outlasted SYNC_EAGAIN_TRIES. */
  private writeAllSync(data: Buffer, from: number): number {
    let off = from;
    for (let tries = 0; off < data.length && tries < SYNC_EAGAIN_TRIES; ) {
      try {
        off += writeSync(this.fd, data, off);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') {
          this.fail(err);
          return 0;
        }
        tries++;
        Atomics.wait(SLEEP, 0, 0, 1);
      }
    }
    return countLines(data, off);
  }

  private take(): Buffer | undefined {
    if (this.broken) return undefined;
    if (this.dropped > 0) {
      this.pending.push(
        `{"level":"warning","timestamp":"${new Date().toISOString()}","logger":"authentik.outpost.log","dropped":${this.dropped},"event":"log lines dropped: stdout did not keep up"}\n`,
      );
      this.dropped = 0;
    }
    if (this.pending.length === 0) return undefined;
    const data = Buffer.from(this.pending.length === 1 ? this.pending[0]! : this.pending.join(''), 'utf8');
    this.pending = [];
    this.pendingBytes = 0;
    return data;
  }

  private startWrite(): void {
    const data = this.take();
    if (data === undefined) return this.settleWaiting();
    this.writing = true;
    this.writeFrom(data, 0);
  }

  private writeFrom(data: Buffer, off: number): void {
    write(this.fd, data, off, data.length - off, null, (err, n) => {
      if (err) {
        if (err.code === 'EAGAIN') {
          const timer = setTimeout(() => {
            this.retry = undefined;
            this.writeFrom(data, off);
          }, EAGAIN_RETRY_MS).unref();
          this.retry = { data, off, timer };
          return;
        }
        this.writing = false;
        return this.fail(err);
      }
      if (off + n < data.length) return this.writeFrom(data, off + n);
      this.writing = false;
      if (this.pendingBytes >= this.minBytes || this.waiting.length > 0) this.startWrite();
    });
  }

  private settleWaiting(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const cb of waiting) cb();
  }

  private fail(err: unknown): void {
    this.broken = true;
    this.pending = [];
    this.pendingBytes = 0;
    this.settleWaiting();
    try {
      process.stderr.write(`log output failed (${(err as NodeJS.ErrnoException).code ?? String(err)}); no more log lines will be written\n`);
    } catch {
      // stderr is gone too: nothing left to tell.
    }
  }
}

/** The lines in `data` from `off` on (each ends with a newline). */
function countLines(data: Buffer, off: number): number {
  let n = 0;
  for (let i = data.indexOf(10, off); i !== -1; i = data.indexOf(10, i + 1)) n++;
  return n;
}
