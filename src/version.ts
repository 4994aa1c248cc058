// The authentik version this outpost speaks. The core shows a mismatch as "outdated", never refuses it.
export const AUTHENTIK_VERSION = '2024.4.3';

/** `GIT_BUILD_HASH` as authentik's images set it; `tagged` when unset, as authentik sends. */
export function buildHash(env: NodeJS.ProcessEnv = process.env): string {
  return env['GIT_BUILD_HASH']?.trim() || 'tagged';
}

/** `2024.4.3` or `2024.4.3.<hash>`, used in the User-Agent exactly as authentik's outposts do. */
export function fullVersion(env: NodeJS.ProcessEnv = process.env): string {
  const hash = env['GIT_BUILD_HASH']?.trim();
  return hash ? `${AUTHENTIK_VERSION}.${hash}` : AUTHENTIK_VERSION;
}

export function userAgent(env: NodeJS.ProcessEnv = process.env): string {
  return `goauthentik.io/outpost/${fullVersion(env)}`;
}
