// The proxy's session store on Redis or Valkey, shared by every replica pointed at the same
// server. ioredis because it gives us, as options rather than code: a per-command timeout, no
// offline queue (a down store fails fast instead of queueing requests), reconnection by itself,
// and `rediss://` TLS. (Sentinel is an ioredis option too, but no URL form selects it yet.)
//
// Key layout (P = `authentik_outpost:proxy_session`):
//   P:<id>                 the session as JSON (`StoredValue`), `PX` = the session's ttl
//   P_sid:<sid>, P_sub:<sub>  sorted sets of session ids, scored by the member's expiry (server
//                          clock, ms). A sorted set rather than a plain set so that expired
//                          members are pruned by score on every write (a user who logs in every
//                          day never grows an index), and each index key itself expires no
//                          earlier than its longest-lived member. Members may still be stale
//                          (expired but not yet pruned, or left by another writer): deletions
//                          re-read each member and check its claim before deleting.
//   P_invalidate:<db>      the pub/sub channel: a JSON array of the ids deleted or replaced.
//
// Atomicity: every write is one Lua script (value, indexes and the invalidation message change
// together, so no replica can see an index without its value or a deletion without its message).
// The scripts compute session and index keys from ids, so they need a single Redis (standalone
// or Sentinel); on Cluster the keys would span slots.
//
// size() SCANs the session keys (no counter: a counter cannot see TTL expiries, and size is for
// diagnostics, where being right matters more than being fast).
import { createHash } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../log.ts';
import { LogLimiter } from '../../net/log-limiter.ts';
import { bounded } from './bounded.ts';
import { urlRedactor } from './redact-url.ts';
import {
  checkSessionId, DEFAULT_OP_TIMEOUT_MS, MAX_ID_LENGTH, MAX_INVALIDATION_CHARS, MAX_INVALIDATION_IDS, MAX_SESSION_CHARS, notifyAll, sessionFromStored,
  SessionStoreUnavailableError, type Invalidation, type SharedSessionStore, type SharedSessionStoreOptions, type StoredFields,
} from './shared.ts';
import { sessionSid, sessionSub, type ProxySession } from './store.ts';

export const REDIS_KEY_PREFIX = 'authentik_outpost:proxy_session';
const SESSION_PREFIX = `${REDIS_KEY_PREFIX}:`;
const SID_PREFIX = `${REDIS_KEY_PREFIX}_sid:`;
const SUB_PREFIX = `${REDIS_KEY_PREFIX}_sub:`;
/** The first connection includes DNS, TCP, TLS and AUTH, and a failure ends the outpost's start: be generous. */
const MIN_START_TIMEOUT_MS = 10_000;
/** How often both connections are PINGed, so `up` follows a hung or returning server without traffic. */
const DEFAULT_PROBE_INTERVAL_MS = 1_000;
/** Reconnect backoff cap: a returning store is used again within about this long. */
const MAX_RECONNECT_DELAY_MS = 2_000;
/** The version of `StoredValue`; a value of another version reads as absent. */
const VALUE_VERSION = 1;
/** SCAN batch for size(): 100,000 sessions in ten round trips, each a few ms of server time. */
const SCAN_COUNT = 10_000;

/** Server replies that mean "this server cannot serve us now" (as opposed to a bad command). */
const UNAVAILABLE_REPLY = /^(READONLY|LOADING|MASTERDOWN|BUSY|OOM|NOAUTH|NOPERM|WRONGPASS|MISCONF|CLUSTERDOWN|TRYAGAIN)\b/;

export interface RedisSessionStoreOptions extends SharedSessionStoreOptions {
  /** Health probe period, ms (default 1,000; 0 disables the probe, for tests). */
  readonly probeIntervalMs?: number;
}

/** What is stored under `P:<id>`: the session, and a version so a later format can be told apart. */
interface StoredValue extends ProxySession {
  readonly v: typeof VALUE_VERSION;
}

