// The version this outpost reports: the newest authentik release it is tested against. It
// speaks the 2024.4 API as well (see agent/generation.ts). authentik calls an outpost outdated
// only when its build hash equals the server's and its version is lower; ours never equals a
// release image's hash, so no server version shows it as outdated, old or new.
export const AUTHENTIK_VERSION = '2026.8.6';

/** `GIT_BUILD_HASH` as authentik's images set it; `tagged` when unset, as authentik sends. */
export function buildHash(env: NodeJS.ProcessEnv = process.env): string {
  return env['GIT_BUILD_HASH']?.trim() || 'tagged';
}

/** `2026.8.6` or `2026.8.6.<hash>`, used in the User-Agent exactly as authentik's outposts do. */
export function fullVersion(env: NodeJS.ProcessEnv = process.env): string {
  const hash = env['GIT_BUILD_HASH']?.trim();
  return hash ? `${AUTHENTIK_VERSION}.${hash}` : AUTHENTIK_VERSION;
}

export function userAgent(env: NodeJS.ProcessEnv = process.env): string {
  return `goauthentik.io/outpost/${fullVersion(env)}`;
}
