// A RADIUS load generator on raw UDP sockets, using the project's own codec, so that the client
// costs little and is the same for every server measured. PAP Access-Requests (with a
// Message-Authenticator, as a BlastRADIUS-hardened NAS sends them) for user1..userN; every
// reply is checked: identifier, Response Authenticator, Message-Authenticator (when present)
// and code. Many requests are in flight at once: several sockets (distinct source ports), each
// with up to 256 identifiers outstanding.
import { createSocket, type Socket } from 'node:dgram';
import { randomFillSync } from 'node:crypto';
import {
  AttributeType,
  RadiusCode,
  SharedSecret,
  codeName,
  decodePacket,
  encodeRequest,
  textAttribute,
  userPasswordAttribute,
  verifyResponse,
} from '../../src/radius/protocol/index.ts';

export interface LoadTarget {
  port: number;
  secret: string;
  users: number;
  password: string;
  /** Unanswered after this long: a timeout. */
  timeoutMs: number;
}

export type Outcome = 'accept' | 'reject' | 'timeout' | 'wrong';

export interface RunResult {
  sent: number;
  accepts: number;
  rejects: number;
  timeouts: number;
  /** Answers that were not a correct Access-Accept/Reject for a request we sent (bad authenticator, unknown id, other code). */
  wrong: number;
  /** Correct answers that came after the request had timed out (not counted in `accepts`). */
  late: number;
  /** Open loop: requests not sent because every identifier of every socket was taken. */
  notSent: number;
  seconds: number;
  /** Over Accepts only, ms. */
  p50: number;
  p99: number;
  mean: number;
  /** The first few wrong answers, described. */
  wrongSamples: string[];
}

interface Pending {
  authenticator: Buffer;
  sentAt: number;
  done: (outcome: Outcome, ms: number) => void;
}

/** Authenticators of timed-out requests, kept a while so that a late answer is not taken for a wrong one. */
interface Expired {
  authenticator: Buffer;
  until: number;
}

const LATE_KEEP_MS = 60_000;

class Endpoint {
  readonly socket: Socket;
  private readonly pending: (Pending | undefined)[] = new Array(256).fill(undefined);
  private readonly expired: Expired[][] = Array.from({ length: 256 }, () => []);
  private readonly free: number[] = [];
  private readonly gen: LoadGenerator;

  constructor(gen: LoadGenerator, socket: Socket) {
    this.gen = gen;
    this.socket = socket;
    // Identifiers are reused oldest-freed first, as a NAS rotates them.
    for (let i = 0; i < 256; i++) this.free.push(i);
    socket.on('message', (msg) => this.onMessage(msg));
  }

  get available(): number {
    return this.free.length;
  }

  send(packet: (id: number, auth: Buffer) => Buffer, done: Pending['done']): boolean {
    const id = this.free.shift();
    if (id === undefined) return false;
    const authenticator = randomFillSync(Buffer.allocUnsafe(16));
    this.pending[id] = { authenticator, sentAt: performance.now(), done };
    this.socket.send(packet(id, authenticator));
    return true;
  }

  /** Times out requests older than the deadline. */
  sweep(now: number): void {
    const limit = now - this.gen.target.timeoutMs;
    for (let id = 0; id < 256; id++) {
      const p = this.pending[id];
      if (p && p.sentAt < limit) {
        this.pending[id] = undefined;
        const exp = this.expired[id]!;
        while (exp.length > 0 && exp[0]!.until < now) exp.shift();
        exp.push({ authenticator: p.authenticator, until: now + LATE_KEEP_MS });
        this.free.push(id);
        p.done('timeout', now - p.sentAt);
      }
    }
  }

