// Message-Authenticator policies (BlastRADIUS, CVE-2024-3596), FreeRADIUS 3.2's
// `require_message_authenticator` and `limit_proxy_state`, each yes | no | auto. `auto` learns
// from the client address: once it sends a valid Message-Authenticator in an Access-Request,
// its later Access-Requests must all carry one (require), and so must any carrying
// Proxy-State (limit). Only Access-Requests teach, and not those with EAP-Message: Status-Server
// (RFC 5997) and EAP (RFC 3579) must carry one whatever the NAS does for PAP, so they say
// nothing about its PAP requests (FreeRADIUS 3.2's blastradius_checks likewise looks at
// Access-Requests only and skips EAP).
//
// Where we differ from FreeRADIUS 3.2, on purpose: it decides `auto` once, on a client's first
// Access-Request; we keep learning, so a NAS upgraded in place is protected from its first
// signed request on. Its `limit_proxy_state = auto` turns on after a first Access-Request
// without Proxy-State and stays off after one with Proxy-State and no Message-Authenticator:
// an unsigned packet, which anyone able to spoof the address can send first. Here both
// settings key on the signed fact, which takes the shared secret to forge.
//
// Pure apart from the clock passed in; bounded in memory.
import { LruMap } from '../lru-map.ts';
import type { MessageAuthenticatorPolicy } from '../config/index.ts';
import { AttributeType, RadiusCode, hasAttribute, type RadiusPacket } from './protocol/index.ts';

export interface MaPolicies {
  /** The provider's `require_message_authenticator`. */
  readonly require: MessageAuthenticatorPolicy;
  readonly limitProxyState: MessageAuthenticatorPolicy;
}

/** What `authenticateRequest` enforces for one packet. */
export interface Enforcement {
  readonly requireMessageAuthenticator: boolean;
  readonly limitProxyState: boolean;
}

/** Client addresses that sent a valid Message-Authenticator in an Access-Request, and since when. */
export class MaClients {
  private readonly learned: LruMap<string, Date>;

  /** `max` addresses at most; the least recently seen is forgotten first (it learns again). */
  constructor(max: number) {
    this.learned = new LruMap<string, Date>({ max });
  }

  /** When `address` first sent a Message-Authenticator in an Access-Request; undefined if never (or forgotten). */
  since(address: string): Date | undefined {
    return this.learned.get(address);
  }

  /**
   * Learns from an authentic packet (its Message-Authenticator, if any, verified). Returns the
   * date from which `address` counts as sending one when this packet taught it, else undefined.
   */
  learn(address: string, packet: RadiusPacket, messageAuthenticator: 'absent' | 'valid', now: Date): Date | undefined {
    if (messageAuthenticator !== 'valid' || packet.code !== RadiusCode.accessRequest) return undefined;
    if (hasAttribute(packet.attributes, AttributeType.eapMessage) || this.learned.has(address)) return undefined;
    this.learned.set(address, now);
    return now;
  }

  get size(): number {
    return this.learned.size;
  }
}

export function enforcement(policies: MaPolicies, since: Date | undefined): Enforcement {
  const learned = since !== undefined;
  return {
    requireMessageAuthenticator: policies.require === 'yes' || (policies.require === 'auto' && learned),
    limitProxyState: policies.limitProxyState === 'yes' || (policies.limitProxyState === 'auto' && learned),
  };
}

export interface MissingMaDrop {
  readonly reason: 'missing_message_authenticator' | 'proxy_state_without_message_authenticator';
  /** The log line: which rule dropped it and, for `auto`, since when it applies to this client. */
  readonly event: string;
  /** ISO time from which `auto` applies to this client, when it was `auto` that dropped it. */
  readonly since?: string;
}

const LEARNED = 'when it first sent one in an Access-Request';

/** The line logged when `learn` taught that a client sends Message-Authenticator. */
export function explainLearned(policies: MaPolicies): string {
  if (policies.require === 'auto') return 'client sent a Message-Authenticator in an Access-Request: its Access-Requests must carry one from now on (require_message_authenticator auto)';
  return 'client sent a Message-Authenticator in an Access-Request: its Access-Requests with Proxy-State must carry one from now on (limit_proxy_state auto)';
}

/**
 * Why a packet that `authenticateRequest` refused as `missing_message_authenticator` was
 * required to carry one: the protocol (Status-Server, EAP), the provider's policy, or
 * `limit_proxy_state`. The checks run in `authenticateRequest`'s order.
 */
export function explainMissing(packet: RadiusPacket, policies: MaPolicies, since: Date | undefined, address: string, provider: string): MissingMaDrop {
  const reason = 'missing_message_authenticator';
  if (packet.code === RadiusCode.statusServer) return { reason, event: 'Status-Server without Message-Authenticator (RFC 5997 requires one)' };
  if (hasAttribute(packet.attributes, AttributeType.eapMessage)) return { reason, event: 'EAP-Message without Message-Authenticator (RFC 3579 requires one)' };
  const iso = since?.toISOString();
  if (policies.require === 'yes') return { reason, event: `Message-Authenticator required for provider ${provider} (AUTHENTIK_RADIUS__REQUIRE_MESSAGE_AUTHENTICATOR=yes)` };
  if (policies.require === 'auto' && iso !== undefined) return { reason, event: `Message-Authenticator required for ${address} since ${iso}, ${LEARNED}`, since: iso };
  const proxy = 'proxy_state_without_message_authenticator';
  if (policies.limitProxyState === 'auto' && iso !== undefined) {
    return { reason: proxy, event: `Proxy-State without Message-Authenticator dropped for ${address}: required since ${iso}, ${LEARNED}`, since: iso };
  }
  return { reason: proxy, event: 'Proxy-State without Message-Authenticator dropped (AUTHENTIK_RADIUS__LIMIT_PROXY_STATE=yes)' };
}
