/**
 * Test support for the LDAP wire server: an in-memory handler, a raw LDAP client that decodes
 * responses, counting metrics, a captured logger, and helpers to run the OpenLDAP tools.
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import tls from 'node:tls';
import { Writable } from 'node:stream';
import type { SecureContext } from 'node:tls';
import { createRootLogger, type Logger } from '../../../src/log.ts';
import { makeEntry, type LdapEntry } from '../../../src/ldap/entry.ts';
import {
  BerReader,
  ResultCode,
  SearchScope,
  compileFilter,
  encodeRequest,
  splitPdus,
  type BindRequest,
  type CompareRequest,
  type Control,
  type LdapRequest,
  type LdapResult,
  type SearchRequest,
} from '../../../src/ldap/protocol/index.ts';
import type { BindOutcome, BoundSession, ClientInfo, LdapHandler, RequestContext, SearchOutcome } from '../../../src/ldap/server/handler.ts';
import { LdapServer, type LdapServerOptions, type LdapServerPorts } from '../../../src/ldap/server/server.ts';
import type {
  ConnectionRejectReason,
  LdapServerMetrics,
  ListenerKind,
  OperationResult,
  OperationType,
  PduRejectReason,
} from '../../../src/ldap/server/metrics.ts';
import { generateSelfSignedCertificate, type SelfSignedCertificate } from '../../../src/ldap/server/self-signed.ts';

export const BASE = 'dc=example,dc=com';
export const ALICE_DN = 'cn=alice,ou=users,dc=example,dc=com';
export const ALICE_PW = 'secret';
export const BIG_BASE = 'ou=big,dc=example,dc=com';

let certPromise: Promise<SelfSignedCertificate> | undefined;
export function testCertificate(): Promise<SelfSignedCertificate> {
  certPromise ??= generateSelfSignedCertificate();
  return certPromise;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

function dnLower(dn: string): string {
  return dn.toLowerCase().replace(/\s*,\s*/g, ',');
}

function inScope(entryDn: string, base: string, scope: number): boolean {
  const e = dnLower(entryDn);
  const b = dnLower(base);
  if (scope === SearchScope.baseObject) return e === b;
  const isBelow = b === '' ? e !== '' : e.endsWith(`,${b}`);
  if (scope === SearchScope.singleLevel) return isBelow && e.slice(0, b === '' ? e.length : e.length - b.length - 1).split(',').length === 1;
  if (scope === SearchScope.subordinateSubtree) return isBelow;
  return e === b || isBelow;
}

export interface SearchRecord {
  readonly client: ClientInfo;
  readonly session: BoundSession | undefined;
  readonly request: SearchRequest;
  readonly controls: readonly Control[];
}

/** A small in-memory directory. Bind succeeds only for ALICE_DN / ALICE_PW. */
export class TestHandler implements LdapHandler {
  readonly binds: { client: ClientInfo; name: string }[] = [];
  readonly searches: SearchRecord[] = [];
  readonly ended: { client: ClientInfo; session: BoundSession }[] = [];
  readonly serverNames: (string | undefined)[] = [];
  readonly clients: ClientInfo[] = [];
  /** Entries under BIG_BASE (for large results). */
  bigCount = 10_000;
  /** Delay of searches on base `cn=slow` (resolves early when the signal aborts). */
  slowMs = 2_000;
  /** Set when a slow search saw its signal abort. */
  abortedSearches = 0;
  readonly entries: LdapEntry[];
  private readonly ctx: SecureContext;

  constructor(ctx: SecureContext) {
    this.ctx = ctx;
    this.entries = [
      makeEntry('', [
        { type: 'objectClass', values: ['top'] },
        { type: 'namingContexts', values: [BASE] },
        { type: 'supportedLDAPVersion', values: ['3'] },
        { type: 'supportedExtension', values: ['1.3.6.1.4.1.1466.20037', '1.3.6.1.4.1.4203.1.11.3'] },
        { type: 'vendorName', values: ['test'] },
        { type: 'subschemaSubentry', values: ['cn=subschema'], operational: true },
      ]),
      makeEntry(BASE, [
        { type: 'objectClass', values: ['top', 'domain'] },
        { type: 'dc', values: ['example'] },
      ]),
      makeEntry('ou=users,dc=example,dc=com', [{ type: 'objectClass', values: ['top', 'organizationalUnit'] }, { type: 'ou', values: ['users'] }]),
      makeEntry(ALICE_DN, [
        { type: 'objectClass', values: ['top', 'person', 'inetOrgPerson'] },
        { type: 'cn', values: ['alice'] },
        { type: 'sAMAccountName', values: ['alice'] },
        { type: 'sn', values: ['Liddell'] },
        { type: 'mail', values: ['alice@example.com'] },
        { type: 'memberOf', values: ['cn=staff,ou=groups,dc=example,dc=com'] },
        { type: 'entryUUID', values: ['5d1f1b6e-0c0a-4b8e-9a7d-000000000001'], operational: true },
        { type: 'createTimestamp', values: ['20240101000000Z'], operational: true },
      ]),
      makeEntry('cn=bob,ou=users,dc=example,dc=com', [
        { type: 'objectClass', values: ['top', 'person', 'inetOrgPerson'] },
        { type: 'cn', values: ['bob'] },
        { type: 'sAMAccountName', values: ['bob'] },
        { type: 'sn', values: ['Builder'] },
        { type: 'mail', values: ['bob@example.com'] },
        { type: 'entryUUID', values: ['5d1f1b6e-0c0a-4b8e-9a7d-000000000002'], operational: true },
      ]),
    ];
  }

