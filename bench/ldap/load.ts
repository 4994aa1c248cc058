// A small LDAP load generator on raw sockets, using the project's own encoder, so that the
// client costs little and is the same for every server measured.
import { connect, type Socket } from 'node:net';
import { BerReader, encodeRequest, nextPdu, parseFilter, type LdapRequest } from '../../src/ldap/protocol/index.ts';

interface Reply {
  resultCode: number;
  entries: number;
}

/** One connection; requests are sent one at a time and answered in order. */
export class LoadConnection {
  private readonly socket: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private nextId = 1;
  private waiting: { id: number; entries: number; resolve: (r: Reply) => void; reject: (e: Error) => void } | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (e) => this.waiting?.reject(e));
    socket.on('close', () => this.waiting?.reject(new Error('connection closed')));
  }

  static open(port: number): Promise<LoadConnection> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new LoadConnection(s)));
      s.once('error', reject);
    });
  }

  send(request: LdapRequest): Promise<Reply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting = { id, entries: 0, resolve, reject };
      this.socket.write(encodeRequest(id, request));
    });
  }

  bind(dn: string, password: string): Promise<Reply> {
    return this.send({ type: 'bind', version: 3, name: dn, authentication: { method: 'simple', password: Buffer.from(password) } });
  }

  search(base: string, filter: string, scope: 0 | 1 | 2 = 2, attributes: string[] = []): Promise<Reply> {
    return this.send({ type: 'search', baseObject: base, scope, derefAliases: 0, sizeLimit: 0, timeLimit: 0, typesOnly: false, filter: parseFilter(filter), attributes });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    let off = 0;
    for (;;) {
      const next = nextPdu(this.buf, off, 64 * 1024 * 1024);
      if (next.kind !== 'pdu') break;
      this.onPdu(this.buf.subarray(off, off + next.length));
      off += next.length;
    }
    this.buf = off === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(off);
  }

  private onPdu(pdu: Buffer): void {
    const msg = new BerReader(pdu).readConstructed();
    msg.readInteger();
    const op = msg.readHeader();
    const w = this.waiting;
    if (!w) return;
    if (op.tag === 0x64) {
      w.entries++;
      return;
    }
    if (op.tag === 0x61 || op.tag === 0x65) {
      const body = msg.contentsOf(op);
      const code = body.readEnumerated();
      this.waiting = undefined;
      w.resolve({ resultCode: code, entries: w.entries });
    }
  }
}

export interface RunResult {
  count: number;
  errors: number;
  seconds: number;
  p50: number;
  p99: number;
}

/** Run `op` on `connections` connections for `seconds`, each one request at a time. */
export async function runLoad(conns: LoadConnection[], seconds: number, op: (c: LoadConnection, i: number) => Promise<boolean>): Promise<RunResult> {
  const latencies: number[] = [];
  let errors = 0;
  let i = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(
    conns.map(async (c) => {
      while (performance.now() < end) {
        const t = performance.now();
        const ok = await op(c, i++);
        latencies.push(performance.now() - t);
        if (!ok) errors++;
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { count: latencies.length, errors, seconds: elapsed, p50: q(0.5), p99: q(0.99) };
}
