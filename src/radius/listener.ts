// The RADIUS listener: PAP Access-Requests authenticated through authentik, hardened against
// BlastRADIUS, with duplicate detection, bounded concurrency and a per-request deadline.
import type { RemoteInfo } from 'node:dgram';
import { randomUUID } from 'node:crypto';
import type { Listener, ListenerHost, ListenerPlugin, OutpostContext } from '../agent/listener.ts';
import type { MessageAuthenticatorPolicy } from '../config/index.ts';
import { flowMetricsFrom, type FlowDeps } from '../flow/index.ts';
import { named, type Logger } from '../log.ts';
import { normalizeIp } from '../net/cidr.ts';
import { Deadline } from '../net/deadline.ts';
import { LogLimiter } from '../net/log-limiter.ts';
import { authenticate, type AuthDecision, type RejectReason } from './authenticate.ts';
import { ClientTable } from './clients.ts';
import { DuplicateCache, requestKey } from './duplicates.ts';
import { RadiusMetrics, type DropReason } from './metrics.ts';
import { AttributeType, RadiusCode, SharedSecret, attributeName, authenticateRequest, codeName, decodePacket, encodeReply, hasAttribute, textAttribute, type RadiusPacket } from './protocol/index.ts';
import { radiusProviderSchema, type RadiusProviderConfig } from './provider-config.ts';
import { UdpListener } from './udp.ts';

interface Provider {
  readonly name: string;
  readonly client_networks: string;
  readonly config: RadiusProviderConfig;
  readonly secret: SharedSecret;
  readonly outpost: OutpostContext;
  readonly flow: FlowDeps;
  readonly requireMa: MessageAuthenticatorPolicy;
}

/** Replies kept for retransmissions (FreeRADIUS keeps them 5 s; NASes retry for up to ~30 s). */
const DUPLICATE_TTL_MS = 30_000;
const DUPLICATE_MAX = 65_536;
/** Clients that sent a Message-Authenticator once (`auto` policy); bounded. */
const MA_CLIENTS_MAX = 65_536;

export class RadiusListener implements Listener<RadiusProviderConfig> {
  private readonly host: ListenerHost;
  private readonly log: Logger;
  private readonly metrics: RadiusMetrics;
  private readonly outposts = new Map<string, Provider[]>();
  private clients = new ClientTable<Provider>([]);
  private readonly duplicates = new DuplicateCache({ ttlMs: DUPLICATE_TTL_MS, max: DUPLICATE_MAX });
  private readonly maClients = new Set<string>();
  private readonly dropLog = new LogLimiter({ windowMs: 60_000, maxKeys: 10_000 });
  private readonly inFlight = new Set<Promise<void>>();
  private udp: UdpListener | undefined;
  private stopping = false;
  private _port = 0;

  constructor(host: ListenerHost) {
    this.host = host;
    this.log = named(host.logger, 'radius');
    this.metrics = new RadiusMetrics(host.metrics.registry);
  }

  get port(): number {
    return this._port;
  }

  async apply(ctx: OutpostContext, configs: readonly RadiusProviderConfig[]): Promise<void> {
    if (configs.length === 0) throw new Error('no radius provider defined');
    const { radius, timing } = this.host.config;
    const flow: FlowDeps = { core: ctx.api, logger: ctx.logger, metrics: flowMetricsFrom(ctx.metrics), attemptTimeoutMs: radius.requestTimeoutMs, requestTimeoutMs: Math.min(radius.requestTimeoutMs, timing.flowTimeoutMs) };
    const providers = configs.map<Provider>((config) => ({
      name: config.name,
      client_networks: config.client_networks,
      config,
      secret: new SharedSecret(config.shared_secret),
      outpost: ctx,
      flow,
      requireMa: radius.requireMessageAuthenticator.byProvider[config.name] ?? radius.requireMessageAuthenticator.default,
    }));
    this.outposts.set(ctx.outpost.pk, providers);
    const table = new ClientTable<Provider>([...this.outposts.values()].flat());
    for (const bad of table.invalid) this.log.error({ provider: bad.provider, cidr: bad.entry, error: bad.reason }, 'Failed to parse CIDR; entry skipped');
    this.clients = table;
  }

  async start(): Promise<void> {
    this.udp = new UdpListener(this.host.config.listen.radius, (msg, from, reply) => this.onDatagram(msg, from, reply), this.log);
    this._port = await this.udp.start();
    this.log.info({ listen: `${this.host.config.listen.radius.host}:${this._port}` }, 'Starting Radius server');
  }

