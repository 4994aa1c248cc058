// The outpost's configuration: authentik's variables and defaults, an optional YAML file, and
// the environment on top. Invalid values fail at start with the variable and the expected form.
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CidrError, parseCidr } from '../net/cidr.ts';
import { ConfigError, resolveValue } from './resolve.ts';
import { decimalInteger, parseBool, parseDurationMs, parseHost, parseListen, parseTokens, parseWholeNumber, type ListenAddress } from './parse.ts';

export { ConfigError } from './resolve.ts';
export type { ListenAddress } from './parse.ts';
export { formatListen } from './parse.ts';

export type ListenerName = 'http' | 'https' | 'ldap' | 'ldaps' | 'radius' | 'metrics';

export interface Timing {
  /** Deadline of one REST call to the core. */
  apiTimeoutMs: number;
  /** Deadline of one whole flow attempt (all its requests). */
  flowTimeoutMs: number;
  /**
   * Periodic refresh when `AUTHENTIK_OUTPOST__REFRESH_INTERVAL` is set; otherwise the outpost's
   * `refresh_interval_s` from authentik (2024.8+), or 5 minutes (authentik 2024.4).
   */
  refreshIntervalMs: number | undefined;
  /** Upper bound of the random delay before a pushed refresh, so replicas do not reload at once. */
  reloadOffsetMaxMs: number;
  /** How long shutdown waits for in-flight work. */
  shutdownTimeoutMs: number;
}

/** LDAP options beyond authentik's (authentik has none of these). */
export interface LdapOptions {
  /** Refuse binds with a password and searches (except the root DSE) on unencrypted connections. */
  requireTls: boolean;
  /** How long a successful bind is reused in `bind_mode: cached`. */
  bindCacheTtlMs: number;
  /** While authentik is unreachable, a cached bind is still served this long past its TTL; 0 = off. */
  bindCacheOutageGraceMs: number;
  /** memberOf also lists parent groups. */
  nestedGroups: boolean;
  maxConnectionsPerClient: number;
  idleTimeoutMs: number;
  maxPduBytes: number;
  /** Server-side limit of entries per search; 0 = none (authentik has none). */
  sizeLimit: number;
}

/** Message-Authenticator policy: `auto` enforces it once a client has sent one (FreeRADIUS). */
export type MessageAuthenticatorPolicy = 'yes' | 'no' | 'auto';

/** RADIUS options beyond authentik's. */
export interface RadiusOptions {
  /** Default policy, and per-provider overrides by provider name. */
  requireMessageAuthenticator: { default: MessageAuthenticatorPolicy; byProvider: Record<string, MessageAuthenticatorPolicy> };
  /** Drop Access-Requests carrying Proxy-State without a Message-Authenticator (BlastRADIUS). */
  limitProxyState: MessageAuthenticatorPolicy;
  /** Authentications running at once; up to four times as many wait in a fair queue, the rest are dropped (the NAS retransmits). */
  maxConcurrent: number;
  /** Deadline of one authentication, below a NAS's retransmission budget. */
  requestTimeoutMs: number;
}

/** Proxy options beyond authentik's (its 2024-era HTTP server has no timeouts at all). */
export interface ProxyOptions {
  /** Node's `headersTimeout`: the request's header block must arrive within this. */
  headersTimeoutMs: number;
  /** Node's `requestTimeout`: the whole request, body included, within this; 0 = none. */
  requestTimeoutMs: number;
  /** Node's `keepAliveTimeout`: idle keep-alive connections close after this. */
  keepAliveTimeoutMs: number;
  /** Node's `maxHeaderSize`: a larger header block is answered 431. */
  maxHeaderBytes: number;
  /** Server-side sessions kept at most (the oldest go first), with the memory store. */
  maxSessions: number;
  /** Where sessions live: in this process, or in a store that replicas share. */
  sessionStore: SessionStoreConfig;
  /** Logged-in GET/HEAD requests of proxy-mode apps served on the fast path (proxy/fast/). */
  fastPath: boolean;
}

