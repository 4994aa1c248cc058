// Which authentik outpost API the core speaks. authentik changed it once, in 2024.8, and has kept
// it since (through 2026.8): `search_group` gave way to the `check_access` endpoints and RBAC,
// RADIUS gained property mappings, the outpost object gained `refresh_interval_s`.
import { MAX_TIMER_MS } from '../net/deadline.ts';
import type { Outpost } from './schemas.ts';

export type ApiGeneration =
  /** authentik 2024.4 (up to 2024.6): application check_access, `users/me`, `search_group`. */
  | '2024.4'
  /** authentik 2024.8 and later: `/outposts/{ldap,radius}/<pk>/check_access/`, RBAC, property mappings. */
  | '2024.8';

/**
 * Decided from the outpost object every refresh: authentik 2024.8 added `refresh_interval_s` to
 * it in the same release that added the check_access endpoints (every later server sends the
 * field; no 2024.4 server does). A shape, not a version string: the outpost token may not read
 * the server's version, and a shape cannot disagree with the API it describes.
 */
export function apiGeneration(outpost: Outpost): ApiGeneration {
  return outpost.refresh_interval_s === undefined ? '2024.4' : '2024.8';
}

/** authentik 2024.4's fixed refresh interval, and the default where `refresh_interval_s` <= 0. */
export const DEFAULT_REFRESH_INTERVAL_MS = 300_000;
/** authentik enforces at least 30 s between refreshes. */
export const MIN_REFRESH_INTERVAL_MS = 30_000;
/** The longest `setTimeout` takes (~24.8 days); past it Node fires after 1 ms, a refresh loop. */
export const MAX_REFRESH_INTERVAL_MS = MAX_TIMER_MS;

/**
 * The outpost's `refresh_interval_s` as authentik's outposts apply it: <= 0 means 300 s, at least
 * 30 s; and at most MAX_REFRESH_INTERVAL_MS, since the value comes from the core unbounded.
 */
export function refreshIntervalMs(outpost: Outpost, minMs = MIN_REFRESH_INTERVAL_MS): number {
  const s = outpost.refresh_interval_s;
  if (s === undefined || s <= 0) return DEFAULT_REFRESH_INTERVAL_MS;
  return Math.min(MAX_REFRESH_INTERVAL_MS, Math.max(minMs, s * 1000));
}
