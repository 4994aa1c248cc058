// The executor's `query` parameter, encoded byte-for-byte the way Django re-encodes it.
//
// authentik answers a successful POST with a raw 302 only when the `Location` it builds
// (`urlencode(request.GET.items())`, i.e. Python's `quote_plus`) equals the request's full path
// exactly; otherwise it wraps the redirect in an `xak-flow-redirect` challenge, which the
// executor would take as success. So our encoding must be exactly Python's:
//   - bytes of `A-Za-z0-9_.-~` stay as they are,
//   - a space becomes `+`,
//   - every other byte of the UTF-8 encoding becomes `%XX` (upper-case hex).
// `encodeURIComponent` differs (leaves `!'()*`, writes space as `%20`) and so does
// `URLSearchParams.toString()` (leaves `*`, writes `~` as `%7E`), so neither is used to encode.

/** Flow executor params, e.g. `{ 'goauthentik.io/outpost/ldap': 'true' }`. */
export type FlowParams = Readonly<Record<string, string | readonly string[]>>;

const HEX = '0123456789ABCDEF';
const utf8 = new TextEncoder();

function isSafe(byte: number): boolean {
  return (
    (byte >= 0x30 && byte <= 0x39) || // 0-9
    (byte >= 0x41 && byte <= 0x5a) || // A-Z
    (byte >= 0x61 && byte <= 0x7a) || // a-z
    byte === 0x5f || byte === 0x2e || byte === 0x2d || byte === 0x7e // _ . - ~
  );
}

/**
 * Python's `urllib.parse.quote_plus(s, safe='')`. A lone UTF-16 surrogate becomes U+FFFD
 * (`%EF%BF%BD`), which is also what Django produces after decoding and re-encoding it.
 */
export function quotePlus(s: string): string {
  let out = '';
  for (const byte of utf8.encode(s)) {
    if (isSafe(byte)) out += String.fromCharCode(byte);
    else if (byte === 0x20) out += '+';
    else out += `%${HEX[byte >> 4]}${HEX[byte & 0xf]}`;
  }
  return out;
}

/**
 * `urlencode(params)` with `quote_plus`, keys sorted like Go's `url.Values.Encode()` (the
 * official outpost's inner encoding). A list value gives one `k=v` pair per element.
 */
export function encodeParams(params: FlowParams): string {
  const pairs: string[] = [];
  for (const key of Object.keys(params).sort()) {
    const value = params[key];
    const values = typeof value === 'string' ? [value] : (value ?? []);
    for (const v of values) pairs.push(`${quotePlus(key)}=${quotePlus(v)}`);
  }
  return pairs.join('&');
}

/**
 * The full query string (without `?`) for the executor: Params → query string → the value of
 * the single parameter `query`. `{ 'goauthentik.io/outpost/ldap': 'true' }` gives
 * `query=goauthentik.io%252Foutpost%252Fldap%3Dtrue`. Empty params give `query=`, as the Go
 * client sends and Django echoes back.
 */
export function encodeFlowQuery(params: FlowParams): string {
  return `query=${quotePlus(encodeParams(params))}`;
}

/** Python's `unquote_plus`: `+` is a space, `%XX` are bytes, invalid UTF-8 becomes U+FFFD. */
export function unquotePlus(s: string): string {
  const bytes: number[] = [];
  const src = s.replaceAll('+', ' ');
  for (let i = 0; i < src.length; ) {
    const c = src.charCodeAt(i);
    if (c === 0x25 && /^[0-9A-Fa-f]{2}$/.test(src.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(src.slice(i + 1, i + 3), 16));
      i += 3;
      continue;
    }
    // Not an escape: take the whole code point as UTF-8.
    const cp = src.codePointAt(i) ?? c;
    const len = cp > 0xffff ? 2 : 1;
    bytes.push(...utf8.encode(src.slice(i, i + len)));
    i += len;
  }
  return new TextDecoder('utf-8', { fatal: false }).decode(Uint8Array.from(bytes));
}

/** Python's `parse_qsl(qs, keep_blank_values=True)` (3.10+: only `&` separates pairs). */
export function parseQuery(qs: string): [string, string][] {
  if (qs === '') return [];
  return qs.split('&').filter((p) => p !== '').map((pair) => {
    const eq = pair.indexOf('=');
    const k = eq < 0 ? pair : pair.slice(0, eq);
    const v = eq < 0 ? '' : pair.slice(eq + 1);
    return [unquotePlus(k), unquotePlus(v)];
  });
}

/**
 * The inverse of `encodeFlowQuery`, as the core reads it: the `query` parameter's value parsed
 * as a nested query string. Used by tests and by the development core.
 */
export function decodeFlowQuery(qs: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const outer = parseQuery(qs.startsWith('?') ? qs.slice(1) : qs).find(([k]) => k === 'query');
  if (!outer) return out;
  for (const [k, v] of parseQuery(outer[1])) (out[k] ??= []).push(v);
  return out;
}
