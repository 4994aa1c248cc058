// A tiny cookie jar, one per flow attempt. The executor only ever talks to the core's origin,
// so `Domain` is not needed; `Path`, `Max-Age` and `Expires` are honoured (RFC 6265 §5.2-5.4).
// `Secure` is not enforced: the cookie is only ever sent back to the origin that set it, and a
// core reached over plain http (an internal service address) must still get its session back.

export const SESSION_COOKIE = 'authentik_session';

interface StoredCookie {
  name: string;
  value: string;
  path: string;
  /** Epoch ms; undefined for a session cookie. */
  expiresAt: number | undefined;
}

/** A hostile core must not make a jar grow without bound. */
const MAX_COOKIES = 64;

export class CookieJar {
  private readonly cookies = new Map<string, StoredCookie>();
  private readonly now: () => number;

  constructor(opts: { now?: () => number } = {}) {
    this.now = opts.now ?? Date.now;
  }

  /** Store the `Set-Cookie` header(s) of a response to a request for `url`. */
  store(setCookie: string | readonly string[] | undefined, url: URL): void {
    if (setCookie === undefined) return;
    for (const line of typeof setCookie === 'string' ? [setCookie] : setCookie) this.storeOne(line, url);
  }

  /** Put a cookie in the jar directly (e.g. a session kept from an earlier bind). */
  set(name: string, value: string, path = '/'): void {
    this.put({ name, value, path, expiresAt: undefined });
  }

  /** The value of the cookie `name` (any path), if present and not expired. */
  get(name: string): string | undefined {
    const now = this.now();
    for (const c of this.cookies.values()) if (c.name === name && !expired(c, now)) return c.value;
    return undefined;
  }

  /** The `Cookie` header for a request to `url`, or undefined when nothing matches. */
  header(url: URL): string | undefined {
    const now = this.now();
    const matching: StoredCookie[] = [];
    for (const [key, c] of this.cookies) {
      if (expired(c, now)) this.cookies.delete(key);
      else if (pathMatches(url.pathname, c.path)) matching.push(c);
    }
    if (matching.length === 0) return undefined;
    // Longer paths first (RFC 6265 §5.4); Map order keeps creation order among equals.
    matching.sort((a, b) => b.path.length - a.path.length);
    return matching.map((c) => `${c.name}=${c.value}`).join('; ');
  }

  get size(): number {
    return this.cookies.size;
  }

  private storeOne(line: string, url: URL): void {
    const [pair = '', ...attrs] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq < 0) return;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (name === '') return;

    let path: string | undefined;
    let maxAge: number | undefined;
    let expires: number | undefined;
    for (const attr of attrs) {
      const i = attr.indexOf('=');
      const key = (i < 0 ? attr : attr.slice(0, i)).trim().toLowerCase();
      const val = i < 0 ? '' : attr.slice(i + 1).trim();
      if (key === 'max-age') {
        if (/^-?\d+$/.test(val)) maxAge = Number(val);
      } else if (key === 'expires') {
        const t = Date.parse(val);
        if (!Number.isNaN(t)) expires = t;
      } else if (key === 'path') {
        path = val.startsWith('/') ? val : undefined;
      }
    }
    const now = this.now();
    // Max-Age wins over Expires; zero or negative means "delete now".
    const expiresAt = maxAge !== undefined ? (maxAge <= 0 ? -Infinity : now + maxAge * 1000) : expires;
    const cookie: StoredCookie = { name, value, path: path ?? defaultPath(url.pathname), expiresAt };
    if (expired(cookie, now)) this.cookies.delete(keyOf(cookie));
    else this.put(cookie);
  }

  private put(c: StoredCookie): void {
    const key = keyOf(c);
    if (!this.cookies.has(key) && this.cookies.size >= MAX_COOKIES) return;
    this.cookies.set(key, c);
  }
}

function keyOf(c: { name: string; path: string }): string {
  return `${c.name}\u0000${c.path}`;
}

function expired(c: StoredCookie, now: number): boolean {
  return c.expiresAt !== undefined && c.expiresAt <= now;
}

/** RFC 6265 §5.1.4 default-path. */
function defaultPath(requestPath: string): string {
  if (!requestPath.startsWith('/')) return '/';
  const last = requestPath.lastIndexOf('/');
  return last <= 0 ? '/' : requestPath.slice(0, last);
}

/** RFC 6265 §5.1.4 path-match. */
function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath.charAt(cookiePath.length) === '/';
}
