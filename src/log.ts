// JSON logs shaped like authentik's: keys `event`, `level`, `logger`, `timestamp`.
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { BatchedWriter } from './log-writer.ts';

export type { Logger };

/** authentik's level names, as `AUTHENTIK_LOG_LEVEL` and the outpost config's `log_level` use them. */
export type AuthentikLevel = 'trace' | 'debug' | 'info' | 'warning' | 'error';

/** authentik treats any unknown value as debug; we do the same so a typo never hides logs. */
export function toPinoLevel(level: string): LevelWithSilent {
  switch (level.toLowerCase()) {
    case 'trace': return 'trace';
    case 'debug': return 'debug';
    case 'info': return 'info';
    case 'warning':
    case 'warn': return 'warn';
    case 'error': return 'error';
    case 'silent': return 'silent';
    default: return 'debug';
  }
}

/**
 * Paths that may carry secrets. Redaction is a safety net: code should not pass secrets to
 * the logger in the first place.
 */
const REDACT = [
  'token', 'password', 'secret', 'shared_secret', 'cookie', 'authorization',
  '*.token', '*.password', '*.secret', '*.shared_secret', '*.cookie', '*.authorization',
  'headers.authorization', 'headers.cookie', 'headers["x-authentik-outpost-token"]',
  // The proxy: session cookies are `authentik_proxy_<8>` (never logged by name), tokens and secrets.
  'rawToken', '*.rawToken', 'raw_token', '*.raw_token', 'client_secret', '*.client_secret', 'cookie_secret', '*.cookie_secret',
  'access_token', 'id_token', 'refresh_token', '*.access_token', '*.id_token', '*.refresh_token',
  'headers["set-cookie"]', 'headers["x-authentik-jwt"]',
];

/**
 * How REDACT is applied. pino's wildcard paths (`*.token`) run its redaction library on every
 * key of every line, re-parsing every path each time: about 30 µs per line, more than a cached
 * LDAP bind costs otherwise. So pino gets the other paths (top-level keys and `headers.…`,
 * looked up per key), and `*.<key>` paths are applied here, one level down as pino does: a
 * value holding such a key is logged as a copy with that key censored (`err` after its
 * serializer, as pino orders it). Child bindings get pino's paths; pino applies no formatter
 * to them (it resets `formatters.bindings` for children), so `named` censors its bindings one
 * level down itself; a direct `.child()` must be given flat values.
 */
const WILDCARD = /^\*\.([A-Za-z0-9_$-]+)$/;
const PINO_PATHS = REDACT.filter((p) => !WILDCARD.test(p));
const NESTED_SECRETS = REDACT.flatMap((p) => WILDCARD.exec(p)?.[1] ?? []);
const CENSOR = '[redacted]';

/** `value` with its secret keys censored: the original when it has none, else a copy (as pino's redaction copies). */
function censorSecrets(value: object): object {
  let found = false;
  for (const k of NESTED_SECRETS) {
    if (k in value) {
      found = true;
      break;
    }
  }
  if (!found) return value;
  const copy = Object.create(Object.getPrototypeOf(value) as object | null) as Record<string, unknown>;
  for (const k in value) if (Object.hasOwn(value, k)) copy[k] = (value as Record<string, unknown>)[k];
  for (const k of NESTED_SECRETS) if (k in value) copy[k] = CENSOR;
  return copy;
}

/** formatters.log (and `named`'s bindings): the `*.<key>` paths on a line's object (`err` is done by its serializer). */
function censorNested(line: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const key in line) {
    const v = line[key];
    if (typeof v !== 'object' || v === null || key === 'err') continue;
    const censored = censorSecrets(v);
    if (censored !== v) (out ??= { ...line })[key] = censored;
  }
  return out ?? line;
}

function serializeErr(err: unknown): unknown {
  const s: unknown = pino.stdSerializers.err(err as Error);
  return typeof s === 'object' && s !== null ? censorSecrets(s) : s;
}

/**
 * stdout gets log lines in batches (log-writer.ts): one write per 4 KiB, or what has gathered
 * every 100 ms. Each write goes through libuv's thread pool (a hand-off and a wake-up each way),
 * which cost more than a cached LDAP bind itself when every bind and search wrote its own line.
 * A line waits at most LOG_FLUSH_MS; what is left is written synchronously when the process exits.
 */
