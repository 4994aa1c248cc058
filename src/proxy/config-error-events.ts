// The `configuration_error` event authentik's proxy outpost POSTs to the core when forward auth
// cannot tell which URL it is asked about (spec §3.2): `POST /api/v3/events/events/` with an
// EventRequest (@goauthentik/api, the same in 2024.4 and 2026.8), `app` authentik's Django app
// of proxy providers, the context authentik gives (message, provider, outpost, url, headers).
//
// Unlike authentik's: at most one event per provider per minute (a misconfigured nginx sends
// every request without the header, and each would be a row in authentik's event log); sent in
// the background under a short deadline, never delaying or changing the answer; the request's
// credentials (Authorization, Cookie, …) are not copied into the event, nor any query string
// or URL user info.
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import type { CoreApi } from '../agent/core-api.ts';
import { HttpError } from '../net/http.ts';
import { normalizeIp } from '../net/cidr.ts';
import type { Logger } from '../log.ts';

/** Under /api/v3. */
export const EVENTS_PATH = '/events/events/';
/** authentik's Django app name of proxy providers (authentik's own outpost sends this). */
export const PROXY_EVENT_APP = 'authentik.providers.proxy';
export const CONFIGURATION_ERROR = 'configuration_error';

/** At most one event per provider in this window. */
export const EVENT_WINDOW_MS = 60_000;
/** The whole POST, connection included. */
export const EVENT_TIMEOUT_MS = 5_000;

const MAX_HEADERS = 64;
const MAX_VALUE_CHARS = 1024;
const REDACTED = '[redacted]';
/**
 * Header names whose values are credentials, under whatever name a proxy passes them on
 * (`X-Forwarded-Authorization`, `Cookie2`, an IAP's or a load balancer's signed JWT assertion).
 */
const SECRET_HEADER = /authorization|cookie|token|secret|passw|api-?key|session|jwt|assertion|credential|oidc/i;
/** Headers carrying a URL, whose query may hold a code or a token: sent without it. */
const URL_HEADER = /^(?:x-forwarded-uri|x-original-uri|x-original-url|referer)$/i;
/** A value that is a URL or a path under any header name (`X-Envoy-Original-Path`, `X-Forwarded-Url`, …). */
const URL_VALUE = /^(?:\/|[a-z][a-z0-9+.-]*:\/\/)/i;
/** The user info of an absolute URL (`https://user:password@host/`). */
const USER_INFO = /^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i;

function headerValue(name: string, value: string): string {
  if (SECRET_HEADER.test(name)) return REDACTED;
  let v = value;
  if (URL_HEADER.test(name) || URL_VALUE.test(v)) {
    const end = v.search(/[?#]/);
    if (end !== -1) v = v.slice(0, end);
    v = v.replace(USER_INFO, '$1');
  }
  return v.length > MAX_VALUE_CHARS ? `${v.slice(0, MAX_VALUE_CHARS)}…` : v;
}

export interface ConfigurationErrorInput {
  readonly providerPk: number;
  readonly provider: string;
  readonly outpost: string;
  /** "Outpost <o> (Provider <p>) failed to detect a forward URL from <server>", as authentik. */
  readonly message: string;
  /** The request's path: its query may carry a code or a token. */
  readonly path: string;
  /** `IncomingMessage.headersDistinct`: every header with all its values. */
  readonly headers: IncomingMessage['headersDistinct'];
  /** The client address (the trusted one, see protocol/forwarded.ts). */
  readonly clientIp: string;
}

/** The EventRequest body, as authentik's API reads it. */
export interface EventRequestBody {
  readonly action: string;
  readonly app: string;
  readonly client_ip: string | null;
  readonly context: Readonly<Record<string, unknown>>;
}

/**
 * The first value of each header, as authentik's outpost sends them; credentials redacted, URL
 * headers without their query, bounded.
 */
export function eventHeaders(headers: IncomingMessage['headersDistinct']): Record<string, string> {
  const out: Record<string, string> = {};
  let n = 0;
  for (const [name, values] of Object.entries(headers)) {
    const first = values?.[0];
    if (first === undefined) continue;
    if (++n > MAX_HEADERS) break;
    out[name] = headerValue(name, first);
  }
  return out;
}

export function configurationErrorEvent(input: ConfigurationErrorInput): EventRequestBody {
  return {
    action: CONFIGURATION_ERROR,
    app: PROXY_EVENT_APP,
    // authentik validates it as an IP address (authentik 2024.4's outpost sent "ip:port", which
    // the core refused).
    client_ip: normalizeIp(input.clientIp) ?? null,
    context: {
      message: input.message,
      provider: input.provider,
      outpost: input.outpost,
      url: input.path,
      headers: eventHeaders(input.headers),
    },
  };
}

export interface ReporterOptions {
  readonly api: Pick<CoreApi, 'post'>;
  readonly logger: Logger;
  readonly windowMs?: number;
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

/** Providers remembered; more than this many misconfigured at once forgets the oldest. */
const MAX_PROVIDERS = 4096;

/** Sends configuration_error events for one outpost (one core API client), rate-limited per provider. */
export class ConfigurationErrorReporter {
  private readonly api: Pick<CoreApi, 'post'>;
  private readonly logger: Logger;
  private readonly windowMs: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  /** Provider pk → when its next event may be sent. */
  private readonly next = new Map<number, number>();

  constructor(opts: ReporterOptions) {
    this.api = opts.api;
    this.logger = opts.logger;
    this.windowMs = opts.windowMs ?? EVENT_WINDOW_MS;
    this.timeoutMs = opts.timeoutMs ?? EVENT_TIMEOUT_MS;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Send the event in the background, unless this provider had one within the window (then
   * undefined). The promise (for tests) settles when the POST is done; it never rejects: a
   * failure is logged once, at warn.
   */
  report(input: ConfigurationErrorInput): Promise<void> | undefined {
    const now = this.now();
    const until = this.next.get(input.providerPk);
    if (until !== undefined && now < until) return undefined;
    this.next.delete(input.providerPk);
    this.next.set(input.providerPk, now + this.windowMs);
    if (this.next.size > MAX_PROVIDERS) this.next.delete(this.next.keys().next().value as number);
    return this.api.post(EVENTS_PATH, configurationErrorEvent(input), z.unknown(), { timeoutMs: this.timeoutMs }).then(
      () => this.logger.debug({ provider: input.provider }, 'configuration error reported to authentik'),
      (err: unknown) => {
        const e = err instanceof HttpError ? { message: err.message, code: err.code, status: err.status } : { message: String(err) };
        this.logger.warn({ provider: input.provider, err: e }, 'failed to report configuration error');
      },
    );
  }
}

/** One reporter per core API client (per outpost), kept across configuration refreshes. */
const reporters = new WeakMap<object, ConfigurationErrorReporter>();

export function configurationErrorReporter(api: Pick<CoreApi, 'post'>, logger: Logger): ConfigurationErrorReporter {
  let r = reporters.get(api);
  if (!r) reporters.set(api, (r = new ConfigurationErrorReporter({ api, logger })));
  return r;
}
