// Query strings the way Django reads and writes them. The flow executor's 302-versus-JSON
// redirect decision depends on re-encoding `request.GET` exactly as Django does
// (`QueryDict.urlencode`, i.e. Python's `quote_plus`), so this must not use URLSearchParams.

/** Ordered (key, value) pairs, like a Django QueryDict. */
export type QueryPairs = [string, string][];

const decoder = new TextDecoder('utf-8', { fatal: false });

/** Python's `unquote` after `+` → space: invalid escapes stay as they are, bad UTF-8 becomes U+FFFD. */
export function unquotePlus(s: string): string {
  const src = s.replace(/\+/g, ' ');
  if (!src.includes('%')) return src;
  const bytes: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < src.length; ) {
    const ch = src[i] as string;
    if (ch === '%' && /^[0-9a-fA-F]{2}$/.test(src.slice(i + 1, i + 3))) {
      bytes.push(parseInt(src.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      const cp = src.codePointAt(i) as number;
      const str = String.fromCodePoint(cp);
      for (const b of enc.encode(str)) bytes.push(b);
      i += str.length;
    }
  }
  return decoder.decode(new Uint8Array(bytes));
}

/** Python's `quote_plus` (safe: letters, digits, `_.-~`; space → `+`). */
export function quotePlus(s: string): string {
  let out = '';
  for (const b of new TextEncoder().encode(s)) {
    if ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x5f || b === 0x2e || b === 0x2d || b === 0x7e) {
      out += String.fromCharCode(b);
    } else if (b === 0x20) out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Python's `parse_qsl(qs, keep_blank_values=True)` as Django's QueryDict uses it. */
export function parseQs(qs: string): QueryPairs {
  const out: QueryPairs = [];
  for (const piece of qs.split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const k = eq < 0 ? piece : piece.slice(0, eq);
    const v = eq < 0 ? '' : piece.slice(eq + 1);
    out.push([unquotePlus(k), unquotePlus(v)]);
  }
  return out;
}

/** Django's `QueryDict.urlencode()`: keys in first-seen order, each key's values together. */
export function urlencodeQueryDict(pairs: QueryPairs): string {
  const grouped = new Map<string, string[]>();
  for (const [k, v] of pairs) {
    const list = grouped.get(k);
    if (list) list.push(v);
    else grouped.set(k, [v]);
  }
  const parts: string[] = [];
  for (const [k, values] of grouped) for (const v of values) parts.push(`${quotePlus(k)}=${quotePlus(v)}`);
  return parts.join('&');
}

/** `QueryDict.get`: the last value of a key. */
export function qsGet(pairs: QueryPairs, key: string): string | undefined {
  let found: string | undefined;
  for (const [k, v] of pairs) if (k === key) found = v;
  return found;
}

/** `QueryDict.getlist`. */
export function qsGetAll(pairs: QueryPairs, key: string): string[] {
  return pairs.filter(([k]) => k === key).map(([, v]) => v);
}

/** Last value per key, for recording and simple lookups. */
export function qsToRecord(pairs: QueryPairs): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of pairs) out[k] = v;
  return out;
}
