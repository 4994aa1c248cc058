// Parsers for config values. Each throws ConfigError naming the variable and the expected form.
import { isIP } from 'node:net';
import { MAX_TIMER_MS } from '../net/deadline.ts';
import { ConfigError } from './resolve.ts';

export interface ListenAddress {
  host: string;
  port: number;
}

/** `0.0.0.0:9000`, `:9443` (all interfaces), `[::]:3389`, `127.0.0.1:0`. */
export function parseListen(value: string, what: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value.trim());
  if (!m) throw new ConfigError(`${what}: expected host:port (for example 0.0.0.0:9000, :9000 or [::]:9000), got "${value}"`);
  const host = m[1] ?? m[2] ?? '';
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError(`${what}: port ${port} is out of range`);
  if (m[1] !== undefined && isIP(host) !== 6) throw new ConfigError(`${what}: "${host}" is not an IPv6 address`);
  return { host: host === '' ? '0.0.0.0' : host, port };
}

export function formatListen(addr: ListenAddress): string {
  return isIP(addr.host) === 6 ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
}

/** authentik's boolean: `true`/`1` (any case) are true, `false`/`0`/empty are false. */
export function parseBool(value: string, what: string): boolean {
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes' || v === 't') return true;
  if (v === 'false' || v === '0' || v === 'no' || v === 'f' || v === '') return false;
  throw new ConfigError(`${what}: expected true or false, got "${value}"`);
}

/** `AUTHENTIK_HOST`: an http(s) URL. Only scheme and host:port are used, as in authentik 2024.4. */
export function parseHost(value: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new ConfigError(`${what}: expected a URL such as https://authentik.example.com, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${what}: expected an http:// or https:// URL, got "${url.protocol}"`);
  }
  return url;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * The longest duration accepted (about 24.8 days): Node.js fires a longer timer after 1 ms, so a
 * refresh interval past it would refresh in a tight loop and a timeout past it expire at once.
 */
const MAX_DURATION_MS = MAX_TIMER_MS;

/** Durations as Go writes them (`500ms`, `10s`, `5m`, `1h`); a bare number means seconds. */
export function parseDurationMs(value: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new ConfigError(`${what}: expected a duration such as 500ms, 10s or 5m, got "${value}"`);
  const ms = Math.round(Number(m[1]) * (UNITS[m[2] ?? 's'] ?? 1000));
  if (!(ms <= MAX_DURATION_MS)) throw new ConfigError(`${what}: at most 596h (${MAX_DURATION_MS} ms), got "${value}"`);
  return ms;
}

/** `value` as a whole number written in decimal digits (no sign, exponent or hex), if it is one. */
export function decimalInteger(value: string): number | undefined {
  const v = value.trim();
  const n = /^\d+$/.test(v) ? Number(v) : Number.NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** A whole number written in decimal digits, at least `min`. */
export function parseWholeNumber(value: string, what: string, min: number): number {
  const n = decimalInteger(value);
  if (n === undefined || n < min) throw new ConfigError(`${what}: expected a whole number of at least ${min}, got "${value}"`);
  return n;
}

/**
 * What an HTTP header value can carry, without white space: a token with a line break (a secret
 * file of two lines) or a space (tokens not separated by commas) would fail every call later, as
 * "cannot reach authentik" or a rejected token.
 */
const TOKEN_CHARS = /^[\x21-\x7e\x80-\xff]+$/;

/** Several outposts in one process: `AUTHENTIK_TOKEN=tok1,tok2`. Empty items are an error. */
export function parseTokens(value: string, what: string): string[] {
  const tokens = value.split(',').map((t) => t.trim());
  if (tokens.some((t) => t === '')) throw new ConfigError(`${what}: empty token in the comma-separated list`);
  // The value is a secret: the message says what is wrong, never what it is.
  if (tokens.some((t) => !TOKEN_CHARS.test(t))) throw new ConfigError(`${what}: a token contains white space or a control character (separate several tokens with commas; the value is not shown)`);
  if (new Set(tokens).size !== tokens.length) throw new ConfigError(`${what}: the same token is listed twice`);
  return tokens;
}
