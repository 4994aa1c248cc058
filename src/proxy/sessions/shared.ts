// The contract of a session store shared by several outpost processes (PostgreSQL, Redis), on
// top of the `SessionStore` every store implements. What the replicas must agree on lives in
// the backend; what each keeps for speed (a short local cache) lives in one wrapper
// (`cached.ts`) that listens to the backend's invalidations.
import type { Logger } from '../../log.ts';
import type { SessionStore } from './store.ts';

export type SharedBackendName = 'postgres' | 'redis';

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
  /** Every store operation settles within this (default 2,000 ms), else SessionStoreUnavailableError. */
  readonly opTimeoutMs?: number;
}
