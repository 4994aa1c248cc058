/**
 * `rd` validation (spec proxy.md §3.7, tightened as §3.7 recommends and §10.3 asks).
 *
 * Accepted:
 * - an absolute `http:`/`https:` URL, written `scheme://host[:port]/…` literally, whose host is
 *   - proxy / forward_single: the external host exactly (port included). When the external
 *     host is https, the URL must be https too (no downgrade);
 *   - forward_domain: the external (auth) host, or a host name equal to the cookie domain or
 *     under it on a dot boundary (any port; http(s) as configured: the cookie domain decides);
 * - proxy / forward_single only: a path on the app's own origin (`/foo?x`), resolved against
 *   the external host, as authentik ≥ 2024.6 does.
 *
 * Rejected (each an open-redirect trick): other hosts, suffix look-alikes (`badexample.com`),
 * protocol-relative (`//evil`), `https:evil` and `https:/evil` (WHATWG would make them absolute
 * on evil), backslashes anywhere, user info, percent-encoding or non-ASCII in the host,
 * control characters, tabs and newlines (which URL parsers silently drop), leading or trailing
 * spaces, any other scheme (`javascript:`, `data:`…), and values over 8 KiB.
 */
import { externalUrl, hostUnderDomain, normalizedCookieDomain, type ProxyProviderConfig } from './provider.ts';

export const MAX_REDIRECT_LENGTH = 8192;

/** `scheme://authority` with a plain ASCII authority: name or [v6], optional port. */
const ABSOLUTE = /^(https?):\/\/((?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?)(?=[/?#]|$)/i;
/** C0 controls, DEL, C1 controls, and Unicode line/paragraph separators. */
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\\]/;

type RedirectProvider = Pick<ProxyProviderConfig, 'mode' | 'external_host' | 'cookie_domain'>;

/**
 * The URL to redirect to, or undefined when `rd` must be ignored. Never throws. The result's
 * `href` is what goes into `Location` (and into the state JWT).
 */
export function checkRedirect(rd: unknown, provider: RedirectProvider): URL | undefined {
  if (typeof rd !== 'string' || rd === '' || rd.length > MAX_REDIRECT_LENGTH) return undefined;
  if (FORBIDDEN.test(rd) || rd.trim() !== rd) return undefined;
  const ext = externalUrl(provider);
  if (ext === undefined) return undefined;

  const abs = ABSOLUTE.exec(rd);
  if (abs === null) {
    // A path on the app's own origin: `/x`, never `//x` or `/\x` (backslash already refused).
    if (provider.mode === 'forward_domain' || !rd.startsWith('/') || rd.startsWith('//')) return undefined;
    const u = URL.parse(rd, ext.origin);
    if (u === null || u.origin !== ext.origin) return undefined;
    return u;
  }
  const u = URL.parse(rd);
  if (u === null) return undefined;
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  if (u.username !== '' || u.password !== '') return undefined;
  // The parsed host must be exactly what was written (no decoding, no IDNA, no IPv4 folding
  // such as `0x7f.1` → `127.0.0.1`), apart from case and a default port being dropped.
  const written = abs[2]!.toLowerCase();
  if (u.host !== written && `${u.host}:${u.protocol === 'https:' ? '443' : '80'}` !== written) return undefined;

  if (provider.mode === 'forward_domain') {
    if (u.host === ext.host) return u;
    return hostUnderDomain(u.hostname, normalizedCookieDomain(provider)) ? u : undefined;
  }
  if (u.host !== ext.host) return undefined;
  if (ext.protocol === 'https:' && u.protocol !== 'https:') return undefined;
  return u;
}