  private onMessage(msg: Buffer): void {
    const now = performance.now();
    const decoded = decodePacket(msg);
    if (!decoded.ok) return this.gen.wrongAnswer(`undecodable reply: ${decoded.detail}`);
    const reply = decoded.packet;
    const p = this.pending[reply.identifier];
    const secret = this.gen.secret;
    if (p) {
      const v = verifyResponse(reply, p.authenticator, secret);
      if (v.authenticator && (v.messageAuthenticator === 'absent' || v.messageAuthenticator === 'valid')) {
        this.pending[reply.identifier] = undefined;
        this.free.push(reply.identifier);
        if (reply.code === RadiusCode.accessAccept) return p.done('accept', now - p.sentAt);
        if (reply.code === RadiusCode.accessReject) return p.done('reject', now - p.sentAt);
        p.done('wrong', now - p.sentAt);
        return this.gen.wrongAnswer(`${codeName(reply.code)} to an Access-Request`);
      }
    }
    // Not (validly) for the outstanding request with this identifier: a late answer to a
    // timed-out one, or a wrong answer.
    for (const e of this.expired[reply.identifier]!) {
      if (verifyResponse(reply, e.authenticator, secret).authenticator) {
        this.gen.lateAnswer();
        return;
      }
    }
    this.gen.wrongAnswer(
      p
        ? `${codeName(reply.code)} id ${reply.identifier} fails the Response Authenticator or Message-Authenticator check`
        : `${codeName(reply.code)} id ${reply.identifier} answers no request in flight`,
    );
  }
}

/** The sockets and the request encoder; `closedLoop` and `openLoop` use it. */
export class LoadGenerator {
  readonly target: LoadTarget;
  readonly secret: SharedSecret;
  private readonly endpoints: Endpoint[] = [];
  private readonly sweeper: NodeJS.Timeout;
  private nextUser = 0;
  private wrong = 0;
  private late = 0;
  private readonly wrongSamples: string[] = [];

  private constructor(target: LoadTarget) {
    this.target = target;
    this.secret = new SharedSecret(target.secret);
    this.sweeper = setInterval(() => {
      const now = performance.now();
      for (const e of this.endpoints) e.sweep(now);
    }, 20);
  }

  static async open(target: LoadTarget, sockets: number): Promise<LoadGenerator> {
    const gen = new LoadGenerator(target);
    await gen.ensureSockets(sockets);
    return gen;
  }

