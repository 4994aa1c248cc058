// The PostgreSQL session store (what authentik operators already run: authentik itself needs
// nothing else since 2025.10), on `pg`: a Pool for queries, one dedicated LISTEN connection for
// invalidations (postgres-listen.ts), the outpost's own schema (postgres-schema.ts).
//
// Failure model: every operation settles within `opTimeoutMs` (a timer, plus pg's
// connection/query/statement timeouts so the connection is freed too) and fails with
// SessionStoreUnavailableError. A failed operation marks the store down; while down, operations
// fail at once (no pile-up of requests each waiting for a timeout) and a probe every second
// brings it back. While up, a probe every second notices an outage nobody's request hit.
import pg from 'pg';
import type { Logger } from '../../log.ts';
import { bounded, OperationTimeoutError } from './bounded.ts';
import { ListenChannel } from './postgres-listen.ts';
import { CHANNEL, migrate, MIGRATIONS, TABLE } from './postgres-schema.ts';
import { urlRedactor } from './redact-url.ts';
import {
  checkSessionId, DEFAULT_OP_TIMEOUT_MS, MAX_SESSION_CHARS, notifyAll, sessionFromStored, SessionStoreUnavailableError,
  type Invalidation, type SharedSessionStore, type SharedSessionStoreOptions,
} from './shared.ts';
import { sessionSid, sessionSub, type ProxySession } from './store.ts';

export interface PostgresSessionStoreOptions extends SharedSessionStoreOptions {
  /** Pool size. Default 10. */
  readonly poolSize?: number;
  /** Expired rows are deleted this often (every replica sweeps; batches skip locked rows). Default 60 s; 0 = never. */
  readonly sweepIntervalMs?: number;
  /**
   * Health probe period while up (an outage with no traffic, or one a cached session would hide,
   * is noticed within it); while down it is `downProbeIntervalMs`. Both default to 1 s: one
   * `SELECT 1` a second per replica.
   */
  readonly probeIntervalMs?: number;
  readonly downProbeIntervalMs?: number;
}

/** NOTIFY payloads must stay under 8000 bytes: IDs (at most MAX_ID_LENGTH each) are grouped by their cumulative length. */
const PAYLOAD_BUDGET = 7600;
const SWEEP_BATCH = 1000;

/**
 * A session's size as MAX_SESSION_CHARS counts it, in SQL, measured the same way on write and on
 * read: the claims as PostgreSQL prints jsonb (a space after every ':' and ',', numbers without
 * exponents), not as JSON.stringify wrote them. Measured apart, a session just under the limit
 * was written and then read back as oversized on every request (a login loop).
 */
const sizeSql = (claims: string, rawToken: string, redirect: string, outpostPk: string): string =>
  `(length(${claims}::text)::bigint + length(${rawToken}) + coalesce(length(${redirect}), 0) + length(${outpostPk}))`;

// The claims as text, so their size is checked before they are parsed (pg would parse jsonb unbounded).
const COLUMNS = `provider_pk, outpost_pk, claims::text AS claims, raw_token, redirect, created_at, session_expires_at,
  ${sizeSql('claims', 'raw_token', 'redirect', 'outpost_pk')} <= ${MAX_SESSION_CHARS} AS fits`;

const SQL = {
  get: `SELECT ${COLUMNS} FROM ${TABLE} WHERE id = $1 AND expires_at > now()`,
  set: `INSERT INTO ${TABLE} (id, provider_pk, outpost_pk, sid, sub, claims, raw_token, redirect, created_at, session_expires_at, expires_at)
        SELECT $1::text, $2::integer, $3::text, $4::text, $5::text, $6::jsonb, $7::text, $8::text, $9::timestamptz, $10::timestamptz, now() + $11::bigint * interval '1 millisecond'
        WHERE ${sizeSql('$6::jsonb', '$7::text', '$8::text', '$3::text')} <= ${MAX_SESSION_CHARS}
        ON CONFLICT (id) DO UPDATE SET provider_pk = EXCLUDED.provider_pk, outpost_pk = EXCLUDED.outpost_pk, sid = EXCLUDED.sid,
          sub = EXCLUDED.sub, claims = EXCLUDED.claims, raw_token = EXCLUDED.raw_token, redirect = EXCLUDED.redirect,
          created_at = EXCLUDED.created_at, session_expires_at = EXCLUDED.session_expires_at, expires_at = EXCLUDED.expires_at`,
  size: `SELECT count(*)::integer AS n FROM ${TABLE} WHERE expires_at > now()`,
  sweep: `DELETE FROM ${TABLE} WHERE id IN (SELECT id FROM ${TABLE} WHERE expires_at <= now() LIMIT ${SWEEP_BATCH} FOR UPDATE SKIP LOCKED)`,
  probe: 'SELECT 1',
};

