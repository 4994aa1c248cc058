// One LDAP connection: PROXY preamble, TLS (LDAPS or StartTLS), framing, decoding, dispatch
// to the handler, responses with backpressure, limits, and an orderly close.
//
// Requests are processed one at a time in arrival order (RFC 4511 allows a server to do so);
// only Abandon is acted on as soon as it arrives. Unbind is processed in order, so requests
// the client sent before it still get their responses.
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Logger } from '../../log.ts';
import {
  BerWriter,
  ExtendedOid,
  LdapDecodeError,
  ResultCode,
  SearchScope,
  encodeMessage,
  encodeNoticeOfDisconnection,
  resultResponseFor,
  tryDecodeMessage,
  unsupportedCriticalControls,
  whoAmIResponseValue,
  writeMessage,
  type BindRequest,
  type CompareRequest,
  type ExtendedRequest,
  type LdapMessage,
  type LdapResult,
  type RequestType,
  type SearchRequest,
  type StoredAttribute,
} from '../protocol/index.ts';
import type { BoundSession, ClientInfo, LdapHandler, RequestContext, SearchOutcome } from './handler.ts';
import type { LdapLimits } from './limits.ts';
import { resultName, type ConnectionRejectReason, type LdapServerMetrics, type ListenerKind, type OperationResult, type OperationType, type PduRejectReason } from './metrics.ts';
import { PduReader } from './pdu-reader.ts';
import { parseProxyHeader, proxySignature } from '../../net/proxy-protocol.ts';
import { isSelected, parseAttributeSelection, selectAttributes } from './select.ts';

/** What a connection needs from its server. */
export interface ConnectionHost {
  readonly handler: LdapHandler;
  readonly logger: Logger;
  readonly metrics: LdapServerMetrics;
  readonly limits: LdapLimits;
  readonly requireTls: boolean;
  /** Controls a search may carry as critical. */
  readonly supportedSearchControls: ReadonlySet<string>;
  /** Controls any other operation may carry as critical. */
  readonly supportedControls: ReadonlySet<string>;
  /** Whether the TCP peer may send a PROXY header. */
  isTrustedProxy(address: string): boolean;
  /** Counts the connection against its client address; false when that address is over its limit. */
  admit(conn: LdapConnection, address: string): boolean;
  /** Counts a rejection and logs it (rate-limited per reason and address). */
  rejected(listener: ListenerKind, kind: 'connection', reason: ConnectionRejectReason, address: string, detail: string): void;
  rejected(listener: ListenerKind, kind: 'pdu', reason: PduRejectReason, address: string, detail: string): void;
  /** Called exactly once, when the connection is closed. */
  closed(conn: LdapConnection): void;
}

type Phase = 'preamble' | 'handshake' | 'ldap' | 'closing' | 'closed';
type HoldReason = 'starttls' | 'unbind' | 'congested' | 'backlog' | 'shutdown';

interface QueuedOp {
  readonly msg: LdapMessage;
  readonly type: OperationType;
  /** Bytes of the request's PDU (limits.maxQueuedBytes). */
  readonly size: number;
}

interface RunningOp {
  readonly messageId: number;
  readonly type: OperationType;
  readonly abort: AbortController;
  abandoned: boolean;
}

/** Bytes of SearchResultEntry messages gathered before one socket write. */
const SEARCH_BATCH_BYTES = 64 * 1024;
/** Responses below this are copied out of the search writer, which keeps its buffer. */
const SMALL_RESPONSE = 2048;
const BUSY_NOT_ABANDONABLE: ReadonlySet<OperationType> = new Set(['bind', 'startTLS', 'unbind']);
const READ_ONLY_VERB: Partial<Record<RequestType, string>> = { modify: 'modify', add: 'add', delete: 'delete', modifyDN: 'modify DN' };

export function operationType(msg: LdapMessage): OperationType {
  const r = msg.request;
  if (r.type !== 'extended') return r.type;
  switch (r.name) {
    case ExtendedOid.startTls:
      return 'startTLS';
    case ExtendedOid.whoAmI:
      return 'whoAmI';
    case ExtendedOid.passwordModify:
      return 'passwordModify';
    default:
      return 'extended';
  }
}