  async bind(ctx: RequestContext, request: BindRequest): Promise<BindOutcome> {
    const client = ctx.client;
    this.binds.push({ client, name: request.name });
    this.clients.push(client);
    if (request.name === 'cn=throw') throw new Error('boom (bind)');
    if (request.name === 'cn=slow') await sleep(this.slowMs);
    const pw = request.authentication.method === 'simple' ? request.authentication.password.toString('utf8') : '';
    if (dnLower(request.name) === ALICE_DN && pw === ALICE_PW) return { result: { resultCode: ResultCode.success }, session: { dn: request.name } };
    return { result: { resultCode: ResultCode.invalidCredentials, diagnosticMessage: 'invalid credentials' } };
  }

  async search(ctx: RequestContext, request: SearchRequest): Promise<SearchOutcome> {
    this.searches.push({ client: ctx.client, session: ctx.session, request, controls: ctx.controls });
    this.clients.push(ctx.client);
    const base = dnLower(request.baseObject);
    if (base === 'cn=throw') throw new Error('boom (search)');
    if (base === 'cn=slow') {
      await sleep(this.slowMs, ctx.signal);
      if (ctx.signal.aborted) this.abortedSearches++;
      return { result: { resultCode: ResultCode.success }, entries: [this.entries[3]!] };
    }
    if (base === BIG_BASE) {
      const entries: LdapEntry[] = [];
      for (let i = 0; i < this.bigCount; i++) {
        entries.push(
          makeEntry(`cn=user${i},${BIG_BASE}`, [
            { type: 'objectClass', values: ['top', 'person'] },
            { type: 'cn', values: [`user${i}`] },
            { type: 'description', values: [`entry number ${i} `.repeat(8)] },
          ]),
        );
      }
      return { result: { resultCode: ResultCode.success }, entries };
    }
    const f = compileFilter(request.filter);
    const entries = this.entries.filter((e) => inScope(e.dn, request.baseObject, request.scope) && (e.dn === '' ? request.scope === SearchScope.baseObject : true) && f.matches(e));
    if (entries.length === 0 && !this.entries.some((e) => dnLower(e.dn) === base)) {
      return { result: { resultCode: ResultCode.noSuchObject, matchedDN: BASE }, entries: [] };
    }
    const limited = request.sizeLimit > 0 ? entries.slice(0, request.sizeLimit) : entries;
    return { result: { resultCode: ResultCode.success }, entries: limited };
  }

  async compare(ctx: RequestContext, request: CompareRequest): Promise<LdapResult> {
    this.clients.push(ctx.client);
    if (dnLower(request.entry) === 'cn=throw') throw new Error('boom (compare)');
    const e = this.entries.find((x) => dnLower(x.dn) === dnLower(request.entry));
    if (e === undefined) return { resultCode: ResultCode.noSuchObject };
    const values = e.get(request.attribute.toLowerCase()) ?? [];
    const v = request.value.toString('utf8').toLowerCase();
    return { resultCode: values.some((x) => x.toLowerCase() === v) ? ResultCode.compareTrue : ResultCode.compareFalse };
  }

  sessionEnded(client: ClientInfo, session: BoundSession): void {
    this.ended.push({ client, session });
  }

  secureContext(serverName: string | undefined): SecureContext {
    this.serverNames.push(serverName);
    return this.ctx;
  }
}

// ---------------------------------------------------------------------------------------
// Metrics and logs