  async stop(deadline: AbortSignal): Promise<void> {
    this.stopping = true;
    await this.udp?.stop();
    const all = Promise.allSettled([...this.inFlight]);
    await Promise.race([all, new Promise((resolve) => deadline.addEventListener('abort', resolve, { once: true }))]);
  }

  // ---- per datagram ----------------------------------------------------------------------

  private onDatagram(msg: Buffer, from: RemoteInfo, reply: (packet: Buffer) => void): void {
    if (this.stopping) return;
    const match = this.clients.match(from.address);
    // Logged as the address it would be matched as (a dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d).
    if (!match) return this.drop('unknown_client', normalizeIp(from.address) ?? from.address, 'No matching prefixes found');
    const provider = match.provider;
    const decoded = decodePacket(msg);
    if (!decoded.ok) return this.drop('malformed', match.address, `malformed packet: ${decoded.detail}`);
    const packet = decoded.packet;

    const policy = provider.requireMa;
    const required = policy === 'yes' || (policy === 'auto' && this.maClients.has(match.address));
    const limitProxyState = this.host.config.radius.limitProxyState;
    const auth = authenticateRequest(packet, provider.secret, {
      requireMessageAuthenticator: required,
      limitProxyState: limitProxyState === 'yes' || (limitProxyState === 'auto' && this.maClients.has(match.address)),
    });
    if (!auth.ok) {
      if (auth.reason === 'unsupported_code') {
        this.metrics.ignored.inc({ code: codeLabel(packet.code) });
        return;
      }
      const reason: DropReason =
        auth.reason === 'missing_message_authenticator'
          ? // Not required by policy, Status-Server or EAP: only limit_proxy_state drops it.
            packet.code === RadiusCode.accessRequest && !required && !hasAttribute(packet.attributes, AttributeType.eapMessage)
            ? 'proxy_state_without_message_authenticator'
            : 'missing_message_authenticator'
          : auth.reason === 'bad_request_authenticator'
            ? 'bad_request_authenticator'
            : 'bad_message_authenticator';
      return this.drop(reason, match.address, reason === 'bad_message_authenticator' ? 'Invalid message authenticator' : `dropped: ${reason.replaceAll('_', ' ')}`);
    }
    // Both `auto` settings key on "this client has sent a Message-Authenticator".
    if (auth.messageAuthenticator === 'valid' && (policy === 'auto' || limitProxyState === 'auto') && !this.maClients.has(match.address)) {
      if (this.maClients.size >= MA_CLIENTS_MAX) this.maClients.clear();
      this.maClients.add(match.address);
    }

    switch (packet.code) {
      case RadiusCode.statusServer:
        // RFC 5997: alive. Only authentic (Message-Authenticator checked) requests get here.
        this.logRequest(packet, provider, match.address);
        reply(encodeReply(packet, { code: RadiusCode.accessAccept, secret: provider.secret, echoProxyState: false }));
        return;
      case RadiusCode.accessRequest:
        return this.onAccessRequest(packet, provider, match.address, from.port, reply);
      default:
        // Accounting-Request and the rest: authentic but not served here. authentik logs them
        // ("Radius Request") and answers nothing.
        this.logRequest(packet, provider, match.address);
        this.metrics.ignored.inc({ code: codeLabel(packet.code) });
    }
  }

  /** authentik's info line for every packet that reaches its handler. */
  private logRequest(packet: RadiusPacket, provider: Provider, address: string): void {
    this.log.info({ request: randomUUID(), client: address, provider: provider.name, code: codeName(packet.code), id: packet.identifier }, 'Radius Request');
  }

  private onAccessRequest(packet: RadiusPacket, provider: Provider, address: string, port: number, reply: (packet: Buffer) => void): void {
    const key = requestKey(address, port, packet.identifier, packet.authenticator);
    const seen = this.duplicates.check(key);
    if (seen.kind === 'in-flight') return this.drop('duplicate_in_flight', address, 'retransmission of a request in progress', false);
    if (seen.kind === 'answered') {
      this.metrics.duplicatesAnswered.inc({ outpost_name: provider.outpost.outpost.name });
      reply(seen.reply);
      return;
    }
    if (this.inFlight.size >= this.host.config.radius.maxConcurrent) {
      this.duplicates.abandon(key);
      return this.drop('overloaded', address, 'too many authentications in progress; dropping (the NAS will retry)');
    }
    const run = this.handle(packet, provider, address, key, reply).catch((err: unknown) => {
      this.duplicates.abandon(key);
      this.log.error({ error: (err as Error).stack ?? String(err) }, 'RADIUS request failed');
    });
    this.inFlight.add(run);
    this.metrics.inFlight.set(this.inFlight.size);
    void run.finally(() => {
      this.inFlight.delete(run);
      this.metrics.inFlight.set(this.inFlight.size);
    });
  }