/** `AUTHENTIK_PROXY__SESSION_BACKEND` and what the chosen backend needs. */
export type SessionStoreConfig =
  | { readonly backend: 'memory' }
  | {
      readonly backend: 'postgres' | 'redis';
      /** The resolved URL (`file://`/`env://` read). Carries a password: never log it. */
      readonly url: string;
      /** Every store operation settles within this (`AUTHENTIK_PROXY__SESSION_STORE_TIMEOUT`). */
      readonly timeoutMs: number;
    };

export interface OutpostConfig {
  host: URL;
  hostBrowser: string;
  tokens: string[];
  insecure: boolean;
  logLevel: string;
  listen: Record<ListenerName, ListenAddress>;
  /** `AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS`: peers whose PROXY protocol header is believed. */
  trustedProxyCidrs: string[];
  timing: Timing;
  ldap: LdapOptions;
  radius: RadiusOptions;
  proxy: ProxyOptions;
  /** `AUTHENTIK_WORKERS`: processes serving the listeners (1: this process alone, no cluster). */
  workers: Workers;
}

/** How many worker processes, and whether `auto` chose the number (one per core). */
export interface Workers {
  count: number;
  auto: boolean;
}

const DEFAULT_LISTEN: Record<ListenerName, string> = {
  http: '0.0.0.0:9000',
  https: '0.0.0.0:9443',
  ldap: '0.0.0.0:3389',
  ldaps: '0.0.0.0:6636',
  radius: '0.0.0.0:1812',
  metrics: '0.0.0.0:9300',
};

const DEFAULT_TIMING: Record<keyof Timing, string | undefined> = {
  apiTimeoutMs: '10s',
  flowTimeoutMs: '30s',
  refreshIntervalMs: undefined,
  reloadOffsetMaxMs: '9s',
  shutdownTimeoutMs: '10s',
};

/** Variable name ↔ YAML path. authentik nests with `__`: AUTHENTIK_LISTEN__LDAP is listen.ldap. */
const TIMING_VARS: Record<keyof Timing, string> = {
  apiTimeoutMs: 'AUTHENTIK_OUTPOST__API_TIMEOUT',
  flowTimeoutMs: 'AUTHENTIK_OUTPOST__FLOW_TIMEOUT',
  refreshIntervalMs: 'AUTHENTIK_OUTPOST__REFRESH_INTERVAL',
  reloadOffsetMaxMs: 'AUTHENTIK_OUTPOST__RELOAD_OFFSET_MAX',
  shutdownTimeoutMs: 'AUTHENTIK_OUTPOST__SHUTDOWN_TIMEOUT',
};

/** Files read when present, in order; later ones win. The same places authentik reads. */
export const DEFAULT_CONFIG_FILES = ['/etc/authentik/config.yml', 'config/outpost.yml', 'local.env.yml'];

const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String);
const yamlSchema = z
  .object({
    host: scalar,
    token: scalar,
    insecure: scalar,
    host_browser: scalar,
    log_level: scalar,
    workers: scalar,
    listen: z.object({ http: scalar, https: scalar, ldap: scalar, ldaps: scalar, radius: scalar, metrics: scalar, trusted_proxy_cidrs: scalar }).partial(),
    outpost: z
      .object({ api_timeout: scalar, flow_timeout: scalar, refresh_interval: scalar, reload_offset_max: scalar, shutdown_timeout: scalar })
      .partial(),
    proxy: z
      .object({ headers_timeout: scalar, request_timeout: scalar, keep_alive_timeout: scalar, max_header_size: scalar, max_sessions: scalar, session_backend: scalar, postgres_url: scalar, redis_url: scalar, session_store_timeout: scalar })
      .partial(),
    radius: z.object({ require_message_authenticator: scalar, limit_proxy_state: scalar, max_concurrent: scalar, request_timeout: scalar }).partial(),
    ldap: z
      .object({ require_tls: scalar, bind_cache_ttl: scalar, bind_cache_outage_grace: scalar, nested_groups: scalar, max_connections_per_client: scalar, idle_timeout: scalar, max_pdu_size: scalar, size_limit: scalar })
      .partial(),
  })
  .partial();