export class CountingMetrics implements LdapServerMetrics {
  readonly counts = new Map<string, number>();
  private inc(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }
  connectionAccepted(listener: ListenerKind): void {
    this.inc(`accepted:${listener}`);
  }
  connectionRejected(listener: ListenerKind, reason: ConnectionRejectReason): void {
    this.inc(`rejected:${listener}:${reason}`);
    this.inc(`rejected:${reason}`);
  }
  connectionClosed(listener: ListenerKind, durationSeconds: number): void {
    if (!(durationSeconds >= 0)) throw new Error('bad duration');
    this.inc(`closed:${listener}`);
  }
  pduRejected(listener: ListenerKind, reason: PduRejectReason): void {
    this.inc(`pdu:${reason}`);
  }
  operation(type: OperationType, result: OperationResult, durationSeconds: number): void {
    if (!(durationSeconds >= 0)) throw new Error('bad duration');
    this.inc(`op:${type}:${result}`);
  }
}

export interface CapturedLogger {
  readonly logger: Logger;
  readonly lines: Record<string, unknown>[];
  readonly raw: string[];
}

export function captureLogger(level = 'debug'): CapturedLogger {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) {
        if (l === '') continue;
        raw.push(l);
        lines.push(JSON.parse(l) as Record<string, unknown>);
      }
      cb();
    },
  });
  return { logger: createRootLogger({ level, destination: dest }), lines, raw };
}

// ---------------------------------------------------------------------------------------
// Server fixture

export interface Fixture {
  readonly server: LdapServer;
  readonly handler: TestHandler;
  readonly ports: LdapServerPorts;
  readonly ldapPort: number;
  readonly ldapsPort: number;
  readonly metrics: CountingMetrics;
  readonly logs: CapturedLogger;
  readonly url: string;
  readonly ldapsUrl: string;
  stop(ms?: number): Promise<void>;
}

export async function startFixture(opts: Partial<Omit<LdapServerOptions, 'handler' | 'logger' | 'metrics'>> & { handler?: TestHandler; level?: string } = {}): Promise<Fixture> {
  const cert = await testCertificate();
  const handler = opts.handler ?? new TestHandler(cert.secureContext);
  const metrics = new CountingMetrics();
  const logs = captureLogger(opts.level ?? 'debug');
  const server = new LdapServer({
    listen: { ldap: { host: '127.0.0.1', port: 0 }, ldaps: { host: '127.0.0.1', port: 0 } },
    ...opts,
    handler,
    logger: logs.logger,
    metrics,
  });
  const ports = await server.start();
  return {
    server,
    handler,
    ports,
    ldapPort: ports.ldapPort ?? 0,
    ldapsPort: ports.ldapsPort ?? 0,
    metrics,
    logs,
    url: `ldap://127.0.0.1:${ports.ldapPort}`,
    ldapsUrl: `ldaps://127.0.0.1:${ports.ldapsPort}`,
    stop: (ms = 2000) => server.stop(AbortSignal.timeout(ms)),
  };
}

// ---------------------------------------------------------------------------------------
// Raw client

export interface Response {
  readonly messageId: number;
  readonly tag: number;
  readonly resultCode?: number;
  readonly matchedDN?: string;
  readonly diagnosticMessage?: string;
  readonly responseName?: string;
  readonly responseValue?: Buffer;
  readonly objectName?: string;
  readonly attributes?: { type: string; values: string[] }[];
  readonly controls: { oid: string; value: Buffer | undefined }[];
}

export function decodeResponse(pdu: Buffer): Response {
  const top = new BerReader(pdu);
  const m = top.readConstructed();
  const messageId = m.readUnsignedInt();
  const tag = m.peekTag()!;
  let out: Omit<Response, 'controls'>;
  if (tag === 0x64) {
    const r = m.readConstructed(0x64);
    const objectName = r.readString();
    const as = r.readConstructed();
    const attributes: { type: string; values: string[] }[] = [];
    while (!as.atEnd()) {
      const a = as.readConstructed();
      const type = a.readString();
      const vs = a.readConstructed(0x31);
      const values: string[] = [];
      while (!vs.atEnd()) values.push(vs.readString());
      attributes.push({ type, values });
    }
    out = { messageId, tag, objectName, attributes };
  } else {
    const r = m.readConstructed(tag);
    const resultCode = r.readEnumerated();
    const matchedDN = r.readString();
    const diagnosticMessage = r.readString();
    let responseName: string | undefined;
    let responseValue: Buffer | undefined;
    while (!r.atEnd()) {
      const t = r.peekTag();
      if (t === 0x8a) responseName = r.readString(0x8a);
      else if (t === 0x8b) responseValue = r.readOctetString(0x8b);
      else r.skip();
    }
    out = { messageId, tag, resultCode, matchedDN, diagnosticMessage, responseName, responseValue };
  }
  const controls: { oid: string; value: Buffer | undefined }[] = [];
  if (m.peekTag() === 0xa0) {
    const cs = m.readConstructed(0xa0);
    while (!cs.atEnd()) {
      const c = cs.readConstructed();
      const oid = c.readString();
      if (c.peekTag() === 0x01) c.readBoolean();
      controls.push({ oid, value: c.peekTag() === 0x04 ? c.readOctetString() : undefined });
    }
  }
  return { ...out, controls };
}