// ---- Lua -----------------------------------------------------------------------------------
// Shared helpers: the server clock (the same clock `PX` expires by), a tolerant JSON decode, and
// the claim the sid/sub index is keyed by.
const LUA_PRELUDE = `
if redis.replicate_commands then redis.replicate_commands() end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function decode(raw)
  if type(raw) ~= 'string' then return nil end
  local ok, s = pcall(cjson.decode, raw)
  if ok and type(s) == 'table' then return s end
  return nil
end
local function claim(s, name)
  if type(s.claims) ~= 'table' then return nil end
  local v = s.claims[name]
  if type(v) == 'string' and v ~= '' then return v end
  return nil
end
local function read(key)
  local raw = redis.pcall('GET', key)
  return decode(raw)
end
local function unindex(s, id, sid_prefix, sub_prefix)
  if s == nil then return end
  local sid = claim(s, 'sid')
  if sid then redis.call('ZREM', sid_prefix .. sid, id) end
  local sub = claim(s, 'sub')
  if sub then redis.call('ZREM', sub_prefix .. sub, id) end
end
`;

/**
 * KEYS[1] the session key, KEYS[2..] its index keys. ARGV: value, ttl ms, id, channel, sid index
 * prefix, sub index prefix. Replacing a session publishes its id (another replica may cache the old
 * value). Returns 1 when a value was replaced.
 */
const LUA_SET = `${LUA_PRELUDE}
local ttl = tonumber(ARGV[2])
local id = ARGV[3]
local old = redis.pcall('GET', KEYS[1])
local existed = redis.call('EXISTS', KEYS[1])
if existed == 1 then unindex(decode(old), id, ARGV[5], ARGV[6]) end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
local now = now_ms()
for i = 2, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  redis.call('ZADD', KEYS[i], now + ttl, id)
  if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
end
if existed == 1 then redis.call('PUBLISH', ARGV[4], cjson.encode({ id })) end
return existed
`;

/** KEYS[1] the session key. ARGV: id, channel, sid index prefix, sub index prefix. Returns 1 when deleted. */
const LUA_DELETE = `${LUA_PRELUDE}
local old = redis.pcall('GET', KEYS[1])
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
unindex(decode(old), ARGV[1], ARGV[3], ARGV[4])
redis.call('PUBLISH', ARGV[2], cjson.encode({ ARGV[1] }))
return 1
`;

/**
 * KEYS[1] an index (sid or sub). ARGV: the claim name, its value, a provider pk or '', session
 * key prefix, sid index prefix, sub index prefix, channel. Deletes the members whose value still
 * carries that claim (and provider, when given); drops members that no longer do. Returns how many.
 */
const LUA_DELETE_INDEXED = `${LUA_PRELUDE}
local name, value, pk = ARGV[1], ARGV[2], ARGV[3]
local deleted = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local key = ARGV[4] .. id
  local s = read(key)
  if s == nil or claim(s, name) ~= value then
    redis.call('ZREM', KEYS[1], id)
  elseif pk == '' or s.providerPk == tonumber(pk) then
    redis.call('DEL', key)
    unindex(s, id, ARGV[5], ARGV[6])
    deleted[#deleted + 1] = id
  end
end
if #deleted > 0 then redis.call('PUBLISH', ARGV[7], cjson.encode(deleted)) end
return #deleted
`;

class LuaScript {
  readonly source: string;
  readonly sha: string;
  constructor(source: string) {
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}

const SET = new LuaScript(LUA_SET);
const DELETE = new LuaScript(LUA_DELETE);
const DELETE_INDEXED = new LuaScript(LUA_DELETE_INDEXED);

// ---- the store -----------------------------------------------------------------------------

export class RedisSessionStore implements SharedSessionStore {
  readonly backend = 'redis' as const;
  private readonly main: Redis;
  private readonly sub: Redis;
  private readonly log: Logger;
  private readonly opTimeoutMs: number;
  private readonly probeIntervalMs: number;
  /** host:port/db, for messages (never the URL: it may carry a password). */
  private readonly where: string;
  /** Takes the URL, its userinfo and password out of any text we log or throw. */
  private readonly redact: (text: string) => string;
  private readonly channel: string;
  private readonly invalidateListeners: Array<(ids: Invalidation) => void> = [];
  private readonly healthListeners: Array<(up: boolean) => void> = [];
  private readonly errorLog = new LogLimiter({ windowMs: 60_000, maxKeys: 16 });
  private isUp = false;
  private isSubscribed = false;
  private started = false;
  private closed = false;
  private warnedMalformed = false;
  private probe: NodeJS.Timeout | undefined;
  private probing = false;
  private lastConnectError: unknown;