/**
 * Keys of a YAML document that the schema has no place for, as dotted paths (`ldap.requre_tls`).
 * zod drops them silently, so a misspelt key would otherwise leave its default in force unseen.
 * An unknown section is one key; its contents are not listed.
 */
function unknownKeys(doc: unknown, schema: z.ZodType, prefix = ''): string[] {
  const inner = schema instanceof z.ZodOptional ? schema.unwrap() : schema;
  if (!(inner instanceof z.ZodObject) || doc === null || typeof doc !== 'object' || Array.isArray(doc)) return [];
  const shape = inner.shape as Record<string, z.ZodType>;
  const out: string[] = [];
  for (const [key, value] of Object.entries(doc)) {
    const child = Object.hasOwn(shape, key) ? shape[key] : undefined;
    if (child === undefined) out.push(`${prefix}${key}`);
    else out.push(...unknownKeys(value, child, `${prefix}${key}.`));
  }
  return out;
}

/** Flatten a YAML document into the environment variable names it stands for. */
function yamlToVars(doc: unknown, file: string, warn: WarningSink): Record<string, string> {
  const parsed = yamlSchema.safeParse(doc ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${file}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  for (const key of unknownKeys(doc, yamlSchema)) warn('unknown key in the configuration file; ignored', { file, key });
  const y = parsed.data;
  const out: Record<string, string> = {};
  const set = (name: string, v: string | undefined) => {
    if (v !== undefined) out[name] = v;
  };
  set('AUTHENTIK_HOST', y.host);
  set('AUTHENTIK_TOKEN', y.token);
  set('AUTHENTIK_INSECURE', y.insecure);
  set('AUTHENTIK_HOST_BROWSER', y.host_browser);
  set('AUTHENTIK_LOG_LEVEL', y.log_level);
  set('AUTHENTIK_WORKERS', y.workers);
  for (const [k, v] of Object.entries(y.listen ?? {})) set(`AUTHENTIK_LISTEN__${k.toUpperCase()}`, v);
  for (const [k, v] of Object.entries(y.ldap ?? {})) set(`AUTHENTIK_LDAP__${k.toUpperCase()}`, v);
  for (const [k, v] of Object.entries(y.radius ?? {})) set(`AUTHENTIK_RADIUS__${k.toUpperCase()}`, v);
  for (const [k, v] of Object.entries(y.proxy ?? {})) set(`AUTHENTIK_PROXY__${k.toUpperCase()}`, v);
  for (const [k, v] of Object.entries(y.outpost ?? {})) set(`AUTHENTIK_OUTPOST__${k.toUpperCase()}`, v);
  return out;
}

/** Something the loader ignored, as a log event and its fields; the caller logs it once. */
export type WarningSink = (event: string, fields: Record<string, string>) => void;

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** YAML files to read when they exist. `AUTHENTIK_CONFIG_FILE` adds one that must exist. */
  files?: readonly string[];
  /**
   * Told of what the loader ignored (unknown YAML keys). The loader runs before a logger exists,
   * so the caller collects and logs them. Unset, they are dropped (the healthcheck stays quiet).
   */
  onWarning?: WarningSink;
}

/** The variables as the environment and the YAML files give them, env winning. */
export function gatherVariables(opts: LoadOptions = {}): Record<string, string> {
  const env = opts.env ?? process.env;
  const files = [...(opts.files ?? DEFAULT_CONFIG_FILES)];
  const explicit = env['AUTHENTIK_CONFIG_FILE'];
  if (explicit) {
    if (!existsSync(explicit)) throw new ConfigError(`AUTHENTIK_CONFIG_FILE: ${explicit} does not exist`);
    files.push(explicit);
  }
  const warn = opts.onWarning ?? (() => {});
  const vars: Record<string, string> = {};
  // A file named twice (AUTHENTIK_CONFIG_FILE=config/outpost.yml) is read once, so warned about once.
  for (const file of new Set(files)) {
    if (!existsSync(file)) continue;
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`${file}: not valid YAML (${(err as Error).message.split('\n')[0]})`);
    }
    Object.assign(vars, yamlToVars(doc, file, warn));
  }
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && k.startsWith('AUTHENTIK_')) vars[k] = v;
  }
  return vars;
}