/** A bare LDAP client over a socket: send raw bytes or requests, read decoded responses. */
export class RawClient {
  readonly socket: net.Socket;
  readonly responses: Response[] = [];
  readonly closed: Promise<void>;
  isClosed = false;
  private buf = Buffer.alloc(0);
  private waiters: { pred: (r: Response) => boolean; resolve: (r: Response) => void; reject: (e: Error) => void }[] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      const s = splitPdus(this.buf, 64 * 1024 * 1024);
      for (const p of s.pdus) {
        const r = decodeResponse(Buffer.from(p));
        this.responses.push(r);
        const hit = this.waiters.filter((w) => w.pred(r));
        this.waiters = this.waiters.filter((w) => !w.pred(r));
        for (const w of hit) w.resolve(r);
      }
      this.buf = Buffer.from(this.buf.subarray(s.consumed));
    });
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.isClosed = true;
        for (const w of this.waiters) w.reject(new Error('connection closed'));
        this.waiters = [];
        resolve();
      }),
    );
  }

  static connect(port: number, opts: { tls?: boolean; servername?: string; host?: string } = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const host = opts.host ?? '127.0.0.1';
      const s = opts.tls
        ? tls.connect({ port, host, rejectUnauthorized: false, ...(opts.servername === undefined ? {} : { servername: opts.servername }) }, () => resolve(new RawClient(s)))
        : net.connect({ port, host }, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  /** Wraps an already connected socket. */
  static wrap(socket: net.Socket): RawClient {
    return new RawClient(socket);
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  send(messageId: number, request: LdapRequest, controls?: readonly Control[]): void {
    this.socket.write(encodeRequest(messageId, request, controls));
  }

  /** The next response (already received or future) matching `pred`. */
  waitFor(pred: (r: Response) => boolean, timeoutMs = 5000): Promise<Response> {
    const found = this.responses.find(pred);
    if (found !== undefined) return Promise.resolve(found);
    if (this.isClosed) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timed out waiting for a response')), timeoutMs);
      this.waiters.push({
        pred,
        resolve: (r) => {
          clearTimeout(t);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      });
    });
  }

  /** The final response (not a search entry) for `messageId`. */
  result(messageId: number, timeoutMs = 5000): Promise<Response> {
    return this.waitFor((r) => r.messageId === messageId && r.tag !== 0x64, timeoutMs);
  }

  async bind(messageId: number, name: string, password: string): Promise<Response> {
    this.send(messageId, { type: 'bind', version: 3, name, authentication: { method: 'simple', password: Buffer.from(password) } });
    return this.result(messageId);
  }

  /** Resolves once the server has closed the connection; rejects after `ms` (a regression fails, it does not hang). */
  closedWithin(ms = 5000): Promise<void> {
    return within(this.closed, ms, 'the connection to close');
  }

  close(): void {
    this.socket.destroy();
  }
}

export function searchRequest(baseObject: string, opts: Partial<Omit<SearchRequest, 'type' | 'baseObject'>> = {}): SearchRequest {
  return {
    type: 'search',
    baseObject,
    scope: SearchScope.wholeSubtree,
    derefAliases: 0,
    sizeLimit: 0,
    timeLimit: 0,
    typesOnly: false,
    filter: { type: 'present', attribute: 'objectClass' },
    attributes: [],
    ...opts,
  } as SearchRequest;
}

export function isNotice(r: Response): boolean {
  return r.messageId === 0 && r.tag === 0x78 && r.responseName === '1.3.6.1.4.1.1466.20036';
}

// ---------------------------------------------------------------------------------------
// External tools

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(cmd: string, args: readonly string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env: { ...process.env, LDAPCONF: '/dev/null', ...env }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number') {
        reject(new Error(`${cmd} failed to run: ${err.message}`));
        return;
      }
      resolve({ code: err === null ? 0 : (err.code as number), stdout, stderr });
    });
  });
}

/** Rejects when `p` has not settled within `ms` (a regression fails, it does not hang). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export function waitUntil(pred: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (pred()) return resolve();
      if (Date.now() - start > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}