/**
 * Delete the rows `where` selects and NOTIFY their IDs, in one statement (so one round trip, and
 * the notifications go out exactly when the delete commits). The IDs are grouped into payloads
 * under 8000 bytes by their running length. Returns the deleted IDs.
 */
function deleteSql(where: string): string {
  return `WITH deleted AS (
      DELETE FROM ${TABLE} WHERE ${where} RETURNING id
    ), chunks AS (
      SELECT string_agg(id, ' ') AS ids
      FROM (SELECT id, sum(octet_length(id) + 1) OVER (ORDER BY id) / ${PAYLOAD_BUDGET} AS chunk FROM deleted) numbered
      GROUP BY chunk
    ), notified AS (
      SELECT count(pg_notify('${CHANNEL}', ids)) AS n FROM chunks
    )
    SELECT deleted.id FROM deleted, notified`;
}

const DELETE_SQL = {
  delete: deleteSql('id = $1'),
  deleteBySid: deleteSql('sid = $1'),
  deleteByUser: deleteSql('sub = $1 AND ($2::integer IS NULL OR provider_pk = $2::integer)'),
};

/** A row read back is input like any other: anything unexpected or oversized makes it "no session". */
function sessionFromRow(row: Record<string, unknown>): ProxySession | string {
  const { claims, raw_token: rawToken, redirect, outpost_pk: outpostPk } = row;
  if (typeof claims !== 'string' || typeof rawToken !== 'string') return 'claims or raw_token is not text';
  if (row['fits'] !== true) return `larger than ${MAX_SESSION_CHARS} characters`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(claims);
  } catch {
    return 'claims are not JSON';
  }
  const time = (v: unknown) => (v instanceof Date ? v.getTime() : NaN);
  return sessionFromStored({ claims: parsed, redirect, createdAt: time(row['created_at']), expiresAt: time(row['session_expires_at']), providerPk: row['provider_pk'], outpostPk, rawToken });
}

/**
 * SQLSTATE classes 22 (data exception: a NUL in a claim jsonb refuses) and 23 (integrity) say
 * the input was bad, not that the store is down: they fail the operation but not the health.
 */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^(22|23)/.test(code);
}

export class PostgresSessionStore implements SharedSessionStore {
  readonly backend = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly channel: ListenChannel;
  private readonly log: Logger;
  private readonly opTimeoutMs: number;
  private readonly redact: (text: string) => string;
  private readonly opts: PostgresSessionStoreOptions;
  private readonly invalidationListeners: ((ids: Invalidation) => void)[] = [];
  private readonly healthListeners: ((up: boolean) => void)[] = [];
  private started = false;
  private closed = false;
  private _up = false;
  private probeTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private probing = false;

  constructor(opts: PostgresSessionStoreOptions) {
    this.opts = opts;
    this.log = opts.logger;
    this.opTimeoutMs = opts.opTimeoutMs ?? DEFAULT_OP_TIMEOUT_MS;
    this.redact = urlRedactor(opts.url);
    // Both the pool's connections and the LISTEN connection.
    const connection: pg.ClientConfig = {
      connectionString: opts.url,
      // What the URL does not set: the URL (sslmode, application_name…) wins over these.
      fallback_application_name: 'authentik-outpost',
      connectionTimeoutMillis: this.opTimeoutMs,
      query_timeout: this.opTimeoutMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    };
    this.pool = new pg.Pool({
      ...connection,
      statement_timeout: this.opTimeoutMs,
      lock_timeout: this.opTimeoutMs,
      idle_in_transaction_session_timeout: Math.max(10_000, this.opTimeoutMs * 5),
      max: opts.poolSize ?? 10,
      idleTimeoutMillis: 30_000,
    });
    // An idle connection dropped (server restart, idle timeout of a pooler): not necessarily an
    // outage, so the probe decides. Without this listener the process would crash.
    this.pool.on('error', () => this.probeSoon());
    this.channel = new ListenChannel({
      config: connection,
      channel: CHANNEL,
      logger: this.log,
      timeoutMs: this.opTimeoutMs,
      redact: this.redact,
      onIds: (ids) => this.emitInvalidation(ids),
      // Lost: deletions may be missed from now on; subscribed again: they may have been missed.
      onState: () => this.emitInvalidation(undefined),
    });
  }

