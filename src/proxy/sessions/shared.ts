// The contract of a session store shared by several outpost processes (PostgreSQL, Redis), on
// top of the `SessionStore` every store implements. What the replicas must agree on lives in
// the backend; what each keeps for speed (a short local cache) lives in one wrapper
// (`cached.ts`) that listens to the backend's invalidations.
import type { Logger } from '../../log.ts';
import type { ProxySession, SessionStore } from './store.ts';

export type SharedBackendName = 'postgres' | 'redis';

/** Every store operation settles within this unless configured (`AUTHENTIK_PROXY__SESSION_STORE_TIMEOUT`). */
export const DEFAULT_OP_TIMEOUT_MS = 2000;
/** The longest session ID a shared store takes, or accepts in an invalidation (ours are 43 characters). */
export const MAX_ID_LENGTH = 200;
/**
 * The most a stored session (its claims and ID token, as JSON) may take, in characters. Larger
 * ones are refused on write and read back as absent: a value another writer left is not parsed
 * and cached whatever its size.
 */
export const MAX_SESSION_CHARS = 256 * 1024;
/** An invalidation naming more IDs (or longer than this many characters) flushes the cache instead. */
export const MAX_INVALIDATION_IDS = 10_000;
export const MAX_INVALIDATION_CHARS = MAX_INVALIDATION_IDS * (MAX_ID_LENGTH + 3);

/** A store operation failed or did not finish in time: the caller fails closed (no session). */
export class SessionStoreUnavailableError extends Error {
  override readonly name = 'SessionStoreUnavailableError';
  readonly backend: SharedBackendName;
  constructor(backend: SharedBackendName, message: string, options?: { cause?: unknown }) {
    super(`${backend} session store unavailable: ${message}`, options);
    this.backend = backend;
  }
}

/**
 * What another replica (or this one) deleted: these session IDs, or `undefined` when the
 * notification channel was lost and deletions may have been missed (a local cache must then
 * forget everything).
 */
export type Invalidation = readonly string[] | undefined;

export interface SharedSessionStore extends SessionStore {
  readonly backend: SharedBackendName;
  /** Both backends index by `claims.sub`. */
  deleteByUser(sub: string, providerPk?: number): Promise<number>;
  /**
   * Connect, create or migrate what the store needs (never authentik's tables), subscribe to
   * invalidations. Rejects with a clear error when the first connection fails; afterwards the
   * store reconnects by itself and reports its health through `onHealth`.
   */
  start(): Promise<void>;
  /** Every deletion by any replica sharing the store, this one included, and channel losses. */
  onInvalidate(listener: (ids: Invalidation) => void): void;
  /** True while the store answers (the last operation or health probe succeeded). */
  readonly up: boolean;
  /** Called on every change of `up`. */
  onHealth(listener: (up: boolean) => void): void;
  /**
   * False while invalidations cannot arrive (the notification channel is down and being
   * re-established): a local cache must not keep what it reads then. Undefined: always
   * subscribed while `up`.
   */
  readonly subscribed?: boolean;
}

/** What both shared backends are built from. */
export interface SharedSessionStoreOptions {
  /** `postgres://…` / `redis://…`, `rediss://…` (secrets already resolved from `file://`/`env://`). */
  readonly url: string;
  /** Child logger; never give it the URL (it may carry a password). */
  readonly logger: Logger;
  /** Every store operation settles within this (default `DEFAULT_OP_TIMEOUT_MS`), else SessionStoreUnavailableError. */
  readonly opTimeoutMs?: number;
}

/** A session ID a shared store can key by; throws before any round trip otherwise. */
export function checkSessionId(id: string): void {
  if (id === '' || id.length > MAX_ID_LENGTH) throw new RangeError(`session IDs are 1 to ${MAX_ID_LENGTH} characters`);
}

/** The fields of a stored session as read back, before they are trusted. */
export interface StoredFields {
  readonly claims: unknown;
  readonly redirect: unknown;
  readonly createdAt: unknown;
  readonly expiresAt: unknown;
  readonly providerPk: unknown;
  readonly outpostPk: unknown;
  readonly rawToken: unknown;
}

/**
 * What a backend read back, as a session, or why it is not one. Both backends read through this:
 * a value in a shared store is input like any other. The caller still validates the claims.
 */
export function sessionFromStored(f: StoredFields): ProxySession | string {
  const { claims, redirect, createdAt, expiresAt, providerPk, outpostPk, rawToken } = f;
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) return 'claims is not an object';
  if (redirect !== undefined && redirect !== null && typeof redirect !== 'string') return 'redirect is not a string';
  if (typeof createdAt !== 'number' || !Number.isFinite(createdAt)) return 'createdAt is not a number';
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) return 'expiresAt is not a number';
  if (typeof providerPk !== 'number' || !Number.isInteger(providerPk)) return 'providerPk is not an integer';
  if (typeof outpostPk !== 'string') return 'outpostPk is not a string';
  if (typeof rawToken !== 'string') return 'rawToken is not a string';
  return { claims, ...(typeof redirect === 'string' ? { redirect } : {}), createdAt, expiresAt, providerPk, outpostPk, rawToken };
}

/** Call every listener with `value`; one that throws is logged and does not stop the others. */
export function notifyAll<T>(listeners: readonly ((value: T) => void)[], value: T, log: Logger, event: string): void {
  for (const l of listeners) {
    try {
      l(value);
    } catch (err) {
      log.error({ err }, event);
    }
  }
}