export function loadConfig(opts: LoadOptions = {}): OutpostConfig {
  const env = opts.env ?? process.env;
  const vars = gatherVariables(opts);
  const get = (name: string): string | undefined => {
    const raw = vars[name];
    return raw === undefined ? undefined : resolveValue(raw, name, env);
  };
  const required = (name: string): string => {
    const v = get(name)?.trim();
    if (!v) {
      // The container image leaves the demo out: point to it only where it is.
      const demo = existsSync(new URL('../demo/main.ts', import.meta.url)) ? ', or run `npm run demo` to try the outpost against the bundled development core' : '';
      throw new ConfigError(`${name} is not set. Set AUTHENTIK_HOST and AUTHENTIK_TOKEN to connect to authentik${demo}.`);
    }
    return v;
  };

  const listen = {} as Record<ListenerName, ListenAddress>;
  for (const [name, def] of Object.entries(DEFAULT_LISTEN) as [ListenerName, string][]) {
    const v = `AUTHENTIK_LISTEN__${name.toUpperCase()}`;
    listen[name] = parseListen(get(v) ?? def, v);
  }
  const timing = {} as Timing;
  for (const [key, v] of Object.entries(TIMING_VARS) as [keyof Timing, string][]) {
    const raw = get(v) ?? DEFAULT_TIMING[key];
    (timing as Record<keyof Timing, number | undefined>)[key] = raw === undefined ? undefined : parseDurationMs(raw, v);
  }
  if (timing.apiTimeoutMs <= 0) throw new ConfigError(`${TIMING_VARS.apiTimeoutMs}: must be greater than 0`);
  if (timing.flowTimeoutMs <= 0) throw new ConfigError(`${TIMING_VARS.flowTimeoutMs}: must be greater than 0`);
  if (timing.refreshIntervalMs !== undefined && timing.refreshIntervalMs < 1000) throw new ConfigError(`${TIMING_VARS.refreshIntervalMs}: must be at least 1s`);

  const int = (name: string, def: number, min: number): number => {
    const raw = get(name);
    return raw === undefined ? def : parseWholeNumber(raw, name, min);
  };
  const ldap: LdapOptions = {
    requireTls: parseBool(get('AUTHENTIK_LDAP__REQUIRE_TLS') ?? 'false', 'AUTHENTIK_LDAP__REQUIRE_TLS'),
    bindCacheTtlMs: parseDurationMs(get('AUTHENTIK_LDAP__BIND_CACHE_TTL') ?? '5m', 'AUTHENTIK_LDAP__BIND_CACHE_TTL'),
    bindCacheOutageGraceMs: parseDurationMs(get('AUTHENTIK_LDAP__BIND_CACHE_OUTAGE_GRACE') ?? '1h', 'AUTHENTIK_LDAP__BIND_CACHE_OUTAGE_GRACE'),
    nestedGroups: parseBool(get('AUTHENTIK_LDAP__NESTED_GROUPS') ?? 'false', 'AUTHENTIK_LDAP__NESTED_GROUPS'),
    maxConnectionsPerClient: int('AUTHENTIK_LDAP__MAX_CONNECTIONS_PER_CLIENT', 100, 1),
    idleTimeoutMs: parseDurationMs(get('AUTHENTIK_LDAP__IDLE_TIMEOUT') ?? '5m', 'AUTHENTIK_LDAP__IDLE_TIMEOUT'),
    maxPduBytes: int('AUTHENTIK_LDAP__MAX_PDU_SIZE', 2 * 1024 * 1024, 1024),
    sizeLimit: int('AUTHENTIK_LDAP__SIZE_LIMIT', 0, 0),
  };
  const radius: RadiusOptions = {
    requireMessageAuthenticator: parseMaPolicies(get('AUTHENTIK_RADIUS__REQUIRE_MESSAGE_AUTHENTICATOR') ?? 'auto', 'AUTHENTIK_RADIUS__REQUIRE_MESSAGE_AUTHENTICATOR'),
    limitProxyState: parseMaPolicy(get('AUTHENTIK_RADIUS__LIMIT_PROXY_STATE') ?? 'auto', 'AUTHENTIK_RADIUS__LIMIT_PROXY_STATE'),
    maxConcurrent: int('AUTHENTIK_RADIUS__MAX_CONCURRENT', 64, 1),
    requestTimeoutMs: parseDurationMs(get('AUTHENTIK_RADIUS__REQUEST_TIMEOUT') ?? '15s', 'AUTHENTIK_RADIUS__REQUEST_TIMEOUT'),
  };
  // A zero deadline would drop every request unanswered.
  if (radius.requestTimeoutMs <= 0) throw new ConfigError('AUTHENTIK_RADIUS__REQUEST_TIMEOUT: must be greater than 0');
  const proxy: ProxyOptions = {
    headersTimeoutMs: parseDurationMs(get('AUTHENTIK_PROXY__HEADERS_TIMEOUT') ?? '10s', 'AUTHENTIK_PROXY__HEADERS_TIMEOUT'),
    requestTimeoutMs: parseDurationMs(get('AUTHENTIK_PROXY__REQUEST_TIMEOUT') ?? '5m', 'AUTHENTIK_PROXY__REQUEST_TIMEOUT'),
    keepAliveTimeoutMs: parseDurationMs(get('AUTHENTIK_PROXY__KEEP_ALIVE_TIMEOUT') ?? '120s', 'AUTHENTIK_PROXY__KEEP_ALIVE_TIMEOUT'),
    maxHeaderBytes: int('AUTHENTIK_PROXY__MAX_HEADER_SIZE', 32 * 1024, 1024),
    maxSessions: int('AUTHENTIK_PROXY__MAX_SESSIONS', 100_000, 1),
    sessionStore: parseSessionStore(get, opts.onWarning ?? (() => {})),
    fastPath: parseBool(get('AUTHENTIK_PROXY__FAST_PATH') ?? 'true', 'AUTHENTIK_PROXY__FAST_PATH'),
  };
  // Node's own rule (storeHTTPOptions): with a request timeout, the headers must come first.
  if (proxy.headersTimeoutMs <= 0) throw new ConfigError('AUTHENTIK_PROXY__HEADERS_TIMEOUT: must be greater than 0');
  if (proxy.requestTimeoutMs > 0 && proxy.headersTimeoutMs > proxy.requestTimeoutMs) {
    throw new ConfigError(`AUTHENTIK_PROXY__HEADERS_TIMEOUT (${proxy.headersTimeoutMs} ms) must not exceed AUTHENTIK_PROXY__REQUEST_TIMEOUT (${proxy.requestTimeoutMs} ms)`);
  }
  const trustedProxyCidrs = (get('AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS') ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  for (const cidr of trustedProxyCidrs) {
    try {
      parseCidr(cidr);
    } catch (err) {
      if (err instanceof CidrError) throw new ConfigError(`AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS: "${cidr}" is not an address or CIDR range`);
      throw err;
    }
  }

  return {
    host: parseHost(required('AUTHENTIK_HOST'), 'AUTHENTIK_HOST'),
    tokens: parseTokens(required('AUTHENTIK_TOKEN'), 'AUTHENTIK_TOKEN'),
    // authentik parses this differently for HTTP and websocket (spec §11.1); we accept true/1 for both.
    insecure: parseBool(get('AUTHENTIK_INSECURE') ?? 'false', 'AUTHENTIK_INSECURE'),
    hostBrowser: get('AUTHENTIK_HOST_BROWSER') ?? '',
    logLevel: get('AUTHENTIK_LOG_LEVEL') ?? 'info',
    listen,
    trustedProxyCidrs,
    timing,
    ldap,
    radius,
    proxy,
    workers: parseWorkers(get('AUTHENTIK_WORKERS') ?? '1', 'AUTHENTIK_WORKERS'),
  };
}

/** A whole number of at least 1, or `auto`: one per core (`os.availableParallelism()`). */
export function parseWorkers(value: string, what: string, cores = availableParallelism()): Workers {
  const v = value.trim().toLowerCase();
  if (v === 'auto') return { count: Math.max(1, cores), auto: true };
  const n = decimalInteger(v);
  if (n === undefined || n < 1) throw new ConfigError(`${what}: expected a whole number of at least 1, or auto (one per core), got "${value}"`);
  return { count: n, auto: false };
}

const STORE_URL_VARS = { postgres: 'AUTHENTIK_PROXY__POSTGRES_URL', redis: 'AUTHENTIK_PROXY__REDIS_URL' } as const;
const STORE_URL_SCHEMES = { postgres: ['postgres:', 'postgresql:'], redis: ['redis:', 'rediss:'] } as const;

/**
 * The session backend and its URL. Messages name the variable and the expected form, never the
 * value: a store URL may carry a password.
 */
function parseSessionStore(get: (name: string) => string | undefined, warn: WarningSink): SessionStoreConfig {
  const raw = (get('AUTHENTIK_PROXY__SESSION_BACKEND') ?? 'memory').trim().toLowerCase();
  if (raw !== 'memory' && raw !== 'postgres' && raw !== 'redis') {
    throw new ConfigError(`AUTHENTIK_PROXY__SESSION_BACKEND: expected memory, postgres or redis, got "${raw.slice(0, 40)}"`);
  }
  for (const [backend, name] of Object.entries(STORE_URL_VARS)) {
    if (backend !== raw && get(name) !== undefined) warn('a session store URL is set for a backend that is not in use; ignored', { variable: name, backend: raw });
  }
  if (raw === 'memory') return { backend: 'memory' };
  const name = STORE_URL_VARS[raw];
  const url = get(name)?.trim();
  if (!url) throw new ConfigError(`${name} is not set; AUTHENTIK_PROXY__SESSION_BACKEND=${raw} needs it (a ${STORE_URL_SCHEMES[raw].join('//… or ')}//… URL; file:// and env:// values are read)`);
  const parsed = URL.parse(url);
  if (!parsed || !(STORE_URL_SCHEMES[raw] as readonly string[]).includes(parsed.protocol)) {
    throw new ConfigError(`${name}: expected a ${STORE_URL_SCHEMES[raw].join('//… or ')}//… URL (the value is not shown: it may carry a password)`);
  }
  const timeoutMs = parseDurationMs(get('AUTHENTIK_PROXY__SESSION_STORE_TIMEOUT') ?? '2s', 'AUTHENTIK_PROXY__SESSION_STORE_TIMEOUT');
  if (timeoutMs < 10) throw new ConfigError('AUTHENTIK_PROXY__SESSION_STORE_TIMEOUT: must be at least 10ms');
  return { backend: raw, url, timeoutMs };
}

function parseMaPolicy(value: string, what: string): MessageAuthenticatorPolicy {
  const v = value.trim().toLowerCase();
  if (v === 'auto') return 'auto';
  if (v === 'yes' || v === 'true' || v === '1') return 'yes';
  if (v === 'no' || v === 'false' || v === '0') return 'no';
  throw new ConfigError(`${what}: expected yes, no or auto, got "${value}"`);
}

/** `auto` or `auto,vpn-provider=yes,legacy-switches=no`: a default and per-provider overrides. */
function parseMaPolicies(value: string, what: string): RadiusOptions['requireMessageAuthenticator'] {
  const out: RadiusOptions['requireMessageAuthenticator'] = { default: 'auto', byProvider: {} };
  for (const part of value.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const eq = part.lastIndexOf('=');
    if (eq < 0) {
      out.default = parseMaPolicy(part, what);
      continue;
    }
    const name = part.slice(0, eq).trim();
    if (name === '') throw new ConfigError(`${what}: a provider name is missing before "${part.slice(eq)}"`);
    out.byProvider[name] = parseMaPolicy(part.slice(eq + 1), `${what} (${name})`);
  }
  return out;
}

/** One listen address from the environment alone (the healthcheck needs nothing else). */
export function parseListenFromEnv(name: ListenerName, env: NodeJS.ProcessEnv = process.env): ListenAddress {
  const v = `AUTHENTIK_LISTEN__${name.toUpperCase()}`;
  const raw = gatherVariables({ env })[v];
  return parseListen(raw === undefined ? DEFAULT_LISTEN[name] : resolveValue(raw, v, env), v);
}
