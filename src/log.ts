// JSON logs shaped like authentik's: keys `event`, `level`, `logger`, `timestamp`.
import { pino, type Logger, type LevelWithSilent } from 'pino';

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

export interface RootLoggerOptions {
  level: string;
  /** Defaults to stdout; tests pass a stream to assert on log lines. */
  destination?: NodeJS.WritableStream;
}

export function createRootLogger(opts: RootLoggerOptions): Logger {
  return pino(
    {
      level: toPinoLevel(opts.level),
      base: null,
      messageKey: 'event',
      timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label === 'warn' ? 'warning' : label }) },
      redact: { paths: REDACT, censor: '[redacted]' },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** A logger named the way authentik names its outpost loggers (`authentik.outpost.<name>`). */
export function named(parent: Logger, name: string, bindings: Record<string, unknown> = {}): Logger {
  return parent.child({ logger: `authentik.outpost.${name}`, ...bindings });
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