  get up(): boolean {
    return this._up;
  }

  get subscribed(): boolean {
    return this.channel.subscribed;
  }

  onInvalidate(listener: (ids: Invalidation) => void): void {
    this.invalidationListeners.push(listener);
  }

  onHealth(listener: (up: boolean) => void): void {
    this.healthListeners.push(listener);
  }

  /** Connect, migrate, subscribe. Rejects (with the URL's secrets redacted) when the first connection fails. */
  async start(): Promise<void> {
    if (this.closed) throw new SessionStoreUnavailableError('postgres', 'the store is closed');
    if (this.started) return;
    const migrationTimeoutMs = Math.max(10_000, this.opTimeoutMs * 5);
    let client: pg.PoolClient | undefined;
    const connecting = this.pool.connect();
    try {
      try {
        client = await bounded(connecting, this.opTimeoutMs);
      } catch (err) {
        // A connection that arrives after the bound goes back, or the pool would lose the slot.
        connecting.then((late) => late.release(true), () => {});
        throw err;
      }
      const result = await bounded(migrate(client, migrationTimeoutMs), migrationTimeoutMs + this.opTimeoutMs);
      if (result.from !== result.to) this.log.info({ from: result.from, to: result.to }, 'session store schema migrated');
      else if (result.from > MIGRATIONS.length) this.log.warn({ version: result.from, known: MIGRATIONS.length }, 'session store schema is newer than this outpost; using it as it is');
      client.release();
      client = undefined;
    } catch (err) {
      // A connection in an unknown state must not go back to the pool.
      client?.release(err instanceof Error ? err : true);
      throw this.unavailable('start', err);
    }
    this.started = true;
    await this.channel.start();
    this.setUp(true);
    this.scheduleProbe();
    const sweepEvery = this.opts.sweepIntervalMs ?? 60_000;
    if (sweepEvery > 0) {
      this.sweepTimer = setInterval(() => void this.sweep().catch(() => {}), sweepEvery);
      this.sweepTimer.unref();
    }
  }

  async get(id: string): Promise<ProxySession | undefined> {
    const result = await this.run('get', () => this.pool.query({ name: 'ak_outpost_session_get', text: SQL.get, values: [id] }));
    const row: unknown = result.rows[0];
    if (typeof row !== 'object' || row === null) return undefined;
    const session = sessionFromRow(row as Record<string, unknown>);
    if (typeof session !== 'string') return session;
    this.log.warn({ reason: session }, 'a stored session has an unreadable row; treated as no session');
    return undefined;
  }

  async set(id: string, session: ProxySession, ttlMs: number): Promise<void> {
    if (!(ttlMs > 0)) {
      await this.delete(id);
      return;
    }
    checkSessionId(id);
    // Explicitly: pg would turn a top-level array into a PostgreSQL array.
    const claims = JSON.stringify(session.claims ?? null);
    const tooLarge = () => new RangeError(`a session takes at most ${MAX_SESSION_CHARS} characters`);
    // Refused before anything this large is sent; the limit that counts is the statement's (the read's measure).
    if (claims.length + session.rawToken.length + (session.redirect?.length ?? 0) + session.outpostPk.length > MAX_SESSION_CHARS) throw tooLarge();
    const values = [
      id,
      session.providerPk,
      session.outpostPk,
      sessionSid(session) ?? null,
      sessionSub(session) ?? null,
      claims,
      session.rawToken,
      session.redirect ?? null,
      new Date(session.createdAt).toISOString(),
      new Date(session.expiresAt).toISOString(),
      Math.ceil(ttlMs),
    ];
    // An upsert notifies nobody: IDs are fresh per login, and the one reused ID (a header-auth
    // credential's) only ever gets the same user's session again.
    const result = await this.run('set', () => this.pool.query({ name: 'ak_outpost_session_set', text: SQL.set, values }));
    // Nothing written: too large as the read measures it (the statement's WHERE).
    if (result.rowCount === 0) throw tooLarge();
  }

  async delete(id: string): Promise<boolean> {
    return (await this.deleteWhere('delete', DELETE_SQL.delete, [id])) > 0;
  }

