// The PostgreSQL store's own schema (never authentik's tables), created and migrated at start.
// Several replicas may start at once: one transaction-scoped advisory lock serialises them, and
// a version table says which migrations ran, so each runs exactly once. Migrations only ever add
// (columns, indexes, tables): replicas of the previous version keep working during a rollout.
import type { PoolClient } from 'pg';

const SCHEMA = 'authentik_outpost';
export const TABLE = `${SCHEMA}.proxy_session`;
/** LISTEN/NOTIFY channel for deleted session IDs (space-separated in the payload). */
export const CHANNEL = 'authentik_outpost_proxy_session';
/** The row of `schema_version` this store owns (other components may add theirs). */
const COMPONENT = 'proxy_session';
/** Arbitrary, fixed: "ak_outp" in ASCII (0x616b5f6f757470; PostgreSQL 15 has no hex literals). Every replica of every version must use the same key. */
const LOCK_KEY = '27421130376967280';

/**
 * Migration N (1-based) brings the schema from version N-1 to N. Append only; never edit one
 * that shipped.
 */
export const MIGRATIONS: readonly (readonly string[])[] = [
  [
    `CREATE TABLE ${TABLE} (
      id text PRIMARY KEY,
      provider_pk integer NOT NULL,
      outpost_pk text NOT NULL,
      sid text,
      sub text,
      claims jsonb NOT NULL,
      raw_token text NOT NULL,
      redirect text,
      created_at timestamptz NOT NULL,
      -- The session's own expiry (the token's exp): what the handlers compare.
      session_expires_at timestamptz NOT NULL,
      -- When the row stops existing for readers (set from the database clock, so that replicas
      -- with skewed clocks agree), and when the sweep deletes it.
      expires_at timestamptz NOT NULL
    )`,
    `CREATE INDEX proxy_session_expires_at ON ${TABLE} (expires_at)`,
    `CREATE INDEX proxy_session_sid ON ${TABLE} (sid) WHERE sid IS NOT NULL`,
    `CREATE INDEX proxy_session_sub ON ${TABLE} (sub) WHERE sub IS NOT NULL`,
  ],
];

export interface MigrationResult {
  /** The version found before (0 = a new database). */
  readonly from: number;
  /** The version now. Above `MIGRATIONS.length` when a newer outpost migrated already. */
  readonly to: number;
}

/**
 * Create or migrate, in one transaction on `client`, under the advisory lock. `timeoutMs`
 * bounds each statement (lock waits included) on the server.
 */
export async function migrate(client: PoolClient, timeoutMs: number): Promise<MigrationResult> {
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
    await client.query(`SELECT pg_advisory_xact_lock(${LOCK_KEY})`);
    // Only create what is missing: a role without CREATE on the database can still use a schema
    // an administrator created for it.
    const schema = await client.query<{ found: boolean }>('SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS found', [SCHEMA]);
    if (schema.rows[0]?.found !== true) await client.query(`CREATE SCHEMA ${SCHEMA}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${SCHEMA}.schema_version (
      component text PRIMARY KEY,
      version integer NOT NULL,
      migrated_at timestamptz NOT NULL DEFAULT now()
    )`);
    const row = await client.query<{ version: unknown }>(`SELECT version FROM ${SCHEMA}.schema_version WHERE component = $1`, [COMPONENT]);
    const v = row.rows[0]?.version;
    const from = typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0;
    for (let n = from; n < MIGRATIONS.length; n++) {
      for (const statement of MIGRATIONS[n]!) await client.query(statement);
    }
    if (from < MIGRATIONS.length) {
      await client.query(
        `INSERT INTO ${SCHEMA}.schema_version (component, version) VALUES ($1, $2)
         ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version, migrated_at = now()`,
        [COMPONENT, MIGRATIONS.length],
      );
    }
    await client.query('COMMIT');
    return { from, to: Math.max(from, MIGRATIONS.length) };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