  constructor(opts: RedisSessionStoreOptions) {
    const url = parseRedisUrl(opts.url);
    this.where = url.where;
    this.redact = urlRedactor(opts.url);
    this.channel = `${REDIS_KEY_PREFIX}_invalidate:${url.db}`;
    this.log = opts.logger;
    this.opTimeoutMs = opts.opTimeoutMs ?? DEFAULT_OP_TIMEOUT_MS;
    if (!(this.opTimeoutMs > 0)) throw new RangeError(`opTimeoutMs must be positive, got ${this.opTimeoutMs}`);
    this.probeIntervalMs = opts.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
    const common: RedisOptions = {
      lazyConnect: true,
      // A down store must answer "no" at once, not hold requests until it returns.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectTimeout: this.opTimeoutMs,
      commandTimeout: this.opTimeoutMs,
      // A server that stops answering while the TCP connection stays up (hung, or gone behind a
      // silent network) gets a new connection, so a failover behind DNS is picked up.
      socketTimeout: this.opTimeoutMs * 2,
      retryStrategy: (times) => Math.min(times * 200, MAX_RECONNECT_DELAY_MS),
      connectionName: 'authentik-outpost-proxy-sessions',
    };
    this.main = new Redis(opts.url, common);
    this.sub = new Redis(opts.url, { ...common, autoResubscribe: false, connectionName: 'authentik-outpost-proxy-sessions-sub' });

    this.main.on('error', (err: unknown) => this.connectionError('main', err));
    this.sub.on('error', (err: unknown) => this.connectionError('subscriber', err));
    this.main.on('ready', () => {
      this.lastConnectError = undefined;
      this.setUp(true);
    });
    this.main.on('close', () => this.setUp(false, this.lastConnectError));
    this.main.on('end', () => this.setUp(false, this.lastConnectError));
    // Deletions published while the subscriber was away are lost: caches must forget
    // everything, when the channel drops (stop trusting) and again once resubscribed (anything
    // cached during the gap may be stale).
    this.sub.on('close', () => this.subscriberLost());
    this.sub.on('ready', () => void this.resubscribe());
    this.sub.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.invalidated(message);
    });
  }

  get up(): boolean {
    return this.isUp;
  }

  /** False while the invalidation channel is down (from its loss until the server confirms the resubscription). */
  get subscribed(): boolean {
    return this.isSubscribed && !this.closed;
  }

  onHealth(listener: (up: boolean) => void): void {
    this.healthListeners.push(listener);
  }

  onInvalidate(listener: (ids: Invalidation) => void): void {
    this.invalidateListeners.push(listener);
  }

  async start(): Promise<void> {
    if (this.closed) throw new Error('the redis session store is closed');
    if (this.started) return;
    this.lastConnectError = undefined;
    const connect = Promise.all([this.main.connect(), this.sub.connect().then(() => this.sub.subscribe(this.channel))]);
    try {
      await bounded(connect, Math.max(MIN_START_TIMEOUT_MS, this.opTimeoutMs));
    } catch (err) {
      // No reconnection loop behind a failed start: the caller decides what happens next.
      this.main.disconnect();
      this.sub.disconnect();
      const reason = this.redact(describe(this.lastConnectError ?? err));
      throw new SessionStoreUnavailableError('redis', `cannot connect to ${this.where}: ${reason}`, { cause: this.safeError(this.lastConnectError ?? err) });
    }
    this.started = true;
    this.isSubscribed = true;
    this.isUp = true;
    this.notifyHealth(true);
    if (this.probeIntervalMs > 0) {
      this.probe = setInterval(() => void this.runProbe(), this.probeIntervalMs);
      this.probe.unref();
    }
    this.log.info({ store: this.where }, 'redis session store connected');
  }

  async get(id: string): Promise<ProxySession | undefined> {
    const raw = await this.op('get', () => this.main.get(key(id)).catch((err: unknown): typeof WRONG_TYPE => {
      // A key of another type holds no session of ours: absent, like any malformed value.
      if (isServerReply(err) && errorMessage(err).startsWith('WRONGTYPE')) return WRONG_TYPE;
      throw err;
    }));
    if (raw === null) return undefined;
    const parsed = raw === WRONG_TYPE ? 'the key holds another type' : parseStoredValue(raw);
    if (typeof parsed === 'string') {
      this.malformed(parsed);
      return undefined;
    }
    return parsed;
  }

  async set(id: string, session: ProxySession, ttlMs: number): Promise<void> {
    if (!(ttlMs > 0)) {
      await this.delete(id);
      return;
    }
    if (!Number.isFinite(ttlMs)) throw new RangeError('a session ttl must be finite');
    checkSessionId(id);
    const value: StoredValue = {
      v: VALUE_VERSION,
      claims: session.claims,
      ...(session.redirect !== undefined ? { redirect: session.redirect } : {}),
      createdAt: session.createdAt,
      expiresAt: session.expiresAt,
      providerPk: session.providerPk,
      outpostPk: session.outpostPk,
      rawToken: session.rawToken,
    };
    const json = JSON.stringify(value);
    if (json.length > MAX_SESSION_CHARS) throw new RangeError(`a session takes at most ${MAX_SESSION_CHARS} characters`);
    const keys = [key(id)];
    const sid = sessionSid(session);
    const sub = sessionSub(session);
    if (sid !== undefined) keys.push(SID_PREFIX + sid);
    if (sub !== undefined) keys.push(SUB_PREFIX + sub);
    await this.op('set', () => this.eval(SET, keys, [json, String(Math.ceil(ttlMs)), id, this.channel, SID_PREFIX, SUB_PREFIX]));
  }

  async delete(id: string): Promise<boolean> {
    const n = await this.op('delete', () => this.eval(DELETE, [key(id)], [id, this.channel, SID_PREFIX, SUB_PREFIX]));
    return n === 1;
  }

  async deleteBySid(sid: string): Promise<number> {
    if (sid === '') return 0;
    return this.deleteIndexed('sid', sid, undefined);
  }

  async deleteByUser(sub: string, providerPk?: number): Promise<number> {
    if (sub === '') return 0;
    return this.deleteIndexed('sub', sub, providerPk);
  }

  /** Session keys counted by SCAN (deduplicated: SCAN may return a key twice while rehashing). */
  async size(): Promise<number> {
    const deadline = Date.now() + this.opTimeoutMs;
    return this.op('size', async () => {
      const seen = new Set<string>();
      let cursor = '0';
      do {
        const [next, keys] = await this.main.scan(cursor, 'MATCH', `${SESSION_PREFIX}*`, 'COUNT', SCAN_COUNT);
        for (const k of keys) seen.add(k);
        cursor = next;
        // Timed out already: stop scanning for nobody.
      } while (cursor !== '0' && Date.now() < deadline);
      return seen.size;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.probe) clearInterval(this.probe);
    this.isUp = false;
    // QUIT lets in-flight replies arrive; a server that does not answer is disconnected anyway.
    await Promise.all([this.main, this.sub].map((c) => quit(c, this.opTimeoutMs)));
  }

  // ---- internals ---------------------------------------------------------------------------

  private async deleteIndexed(name: 'sid' | 'sub', value: string, providerPk: number | undefined): Promise<number> {
    const n = await this.op(`deleteBy${name === 'sid' ? 'Sid' : 'User'}`, () =>
      this.eval(DELETE_INDEXED, [(name === 'sid' ? SID_PREFIX : SUB_PREFIX) + value], [
        name, value, providerPk === undefined ? '' : String(providerPk),
        SESSION_PREFIX, SID_PREFIX, SUB_PREFIX, this.channel,
      ]));
    return typeof n === 'number' ? n : 0;
  }

  /** EVALSHA, loading the script on NOSCRIPT (a restarted or flushed server). */
  private async eval(script: LuaScript, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    try {
      return await this.main.evalsha(script.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return this.main.eval(script.source, keys.length, ...keys, ...args);
    }
  }

  /**
   * One store operation: settles within opTimeoutMs, updates `up` from its outcome, and turns
   * every failure into SessionStoreUnavailableError (the caller fails closed).
   */
  private async op<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new SessionStoreUnavailableError('redis', 'the store is closed');
    // ioredis would connect on the first command; start() is where connecting is reported.
    if (!this.started) throw new SessionStoreUnavailableError('redis', 'the store was not started');
    let result: T;
    try {
      result = await bounded(fn(), this.opTimeoutMs);
    } catch (err) {
      if (!isServerReply(err) || UNAVAILABLE_REPLY.test(errorMessage(err))) {
        // The health line says it (once per change): no line per failed request.
        this.setUp(false, err);
      } else {
        // The server answered with an error of ours (a script error, a bad command): not an
        // outage, but worth a line.
        const d = this.errorLog.check(`op:${what}:${errorCode(err)}`);
        if (d.log) this.log.warn({ err: this.safeError(err), op: what, store: this.where, suppressed: d.suppressed }, 'redis session store operation failed');
      }
      throw new SessionStoreUnavailableError('redis', `${what}: ${this.redact(describe(err))}`, { cause: this.safeError(err) });
    }
    this.setUp(true);
    return result;
  }

  private async runProbe(): Promise<void> {
    if (this.probing || this.closed) return;
    this.probing = true;
    try {
      // The subscriber's PING feeds its socket timeout: a dead channel is replaced, not trusted.
      if (this.sub.status === 'ready') this.sub.ping().catch(() => undefined);
      await bounded(this.main.ping(), this.opTimeoutMs);
      this.setUp(true);
    } catch (err) {
      this.setUp(false, err);
    } finally {
      this.probing = false;
    }
  }

  /** `up` from an event or an outcome; one log line per change (rate-limited against flapping). */
  private setUp(up: boolean, cause?: unknown): void {
    if (this.closed || !this.started || up === this.isUp) return;
    this.isUp = up;
    const d = this.errorLog.check(up ? 'up' : 'down');
    if (d.log && up) this.log.info({ store: this.where, suppressed: d.suppressed }, 'redis session store is answering again');
    if (d.log && !up) {
      const err = cause === undefined ? undefined : this.safeError(cause);
      this.log.warn({ err, store: this.where, suppressed: d.suppressed }, 'redis session store is not answering; requests needing a session fail closed until it returns');
    }
    this.notifyHealth(up);
  }

  private notifyHealth(up: boolean): void {
    notifyAll(this.healthListeners, up, this.log, 'a session store health listener threw');
  }

  private subscriberLost(): void {
    if (!this.isSubscribed || this.closed) return;
    this.isSubscribed = false;
    this.log.warn({ store: this.where }, 'redis session invalidation channel lost; local session caches are flushed');
    this.emitInvalidation(undefined);
  }

  /**
   * Ours rather than ioredis's autoResubscribe: caches are told to flush only once the server
   * confirmed the subscription, so nothing deleted after the flush can go unannounced.
   */
  private async resubscribe(): Promise<void> {
    // The first 'ready' is start()'s own, which subscribes itself.
    if (this.isSubscribed || this.closed || !this.started) return;
    try {
      await this.sub.subscribe(this.channel);
    } catch (err) {
      this.connectionError('subscriber', err);
      // Connected but not subscribed is useless: start over.
      this.sub.disconnect(true);
      return;
    }
    if (this.isSubscribed || this.closed) return;
    this.isSubscribed = true;
    this.log.info({ store: this.where }, 'redis session invalidation channel back');
    this.emitInvalidation(undefined);
  }

  private invalidated(message: string): void {
    const ids = parseIdList(message);
    if (ids === undefined) {
      this.log.warn('unreadable redis session invalidation message; local session caches are flushed');
    }
    this.emitInvalidation(ids);
  }

  private emitInvalidation(ids: Invalidation): void {
    notifyAll(this.invalidateListeners, ids, this.log, 'a session invalidation listener threw');
  }

  /** Every failed (re)connection attempt: kept for start() and the health line, logged at debug (the health line is the warning). */
  private connectionError(which: 'main' | 'subscriber', err: unknown): void {
    this.lastConnectError = err;
    if (!this.started || this.closed) return;
    const d = this.errorLog.check(`${which}:${errorCode(err)}`);
    if (d.log) this.log.debug({ err: this.safeError(err), connection: which, store: this.where, suppressed: d.suppressed }, 'redis session store connection error');
  }

  private malformed(reason: string): void {
    if (this.warnedMalformed) return;
    this.warnedMalformed = true;
    this.log.warn({ reason }, 'a malformed session in redis was treated as absent (logged once)');
  }

  /**
   * A copy of an error with only its name, message and code: ioredis attaches the command and
   * its arguments to reply errors, and ours carry session JSON (claims, the ID token).
   */
  private safeError(err: unknown): Error {
    const e = new Error(this.redact(errorMessage(err)));
    e.name = err instanceof Error ? err.name : 'Error';
    e.stack = err instanceof Error && err.stack !== undefined ? this.redact(err.stack) : `${e.name}: ${e.message}`;
    const code = stringCode(err);
    if (code !== undefined) Object.assign(e, { code });
    return e;
  }
}

