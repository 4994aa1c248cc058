// The RADIUS listener: PAP Access-Requests authenticated through authentik, hardened against
// BlastRADIUS, with duplicate detection, bounded concurrency behind a short fair queue, and a
// deadline per request that runs from its arrival.
import type { RemoteInfo } from 'node:dgram';
import { randomUUID } from 'node:crypto';
import type { Listener, ListenerHost, ListenerPlugin, OutpostContext } from '../agent/listener.ts';
import type { MessageAuthenticatorPolicy } from '../config/index.ts';
import { flowMetricsFrom, type FlowDeps } from '../flow/index.ts';
import { named, type Logger } from '../log.ts';
import { normalizeIp } from '../net/cidr.ts';
import { Deadline } from '../net/deadline.ts';
import { LogLimiter } from '../net/log-limiter.ts';
import { Admission, DurationEstimate, type Clock } from './admission.ts';
import { authenticate, type AuthDecision, type RejectReason } from './authenticate.ts';
import { ClientTable } from './clients.ts';
import { DuplicateCache, requestKey } from './duplicates.ts';
import { MaClients, enforcement, explainLearned, explainMissing, type MaPolicies } from './ma-policy.ts';
import { RadiusMetrics, type DropReason } from './metrics.ts';
import {
  AttributeType,
  MAX_PACKET_LENGTH,
  RadiusCode,
  SharedSecret,
  attributeName,
  authenticateRequest,
  checkCredentials,
  codeName,
  decodePacket,
  eapFailureFor,
  encodeReply,
  replyLength,
  textAttribute,
  type RadiusPacket,
  type RawAttribute,
} from './protocol/index.ts';
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
/**
 * And at most this many bytes of them: room for all 65,536 at the usual size (a few hundred
 * bytes), not for 65,536 replies padded to 4 KB with Proxy-States (256 MiB).
 */
const DUPLICATE_MAX_BYTES = 16 * 1024 * 1024;
/** Clients that sent a Message-Authenticator in an Access-Request (`auto` policies); bounded. */
const MA_CLIENTS_MAX = 65_536;
/**
 * Queue places per authentication slot (256 behind the default 64): a burst of a few hundred
 * requests waits a few authentication times instead of being dropped and retransmitted.
 */
const QUEUE_PER_SLOT = 4;

/** An Access-Request admitted for authentication (running or waiting for a slot). */
interface Job {
  readonly packet: RadiusPacket;
  readonly provider: Provider;
  readonly address: string;
  readonly key: string;
  readonly reply: (packet: Buffer) => void;
  /** `performance.now()` on arrival: the deadline runs from here, queue time included. */
  readonly arrived: number;
}

export class RadiusListener implements Listener<RadiusProviderConfig> {
  private readonly host: ListenerHost;
  private readonly log: Logger;
  private readonly metrics: RadiusMetrics;
  private readonly outposts = new Map<string, Provider[]>();
  private clients = new ClientTable<Provider>([]);
  private readonly duplicates = new DuplicateCache({ ttlMs: DUPLICATE_TTL_MS, max: DUPLICATE_MAX, maxBytes: DUPLICATE_MAX_BYTES });
  private readonly maClients = new MaClients(MA_CLIENTS_MAX);
  private readonly dropLog = new LogLimiter({ windowMs: 60_000, maxKeys: 10_000 });
  private readonly inFlight = new Set<Promise<void>>();
  private readonly admission: Admission<Job>;
  private readonly authTime = new DurationEstimate();
  /** Provider names in per-provider options that matched no provider, warned about once each. */
  private readonly unknownProviderNames = new Set<string>();
  private udp: UdpListener | undefined;
  /** Aborted when stop()'s deadline passes: in-flight flows and access checks stop with it. */
  private readonly stopped = new AbortController();
  private stopping = false;
  private _port = 0;

