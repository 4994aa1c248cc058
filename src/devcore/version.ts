// Which authentik API generation the development core serves, and authentik's version rules.
// authentik changed the outpost API once, in 2024.8, and has kept it since; the core serves
// either the 2024.4 shapes or those of 2026.8 (the current stable line), never a mix.

export const AUTHENTIK_VERSIONS = ['2024.4', '2026.8'] as const;
export type AuthentikVersion = (typeof AUTHENTIK_VERSIONS)[number];

/** The env variable `startDevCore` and `npm run devcore` read when no version is passed. */
const VERSION_ENV = 'DEVCORE_AUTHENTIK_VERSION';
export const DEFAULT_AUTHENTIK_VERSION: AuthentikVersion = '2026.8';

/** What the core claims to be (health `version_should`) when the seed sets no `version`. */
export const SERVER_VERSION: Readonly<Record<AuthentikVersion, string>> = {
  '2024.4': '2024.4.3',
  '2026.8': '2026.8.6',
};

export class AuthentikVersionError extends Error {
  override readonly name = 'AuthentikVersionError';
}

function isAuthentikVersion(v: string): v is AuthentikVersion {
  return (AUTHENTIK_VERSIONS as readonly string[]).includes(v);
}

/** The explicit option, else the env variable, else 2026.8; anything else is an error. */
export function resolveAuthentikVersion(option: string | undefined, env: NodeJS.ProcessEnv = process.env): AuthentikVersion {
  const fromEnv = env[VERSION_ENV];
  const [value, source] = option !== undefined ? [option, 'authentikVersion'] : fromEnv !== undefined && fromEnv !== '' ? [fromEnv.trim(), VERSION_ENV] : [DEFAULT_AUTHENTIK_VERSION, 'default'];
  if (!isAuthentikVersion(value)) throw new AuthentikVersionError(`${source} must be one of ${AUTHENTIK_VERSIONS.join(', ')}, got "${value}"`);
  return value;
}

interface Release {
  parts: number[];
  /** A pre-release (`2026.8.0-rc1`, `2026.8.0rc1`, `.dev1`) sorts before its release. */
  pre: boolean;
}

function parseRelease(v: string): Release | null {
  const m = /^\s*v?(\d+(?:\.\d+)*)(.*)$/i.exec(v);
  if (!m) return null;
  return { parts: (m[1] as string).split('.').map(Number), pre: /^[-_.]?(a|b|c|rc|alpha|beta|pre|preview|dev)/i.test(m[2] ?? '') };
}

/**
 * PEP 440's order for the versions authentik uses (`2024.4.3`, `2026.8.0-rc1`): release numbers
 * compared numerically with missing parts as 0, a pre-release before its release. Null when
 * either side is not a version (authentik's `packaging.parse` would fail on it).
 */
export function compareVersions(a: string, b: string): number | null {
  const x = parseRelease(a);
  const y = parseRelease(b);
  if (!x || !y) return null;
  for (let i = 0; i < Math.max(x.parts.length, y.parts.length); i++) {
    const d = (x.parts[i] ?? 0) - (y.parts[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return x.pre === y.pre ? 0 : x.pre ? -1 : 1;
}

/**
 * authentik's `OutpostState.version_outdated` (2024.4 and 2026.8 alike): no version reported →
 * false; a build hash other than the server's → false (a custom build is never "outdated");
 * else the reported version is lower than the server's.
 */
export function versionOutdated(reported: string, reportedHash: string, serverVersion: string, serverHash: string): boolean {
  if (reported === '') return false;
  if (reportedHash !== serverHash) return false;
  return (compareVersions(reported, serverVersion) ?? 0) < 0;
}