const LOG_BATCH_BYTES = 4096;
const LOG_FLUSH_MS = 100;

/** pino's timestamp field, formatted once per millisecond (a busy listener logs many lines in one). */
let stampedAt = -1;
let stamp = '';
function isoTimestamp(): string {
  const now = Date.now();
  if (now !== stampedAt) {
    stampedAt = now;
    stamp = `,"timestamp":"${new Date(now).toISOString()}"`;
  }
  return stamp;
}

/** pino's own keys for a logger's destination and serialized bindings: looked up once, not per line. */
const STREAM = pino.symbols.streamSym;
const CHINDINGS = pino.symbols.chindingsSym;

/**
 * A line written as pino writes `logger[level](fields, event)` (level, timestamp, the logger's
 * bindings, the fields, `event`), from fields the caller serialized: `,"key":value…`, each value
 * JSON. For a hot path whose fields are flat, fixed and never secret (the proxy's access line):
 * pino's per-line work over each key (serializers, formatters, redaction, escaping) was most of
 * such a line's cost. The caller checks the level first (`isLevelEnabled`).
 */
export function writeLine(logger: Logger, level: 'info' | 'error', fields: string, event: string): void {
  const l = logger as unknown as Record<symbol, unknown>;
  const stream = l[STREAM] as { write(line: string): unknown };
  stream.write(`{"level":"${level}"${isoTimestamp()}${l[CHINDINGS] as string}${fields},"event":${JSON.stringify(event)}}\n`);
}

export interface RootLoggerOptions {
  level: string;
  /** Defaults to stdout; tests pass a stream to assert on log lines. */
  destination?: NodeJS.WritableStream;
  /**
   * Default true: batch stdout writes (above). Worker processes share one stdout pipe, where only
   * a write of at most PIPE_BUF (4 KiB) is atomic: they write each line alone and synchronously
   * (no coalescing into larger writes), so that lines from two workers never interleave mid-line.
   */
  batch?: boolean;
}

export function createRootLogger(opts: RootLoggerOptions): Logger {
  return pino(
    {
      level: toPinoLevel(opts.level),
      base: null,
      messageKey: 'event',
      timestamp: isoTimestamp,
      formatters: { level: (label) => ({ level: label === 'warn' ? 'warning' : label }), log: censorNested },
      serializers: { err: serializeErr },
      redact: { paths: PINO_PATHS, censor: CENSOR },
    },
    opts.destination ?? (opts.batch === false ? pino.destination({ dest: 1, sync: true }) : new BatchedWriter(1, { minBytes: LOG_BATCH_BYTES, flushMs: LOG_FLUSH_MS })),
  );
}

/** A logger named the way authentik names its outpost loggers (`authentik.outpost.<name>`). */
export function named(parent: Logger, name: string, bindings: Record<string, unknown> = {}): Logger {
  return parent.child(censorNested({ logger: `authentik.outpost.${name}`, ...bindings }));
}

const VERBOSITY: readonly LevelWithSilent[] = ['silent', 'fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/**
 * The level of a logger that several outposts share (the root, from which every listener's
 * loggers descend): the most verbose level any outpost asks for, so that no outpost's
 * `log_level: debug` is hidden by another's `warning`; the configured level while none asks.
 * Each agent keeps its own lines at its own outpost's level (it sets it on its own child).
 * Works because pino children without a level of their own follow their parent's.
 */
export class SharedLevel {
  private readonly logger: Logger;
  private readonly configured: LevelWithSilent;
  private readonly asks = new Map<object, LevelWithSilent>();

  constructor(logger: Logger) {
    this.logger = logger;
    this.configured = toPinoLevel(logger.level);
  }

  /** `who` (an agent) asks for `level`, replacing what it asked before. */
  ask(who: object, level: LevelWithSilent): void {
    this.asks.set(who, level);
    this.apply();
  }

  /** `who` asks for nothing any more (it stopped). */
  withdraw(who: object): void {
    if (this.asks.delete(who)) this.apply();
  }

  private apply(): void {
    let level: LevelWithSilent = this.asks.size === 0 ? this.configured : 'silent';
    for (const asked of this.asks.values()) if (VERBOSITY.indexOf(asked) > VERBOSITY.indexOf(level)) level = asked;
    if (this.logger.level !== level) this.logger.level = level;
  }
}
