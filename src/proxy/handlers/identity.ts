// The identity headers of an authenticated request, computed once per stored session's claims:
// they depend only on the claims, the compiled app (its config, JWKS URI and outpost name), the
// raw token and the outpost version, and every one of those is part of the cache entry's key.
import { authHeaders, type ProxyClaims } from '../protocol/index.ts';
import { HOP_BY_HOP } from '../upstream/headers.ts';
import type { ProxyApp } from './app.ts';
import type { Authenticated } from './request.ts';

export interface IdentityHeaders {
  /** As `authHeaders` returns them (authentik's case), for a forward-auth answer. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * The same, names lower-cased, for the upstream request (`Set` semantics over the client's),
   * without hop-by-hop names (an `additionalHeaders` `Proxy-Authorization`): no request of
   * either path forwards one.
   */
  readonly lower: readonly (readonly [string, string])[];
  /**
   * Names of `lower` that are not `x-authentik-*` (Basic `authorization`, `additionalHeaders`):
   * the client's headers of those names are replaced. Usually none (undefined).
   */
  readonly otherNames: ReadonlySet<string> | undefined;
}

interface Entry extends IdentityHeaders {
  readonly app: ProxyApp;
  readonly rawToken: string;
  readonly version: string;
}

/**
 * By claims object: a session's validated claims are one object for the session's life (see
 * `loadSession`), so the entry lives and dies with it (a WeakMap: bounded by the sessions).
 * Header-auth claims are parsed per request: their entries are simply never hit again.
 */
const cache = new WeakMap<ProxyClaims, Entry>();

export function identityHeadersFor(auth: Authenticated, app: ProxyApp, version: string): IdentityHeaders {
  const hit = cache.get(auth.claims);
  if (hit !== undefined && hit.app === app && hit.rawToken === auth.rawToken && hit.version === version) return hit;
  const headers = authHeaders(auth.claims, app.config, { rawToken: auth.rawToken, jwksUri: app.oidc.jwksUri, outpostName: app.outpostName, version });
  const lower = Object.freeze(
    Object.entries(headers)
      .map(([k, v]) => [k.toLowerCase(), v] as const)
      .filter(([k]) => !HOP_BY_HOP.has(k)),
  );
  const entry: Entry = {
    app,
    rawToken: auth.rawToken,
    version,
    headers: Object.freeze(headers),
    lower,
    otherNames: otherNames(lower),
  };
  cache.set(auth.claims, entry);
  return entry;
}

function otherNames(lower: readonly (readonly [string, string])[]): ReadonlySet<string> | undefined {
  const names = lower.map(([k]) => k).filter((k) => !k.startsWith('x-authentik-'));
  return names.length > 0 ? new Set(names) : undefined;
}
