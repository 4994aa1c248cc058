/**
 * Which provider serves a request, from its host (spec proxy.md §2.2). Compiled once per
 * configuration (`compileRoutes`); `route(host)` only looks things up.
 *
 * 1. Exact: the host (`name[:port]`, case-insensitive, trailing dot ignored) equals a provider's
 *    external host. A request port equal to the default port of either scheme (80, 443) also
 *    matches an external host written without a port.
 * 2. Cookie domain, `forward_domain` providers only: the host name is the cookie domain or under
 *    it on a dot boundary (`example.com` covers `a.example.com`, never `badexample.com`; authentik
 *    used a plain suffix). Longest domain first; ties go to the provider whose name sorts first,
 *    then the lowest pk (authentik: random map order).
 * 3. Single app: with exactly one usable provider, every host goes to it (authentik's fallback).
 *
 * Anything else is `undefined`: the caller answers `noAppBody` (errors.ts) with 400.
 */
import { externalUrl, hostUnderDomain, normalizedCookieDomain, type ProxyProviderConfig } from './provider.ts';

export interface HostParts {
  /** Lower-case, without brackets for IPv6 and without a trailing dot. */
  readonly hostname: string;
  /** Port as written, if any. */
  readonly port: string | undefined;
}

const REG_NAME = /^[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?$/;
const IPV6 = /^[0-9a-f:.]+$/;

/**
 * Parses a Host (or X-Forwarded-Host) value: `name`, `name:port`, `[v6]`, `[v6]:port`. Returns
 * undefined for anything else (user info, paths, spaces, empty).
 */
export function parseHost(value: string): HostParts | undefined {
  const v = value.trim().toLowerCase();
  if (v === '' || v.length > 260) return undefined;
  let hostname: string;
  let rest: string;
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    if (end === -1) return undefined;
    hostname = v.slice(1, end);
    if (!IPV6.test(hostname) || !hostname.includes(':')) return undefined;
    rest = v.slice(end + 1);
  } else {
    const colon = v.indexOf(':');
    hostname = colon === -1 ? v : v.slice(0, colon);
    rest = colon === -1 ? '' : v.slice(colon);
    if (hostname.endsWith('.')) hostname = hostname.slice(0, -1);
    if (!REG_NAME.test(hostname) || hostname.includes('..')) return undefined;
  }
  let port: string | undefined;
  if (rest !== '') {
    if (!/^:\d{1,5}$/.test(rest) || Number(rest.slice(1)) > 65535) return undefined;
    port = rest.slice(1);
  }
  return { hostname, port };
}

function hostKey(hostname: string, port: string | undefined): string {
  const h = hostname.includes(':') ? `[${hostname}]` : hostname;
  return port === undefined ? h : `${h}:${port}`;
}

export type RouteMatch = 'exact' | 'cookie_domain' | 'single_app';

export interface RouteResult {
  readonly provider: ProxyProviderConfig;
  readonly by: RouteMatch;
}

export interface SkippedProvider {
  readonly name: string;
  readonly pk: number;
  readonly reason: string;
}

export interface Router {
  /** The provider for a Host / X-Forwarded-Host value, or undefined (→ 400 `no_app`). */
  route(host: string): ProxyProviderConfig | undefined;
  /** Same, saying how it matched. */
  match(host: string): RouteResult | undefined;
  /** Usable providers, sorted by name then pk. */
  readonly providers: readonly ProxyProviderConfig[];
  /** Providers left out, with the reason (log these once at apply time). */
  readonly skipped: readonly SkippedProvider[];
}

function compare(a: ProxyProviderConfig, b: ProxyProviderConfig): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : a.pk - b.pk;
}

/** Why a provider cannot be served, or undefined when it can. */
export function providerProblem(p: ProxyProviderConfig): string | undefined {
  if (externalUrl(p) === undefined) return `external_host "${p.external_host}" is not an absolute http(s) URL`;
  if (p.client_id === '') return 'client_id is empty';
  if (p.cookie_secret === '') return 'cookie_secret is empty';
  if (p.mode === 'forward_domain' && normalizedCookieDomain(p) === '') return 'forward_domain without cookie_domain';
  return undefined;
}

export function compileRoutes(input: readonly ProxyProviderConfig[]): Router {
  const skipped: SkippedProvider[] = [];
  const providers: ProxyProviderConfig[] = [];
  for (const p of [...input].sort(compare)) {
    const problem = providerProblem(p);
    if (problem === undefined) providers.push(p);
    else skipped.push({ name: p.name, pk: p.pk, reason: problem });
  }

  const exact = new Map<string, ProxyProviderConfig>();
  for (const p of providers) {
    const u = externalUrl(p)!;
    // URL drops the scheme's default port; the key holds an explicit port only when it differs.
    const parts = parseHost(u.host);
    if (parts === undefined) {
      skipped.push({ name: p.name, pk: p.pk, reason: `external_host "${p.external_host}" has an unusable host` });
      continue;
    }
    const key = hostKey(parts.hostname, parts.port);
    const other = exact.get(key);
    if (other !== undefined) {
      skipped.push({ name: p.name, pk: p.pk, reason: `external host ${key} is also provider "${other.name}"'s; "${other.name}" serves it` });
      continue;
    }
    exact.set(key, p);
  }

  const usable = new Set(exact.values());
  const listed = providers.filter((p) => usable.has(p));
  const domains = listed
    .filter((p) => p.mode === 'forward_domain')
    .map((p) => ({ domain: normalizedCookieDomain(p), provider: p }))
    .sort((a, b) => b.domain.length - a.domain.length || compare(a.provider, b.provider));
  const single = listed.length === 1 ? listed[0] : undefined;

  const match = (host: string): RouteResult | undefined => {
    const parts = parseHost(host);
    if (parts !== undefined) {
      let p = exact.get(hostKey(parts.hostname, parts.port));
      if (p === undefined && (parts.port === '80' || parts.port === '443')) p = exact.get(hostKey(parts.hostname, undefined));
      if (p !== undefined) return { provider: p, by: 'exact' };
      for (const d of domains) if (hostUnderDomain(parts.hostname, d.domain)) return { provider: d.provider, by: 'cookie_domain' };
    }
    if (single !== undefined) return { provider: single, by: 'single_app' };
    return undefined;
  };

  return {
    match,
    route: (host) => match(host)?.provider,
    providers: listed,
    skipped,
  };
}