  private async handle(packet: RadiusPacket, provider: Provider, address: string, key: string, reply: (packet: Buffer) => void): Promise<void> {
    const started = performance.now();
    const requestId = randomUUID();
    const log = this.log.child({ request: requestId, client: address, provider: provider.name });
    log.info({ code: codeName(packet.code), id: packet.identifier }, 'Radius Request');
    const labels = { outpost_name: provider.outpost.outpost.name, app: provider.config.application_slug };
    const deadline = new Deadline(this.host.config.radius.requestTimeoutMs);
    let decision: AuthDecision;
    try {
      decision = await authenticate(provider.flow, {
        packet,
        secret: provider.secret,
        provider: provider.config,
        generation: provider.outpost.generation,
        nasAddress: address,
        signal: deadline.signal,
      });
    } finally {
      deadline.dispose();
    }
    this.metrics.duration.observe(labels, (performance.now() - started) / 1000);

    if (decision.kind === 'drop') {
      this.duplicates.abandon(key);
      this.drop(decision.reason === 'deadline' ? 'deadline' : 'core_unavailable', address, `no answer: ${decision.error}`);
      return;
    }
    let response: Buffer;
    if (decision.kind === 'accept') {
      // The mapped attributes were checked to fit (mapped-attributes.ts).
      response = encodeReply(packet, { code: RadiusCode.accessAccept, secret: provider.secret, attributes: decision.attributes });
      if (decision.ignored.length > 0) {
        log.warn({ username: decision.username, ignored: decision.ignored.map(attributeName) }, 'left out attributes from core that only the server may set');
      }
      log.info({ username: decision.username, attributes: decision.attributes.length }, 'User authenticated');
    } else {
      this.metrics.rejected.inc({ ...labels, reason: decision.reason });
      const attributes = decision.replyMessage ? [textAttribute(AttributeType.replyMessage, decision.replyMessage)] : [];
      response = encodeReply(packet, { code: RadiusCode.accessReject, secret: provider.secret, attributes });
      if (decision.reason === 'access_denied') log.info({ username: decision.username }, 'Access denied for user');
      else log.warn({ username: decision.username, reason: decision.reason, error: decision.error }, REJECT_EVENTS[decision.reason]);
    }
    this.duplicates.answer(key, response);
    if (!this.stopping) reply(response);
  }

  private drop(reason: DropReason, address: string, event: string, log = true): void {
    this.metrics.dropped.inc({ reason });
    if (!log) return;
    const decision = this.dropLog.check(`${reason}|${address}`);
    if (decision.log) this.log.warn({ ip: address, reason, ...(decision.suppressed > 0 ? { suppressed: decision.suppressed } : {}) }, event);
  }
}

/** The warning logged for a rejection (authentik's wording where it has one). */
const REJECT_EVENTS: Record<Exclude<RejectReason, 'access_denied'>, string> = {
  flow_error: 'failed to execute flow',
  invalid_credentials: 'failed to execute flow',
  unsupported_method: 'failed to execute flow',
  access_check_fail: 'failed to check access',
  attribute_decode_failed: 'failed to decode attributes from core',
  attribute_parse_failed: 'failed to parse attributes from core',
  attributes_too_large: 'attributes from core do not fit in an Access-Accept',
  attributes_missing: 'no attributes from core: a property mapping failed',
};

/** A metric label for a code: its name when known; `other` for the rest (bounded cardinality). */
function codeLabel(code: number): string {
  const name = codeName(code);
  return name.startsWith('Code(') ? 'other' : name;
}

export const radiusPlugin: ListenerPlugin<RadiusProviderConfig> = {
  type: 'radius',
  providersPath: '/outposts/radius/',
  providerSchema: radiusProviderSchema,
  pageSize: 100,
  create: (host) => new RadiusListener(host),
};