// ---- helpers -------------------------------------------------------------------------------

const key = (id: string): string => SESSION_PREFIX + id;
const WRONG_TYPE = Symbol('wrong type');

interface ParsedRedisUrl {
  /** `redis[s]://host:port/db`: what messages name the store by. */
  readonly where: string;
  readonly db: number;
}

/** Checks the URL's scheme and db; never puts the URL in an error (it may carry a password). */
export function parseRedisUrl(raw: string): ParsedRedisUrl {
  const u = URL.parse(raw);
  if (!u || (u.protocol !== 'redis:' && u.protocol !== 'rediss:')) {
    throw new TypeError('the redis session store URL must be redis://[user:password@]host[:port][/db] or rediss://…');
  }
  const path = u.pathname.replace(/^\//, '');
  const db = path === '' ? 0 : Number(path);
  if (!Number.isInteger(db) || db < 0) throw new TypeError('the redis session store URL names no valid database number (the path must be /0, /1, …)');
  const host = u.hostname || '127.0.0.1';
  const port = u.port || '6379';
  return { where: `${u.protocol === 'rediss:' ? 'rediss' : 'redis'}://${host}:${port}/${db}`, db };
}

/** The stored JSON as a session, or why it is not one. */
function parseStoredValue(raw: string): ProxySession | string {
  if (raw.length > MAX_SESSION_CHARS) return `larger than ${MAX_SESSION_CHARS} characters`;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return 'not JSON';
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not an object';
  const o = v as Record<string, unknown>;
  if (o['v'] !== VALUE_VERSION) return 'unknown version';
  return sessionFromStored(o as unknown as StoredFields);
}

/**
 * An invalidation message: a JSON array of at most MAX_INVALIDATION_IDS session IDs, else
 * undefined (flush everything: the safe answer to a message we cannot trust).
 */
function parseIdList(message: string): string[] | undefined {
  if (message.length > MAX_INVALIDATION_CHARS) return undefined;
  try {
    const v: unknown = JSON.parse(message);
    if (Array.isArray(v) && v.length <= MAX_INVALIDATION_IDS && v.every((x): x is string => typeof x === 'string' && x !== '' && x.length <= MAX_ID_LENGTH)) return v;
  } catch {
    // fall through
  }
  return undefined;
}

async function quit(c: Redis, ms: number): Promise<void> {
  if (c.status === 'end' || c.status === 'wait') {
    c.disconnect();
    return;
  }
  try {
    await bounded(c.quit(), ms);
  } catch {
    // Not answering: drop the socket.
  }
  c.disconnect();
}

/** A Redis error reply (the server answered), as opposed to a connection failure or a timeout. */
function isServerReply(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError';
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function stringCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** A key for rate-limiting: the error's code, a reply's first word, or its class. */
function errorCode(err: unknown): string {
  const code = stringCode(err);
  if (code !== undefined) return code;
  if (isServerReply(err)) return errorMessage(err).split(' ', 1)[0] ?? 'reply';
  return err instanceof Error ? err.name : 'unknown';
}

function describe(err: unknown): string {
  const m = errorMessage(err);
  return m === '' ? 'unknown error' : m;
}
