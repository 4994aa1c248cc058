/**
 * The `Authorization` header of header authentication (spec proxy.md §7.2), parsed into one
 * canonical form. Header-auth results are cached and saved into a session keyed by the
 * credential: every spelling of one credential must give one key, or a single valid token mints
 * a session per spelling and evicts everyone else's from the bounded store.
 *
 * - `credentials = auth-scheme 1*SP token68` (RFC 9110 §11.6.2): the scheme case-insensitive,
 *   any run of spaces or tabs around the credential accepted and dropped.
 * - The credential is visible ASCII (token68 and RFC 6750's b64token are): a Bearer token with
 *   whitespace or non-ASCII inside is no token and is refused, not truncated.
 * - Basic: padded standard base64 (Go's `r.BasicAuth()`, `base64.StdEncoding`, as authentik's
 *   outpost), and only its canonical spelling (Node's decoder skips invalid characters and
 *   missing padding, so `dXNlcjpwYXNz!!!` would decode like `dXNlcjpwYXNz`); the bytes valid
 *   UTF-8 (a lossy decode would check another string than the one sent); split at the first `:`.
 */
import { isUtf8 } from 'node:buffer';

export type Authorization =
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'basic'; readonly username: string; readonly password: string };

/** scheme, 1*(SP / HTAB), credential of visible ASCII; optional OWS on both ends. */
const CREDENTIALS = /^[ \t]*([A-Za-z]+)[ \t]+([\x21-\x7e]+)[ \t]*$/;

/** The credentials an `Authorization` value carries, or undefined when it is not a well-formed Bearer or Basic one. */
export function parseAuthorization(value: string | undefined): Authorization | undefined {
  if (value === undefined) return undefined;
  const m = CREDENTIALS.exec(value);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  const credential = m[2]!;
  if (scheme === 'bearer') return { kind: 'bearer', token: credential };
  if (scheme !== 'basic') return undefined;
  const bytes = Buffer.from(credential, 'base64');
  // Only the spelling that encoding the bytes gives back: no skipped character, no missing
  // padding, no non-zero bits after the last byte (`YR==` for `YQ==`), no base64url.
  if (bytes.toString('base64') !== credential || !isUtf8(bytes)) return undefined;
  const decoded = bytes.toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * The one spelling of `auth`, itself a valid `Authorization` value that parses back to `auth`:
 * `Bearer <token>` or `Basic <padded base64 of username:password>`. What header auth keys its
 * cache and sessions on.
 */
export function canonicalAuthorization(auth: Authorization): string {
  if (auth.kind === 'bearer') return `Bearer ${auth.token}`;
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}`;
}