  constructor(host: ListenerHost) {
    this.host = host;
    this.log = named(host.logger, 'radius');
    this.metrics = new RadiusMetrics(host.metrics.registry);
    const { maxConcurrent } = host.config.radius;
    this.admission = new Admission<Job>({ maxRunning: maxConcurrent, maxQueued: maxConcurrent * QUEUE_PER_SLOT });
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
      requireMa: ownPolicy(radius.requireMessageAuthenticator.byProvider, config.name) ?? radius.requireMessageAuthenticator.default,
    }));
    this.outposts.set(ctx.outpost.pk, providers);
    const all = [...this.outposts.values()].flat();
    const table = new ClientTable<Provider>(all);
    for (const bad of table.invalid) this.log.error({ provider: bad.provider, cidr: bad.entry, error: bad.reason }, 'Failed to parse CIDR; entry skipped');
    this.clients = table;
    this.warnUnknownProviders(all);
  }

  /**
   * A per-provider option naming no provider applies to nothing: say so once per name. With
   * several RADIUS outposts in one process, the providers known are those of the outposts
   * applied so far.
   */
  private warnUnknownProviders(providers: readonly Provider[]): void {
    const known = new Set(providers.map((p) => p.name));
    for (const name of Object.keys(this.host.config.radius.requireMessageAuthenticator.byProvider)) {
      if (known.has(name) || this.unknownProviderNames.has(name)) continue;
      this.unknownProviderNames.add(name);
      const similar = [...known].find((k) => k.toLowerCase() === name.toLowerCase());
      this.log.warn(
        { provider: name, option: 'AUTHENTIK_RADIUS__REQUIRE_MESSAGE_AUTHENTICATOR', ...(similar !== undefined ? { similar } : {}) },
        `no RADIUS provider is named "${name}": its Message-Authenticator setting applies to nothing`,
      );
    }
  }

  async start(): Promise<void> {
    this.udp = new UdpListener(this.host.config.listen.radius, (msg, from, reply) => this.onDatagram(msg, from, reply), this.log);
    this._port = await this.udp.start();
    this.log.info({ listen: `${this.host.config.listen.radius.host}:${this._port}` }, 'Starting Radius server');
  }

  async stop(deadline: AbortSignal): Promise<void> {
    this.stopping = true;
    await this.udp?.stop();
    // What waits for a slot is not started: its NAS retries elsewhere.
    for (const job of this.admission.drain()) this.duplicates.abandon(job.key);
    this.metrics.queued.set(0);
    // Past the deadline the requests are aborted, so their calls to the core do not hold the
    // process's shutdown up (the HTTP dispatcher waits for them when it closes).
    const expired = new Promise<void>((resolve) => {
      const abort = () => {
        this.stopped.abort(new Error('the RADIUS listener stopped'));
        resolve();
      };
      if (deadline.aborted) abort();
      else deadline.addEventListener('abort', abort, { once: true });
    });
    await Promise.race([Promise.allSettled([...this.inFlight]), expired]);
  }

  // ---- per datagram ----------------------------------------------------------------------

  private onDatagram(msg: Buffer, from: RemoteInfo, reply: (packet: Buffer) => void): void {
    if (this.stopping) return;
    const match = this.clients.match(from.address);
    // Logged as the address it would be matched as (a dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d).
    if (!match) return this.drop('unknown_client', normalizeIp(from.address) ?? from.address, 'No matching prefixes found');
    const provider = match.provider;
    // Port 0 is no port: nothing can be sent back to it, so nothing is done for it.
    if (from.port === 0) return this.drop('malformed', match.address, 'datagram from source port 0 dropped: no reply can be sent to it');
    const decoded = decodePacket(msg);
    if (!decoded.ok) return this.drop('malformed', match.address, `malformed packet: ${decoded.detail}`);
    const packet = decoded.packet;

    const policies: MaPolicies = { require: provider.requireMa, limitProxyState: this.host.config.radius.limitProxyState };
    const since = this.maClients.since(match.address);
    const auth = authenticateRequest(packet, provider.secret, enforcement(policies, since));
    if (!auth.ok) {
      if (auth.reason === 'unsupported_code') {
        this.metrics.ignored.inc({ code: codeLabel(packet.code) });
        return;
      }
      if (auth.reason === 'missing_message_authenticator') {
        const why = explainMissing(packet, policies, since, match.address, provider.name);
        return this.drop(why.reason, match.address, why.event, { fields: why.since !== undefined ? { since: why.since } : {} });
      }
      if (auth.reason === 'bad_request_authenticator') return this.drop('bad_request_authenticator', match.address, 'dropped: bad request authenticator');
      return this.drop('bad_message_authenticator', match.address, 'Invalid message authenticator');
    }
    if (policies.require === 'auto' || policies.limitProxyState === 'auto') {
      const learned = this.maClients.learn(match.address, packet, auth.messageAuthenticator, new Date());
      if (learned !== undefined) {
        this.log.info(
          { ip: match.address, provider: provider.name, since: learned.toISOString(), require_message_authenticator: policies.require, limit_proxy_state: policies.limitProxyState },
          explainLearned(policies),
        );
      }
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
        // Accounting-Request, Disconnect-Request, CoA-Request: authentic but not served here.
        // authentik logs them ("Radius Request") and answers nothing.
        this.logRequest(packet, provider, match.address);
        this.metrics.ignored.inc({ code: codeLabel(packet.code) });
        if (packet.code === RadiusCode.disconnectRequest || packet.code === RadiusCode.coaRequest) {
          // Whoever sent it expects a session to end or change: say, once a minute per client, that none did.
          const gate = this.dropLog.check(`dynamic_authorization|${packet.code}|${match.address}`);
          if (gate.log) {
            this.log.warn(
              { ip: match.address, provider: provider.name, code: codeName(packet.code), ...(gate.suppressed > 0 ? { suppressed: gate.suppressed } : {}) },
              `${codeName(packet.code)} ignored: this outpost does not serve Dynamic Authorization (RFC 5176); no session was changed and no answer is sent`,
            );
          }
        }
    }
  }

  /** authentik's info line for every packet that reaches its handler. */
  private logRequest(packet: RadiusPacket, provider: Provider, address: string): void {
    this.log.info({ request: randomUUID(), client: address, provider: provider.name, code: codeName(packet.code), id: packet.identifier }, 'Radius Request');
  }

  private onAccessRequest(packet: RadiusPacket, provider: Provider, address: string, port: number, reply: (packet: Buffer) => void): void {
    const credentials = checkCredentials(packet.attributes);
    if (!credentials.ok) return this.drop('multiple_credentials', address, `malformed Access-Request dropped: ${credentials.detail}`);
    // Every reply carries a Message-Authenticator and echoes the request's Proxy-States: when
    // those alone pass 4096 bytes, no answer is possible, so the request is not authenticated.
    const bare = replyLength(packet, {});
    if (bare > MAX_PACKET_LENGTH) {
      return this.drop('malformed', address, `malformed Access-Request dropped: a reply echoing its Proxy-States would be ${bare} bytes > ${MAX_PACKET_LENGTH}`);
    }
    const key = requestKey(address, port, packet.identifier, packet.authenticator);
    const seen = this.duplicates.check(key);
    if (seen.kind === 'in-flight') return this.drop('duplicate_in_flight', address, 'retransmission of a request in progress', { log: false });
    if (seen.kind === 'answered') {
      this.metrics.duplicatesAnswered.inc({ outpost_name: provider.outpost.outpost.name });
      reply(seen.reply);
      return;
    }
    const arrived = performance.now();
    const job: Job = { packet, provider, address, key, reply, arrived };
    const offer = this.admission.offer(address, job, arrived + this.host.config.radius.requestTimeoutMs, this.clock(arrived));
    this.expire(offer.expired);
    if (offer.kind === 'run') this.run(job);
    else if (offer.kind === 'full') this.refuse(job);
    else if (offer.pushedOut !== undefined) this.refuse(offer.pushedOut);
    this.metrics.queued.set(this.admission.queued);
  }

  /** Now, and how much of its deadline a queued request needs left to be worth starting. */
  private clock(now: number): Clock {
    // About one authentication's time, but never more than half the deadline: what the NAS
    // still waits for is worth a try.
    return { now, need: Math.min(this.authTime.ms, this.host.config.radius.requestTimeoutMs / 2) };
  }

  /** Authenticates `job` in a slot; when it is done, the slot goes to the next in the queue. */
  private run(job: Job): void {
    const task = this.handle(job).catch((err: unknown) => {
      this.duplicates.abandon(job.key);
      this.log.error({ error: (err as Error).stack ?? String(err) }, 'RADIUS request failed');
    });
    this.inFlight.add(task);
    this.metrics.inFlight.set(this.inFlight.size);
    void task.finally(() => {
      this.inFlight.delete(task);
      const next = this.admission.done(this.clock(performance.now()));
      this.expire(next.expired);
      if (next.run !== undefined) this.run(next.run);
      this.metrics.inFlight.set(this.inFlight.size);
      this.metrics.queued.set(this.admission.queued);
    });
  }

  /** No room: the NAS retransmits, and a retransmission may find some. */
  private refuse(job: Job): void {
    this.duplicates.abandon(job.key);
    this.drop('queue_full', job.address, 'too many authentications in progress and queued; dropped unanswered (the NAS will retry)');
  }

  /** Waited too long: its NAS has given up on it or is about to, so it is not authenticated. */
  private expire(jobs: readonly Job[]): void {
    for (const job of jobs) {
      this.duplicates.abandon(job.key);
      const waited = Math.round(performance.now() - job.arrived);
      this.drop('queued', job.address, `waited ${waited} ms for a free authentication slot, too near its deadline to start; dropped unanswered`);
    }
  }

  private async handle(job: Job): Promise<void> {
    const { packet, provider, address, key, reply } = job;
    const started = performance.now();
    const requestId = randomUUID();
    const log = this.log.child({ request: requestId, client: address, provider: provider.name });
    log.info({ code: codeName(packet.code), id: packet.identifier }, 'Radius Request');
    const labels = { outpost_name: provider.outpost.outpost.name, app: provider.config.application_slug };
    // The deadline counts from arrival: time spent queued is time the NAS has waited.
    const deadline = new Deadline(Math.max(1, job.arrived + this.host.config.radius.requestTimeoutMs - started), this.stopped.signal);
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
    const finished = performance.now();
    // Latency as the NAS sees it, queue included.
    this.metrics.duration.observe(labels, (finished - job.arrived) / 1000);

    if (decision.kind === 'drop') {
      this.duplicates.abandon(key);
      this.drop(decision.reason === 'deadline' ? 'deadline' : 'core_unavailable', address, `no answer: ${decision.error}`);
      return;
    }
    this.authTime.observe(finished - started);
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
      const attributes: RawAttribute[] = [];
      // RFC 3579 §2.6.3: a Reject to an EAP request carries EAP-Failure, so that the NAS can tell the peer.
      const eapFailure = eapFailureFor(packet.attributes);
      if (eapFailure !== undefined) attributes.push(eapFailure);
      if (decision.replyMessage) attributes.push(textAttribute(AttributeType.replyMessage, decision.replyMessage));
      // Both are courtesies: left out (the Reply-Message first) when the echoed Proxy-States leave no room.
      while (attributes.length > 0 && replyLength(packet, { attributes }) > MAX_PACKET_LENGTH) attributes.pop();
      response = encodeReply(packet, { code: RadiusCode.accessReject, secret: provider.secret, attributes });
      if (decision.reason === 'access_denied') log.info({ username: decision.username }, 'Access denied for user');
      else log.warn({ username: decision.username, reason: decision.reason, error: decision.error }, REJECT_EVENTS[decision.reason]);
    }
    this.duplicates.answer(key, response);
    if (!this.stopping) reply(response);
  }

  /** Counts a drop and logs it, once a minute per reason and client (with how many were not logged). */
  private drop(reason: DropReason, address: string, event: string, opts: { log?: boolean; fields?: Record<string, unknown> } = {}): void {
    this.metrics.dropped.inc({ reason });
    if (opts.log === false) return;
    const decision = this.dropLog.check(`${reason}|${address}`);
    if (decision.log) this.log.warn({ ip: address, reason, ...opts.fields, ...(decision.suppressed > 0 ? { suppressed: decision.suppressed } : {}) }, event);
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

/**
 * The per-provider setting of `name`, if one was given. An own property only: a provider named
 * "constructor" or "toString" must not take the function every object inherits as its setting.
 */
function ownPolicy(byProvider: Readonly<Record<string, MessageAuthenticatorPolicy>>, name: string): MessageAuthenticatorPolicy | undefined {
  return Object.hasOwn(byProvider, name) ? byProvider[name] : undefined;
}

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