function decodeReason(e: LdapDecodeError): PduRejectReason {
  // More elements than limits.maxRequestElements: too large to decode, whatever its byte size.
  if (e.berError?.reason === 'too-many-elements') return 'too_large';
  switch (e.kind) {
    case 'malformed':
      return 'malformed';
    case 'unknown-operation':
      return 'unknown_operation';
    case 'invalid-operation':
      return 'invalid_operation';
    case 'invalid-controls':
      return 'invalid_controls';
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class LdapConnection {
  readonly id: number;
  readonly listener: ListenerKind;
  /** The TCP peer (the proxy, when a PROXY header was accepted). */
  readonly peerAddress: string;
  /** The address counted against the per-address limit, once admitted. */
  admittedAddress: string | undefined;
  /** Resolves once the connection is closed. */
  readonly done: Promise<void>;

  private readonly host: ConnectionHost;
  private readonly raw: Socket;
  private tls: TLSSocket | undefined;
  private sock: Socket;
  private client: ClientInfo;
  private log: Logger;
  private session: BoundSession | undefined;
  private phase: Phase = 'preamble';
  private readonly reader: PduReader;
  private readonly queue: QueuedOp[] = [];
  /** Sum of the queued requests' sizes. */
  private queuedBytes = 0;
  private current: RunningOp | undefined;
  private running = false;
  private readonly holds = new Set<HoldReason>();
  private draining = false;
  private upgrading = false;
  private handlerCalls = 0;
  /** The idle timer fired while a handler call ran (see onIdle). */
  private idleDuringCall = false;
  private preamble: Buffer | undefined;
  private headerTimerArmed = false;
  private timer: NodeJS.Timeout | undefined;
  /** Armed while a request has begun to arrive and is not complete (limits.requestReadTimeoutMs). */
  private readTimer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private readonly trustedPeer: boolean;
  /** Searches frame their responses here (one search runs at a time); batches leave with take(). */
  private readonly searchOut = new BerWriter(4096);
  private readonly openedAt = performance.now();
  private resolveDone!: () => void;

  constructor(host: ConnectionHost, raw: Socket, listener: ListenerKind, id: number, peerAddress: string) {
    this.host = host;
    this.raw = raw;
    this.sock = raw;
    this.listener = listener;
    this.id = id;
    this.peerAddress = peerAddress;
    this.reader = new PduReader(host.limits.maxPduSize);
    this.trustedPeer = host.isTrustedProxy(peerAddress);
    this.client = Object.freeze({ id, address: peerAddress, port: raw.remotePort ?? 0, listener, tls: false, serverName: undefined });
    this.log = host.logger.child({ connection: id, client: peerAddress });
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** The client as the handler sees it (a snapshot). */
  get clientInfo(): ClientInfo {
    return this.client;
  }

  /** What the connection is bound as (undefined while anonymous). */
  get boundSession(): BoundSession | undefined {
    return this.session;
  }

  /** No request running or queued. */
  get idle(): boolean {
    return this.current === undefined && this.queue.length === 0 && !this.running;
  }

  start(): void {
    this.raw.on('error', this.onSocketError);
    this.raw.on('close', this.onClose);
    if (!this.trustedPeer && !this.admit(this.peerAddress)) return;
    this.raw.on('data', this.onPreambleData);
    // LDAPS clients speak first (ClientHello) and must finish the handshake in time; on the
    // plain port a silent client is simply idle.
    if (this.listener === 'ldaps') this.arm(this.host.limits.handshakeTimeoutMs, () => this.reject('tls_handshake_timeout', 'no TLS handshake in time'));
    else this.arm(this.host.limits.idleTimeoutMs, () => this.closeQuietly('idle before the first request'));
    this.log.debug({ listener: this.listener, port: this.client.port }, 'LDAP connection opened');
  }

  /** Graceful stop: no new requests; close with a notice once the running ones are answered. */
  shutdown(): void {
    this.draining = true;
    if (this.phase === 'preamble' || this.phase === 'handshake') {
      this.terminate();
      return;
    }
    if (this.phase !== 'ldap') return;
    this.hold('shutdown');
    if (this.idle) this.close({ code: ResultCode.unavailable, message: 'the server is shutting down' });
  }

  /** Deadline reached: abandon running operations, notify and close. */
  terminate(): void {
    const notice = { code: ResultCode.unavailable, message: 'the server is shutting down' };
    if (this.phase === 'ldap') this.close(notice);
    // A plain connection that has not sent anything yet is an idle LDAP connection too.
    else if (this.phase === 'preamble' && this.listener === 'ldap' && this.preamble === undefined) this.close(notice, true);
    else this.destroy();
  }

  /**
   * Closes the connection now, whatever it is doing: running operations are abandoned, the
   * client gets `notice` (a Notice of Disconnection, RFC 4511 §4.4.1), the socket is destroyed
   * if the client has not closed its side within the close grace period.
   */
  disconnect(notice: { code: number; message: string }): void {
    this.close(notice);
  }

  destroy(): void {
    this.raw.destroy();
    this.tls?.destroy();
  }

  // ---------------------------------------------------------------------------------------
  // Admission, PROXY preamble, TLS

  private admit(address: string): boolean {
    if (this.host.admit(this, address)) return true;
    this.reject('too_many_connections_per_address', `more than ${this.host.limits.maxConnectionsPerAddress} connections from ${address}`, { code: ResultCode.busy, message: 'too many connections from this address' });
    return false;
  }

  private arm(ms: number, fn: () => void): void {
    this.disarm();
    if (ms > 0) this.timer = setTimeout(fn, ms);
  }

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private readonly onPreambleData = (chunk: Buffer): void => {
    try {
      const buf = this.preamble === undefined ? chunk : Buffer.concat([this.preamble, chunk]);
      this.preamble = buf;
      if (!this.trustedPeer) {
        const sig = proxySignature(buf);
        if (sig === 'v1' || sig === 'v2') {
          this.reject('proxy_header_untrusted', `PROXY protocol header from ${this.peerAddress}, which is not in the trusted proxy networks`, { code: ResultCode.protocolError, message: 'PROXY protocol header from an untrusted address' });
          return;
        }
        if (sig === 'partial') {
          this.armHeaderTimer(() => this.reject('proxy_header_untrusted', 'incomplete PROXY protocol header from an untrusted peer'));
          return;
        }
        this.endPreamble(buf);
        return;
      }
      const r = parseProxyHeader(buf);
      switch (r.kind) {
        case 'none':
          this.endPreamble(buf);
          return;
        case 'need-more':
          this.armHeaderTimer(() => this.reject('proxy_header_timeout', 'PROXY protocol header not completed in time'));
          return;
        case 'error':
          this.reject('proxy_header_invalid', r.reason, { code: ResultCode.protocolError, message: 'invalid PROXY protocol header' });
          return;
        case 'header':
          if (r.source !== undefined) {
            this.client = Object.freeze({ ...this.client, address: r.source.address, port: r.source.port });
            this.log = this.host.logger.child({ connection: this.id, client: r.source.address, proxy: this.peerAddress });
          }
          if (!this.admit(this.client.address)) return;
          this.endPreamble(buf.subarray(r.consumed));
          return;
      }
    } catch (e) {
      this.internalFailure(e);
    }
  };

  /** On the plain port a started PROXY header must complete in time (once armed, never extended). */
  private armHeaderTimer(fn: () => void): void {
    if (this.headerTimerArmed || this.listener === 'ldaps') return;
    this.headerTimerArmed = true;
    this.arm(this.host.limits.handshakeTimeoutMs, fn);
  }

  private endPreamble(rest: Buffer): void {
    this.raw.removeListener('data', this.onPreambleData);
    this.preamble = undefined;
    if (this.listener === 'ldaps') {
      this.raw.pause();
      if (rest.length > 0) this.raw.unshift(rest);
      this.beginTls();
      return;
    }
    this.disarm();
    this.enterLdap(this.raw, rest);
  }

  private readonly sni = (serverName: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => {
    try {
      cb(null, this.host.handler.secureContext(serverName));
    } catch (e) {
      this.log.error({ err: e, serverName }, 'no TLS context for the requested server name');
      cb(e instanceof Error ? e : new Error(String(e)));
    }
  };

  /** Starts the server side of a TLS handshake on the raw socket (LDAPS, or after StartTLS). */
  private beginTls(context?: SecureContext): void {
    let ctx = context;
    if (ctx === undefined) {
      try {
        ctx = this.host.handler.secureContext(undefined);
      } catch (e) {
        this.log.error({ err: e }, 'no TLS context available');
        this.reject('tls_handshake_failed', 'no TLS context available');
        return;
      }
    }
    this.phase = 'handshake';
    const t = new TLSSocket(this.raw, { isServer: true, secureContext: ctx, SNICallback: this.sni, requestCert: false, rejectUnauthorized: false });
    this.tls = t;
    t.on('error', this.onSocketError);
    t.on('close', this.onClose);
    this.arm(this.host.limits.handshakeTimeoutMs, () => this.reject('tls_handshake_timeout', 'TLS handshake not completed in time'));
    t.once('secure', () => {
      try {
        if (this.phase !== 'handshake') return;
        this.disarm();
        const protocol = t.getProtocol();
        if (protocol !== 'TLSv1.2' && protocol !== 'TLSv1.3') {
          this.reject('tls_handshake_failed', `TLS version ${String(protocol)} is below TLS 1.2`);
          return;
        }
        const serverName = typeof t.servername === 'string' && t.servername !== '' ? t.servername : undefined;
        this.client = Object.freeze({ ...this.client, tls: true, serverName });
        this.log.debug({ protocol, serverName, cipher: t.getCipher().name }, 'TLS established');
        this.upgrading = false;
        this.enterLdap(t, Buffer.alloc(0));
        this.release('starttls');
      } catch (e) {
        this.internalFailure(e);
      }
    });
  }

  // ---------------------------------------------------------------------------------------
  // LDAP message layer

  private enterLdap(sock: Socket, initial: Buffer): void {
    this.phase = 'ldap';
    this.sock = sock;
    sock.on('data', this.onData);
    sock.on('timeout', this.onIdle);
    this.refreshIdle();
    if (initial.length > 0) this.onData(initial);
  }

  private refreshIdle(): void {
    if (this.phase === 'ldap') this.sock.setTimeout(this.host.limits.idleTimeoutMs);
  }

  /**
   * The socket's idle timer stays armed while handler calls run (re-arming it around every
   * call cost more than a cached bind's own work); a call in progress is not idleness, so the
   * timer is only noted then, and armed anew when the last call ends.
   */
  private readonly onIdle = (): void => {
    if (this.handlerCalls > 0) {
      this.idleDuringCall = true;
      return;
    }
    this.closeQuietly('idle timeout');
  };

  private readonly onData = (chunk: Buffer): void => {
    if (this.phase !== 'ldap') return;
    try {
      this.reader.push(chunk);
      this.pump();
    } catch (e) {
      this.internalFailure(e);
    }
  };

  private hold(reason: HoldReason): void {
    this.holds.add(reason);
    this.sock.pause();
    // We stopped reading: a request cut short meanwhile is not the client's delay.
    this.clearReadTimer();
  }

  private release(reason: HoldReason): void {
    if (!this.holds.delete(reason) || this.holds.size > 0 || this.phase !== 'ldap') return;
    this.sock.resume();
    this.pump();
  }

  /** Takes complete PDUs off the receive buffer while input is not held. */
  private pump(): void {
    while (this.phase === 'ldap' && this.holds.size === 0) {
      const r = this.reader.next();
      if (r.kind === 'need-more') {
        this.watchPartialRequest();
        return;
      }
      if (r.kind === 'error') {
        const tooLarge = r.error.reason === 'pdu-too-large';
        this.protocolViolation(tooLarge ? 'too_large' : 'framing_error', tooLarge ? `request larger than ${this.host.limits.maxPduSize} bytes (${r.error.message})` : `not an LDAP message: ${r.error.message}`);
        return;
      }
      // Complete: the bytes that follow, if any, begin the next request and get a deadline of their own.
      this.clearReadTimer();
      this.onPdu(r.pdu);
    }
  }

  /**
   * A request has begun to arrive: it must be complete within requestReadTimeoutMs of that
   * moment. One timer per incomplete request, armed once and never extended, so trickled bytes
   * do not buy time (the idle timeout restarts on every byte and cannot catch this). Requests
   * that arrive in one segment, the usual case, never arm it.
   */
  private watchPartialRequest(): void {
    const ms = this.host.limits.requestReadTimeoutMs;
    if (this.reader.buffered === 0 || ms <= 0) {
      this.clearReadTimer();
      return;
    }
    if (this.readTimer === undefined) this.readTimer = setTimeout(this.onReadTimeout, ms);
  }

  private clearReadTimer(): void {
    if (this.readTimer !== undefined) clearTimeout(this.readTimer);
    this.readTimer = undefined;
  }

  private readonly onReadTimeout = (): void => {
    this.readTimer = undefined;
    if (this.phase !== 'ldap') return;
    const seconds = this.host.limits.requestReadTimeoutMs / 1000;
    this.host.rejected(this.listener, 'pdu', 'read_timeout', this.client.address, `a request did not arrive whole within ${seconds} s of its first byte (${this.reader.buffered} bytes received); closing the connection`);
    this.close({ code: ResultCode.protocolError, message: `request not received whole within ${seconds} s` });
  };

  private onPdu(pdu: Buffer): void {
    const d = tryDecodeMessage(pdu, { maxElements: this.host.limits.maxRequestElements });
    if (!d.ok) {
      // RFC 4511 §4.1.1: whatever could not be decoded (envelope, unknown protocolOp, broken
      // operation or controls) gets a Notice of Disconnection (protocolError) and a close.
      this.protocolViolation(decodeReason(d.error), `undecodable request${d.error.messageId === undefined ? '' : ` (messageID ${d.error.messageId})`}: ${d.error.message}`);
      return;
    }
    const msg = d.message;
    const req = msg.request;
    if (req.type === 'abandon') {
      this.abandon(req.abandonId);
      this.host.metrics.operation('abandon', 'none', 0);
      return;
    }
    const type = operationType(msg);
    const outstanding = this.queue.length + (this.current === undefined ? 0 : 1);
    if (outstanding >= this.host.limits.maxOutstandingPerConnection && type !== 'unbind') {
      this.host.rejected(this.listener, 'pdu', 'too_many_outstanding', this.client.address, `more than ${this.host.limits.maxOutstandingPerConnection} outstanding requests on one connection`);
      this.respond(msg, { resultCode: ResultCode.busy, diagnosticMessage: 'too many outstanding requests on this connection' });
      this.host.metrics.operation(type, 'busy', 0);
      if (this.sock.writableNeedDrain && !this.holds.has('congested')) {
        // The client is not reading either: stop reading until it does.
        this.hold('congested');
        this.sock.once('drain', () => this.release('congested'));
      }
      return;
    }
    if (type === 'startTLS' && outstanding > 0) {
      // RFC 4511 §4.14.1: refused at once, so running requests can still be abandoned.
      this.host.metrics.operation(type, this.respondStartTls(msg, { resultCode: ResultCode.operationsError, diagnosticMessage: 'StartTLS must be the only outstanding request on the connection' }), 0);
      return;
    }
    if (type === 'unbind') this.hold('unbind');
    else if (type === 'startTLS') this.hold('starttls');
    this.queue.push({ msg, type, size: pdu.length });
    this.queuedBytes += pdu.length;
    if (!this.running) void this.run();
    // Whatever waits is kept decoded: past the budget, read no more until the queue drains.
    if (this.queuedBytes > this.host.limits.maxQueuedBytes) this.hold('backlog');
  }

  /** `item` left the queue (started or abandoned). */
  private dequeued(item: QueuedOp): void {
    this.queuedBytes -= item.size;
    if (this.queuedBytes <= this.host.limits.maxQueuedBytes) this.release('backlog');
  }

  private abandon(messageId: number): void {
    const cur = this.current;
    if (cur !== undefined && cur.messageId === messageId) {
      if (BUSY_NOT_ABANDONABLE.has(cur.type)) return;
      cur.abandoned = true;
      cur.abort.abort(new Error('abandoned by the client'));
      return;
    }
    const i = this.queue.findIndex((q) => q.msg.messageId === messageId && !BUSY_NOT_ABANDONABLE.has(q.type));
    if (i !== -1) {
      const [q] = this.queue.splice(i, 1);
      if (q !== undefined) {
        this.host.metrics.operation(q.type, 'abandoned', 0);
        this.dequeued(q);
      }
    }
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0 && this.phase === 'ldap') {
        const item = this.queue.shift()!;
        const op: RunningOp = { messageId: item.msg.messageId, type: item.type, abort: new AbortController(), abandoned: false };
        this.current = op;
        // Reading may resume here, and what it reads may close the connection (a malformed request).
        this.dequeued(item);
        const started = performance.now();
        let result: OperationResult;
        try {
          result = this.phase === 'ldap' ? await this.execute(item, op) : 'disconnected';
        } catch (e) {
          result = this.handlerFailed(item, op, e);
        }
        this.current = undefined;
        if (op.abandoned) result = 'abandoned';
        else if (this.isClosing() && result !== 'none') result = 'disconnected';
        const seconds = (performance.now() - started) / 1000;
        this.host.metrics.operation(item.type, result, seconds);
        if (this.log.isLevelEnabled('debug')) this.log.debug({ op: item.type, messageId: item.msg.messageId, result, took_ms: Math.round(seconds * 1000) }, 'LDAP operation');
        if (item.type === 'startTLS' && !this.upgrading) this.release('starttls');
        // A client that does not read its responses gets no more of them: wait until it does
        // (requests pile up to the outstanding limit, then input stops). Bounds our buffers.
        if (this.phase === 'ldap' && this.sock.writableNeedDrain) await this.waitDrain();
      }
    } catch (e) {
      this.internalFailure(e);
    } finally {
      this.running = false;
    }
    if (this.draining && this.phase === 'ldap' && this.idle) this.close({ code: ResultCode.unavailable, message: 'the server is shutting down' });
  }

  private isClosing(): boolean {
    return this.phase === 'closing' || this.phase === 'closed';
  }

  private handlerFailed(item: QueuedOp, op: RunningOp, e: unknown): OperationResult {
    this.log.error({ err: e, op: item.type, messageId: item.msg.messageId }, 'LDAP operation failed with an internal error');
    if (op.abandoned || this.phase !== 'ldap') return op.abandoned ? 'abandoned' : 'disconnected';
    return this.respond(item.msg, { resultCode: ResultCode.operationsError, diagnosticMessage: 'internal error' });
  }

  private async execute(item: QueuedOp, op: RunningOp): Promise<OperationResult> {
    const { msg } = item;
    const req = msg.request;
    if (req.type !== 'unbind' && req.type !== 'abandon') {
      const supported = req.type === 'search' ? this.host.supportedSearchControls : this.host.supportedControls;
      const bad = unsupportedCriticalControls(msg.controls, supported);
      if (bad.length > 0) {
        return this.respond(msg, { resultCode: ResultCode.unavailableCriticalExtension, diagnosticMessage: `critical control ${bad[0]!.oid} is not supported` });
      }
    }
    switch (req.type) {
      case 'bind':
        return this.bind(msg, req, op);
      case 'search':
        return this.search(msg, req, op);
      case 'compare':
        return this.compare(msg, req, op);
      case 'extended':
        return this.extended(msg, req);
      case 'modify':
      case 'add':
      case 'delete':
      case 'modifyDN':
        return this.respond(msg, {
          resultCode: ResultCode.unwillingToPerform,
          diagnosticMessage: `this directory is read-only: authentik's LDAP outpost does not support ${READ_ONLY_VERB[req.type] ?? req.type}`,
        });
      case 'unbind':
        this.endSession();
        this.closeQuietly('unbind');
        return 'none';
      case 'abandon':
        return 'none';
    }
  }

  /** Sends the LDAPResult-only response for `msg`'s operation. */
  private respond(msg: LdapMessage, result: LdapResult): OperationResult {
    const response = resultResponseFor(msg.request.type, result);
    if (response !== undefined) this.write(encodeMessage(msg.messageId, response));
    return resultName(result.resultCode);
  }

  /** `written`: called once the socket is done with `buf` (not at all when nothing is written). */
  private write(buf: Buffer, written?: () => void): boolean {
    if (this.phase !== 'ldap' || this.sock.destroyed || this.sock.writableEnded) return true;
    return this.sock.write(buf, written);
  }

  private waitDrain(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.sock.off('drain', done);
        this.sock.off('close', done);
        resolve();
      };
      this.sock.on('drain', done);
      this.sock.on('close', done);
    });
  }

  private async callHandler<T>(fn: () => Promise<T>): Promise<T> {
    this.handlerCalls++;
    try {
      return await fn();
    } finally {
      if (--this.handlerCalls === 0 && this.idleDuringCall) {
        this.idleDuringCall = false;
        this.refreshIdle();
      }
    }
  }

  private requestContext(msg: LdapMessage, op: RunningOp): RequestContext {
    return { client: this.client, session: this.session, controls: msg.controls, signal: op.abort.signal };
  }

  private endSession(): void {
    const s = this.session;
    if (s === undefined) return;
    this.session = undefined;
    try {
      this.host.handler.sessionEnded(this.client, s);
    } catch (e) {
      this.log.error({ err: e }, 'sessionEnded failed');
    }
  }

  private async bind(msg: LdapMessage, req: BindRequest, op: RunningOp): Promise<OperationResult> {
    // RFC 4511 §4.2.1: a bind first ends the current authentication; a failed bind leaves the
    // connection anonymous.
    this.endSession();
    if (req.version !== 3) {
      return this.respond(msg, { resultCode: ResultCode.protocolError, diagnosticMessage: `LDAP version ${req.version} is not supported; use version 3` });
    }
    if (req.authentication.method === 'sasl') {
      return this.respond(msg, { resultCode: ResultCode.authMethodNotSupported, diagnosticMessage: 'SASL binds are not supported; use a simple bind' });
    }
    const password = req.authentication.password;
    if (req.name === '' && password.length === 0) {
      // Anonymous bind (RFC 4513 §5.1.1): succeeds, grants nothing beyond the root DSE.
      return this.respond(msg, { resultCode: ResultCode.success });
    }
    if (password.length === 0) {
      // Unauthenticated bind (RFC 4513 §5.1.2): refused, never treated as a password check.
      return this.respond(msg, { resultCode: ResultCode.unwillingToPerform, diagnosticMessage: 'unauthenticated bind (a DN with an empty password) is not allowed' });
    }
    if (this.host.requireTls && !this.client.tls) {
      return this.respond(msg, { resultCode: ResultCode.confidentialityRequired, diagnosticMessage: 'binding with a password requires TLS: use LDAPS or StartTLS first' });
    }
    const client = this.client;
    const ctx = this.requestContext(msg, op);
    const outcome = await this.callHandler(() => this.host.handler.bind(ctx, req));
    const ok = outcome.result.resultCode === ResultCode.success && outcome.session !== undefined;
    if (this.phase !== 'ldap' || op.abandoned) {
      // The connection went away while the bind ran: end the new session right away.
      if (ok) {
        try {
          this.host.handler.sessionEnded(client, outcome.session!);
        } catch (e) {
          this.log.error({ err: e }, 'sessionEnded failed');
        }
      }
      return 'disconnected';
    }
    if (ok) this.session = outcome.session;
    this.write(encodeMessage(msg.messageId, { type: 'bind', ...outcome.result }));
    return resultName(outcome.result.resultCode);
  }

  private async search(msg: LdapMessage, req: SearchRequest, op: RunningOp): Promise<OperationResult> {
    const rootDse = req.baseObject === '' && req.scope === SearchScope.baseObject;
    if (this.host.requireTls && !this.client.tls && !rootDse) {
      return this.respond(msg, { resultCode: ResultCode.confidentialityRequired, diagnosticMessage: 'searching requires TLS: use LDAPS or StartTLS first (only the root DSE is readable without it)' });
    }
    const ctx = this.requestContext(msg, op);
    const outcome = await this.callHandler(() => this.host.handler.search(ctx, req));
    if (op.abandoned || this.phase !== 'ldap') return 'abandoned';
    const w = this.searchOut;
    try {
      return await this.sendSearchResults(w, msg, req, outcome, op);
    } finally {
      w.release();
    }
  }

  /** The entries, in batches, then SearchResultDone; 'abandoned' when the search had to stop. */
  private async sendSearchResults(w: BerWriter, msg: LdapMessage, req: SearchRequest, outcome: SearchOutcome, op: RunningOp): Promise<OperationResult> {
    const selection = parseAttributeSelection(req.attributes);
    // Entries of a cached directory come with their encoding: only selection and framing here.
    const selected = (a: StoredAttribute): boolean => isSelected(a, selection);
    w.reset();
    for (const entry of outcome.entries) {
      if (req.typesOnly || entry.writeEncoded?.(w, msg.messageId, selected) !== true) {
        writeMessage(w, msg.messageId, { type: 'searchEntry', objectName: entry.dn, attributes: selectAttributes(entry.attributes, selection), typesOnly: req.typesOnly });
      }
      if (w.length >= SEARCH_BATCH_BYTES && !(await this.flushBatch(w, op))) return 'abandoned';
    }
    writeMessage(w, msg.messageId, { type: 'searchDone', ...outcome.result }, outcome.controls);
    if (op.abandoned || this.phase !== 'ldap') return 'abandoned';
    // A small answer is copied out (into Node's shared pool); a large one leaves without a copy.
    this.write(w.length < SMALL_RESPONSE ? w.toBuffer() : w.take());
    return resultName(outcome.result.resultCode);
  }

  /** Writes a batch; waits for the client to read it if the socket is full. False if the search must stop. */
  private async flushBatch(w: BerWriter, op: RunningOp): Promise<boolean> {
    if (op.abandoned || this.phase !== 'ldap') return false;
    const batch = w.take();
    // Once the socket is done with the batch, the writer fills that buffer again.
    if (!this.write(batch, () => w.giveBack(batch))) await this.waitDrain();
    // Let Abandon requests (and everything else) in between batches.
    else await yieldToLoop();
    return !op.abandoned && this.phase === 'ldap';
  }

  private async compare(msg: LdapMessage, req: CompareRequest, op: RunningOp): Promise<OperationResult> {
    if (this.host.requireTls && !this.client.tls) {
      return this.respond(msg, { resultCode: ResultCode.confidentialityRequired, diagnosticMessage: 'compare requires TLS: use LDAPS or StartTLS first' });
    }
    const ctx = this.requestContext(msg, op);
    const result = await this.callHandler(() => this.host.handler.compare(ctx, req));
    if (op.abandoned || this.phase !== 'ldap') return 'abandoned';
    return this.respond(msg, result);
  }

  private extended(msg: LdapMessage, req: ExtendedRequest): OperationResult {
    switch (req.name) {
      case ExtendedOid.startTls:
        return this.startTls(msg, req);
      case ExtendedOid.whoAmI:
        this.write(encodeMessage(msg.messageId, { type: 'extended', resultCode: ResultCode.success, responseValue: whoAmIResponseValue(this.session?.dn) }));
        return 'success';
      case ExtendedOid.passwordModify:
        return this.respond(msg, { resultCode: ResultCode.unwillingToPerform, diagnosticMessage: "this directory is read-only: authentik's LDAP outpost does not support password changes" });
      default:
        // RFC 4511 §4.12: an unrecognised requestName gets protocolError and no responseName.
        return this.respond(msg, { resultCode: ResultCode.protocolError, diagnosticMessage: `unsupported extended operation ${req.name}` });
    }
  }

  /** StartTLS responses carry the StartTLS OID as responseName, failures included. */
  private respondStartTls(msg: LdapMessage, result: LdapResult): OperationResult {
    this.write(encodeMessage(msg.messageId, { type: 'extended', ...result, responseName: ExtendedOid.startTls }));
    return resultName(result.resultCode);
  }

  private startTls(msg: LdapMessage, req: ExtendedRequest): OperationResult {
    // RFC 4511 §4.14.1/§4.14.2: operationsError when TLS is already established or other
    // operations are outstanding (authentik's library answers protocolError).
    if (this.client.tls) {
      return this.respondStartTls(msg, { resultCode: ResultCode.operationsError, diagnosticMessage: 'TLS is already established on this connection' });
    }
    if (req.value !== undefined) {
      return this.respondStartTls(msg, { resultCode: ResultCode.protocolError, diagnosticMessage: 'the StartTLS request must not carry a value' });
    }
    if (this.queue.length > 0 || this.reader.buffered > 0) {
      return this.respondStartTls(msg, { resultCode: ResultCode.operationsError, diagnosticMessage: 'StartTLS must be the only outstanding request on the connection' });
    }
    let ctx: SecureContext;
    try {
      ctx = this.host.handler.secureContext(undefined);
    } catch (e) {
      this.log.error({ err: e }, 'no TLS context available for StartTLS');
      return this.respondStartTls(msg, { resultCode: ResultCode.unavailable, diagnosticMessage: 'TLS is not available' });
    }
    this.write(encodeMessage(msg.messageId, { type: 'extended', resultCode: ResultCode.success, responseName: ExtendedOid.startTls }));
    // From here on the raw socket belongs to TLS: nothing may read it in between. Input is
    // paused (hold 'starttls') since the request was framed, and this runs synchronously
    // after the write; the client sends its ClientHello only after reading the response.
    this.upgrading = true;
    this.raw.removeListener('data', this.onData);
    this.raw.removeListener('timeout', this.onIdle);
    this.raw.setTimeout(0);
    this.beginTls(ctx);
    return 'success';
  }

  // ---------------------------------------------------------------------------------------
  // Failures and closing

  /** Refuses the connection before LDAP traffic: a notice on the plain port, else just a close. */
  private reject(reason: ConnectionRejectReason, detail: string, notice?: { code: number; message: string }): void {
    if (this.phase === 'closing' || this.phase === 'closed') return;
    this.host.rejected(this.listener, 'connection', reason, this.client.address, detail);
    if (notice !== undefined && this.phase === 'preamble' && this.listener === 'ldap') this.close(notice, true);
    else this.destroy();
  }

  private protocolViolation(reason: PduRejectReason, detail: string): void {
    this.host.rejected(this.listener, 'pdu', reason, this.client.address, detail);
    this.close({ code: ResultCode.protocolError, message: reason === 'too_large' ? 'request too large' : 'malformed request' });
  }

  /** Something this module did not expect: one error line, then close this connection only. */
  private internalFailure(e: unknown): void {
    this.log.error({ err: e }, 'internal error on LDAP connection; closing it');
    this.close({ code: ResultCode.other, message: 'internal server error' });
  }

  private closeQuietly(why: string): void {
    this.log.debug({ why }, 'closing LDAP connection');
    this.close(undefined);
  }

  /**
   * Stops processing, optionally sends a Notice of Disconnection, half-closes, and destroys the
   * socket if the peer has not closed within the grace period.
   */
  private close(notice: { code: number; message: string } | undefined, force = false): void {
    if (this.phase === 'closing' || this.phase === 'closed') return;
    const wasLdap = this.phase === 'ldap' || (force && this.phase === 'preamble');
    this.phase = 'closing';
    this.disarm();
    this.clearReadTimer();
    this.abortAll();
    const s = this.sock;
    if (!wasLdap || s.destroyed) {
      this.destroy();
      return;
    }
    s.removeListener('data', this.onData);
    this.raw.removeListener('data', this.onPreambleData);
    // Discard whatever else arrives, so the peer's close is seen.
    s.resume();
    s.setTimeout(0);
    try {
      if (notice !== undefined) s.end(encodeNoticeOfDisconnection(notice.code, notice.message));
      else s.end();
    } catch {
      this.destroy();
      return;
    }
    this.graceTimer = setTimeout(() => this.destroy(), this.host.limits.closeGraceMs);
  }

  private abortAll(): void {
    const cur = this.current;
    if (cur !== undefined && !cur.abort.signal.aborted) cur.abort.abort(new Error('connection closed'));
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  private readonly onSocketError = (err: Error): void => {
    if (this.phase === 'handshake') {
      this.reject('tls_handshake_failed', `TLS handshake failed: ${errorMessage(err)}`);
      return;
    }
    this.log.debug({ err: errorMessage(err) }, 'LDAP connection error');
  };

  private readonly onClose = (): void => {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.disarm();
    this.clearReadTimer();
    if (this.graceTimer !== undefined) clearTimeout(this.graceTimer);
    this.abortAll();
    this.endSession();
    this.destroy();
    this.raw.removeListener('data', this.onPreambleData);
    const seconds = (performance.now() - this.openedAt) / 1000;
    this.log.debug({ took_ms: Math.round(seconds * 1000) }, 'LDAP connection closed');
    this.host.metrics.connectionClosed(this.listener, seconds);
    this.host.closed(this);
    this.resolveDone();
  };
}