  /** At least `n` sockets (256 identifiers each). */
  async ensureSockets(n: number): Promise<void> {
    while (this.endpoints.length < n) {
      const socket = createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024, sendBufferSize: 4 * 1024 * 1024 });
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        // Connected: no address resolution per send, and only the server's datagrams come back.
        socket.bind(0, '127.0.0.1', () => {
          socket.connect(this.target.port, '127.0.0.1', () => {
            socket.removeListener('error', reject);
            resolve();
          });
        });
      });
      socket.on('error', (err) => this.wrongAnswer(`socket error: ${err.message}`));
      this.endpoints.push(new Endpoint(this, socket));
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const e of this.endpoints) e.socket.close();
  }

  wrongAnswer(what: string): void {
    this.wrong++;
    if (this.wrongSamples.length < 5) this.wrongSamples.push(what);
  }

  lateAnswer(): void {
    this.late++;
  }

  private packet(user: number): (id: number, auth: Buffer) => Buffer {
    return (identifier, authenticator) =>
      encodeRequest({
        code: RadiusCode.accessRequest,
        identifier,
        authenticator,
        attributes: [
          textAttribute(AttributeType.userName, `user${user}`),
          userPasswordAttribute(this.target.password, this.secret, authenticator),
          textAttribute(AttributeType.nasIdentifier, 'bench'),
        ],
        secret: this.secret,
        messageAuthenticator: true,
      });
  }

  private user(): number {
    const u = (this.nextUser % this.target.users) + 1;
    this.nextUser++;
    return u;
  }

  /** Sends one request on endpoint `e` (or any with a free identifier); false if none has one. */
  private sendOne(done: Pending['done'], e?: Endpoint): boolean {
    const user = this.user();
    if (e) return e.send(this.packet(user), done);
    for (let k = 0; k < this.endpoints.length; k++) {
      const ep = this.endpoints[(user + k) % this.endpoints.length]!;
      if (ep.available > 0) return ep.send(this.packet(user), done);
    }
    return false;
  }

  /** `concurrency` requests outstanding at all times, for `seconds`. */
  async closedLoop(concurrency: number, seconds: number): Promise<RunResult> {
    await this.ensureSockets(Math.ceil(concurrency / 256));
    const acc = new Accumulator(this);
    const end = performance.now() + seconds * 1000;
    const perSocket = Math.ceil(concurrency / this.endpoints.length);
    await Promise.all(
      Array.from({ length: concurrency }, async (_, k) => {
        const ep = this.endpoints[Math.floor(k / perSocket)]!;
        while (performance.now() < end) {
          await new Promise<void>((resolve) => {
            acc.sent++;
            if (!this.sendOne((o, ms) => (acc.record(o, ms), resolve()), ep)) throw new Error('no free identifier in closed loop');
          });
        }
      }),
    );
    return acc.result();
  }

  /**
   * Open loop: `rate` requests per second for `seconds`, whatever the answers, then waits
   * until every request is answered or has timed out.
   */
  async openLoop(rate: number, seconds: number): Promise<RunResult> {
    await this.ensureSockets(Math.ceil((rate * this.target.timeoutMs) / 1000 / 256) + 1);
    const acc = new Accumulator(this);
    let outstanding = 0;
    const done = (o: Outcome, ms: number) => {
      outstanding--;
      acc.record(o, ms);
    };
    const start = performance.now();
    const total = Math.round(rate * seconds);
    let issued = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
        while (issued < due) {
          issued++;
          if (this.sendOne(done)) {
            acc.sent++;
            outstanding++;
          } else {
            acc.notSent++;
          }
        }
        if (issued >= total) resolve();
        else setTimeout(tick, 2);
      };
      tick();
    });
    while (outstanding > 0) await new Promise((r) => setTimeout(r, 20));
    return acc.result(seconds);
  }

  snapshot(): { wrong: number; late: number; samples: string[] } {
    return { wrong: this.wrong, late: this.late, samples: [...this.wrongSamples] };
  }
}

class Accumulator {
  sent = 0;
  notSent = 0;
  private accepts = 0;
  private rejects = 0;
  private timeouts = 0;
  private readonly latencies: number[] = [];
  private readonly started = performance.now();
  private readonly gen: LoadGenerator;
  private readonly wrong0: number;
  private readonly late0: number;
  private readonly samples0: number;

  constructor(gen: LoadGenerator) {
    this.gen = gen;
    const s = gen.snapshot();
    this.wrong0 = s.wrong;
    this.late0 = s.late;
    this.samples0 = s.samples.length;
  }

  record(o: Outcome, ms: number): void {
    if (o === 'accept') {
      this.accepts++;
      this.latencies.push(ms);
    } else if (o === 'reject') this.rejects++;
    else if (o === 'timeout') this.timeouts++;
    // 'wrong' is counted by the generator (with a description).
  }

  result(seconds?: number): RunResult {
    const elapsed = seconds ?? (performance.now() - this.started) / 1000;
    const l = this.latencies.sort((a, b) => a - b);
    const q = (p: number) => l[Math.min(l.length - 1, Math.floor(p * l.length))] ?? NaN;
    const s = this.gen.snapshot();
    return {
      sent: this.sent,
      accepts: this.accepts,
      rejects: this.rejects,
      timeouts: this.timeouts,
      wrong: s.wrong - this.wrong0,
      late: s.late - this.late0,
      notSent: this.notSent,
      seconds: elapsed,
      p50: q(0.5),
      p99: q(0.99),
      mean: l.length ? l.reduce((a, b) => a + b, 0) / l.length : NaN,
      wrongSamples: s.samples.slice(this.samples0),
    };
  }
}