  deleteBySid(sid: string): Promise<number> {
    return this.deleteWhere('deleteBySid', DELETE_SQL.deleteBySid, [sid]);
  }

  deleteByUser(sub: string, providerPk?: number): Promise<number> {
    return this.deleteWhere('deleteByUser', DELETE_SQL.deleteByUser, [sub, providerPk ?? null]);
  }

  async size(): Promise<number> {
    const result = await this.run('size', () => this.pool.query<{ n: unknown }>(SQL.size));
    const n = result.rows[0]?.n;
    return typeof n === 'number' ? n : 0;
  }

  /** Delete expired rows in batches; returns how many. Skipped while down. */
  async sweep(): Promise<number> {
    if (!this.started || this.closed || !this._up) return 0;
    let total = 0;
    for (let i = 0; i < 100; i++) {
      const r = await this.run('sweep', () => this.pool.query(SQL.sweep));
      total += r.rowCount ?? 0;
      if ((r.rowCount ?? 0) < SWEEP_BATCH) break;
    }
    if (total > 0) this.log.debug({ sessions: total }, 'expired sessions swept');
    return total;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await this.channel.close();
    // pool.end() waits for checked-out clients; a hung server must not hold shutdown.
    await bounded(this.pool.end(), this.opTimeoutMs).catch(() => {});
    this._up = false;
  }

  // ---- internals -------------------------------------------------------------------------

  private async deleteWhere(operation: string, text: string, values: unknown[]): Promise<number> {
    const result = await this.run(operation, () => this.pool.query<{ id: unknown }>({ name: `ak_outpost_session_${operation}`, text, values }));
    const ids = result.rows.flatMap((r) => (typeof r.id === 'string' ? [r.id] : []));
    // This replica learns at once; the NOTIFY brings the same IDs again a moment later.
    if (ids.length > 0) this.emitInvalidation(ids);
    return ids.length;
  }

  /** One bounded operation; its outcome updates `up`. */
  private async run<T>(operation: string, work: () => Promise<T>): Promise<T> {
    if (this.closed) throw new SessionStoreUnavailableError('postgres', `${operation}: the store is closed`);
    if (!this.started) throw new SessionStoreUnavailableError('postgres', `${operation}: not connected yet`);
    if (!this._up) throw new SessionStoreUnavailableError('postgres', `${operation}: unreachable, reconnecting`);
    try {
      return await bounded(work(), this.opTimeoutMs);
    } catch (err) {
      if (!isDataError(err)) this.setUp(false);
      throw this.unavailable(operation, err);
    }
  }

  private unavailable(operation: string, err: unknown): SessionStoreUnavailableError {
    const message = err instanceof OperationTimeoutError ? err.message : this.redact((err as Error)?.message ?? String(err));
    // The cause is not attached: a driver error may carry the connection string in a property.
    const code = (err as { code?: unknown } | undefined)?.code;
    return new SessionStoreUnavailableError('postgres', `${operation}: ${message}${typeof code === 'string' ? ` (${code})` : ''}`);
  }

  private setUp(up: boolean): void {
    if (this._up === up) return;
    this._up = up;
    if (this.started && !this.closed) this.scheduleProbe();
    notifyAll(this.healthListeners, up, this.log, 'session store health listener failed');
  }

  private emitInvalidation(ids: Invalidation): void {
    notifyAll(this.invalidationListeners, ids, this.log, 'session invalidation listener failed');
  }

  /** The next probe, at the period for the current state. */
  private scheduleProbe(delayMs?: number): void {
    if (this.probeTimer) clearTimeout(this.probeTimer);
    const every = this._up ? (this.opts.probeIntervalMs ?? 1000) : (this.opts.downProbeIntervalMs ?? 1000);
    this.probeTimer = setTimeout(() => void this.probe(), delayMs ?? every);
    this.probeTimer.unref();
  }

  private probeSoon(): void {
    if (this.started && !this.closed) this.scheduleProbe(0);
  }

  private async probe(): Promise<void> {
    if (this.closed || this.probing) return;
    this.probing = true;
    try {
      await bounded(this.pool.query(SQL.probe), this.opTimeoutMs);
      this.setUp(true);
    } catch {
      this.setUp(false);
    } finally {
      this.probing = false;
      if (!this.closed) this.scheduleProbe();
    }
  }
}
